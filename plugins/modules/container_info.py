#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: container_info
short_description: List containers by label or name
version_added: 0.1.0
description:
  - Lists the containers of the Docker engine that carry every label of O(labels) and, when O(name) is set, have exactly
    that name. Read-only.
  - Meant for finding what a deploy created, for example every replica of a stack entry
    (C(baton.stack=shop), C(baton.entry=app)), or one-off containers left behind (C(baton.oneoff=true)).
author:
  - baton.docker maintainers (@baton-docker)
extends_documentation_fragment:
  - baton.docker.attributes
  - baton.docker.docker
attributes:
  check_mode:
    description: Reads the same way in check mode.
  diff_mode:
    support: N/A
    description: Changes nothing, so has nothing to compare.
  platform:
    description: Runs on the Docker host.
options:
  labels:
    description:
      - Labels every listed container must carry. Each value must match exactly, except an empty string, which matches
        any value (the label only has to be present).
      - Values must be strings; quote V(true) and numbers in YAML.
    type: dict
  name:
    description:
      - Exact name of the container. Matching is exact, not by prefix or pattern.
    type: str
  all:
    description:
      - Also list containers that do not run (created, exited, dead). With V(false), only running and restarting ones.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Find every replica of the app entry of the shop stack
  baton.docker.container_info:
    labels:
      baton.stack: shop
      baton.entry: app
  register: app_replicas

- name: Show their names
  ansible.builtin.debug:
    msg: "{{ app_replicas.containers | map(attribute='name') | list }}"

- name: Find running containers of any baton stack
  baton.docker.container_info:
    labels:
      baton.stack: ""
    all: false
  register: stack_containers

- name: Look at one container by name
  baton.docker.container_info:
    name: haproxy0
  register: haproxy0

- name: Fail when haproxy0 does not run
  ansible.builtin.assert:
    that: haproxy0.containers and haproxy0.containers[0].running
"""

RETURN = r"""
containers:
  description: The matching containers, sorted by name. Empty when none matches.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Container name.
      type: str
      sample: app0
    id:
      description: Full container ID.
      type: str
      sample: 8f3d1c2b7a6e5d4c3b2a19081726354453627180918273645546372819abcdef
    image:
      description: The image the container was created from, as given when it was created (C(Config.Image)).
      type: str
      sample: registry.example.com/app:v42
    image_id:
      description: ID of the image the container runs.
      type: str
      sample: sha256:5b3e8a8f9d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a
    status:
      description: Engine state, one of V(created), V(running), V(paused), V(restarting), V(removing), V(exited),
        V(dead).
      type: str
      sample: running
    running:
      description: Whether the container runs (also true while it is paused or restarting).
      type: bool
      sample: true
    labels:
      description: All labels of the container.
      type: dict
      sample: {baton.stack: shop, baton.entry: app, baton.replica: "0", baton.kind: http}
    created:
      description: When the container was created, as the engine reports it (RFC 3339, UTC).
      type: str
      sample: "2026-11-22T10:45:01.123456789Z"
    mounts:
      description:
        - The container's mounts (bind mounts, named and anonymous volumes, including those it got with
          C(volumes_from)), e.g. to find a data container's volume on the host.
      type: list
      elements: dict
      contains:
        type:
          description: V(bind), V(volume), V(tmpfs)...
          type: str
        name:
          description: Volume name (for a volume), else null.
          type: str
        source:
          description: Path on the Docker host.
          type: str
        destination:
          description: Path in the container.
          type: str
        read_only:
          description: Whether the mount is read-only.
          type: bool
      sample:
        - {type: volume, name: 3f9c0d..., source: /var/lib/docker/volumes/3f9c0d.../_data, destination: /var/lib/haproxy/admin,
           read_only: false}
  sample:
    - name: app0
      id: 8f3d1c2b7a6e5d4c3b2a19081726354453627180918273645546372819abcdef
      image: registry.example.com/app:v42
      image_id: sha256:5b3e8a8f9d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a
      status: running
      running: true
      labels: {baton.stack: shop, baton.entry: app}
      created: "2026-11-22T10:45:01.123456789Z"
      mounts: []
"""

from ansible_collections.baton.docker.plugins.module_utils._containers import list_containers  # noqa: E402
from ansible_collections.baton.docker.plugins.module_utils._docker_client import (  # noqa: E402
    DockerClient,
)
from ansible_collections.baton.docker.plugins.module_utils._module import (  # noqa: E402
    CONTAINER_NAME,
    ModuleRunner,
    run_module,
)
from ansible_collections.baton.docker.plugins.module_utils._params import ParamError, normalize_mapping  # noqa: E402


def argument_spec():
    return dict(
        labels=dict(type="dict"),
        name=dict(type="str"),
        all=dict(type="bool", default=True),
    )


def validate(params):
    name = params["name"]
    if name and not CONTAINER_NAME.match(name):
        # The engine reads a name such as "/" or "" as another endpoint (a list of all containers).
        return "name: %r is not a valid container name" % name
    return None


class ContainerInfo(ModuleRunner):
    def run(self):
        params = self.params
        labels = normalize_mapping("labels", params["labels"])
        if params["name"] is not None and not params["name"].strip():
            raise ParamError("name: must not be empty (leave it out to list by labels only)")
        client = DockerClient.from_params(params).connect()
        try:
            containers = list_containers(client, labels=labels, name=params["name"], include_stopped=params["all"])
        finally:
            client.close()
        return dict(changed=False, containers=containers)


def main():
    run_module(argument_spec(), ContainerInfo, connection="docker", validate=validate,
               failure=lambda params: dict(containers=[]))


if __name__ == "__main__":
    main()

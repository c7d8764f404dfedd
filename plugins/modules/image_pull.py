#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: image_pull
short_description: Make sure a release image is on the Docker host, optionally the exact build expected
version_added: 0.1.0
description:
  - Pulls O(image) when it is not present locally (or on every run with O(pull=always)), before a rollout changes
    anything, so that an unknown tag stops a deploy while every container still runs.
  - With O(expected_image_id) the image must have that ID once present. A rollout uses this to run in production the very
    build that ran in staging, or to roll back to the build a host recorded.
author:
  - baton.docker maintainers (@baton-docker)
extends_documentation_fragment:
  - baton.docker.attributes
  - baton.docker.docker
  - baton.docker.pull
attributes:
  check_mode:
    description: Nothing is pulled; an image that is not present locally is looked up in its registry, so a tag that
      does not exist fails in check mode too.
  diff_mode:
    description: Before and after image ID.
  platform:
    description: Runs on the Docker host.
options:
  image:
    description:
      - The image, as C(repository:tag) or C(repository@sha256:<digest>). A repository without tag means C(:latest).
    type: str
    required: true
  expected_image_id:
    description:
      - Image ID (C(sha256:...)) the image must have. When the local image differs and O(pull) allows it, the image is
        pulled again; when it still differs the task fails.
      - The same option as O(baton.docker.rollout#module:expected_image_id).
    type: str
    aliases: [expected_id]
"""

EXAMPLES = r"""
- name: Fetch the release before any container changes
  baton.docker.image_pull:
    image: registry.example.com/clay/mobile:v1.0.0

- name: Production runs exactly what staging ran
  baton.docker.image_pull:
    image: registry.example.com/clay/mobile:v1.0.0
    expected_image_id: "{{ hostvars['localhost'].baton_promoted_image_id }}"

- name: Pull from a private registry with credentials kept out of the output
  baton.docker.image_pull:
    image: registry.example.com/clay/mobile:v1.0.0
    pull_auth:
      username: deploy
      password: "{{ vault_registry_password }}"
"""

RETURN = r"""
image:
  description: The normalized image reference.
  returned: always
  type: str
  sample: registry.example.com/clay/mobile:v1.0.0
image_id:
  description: ID of the image on the host after the task; V(null) in check mode when it would be pulled.
  returned: always
  type: str
  sample: sha256:bd6c94ae805ab4aad4d42e5d84232174fa4cb23e7b39914752dec54e1bfcb99c
repo_digests:
  description: Repository digests of the image (empty for an image built locally and never pushed).
  returned: always
  type: list
  elements: str
  sample: [registry.example.com/clay/mobile@sha256:0d4f2d3b1e8c7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29]
digest:
  description:
    - The registry digest of the image's repository (the one in O(image), or the one the pulled image has, or in check
      mode the one the registry answers for the tag); null for an image never pushed.
  returned: always
  type: str
  sample: sha256:0d4f2d3b1e8c7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29
pinned:
  description:
    - The image by its digest, C(repository@sha256:...), which keeps naming this very build when the tag moves (what
      C(playbooks/release.yml) rolls out to every host); null when there is no digest.
  returned: always
  type: str
  sample: registry.example.com/clay/mobile@sha256:0d4f2d3b1e8c7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29
pulled:
  description: Whether the image was (or in check mode would be) pulled.
  returned: always
  type: bool
  sample: true
"""

from ansible_collections.baton.docker.plugins.module_utils._docker_client import (
    DockerClient,
    DockerClientError,
    PULL_ARGS,
)
from ansible_collections.baton.docker.plugins.module_utils._image_ref import ImageRef
from ansible_collections.baton.docker.plugins.module_utils._module import ModuleRunner, run_module


def repository_digest(image, repo_digests):
    """The registry digest of ``image``'s repository among an image's ``RepoDigests``, or None."""
    for entry in repo_digests or []:
        repository, _sep, digest = entry.partition("@")
        if repository == image.repository and digest:
            return digest
    return None


class ImagePull(ModuleRunner):
    """Makes sure the image is present (and is the expected build), pulling it when it must."""

    image = ref = client = None

    def _pull(self, reason):
        try:
            return self.client.pull_image(self.image, auth=self.params["pull_auth"])
        except DockerClientError as exc:
            raise DockerClientError("image %s %s and could not be pulled: %s" % (self.ref, reason, exc))

    def run(self):
        self.image = ImageRef.parse(self.params["image"])
        self.ref = self.image.name
        self.client = DockerClient.from_params(self.params).connect()
        expected = self.params["expected_image_id"]
        pull = self.params["pull"]
        before = self.client.image_attrs(self.ref)
        before_id = before["Id"] if before else None

        if before is None:
            reason = "is not present locally"
            if pull == "never":
                raise DockerClientError("image %s %s and pull=never" % (self.ref, reason))
        elif pull == "always":
            reason = "is to be pulled on every run (pull=always)"
        elif expected and before_id != expected and pull != "never":
            reason = "is %s locally, not the expected %s" % (before_id, expected)
        else:
            reason = None

        after = before
        digest = self.image.digest
        if reason and self.module.check_mode:
            try:
                digest = self.client.distribution_digest(self.ref, auth=self.params["pull_auth"])
            except DockerClientError as exc:
                raise DockerClientError("image %s %s and was not found in its registry: %s" % (self.ref, reason, exc))
            after = None if before is None or pull == "always" else before
        elif reason:
            after = self._pull(reason)
        after_id = after["Id"] if after else None

        if expected and after_id is not None and after_id != expected:
            raise DockerClientError("image %s is %s on this host, not the expected build %s: refusing to deploy a "
                                    "different build" % (self.ref, after_id, expected))
        digest = digest or repository_digest(self.image, (after or {}).get("RepoDigests"))
        pulled = bool(reason)
        changed = pulled and (after_id is None or after_id != before_id)
        result = dict(
            changed=changed,
            pulled=pulled,
            image=self.ref,
            image_id=after_id,
            repo_digests=(after or {}).get("RepoDigests") or [],
            digest=digest,
            pinned=ImageRef(self.image.repository, digest=digest).name if digest else None,
        )
        if self.module._diff:
            result["diff"] = dict(before={"image": self.ref, "id": before_id},
                                  after={"image": self.ref, "id": after_id or "(pulled)"})
        return result


def argument_spec():
    spec = dict(
        image=dict(type="str", required=True),
        expected_image_id=dict(type="str", aliases=["expected_id"]),
    )
    spec.update(PULL_ARGS)
    return spec


def main():
    run_module(argument_spec(), ImagePull, connection="docker")


if __name__ == "__main__":
    main()

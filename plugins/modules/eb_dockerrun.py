#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: eb_dockerrun
short_description: Write an Elastic Beanstalk Dockerrun.aws.json and its source bundle
version_added: 0.1.0
description:
  - Renders C(Dockerrun.aws.json) for AWS Elastic Beanstalk from options, in version 1 (one container, Docker
    platform) or version 2 (several containers, ECS managed Docker platform), and writes it to O(dest).
  - Can also write the source bundle Elastic Beanstalk deploys, a zip holding C(Dockerrun.aws.json) and optional
    extra files such as an C(.ebextensions) directory (O(bundle), O(bundle_files)). The zip is deterministic (sorted
    members, fixed timestamps and modes), so the same content always gives the same bytes.
  - "Checks the options before anything is written. Every problem is reported at once, each naming its field, for
    example C(containers[1].links[0]: 'db' is not a container in this Dockerrun)."
  - Compares first. A file whose content and mode are already right is not touched (its mtime does not change)
    and the task reports C(changed=false). Files are replaced atomically.
  - Use M(baton.docker.eb_deploy) to deploy the bundle.
author:
  - baton.docker maintainers (@baton-docker)
extends_documentation_fragment:
  - baton.docker.attributes
attributes:
  check_mode:
    description: Renders, validates and compares, then reports what would change without writing.
  diff_mode:
    description: Shows C(Dockerrun.aws.json) before and after, and the list of bundle members with their sha256.
      Environment values are masked, see O(containers[].env).
  platform:
    description: Writes files on the target host, usually the controller (C(localhost)).
options:
  dest:
    description:
      - Where to write C(Dockerrun.aws.json). At least one of O(dest) and O(bundle) is needed.
    type: path
  bundle:
    description:
      - Where to write the source bundle zip (C(Dockerrun.aws.json) at its root, plus O(bundle_files)).
    type: path
  bundle_files:
    description:
      - Files or directories to add to the bundle, each stored under its own base name at the root of the zip (a
        directory with everything below it), for example C(.ebextensions) or C(.platform).
      - Only used with O(bundle).
    type: list
    elements: path
  mode:
    description:
      - File mode of O(dest) and O(bundle), as an octal string such as V('0644'). Quote it in YAML.
      - Defaults to V('0600') because the file may carry environment values (see O(containers[].env)).
    type: raw
    default: '0600'
  version:
    description:
      - V(1) writes a single-container file (C(AWSEBDockerrunVersion) C("1")) for the Docker platform; it uses O(image),
        O(ports), O(volumes), O(logging), O(entrypoint), O(command).
      - V(2) writes a multi-container file (C(AWSEBDockerrunVersion) C(2)) for the ECS managed Docker platform; it uses
        O(containers) and O(volumes).
      - Options that belong to the other version are an error.
    type: int
    choices: [1, 2]
    default: 1
  image:
    description:
      - Version 1 only. Image to run, with its tag, for example C(123456789012.dkr.ecr.us-east-1.amazonaws.com/app:git_cf7edb2).
      - When set, O(ports) needs at least one port. Leave it out to have Elastic Beanstalk build the C(Dockerfile) of
        the bundle.
    type: str
  image_update:
    description:
      - Version 1 only. Written as C(Image.Update). V(true) makes Elastic Beanstalk pull the image on each deploy.
    type: bool
    default: true
  ports:
    description:
      - Version 1 only. Ports the container exposes. Elastic Beanstalk sends the environment's traffic to the first one.
    type: list
    elements: dict
    suboptions:
      container_port:
        description: Port inside the container.
        type: int
        required: true
      host_port:
        description: Port on the host, when it must differ from O(ports[].container_port).
        type: int
  volumes:
    description:
      - Version 1, host directories mounted into the container, each with O(volumes[].host_path) and
        O(volumes[].container_path).
      - Version 2, named volumes of the task, each with O(volumes[].name) and O(volumes[].host_path), mounted by
        O(containers[].mount_points).
    type: list
    elements: dict
    suboptions:
      name:
        description: Version 2. Name used by O(containers[].mount_points[].source_volume).
        type: str
      host_path:
        description: Directory on the host instance (C(HostDirectory) in version 1, C(host.sourcePath) in version 2).
        type: str
        required: true
      container_path:
        description: Version 1. Directory inside the container (C(ContainerDirectory)).
        type: str
  logging:
    description:
      - Version 1 only. Directory inside the container where the application writes its logs, so that Elastic
        Beanstalk can collect and rotate them (C(Logging)).
    type: str
  entrypoint:
    description:
      - Version 1 only. Overrides the image's entrypoint (C(Entrypoint)), one string.
    type: str
  command:
    description:
      - Version 1 only. Command passed to the entrypoint (C(Command)), one string.
    type: str
  authentication:
    description:
      - Location in S3 of a C(.dockercfg) file Elastic Beanstalk uses to pull from a private registry. Not needed
        for ECR, which the instance role reaches.
    type: dict
    suboptions:
      bucket:
        description: S3 bucket of the file.
        type: str
        required: true
      key:
        description: S3 key of the file.
        type: str
        required: true
  containers:
    description:
      - Version 2 only, and required there. The containers of the task (C(containerDefinitions)), in order.
    type: list
    elements: dict
    suboptions:
      name:
        description: Container name, unique in the file.
        type: str
        required: true
      image:
        description: Image with its tag.
        type: str
        required: true
      essential:
        description: When an essential container stops, the whole task stops.
        type: bool
        default: true
      memory:
        description:
          - Hard memory limit in MiB. At least one of O(containers[].memory) and O(containers[].memory_reservation)
            is needed.
        type: int
      memory_reservation:
        description: Soft memory limit in MiB (C(memoryReservation)); not more than O(containers[].memory).
        type: int
      env:
        description:
          - Environment variables of the container (C(environment)), written sorted by name. Booleans become
            V(true)/V(false).
          - The values are treated as secrets. Ansible masks them in the task's output, logs and diff
            (C(********)); note that it masks every occurrence of each value in the output, so a very short value
            can mask unrelated text. The written file and bundle hold them in clear because Elastic Beanstalk reads
            them from there, hence the V('0600') default of O(mode). Prefer Elastic Beanstalk environment properties
            for real secrets.
        type: dict
      ports:
        description: Port mappings (C(portMappings)). A host port may only be used once in the file.
        type: list
        elements: dict
        suboptions:
          container_port:
            description: Port inside the container.
            type: int
            required: true
          host_port:
            description: Port on the host instance.
            type: int
      links:
        description: Containers to link to, as C(name) or C(name:alias). Each must be a container of this file.
        type: list
        elements: str
      volumes_from:
        description: Containers whose volumes this container mounts (C(volumesFrom)). Each must be a container of
          this file.
        type: list
        elements: str
      mount_points:
        description:
          - Volumes mounted into the container (C(mountPoints)). Each source volume must be declared in O(volumes),
            or be one of the C(awseb-logs-NAME) log volumes Elastic Beanstalk creates.
        type: list
        elements: dict
        suboptions:
          source_volume:
            description: Name of the volume.
            type: str
            required: true
          container_path:
            description: Path inside the container.
            type: str
            required: true
          read_only:
            description: Mount it read-only.
            type: bool
            default: false
      entrypoint:
        description: Entrypoint (C(entryPoint)), as a list of arguments.
        type: list
        elements: str
      command:
        description: Command (C(command)), as a list of arguments.
        type: list
        elements: str
notes:
  - Elastic Beanstalk's own documentation of the file format is
    U(https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/create_deploy_docker_v2config.html).
"""

EXAMPLES = r"""
- name: Single container running an image from ECR
  baton.docker.eb_dockerrun:
    dest: /tmp/release/Dockerrun.aws.json
    bundle: /tmp/release/bundle.zip
    bundle_files:
      - "{{ playbook_dir }}/files/.ebextensions"
    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/takumi-server:git_cf7edb2
    ports:
      - container_port: 8000
    logging: /var/log/app

- name: Web server and app in one task, sharing a volume
  baton.docker.eb_dockerrun:
    bundle: /tmp/release/bundle.zip
    version: 2
    volumes:
      - name: static
        host_path: /var/app/current/static
    containers:
      - name: app
        image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:git_cf7edb2
        memory: 256
        env:
          APP_PORT: 8000
      - name: proxy
        image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/proxy:1.4
        memory: 64
        ports:
          - host_port: 80
            container_port: 80
        links:
          - app
        mount_points:
          - source_volume: static
            container_path: /srv/static
            read_only: true
          - source_volume: awseb-logs-proxy
            container_path: /var/log/nginx
"""

RETURN = r"""
dest:
  description: Path of C(Dockerrun.aws.json), when O(dest) was given.
  returned: always
  type: str
  sample: /tmp/release/Dockerrun.aws.json
bundle:
  description: Path of the bundle zip, when O(bundle) was given.
  returned: always
  type: str
  sample: /tmp/release/bundle.zip
dockerrun:
  description: The rendered document. Environment values are masked.
  returned: success
  type: dict
  sample: {"AWSEBDockerrunVersion": "1", "Image": {"Name": "app:git_cf7edb2", "Update": "true"},
           "Ports": [{"ContainerPort": "8000"}]}
sha256:
  description: sha256 of the rendered C(Dockerrun.aws.json) text.
  returned: success
  type: str
  sample: 3c5e0e2fb6b0e2b9e0a1a3b0f7f0d1c2b8c9e6d1a2f3b4c5d6e7f8091a2b3c4d
bundle_sha256:
  description: sha256 of the bundle zip, when O(bundle) was given. It only changes when the content does, so it
    identifies a release bundle.
  returned: success
  type: str
  sample: 9f2d0c6f3c1b4e7a8d5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d
bundle_members:
  description: Names stored in the bundle, sorted.
  returned: success
  type: list
  elements: str
  sample: [".ebextensions/01-logs.config", "Dockerrun.aws.json"]
"""

import os

from ansible_collections.baton.docker.plugins.module_utils._dockerrun import (
    DOCKERRUN_NAME, build_zip, bundle_entries, dumps, parse_mode, render, sha256_hex, validate,
    zip_listing, zip_member,
)
from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError
from ansible_collections.baton.docker.plugins.module_utils._files import atomic_write
from ansible_collections.baton.docker.plugins.module_utils._module import ModuleRunner, run_module


class DockerrunError(BatonError):
    """A Dockerrun file or bundle that cannot be rendered or written."""


def _read(path):
    """Bytes of a file, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        if not os.path.exists(path):
            return None
        raise DockerrunError("cannot read %s: %s" % (path, exc))


def _collect(paths):
    """(arcname, bytes, executable) of every file named by bundle_files."""
    extra = []
    for index, path in enumerate(paths):
        path = path.rstrip("/") or path
        base = os.path.basename(path)
        if os.path.isfile(path):
            extra.append((base, _read(path), os.access(path, os.X_OK)))
        elif os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    full = os.path.join(root, name)
                    if not os.path.isfile(full):
                        continue
                    rel = os.path.relpath(full, path).replace(os.sep, "/")
                    extra.append(("%s/%s" % (base, rel), _read(full), os.access(full, os.X_OK)))
        else:
            raise DockerrunError("bundle_files[%d]: %s is neither a file nor a directory" % (index, path))
    return extra


def _write(path, data, mode):
    """Atomic replace of path with data, created with mode."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise DockerrunError("cannot write %s: directory %s does not exist" % (path, directory))
    try:
        atomic_write(path, data, mode)
    except OSError as exc:
        raise DockerrunError("cannot write %s: %s" % (path, exc))


def _needs(path, data, mode):
    """('write'|'chmod'|None, current bytes) for one target file."""
    current = _read(path)
    if current != data:
        return "write", current
    if (os.stat(path).st_mode & 0o7777) != mode:
        return "chmod", current
    return None, current


class Dockerrun(ModuleRunner):
    def run(self):
        params = self.params
        errors = validate(params)
        try:
            mode = parse_mode(params["mode"])
        except ValueError as exc:
            errors.append(str(exc))
        if errors:
            raise DockerrunError("invalid Dockerrun options: " + "; ".join(errors))

        doc = render(params)
        text = dumps(doc)
        data = text.encode("utf-8")
        result = dict(changed=False, dest=params["dest"], bundle=params["bundle"], dockerrun=doc,
                      sha256=sha256_hex(data))
        diffs = []
        targets = []
        if params["dest"]:
            action, current = _needs(params["dest"], data, mode)
            targets.append((params["dest"], data, action))
            diffs.append(dict(before_header=params["dest"], after_header=params["dest"],
                              before=current.decode("utf-8", "replace") if current is not None else "",
                              after=text))
        if params["bundle"]:
            try:
                entries = bundle_entries(text, _collect(params["bundle_files"] or []))
            except ValueError as exc:
                raise DockerrunError(str(exc))
            archive = build_zip(entries)
            action, current = _needs(params["bundle"], archive, mode)
            targets.append((params["bundle"], archive, action))
            result["bundle_sha256"] = sha256_hex(archive)
            result["bundle_members"] = [entry[0] for entry in entries]
            if not params["dest"]:
                inner = "%s:%s" % (params["bundle"], DOCKERRUN_NAME)
                diffs.append(dict(before_header=inner, after_header=inner,
                                  before=(zip_member(current, DOCKERRUN_NAME) or "") if current else "",
                                  after=text))
            members = "%s (members)" % params["bundle"]
            diffs.append(dict(before_header=members, after_header=members,
                              before=(zip_listing(current) or "") if current else "",
                              after=zip_listing(archive)))

        for path, payload, action in targets:
            if action is None:
                continue
            result["changed"] = True
            if self.module.check_mode:
                continue
            if action == "write":
                _write(path, payload, mode)
            else:
                try:
                    os.chmod(path, mode)
                except OSError as exc:
                    raise DockerrunError("cannot set the mode of %s: %s" % (path, exc))
        if self.module._diff:
            result["diff"] = diffs
        return result


def argument_spec():
    path_options = dict(host_path=dict(type="str", required=True), name=dict(type="str"),
                        container_path=dict(type="str"))
    port_options = dict(container_port=dict(type="int", required=True), host_port=dict(type="int"))
    container_options = dict(
        name=dict(type="str", required=True),
        image=dict(type="str", required=True),
        essential=dict(type="bool", default=True),
        memory=dict(type="int"),
        memory_reservation=dict(type="int"),
        env=dict(type="dict", no_log=True),
        ports=dict(type="list", elements="dict", options=port_options),
        links=dict(type="list", elements="str"),
        volumes_from=dict(type="list", elements="str"),
        mount_points=dict(type="list", elements="dict", options=dict(
            source_volume=dict(type="str", required=True),
            container_path=dict(type="str", required=True),
            read_only=dict(type="bool", default=False),
        )),
        entrypoint=dict(type="list", elements="str"),
        command=dict(type="list", elements="str"),
    )
    return dict(
        dest=dict(type="path"),
        bundle=dict(type="path"),
        bundle_files=dict(type="list", elements="path"),
        mode=dict(type="raw", default="0600"),
        version=dict(type="int", choices=[1, 2], default=1),
        image=dict(type="str"),
        image_update=dict(type="bool", default=True),
        ports=dict(type="list", elements="dict", options=port_options),
        volumes=dict(type="list", elements="dict", options=path_options),
        logging=dict(type="str"),
        entrypoint=dict(type="str"),
        command=dict(type="str"),
        authentication=dict(type="dict", options=dict(bucket=dict(type="str", required=True),
                                                      key=dict(type="str", required=True, no_log=False))),
        containers=dict(type="list", elements="dict", options=container_options),
    )


def main():
    run_module(argument_spec(), Dockerrun,
               required_one_of=[["dest", "bundle"]],
               required_if=[["version", 2, ["containers"]]],
               required_by={"bundle_files": "bundle"})


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: image_release
short_description: Build an image once, test it inside itself, then tag and push it only when the tests pass
version_added: 0.1.0
description:
  - The build-once release step. Builds the image from O(source), runs O(test_command) in a one-off container of that
    very image, and only when the command exits with 0 tags it O(repository):O(tag) and pushes it.
  - A failing (or hanging, see O(test_timeout)) test fails the task with the test output; the release tag is neither
    set nor pushed, so the registry never holds an untested image under it.
  - The push uses the credentials stored in the Docker config file, for example by M(baton.docker.registry_login).
  - Reports C(changed=true) when the local tag moved to a new image or the registry got a new manifest for the tag.
    Building an unchanged source again reuses the build cache, so a second run reports C(changed=false).
  - The one-off test container is removed afterwards, whatever the outcome.
author:
  - baton.docker maintainers (@baton-docker)
extends_documentation_fragment:
  - baton.docker.attributes
  - baton.docker.docker
attributes:
  check_mode:
    support: partial
    description: Runs in check mode without building or changing anything.
    details: Nothing is built, run, tagged or pushed. The task says what it would do and reports C(changed=true),
      because whether the build gives a new image is only known by building it.
  diff_mode:
    description: Returns the image ID the tag named (and the registry's digest) before and after; none in check mode,
      where nothing is built.
  platform:
    description: Runs on the build host, which needs the Docker engine and the source directory.
options:
  source:
    description: Build context directory (holding the Dockerfile, usually a git checkout).
    type: path
    required: true
  dockerfile:
    description: Path of the Dockerfile, relative to O(source).
    type: str
    default: Dockerfile
  repository:
    description: Repository to tag and push, with its registry, for example C(123456789012.dkr.ecr.us-east-1.amazonaws.com/app).
    type: str
    required: true
  tag:
    description: Release tag, for example C(git_cf7edb2).
    type: str
    required: true
  build_args:
    description: Build arguments (C(--build-arg)).
    type: dict
  labels:
    description: Labels set on the image and on the one-off test container.
    type: dict
  nocache:
    description: Build without the build cache.
    type: bool
    default: false
  test_command:
    description:
      - Command run in a one-off container of the new image; the release goes on only when it exits with 0.
      - A list of arguments, or a string split into arguments like a shell would (no shell runs it, use
        C([sh, -c, "..."]) for shell syntax).
      - When left out, the image is released without a test.
    type: raw
  test_env:
    description: Environment variables of the test container.
    type: dict
  test_timeout:
    description: Seconds the test command may run. When it is still running then, it is stopped and the task fails.
    type: float
    default: 600.0
  push:
    description: Push the tag after a successful test. With V(false) the image is only built, tested and tagged.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Build, test inside the image, push git_<sha> only when the tests pass
  baton.docker.image_release:
    source: /srv/checkout/takumi-server
    repository: 123456789012.dkr.ecr.us-east-1.amazonaws.com/takumi-server
    tag: "git_{{ git_sha }}"
    test_command: [make, docker_test]
    test_env:
      APP_ENV: test

- name: Build and test only (a feature branch)
  baton.docker.image_release:
    source: /srv/checkout/takumi-server
    repository: registry.example.com/takumi-server
    tag: "git_{{ git_sha }}"
    test_command: python3 -m pytest -q
    push: false
"""

RETURN = r"""
image:
  description: The release reference, C(REPOSITORY:TAG).
  returned: always
  type: str
  sample: 123456789012.dkr.ecr.us-east-1.amazonaws.com/takumi-server:git_cf7edb2
image_id:
  description: ID of the built image.
  returned: when the build ran
  type: str
  sample: sha256:5b3e8a8f9d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a
tested:
  description: Whether the test command ran and passed.
  returned: success
  type: bool
  sample: true
build_output:
  description: Last lines of the build output.
  returned: when the build ran
  type: list
  elements: str
  sample: ["Step 2/3 : COPY . /app", " ---> Using cache", "Successfully built 5b3e8a8f9d3c"]
test_output:
  description: Last lines of the test command's output (stdout and stderr).
  returned: when the test command ran
  type: list
  elements: str
  sample: ["12 passed in 3.02s"]
test_exit_code:
  description: Exit code of a failed test command (null when it did not finish in time).
  returned: when the tests failed
  type: int
  sample: 1
tagged:
  description: Whether the release tag was moved to the built image.
  returned: success
  type: bool
  sample: true
pushed:
  description: Whether the push gave the registry a new manifest for the tag.
  returned: success
  type: bool
  sample: true
digest:
  description: Manifest digest of the tag in the registry after the push.
  returned: when pushed
  type: str
  sample: sha256:0b4d5a3ea8b8d3c1e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4
msg:
  description: What happened.
  returned: always
  type: str
  sample: built, tested and pushed 127.0.0.1:5000/app:git_cf7edb2
"""

import os
import re

from ansible_collections.baton.docker.plugins.module_utils._docker_client import DockerClient
from ansible_collections.baton.docker.plugins.module_utils._image_build import (
    TestsFailed,
    build_image,
    command_argv,
    push_image,
    remote_digest,
    run_tests,
    tag_image,
)
from ansible_collections.baton.docker.plugins.module_utils._images import image_id_of
from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError
from ansible_collections.baton.docker.plugins.module_utils._module import ModuleRunner, run_module

TAG_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class ReleaseError(BatonError):
    """The release stopped; ``details`` carry what the tests left behind when they failed."""


class Release(ModuleRunner):
    def run(self):
        module, params = self.module, self.params
        repository, tag = params["repository"], params["tag"]
        ref = "%s:%s" % (repository, tag)
        if not TAG_PATTERN.match(tag):
            raise ReleaseError("tag: %r is not a valid Docker tag (letters, digits, _ . -, at most 128, not starting "
                               "with . or -)" % tag)
        if not os.path.isdir(params["source"]):
            raise ReleaseError("source: %s is not a directory" % params["source"])
        if not os.path.isfile(os.path.join(params["source"], params["dockerfile"])):
            raise ReleaseError("dockerfile: %s not found in %s" % (params["dockerfile"], params["source"]))
        command = command_argv(params["test_command"])
        result = dict(changed=False, image=ref, tested=False, tagged=False, pushed=False)
        if module.check_mode:
            steps = ["build %s" % params["source"]]
            if command:
                steps.append("run %s in it" % " ".join(command))
            steps.append("tag it %s" % ref)
            if params["push"]:
                steps.append("push it")
            result.update(changed=True, msg="would " + ", ".join(steps))
            return result

        client = DockerClient.from_params(params).connect()
        before = None
        try:
            previous = image_id_of(client, ref)
            image_id, build_output = build_image(client, params["source"], params["dockerfile"],
                                                 params["build_args"], params["labels"], params["nocache"])
            result.update(image_id=image_id, build_output=build_output)
            if command:
                try:
                    result["test_output"] = run_tests(client, image_id, command, params["test_env"], params["labels"],
                                                      params["test_timeout"])
                except TestsFailed as exc:
                    raise ReleaseError("%s; %s was not tagged or pushed" % (exc, ref),
                                       dict(image_id=image_id, test_output=exc.output, test_exit_code=exc.exit_code))
                result["tested"] = True
            if previous != image_id:
                tag_image(client, image_id, repository, tag)
                result["tagged"] = True
            if params["push"]:
                before = remote_digest(client, repository, tag)
                result["digest"] = push_image(client, repository, tag) or remote_digest(client, repository, tag)
                result["pushed"] = result["digest"] != before
        finally:
            client.close()
        result["changed"] = result["tagged"] or result["pushed"]
        if module._diff:
            result["diff"] = dict(before=dict(image=ref, image_id=previous, digest=before if params["push"] else None),
                                  after=dict(image=ref, image_id=image_id, digest=result.get("digest")))
        done = ["built", "tested" if result["tested"] else "untested"]
        done.append("pushed" if result["pushed"] else ("already in the registry" if params["push"] else "not pushed"))
        result["msg"] = "%s %s" % (", ".join(done), ref)
        return result


def argument_spec():
    return dict(
        source=dict(type="path", required=True),
        dockerfile=dict(type="str", default="Dockerfile"),
        repository=dict(type="str", required=True),
        tag=dict(type="str", required=True),
        build_args=dict(type="dict"),
        labels=dict(type="dict"),
        nocache=dict(type="bool", default=False),
        test_command=dict(type="raw"),
        test_env=dict(type="dict"),
        test_timeout=dict(type="float", default=600.0),
        push=dict(type="bool", default=True),
    )


def main():
    run_module(argument_spec(), Release, connection="docker",
               failure=lambda params: dict(image="%s:%s" % (params["repository"], params["tag"])))


if __name__ == "__main__":
    main()

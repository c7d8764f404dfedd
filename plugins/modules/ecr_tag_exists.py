#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ecr_tag_exists
short_description: Check that an image tag (or digest) exists in an Amazon ECR repository
version_added: 0.1.0
description:
  - Looks up one image of an Amazon ECR repository by O(tag) or O(digest), with a single C(DescribeImages) call by
    image ID (the repository is never paged through).
  - Returns whether it exists and, when it does, its digest, push date, size and every tag that points to it.
  - A missing repository and a missing tag are told apart, in RV(missing) and in the message.
  - With O(fail_if_missing=true), a missing image fails the task with that message, which is how a deploy refuses a
    tag that was never pushed (for example because its tests failed).
  - Read-only, it never reports a change.
author:
  - baton.docker maintainers (@baton-docker)
extends_documentation_fragment:
  - baton.docker.attributes
  - baton.docker.aws
attributes:
  check_mode:
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: N/A
    description: Reads only; there is nothing to compare.
  platform:
    description: Runs where AWS credentials are, usually the controller (C(localhost)).
options:
  repository:
    description: Name of the ECR repository, for example C(takumi-server) or C(team/app).
    type: str
    required: true
    aliases: [name]
  tag:
    description: Image tag to look for, for example C(git_cf7edb2). Exactly one of O(tag) and O(digest) is needed.
    type: str
  digest:
    description: Image digest to look for, C(sha256:...).
    type: str
  registry_id:
    description: AWS account ID of the registry. Defaults to the account of the credentials.
    type: str
  fail_if_missing:
    description: Fail the task when the repository or the image does not exist, instead of returning RV(exists=false).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Refuse to deploy a tag that was never pushed
  baton.docker.ecr_tag_exists:
    repository: takumi-server
    tag: git_cf7edb2
    region: us-east-1
    fail_if_missing: true
  register: pushed

- name: Use the image's full name
  ansible.builtin.debug:
    msg: "{{ pushed.image }} ({{ pushed.digest }}, tags {{ pushed.tags | join(', ') }})"

- name: Look up an image by digest in another account's registry
  baton.docker.ecr_tag_exists:
    repository: shared/base
    digest: sha256:0b4d5a3ea8b8d3c1e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4
    registry_id: "210987654321"
"""

RETURN = r"""
exists:
  description: Whether the image exists.
  returned: always
  type: bool
  sample: true
missing:
  description: What is missing when RV(exists=false), V(repository) or V(image); null when the image exists.
  returned: always
  type: str
  sample: image
msg:
  description: Says what was found, or what is missing.
  returned: always
  type: str
  sample: "ECR repository 'takumi-server' has no image with tag 'git_0000000' (region us-east-1)"
repository:
  description: The repository.
  returned: always
  type: str
  sample: takumi-server
tag:
  description: The tag looked for (null when looked up by digest).
  returned: always
  type: str
  sample: git_cf7edb2
digest:
  description: Digest of the image's manifest.
  returned: when the image exists
  type: str
  sample: sha256:0b4d5a3ea8b8d3c1e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4
tags:
  description: Every tag that points to the image, sorted.
  returned: when the image exists
  type: list
  elements: str
  sample: [git_cf7edb2, latest]
pushed_at:
  description: When the image was pushed, ISO 8601.
  returned: when the image exists
  type: str
  sample: "2016-03-23T09:57:15+00:00"
size:
  description: Size of the image in the registry, in bytes.
  returned: when the image exists
  type: int
  sample: 48213504
registry_id:
  description: Account ID of the registry holding the image.
  returned: when the image exists
  type: str
  sample: "123456789012"
registry:
  description: Host name of the registry, as used in image names and by C(docker login).
  returned: when the image exists
  type: str
  sample: 123456789012.dkr.ecr.us-east-1.amazonaws.com
image:
  description: Full image name for C(docker pull) or a Dockerrun file, C(REGISTRY/REPOSITORY:TAG) (or C(@DIGEST)).
  returned: when the image exists
  type: str
  sample: 123456789012.dkr.ecr.us-east-1.amazonaws.com/takumi-server:git_cf7edb2
"""

from ansible_collections.baton.docker.plugins.module_utils._aws import (
    AwsClient, ImageMissing, RepositoryMissing, image_summary,
)
from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError
from ansible_collections.baton.docker.plugins.module_utils._module import ModuleRunner, run_module


class Missing(BatonError):
    """The image is not there and fail_if_missing is set."""


def check(aws, params):
    """The module result (without failing on a miss)."""
    repository, tag, digest = params["repository"], params["tag"], params["digest"]
    result = dict(changed=False, repository=repository, tag=tag, exists=False, missing=None)
    try:
        details = aws.ecr_image(repository, tag=tag, digest=digest, registry_id=params["registry_id"])
    except RepositoryMissing as exc:
        result.update(missing="repository", msg=str(exc))
        return result
    except ImageMissing as exc:
        result.update(missing="image", msg=str(exc))
        return result
    summary = image_summary(details, aws.region)
    result.update(exists=True, digest=summary["digest"], tags=summary["tags"], pushed_at=summary["pushed_at"],
                  size=summary["size"], registry_id=summary["registry_id"], registry=summary["registry"])
    suffix = ":%s" % tag if tag else "@%s" % summary["digest"]
    result["image"] = "%s/%s%s" % (summary["registry"], repository, suffix) if summary["registry"] \
        else repository + suffix
    result["msg"] = "%s exists (%s)" % (result["image"], summary["digest"])
    return result


class TagCheck(ModuleRunner):
    def run(self):
        self.result = check(AwsClient.from_params(self.params), self.params)
        if not self.result["exists"] and self.params["fail_if_missing"]:
            raise Missing(self.result["msg"])
        return self.result


def argument_spec():
    return dict(
        repository=dict(type="str", required=True, aliases=["name"]),
        tag=dict(type="str"),
        digest=dict(type="str"),
        registry_id=dict(type="str"),
        fail_if_missing=dict(type="bool", default=False),
    )


def main():
    run_module(argument_spec(), TagCheck, connection="aws",
               failure=lambda params: dict(repository=params["repository"], tag=params["tag"]),
               required_one_of=[["tag", "digest"]], mutually_exclusive=[["tag", "digest"]])


if __name__ == "__main__":
    main()

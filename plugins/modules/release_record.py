#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: release_record
short_description: Keep, on each host, the record of the releases it ran
version_added: 0.1.0
description:
  - A small JSON file per application on the application host holds the current release, the one before it, a short
    history and the slots the last rollout replaced. C(playbooks/rollback.yml) reads it to return a host to the
    release it ran before the current one.
  - With O(state=present) the given release becomes the current one; recording the release that is already current
    changes nothing.
  - With O(state=read) the record is only read; O(require_previous) fails the task when no earlier release is known.
author:
  - baton.docker maintainers (@baton-docker)
extends_documentation_fragment:
  - baton.docker.attributes
attributes:
  check_mode:
    description: Reports whether the record would change and writes nothing.
  diff_mode:
    description: Current and previous release before and after.
  platform:
    description: Runs on the application host.
options:
  path:
    description: The record file.
    type: path
    required: true
  state:
    description: V(present) records O(release) as current, V(read) only reads.
    type: str
    choices: [present, read]
    default: present
  app:
    description: Application name stored in the record.
    type: str
  release:
    description:
      - The release now running, with O(state=present).
    type: dict
    suboptions:
      version:
        description: The release tag.
        type: str
        required: true
      image:
        description: The image reference.
        type: str
        required: true
      image_id:
        description: The image ID.
        type: str
        required: true
  slots:
    description: What the rollout did to each slot (stored as C(last_rollout)).
    type: list
    elements: dict
    default: []
  history_size:
    description: How many releases the history keeps.
    type: int
    default: 10
  require_previous:
    description: With O(state=read), fail when the record holds no release before the current one.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Record the release a rollout deployed
  baton.docker.release_record:
    path: /var/lib/baton/mobile.json
    app: mobile
    release:
      version: v1.0.0
      image: registry.example.com/clay/mobile:v1.0.0
      image_id: "{{ pulled.image_id }}"

- name: Find the release to roll back to
  baton.docker.release_record:
    path: /var/lib/baton/mobile.json
    state: read
    require_previous: true
  register: releases
"""

RETURN = r"""
record:
  description: The record after the task (V(null) when there is none).
  returned: always
  type: dict
  contains:
    app:
      description: Application name.
      type: str
      returned: when a record exists
    current:
      description: The release running now (C(version), C(image), C(image_id), C(deployed_at)).
      type: dict
      returned: when a record exists
    previous:
      description: The release that ran before the current one, V(null) after the first deploy.
      type: dict
      returned: when a record exists
    history:
      description: The latest releases, newest first.
      type: list
      elements: dict
      returned: when a record exists
    last_rollout:
      description: What the last rollout did to each slot.
      type: list
      elements: dict
      returned: when a record exists
  sample:
    app: mobile
    current: {version: v1.0.1, image: "registry.example.com/clay/mobile:v1.0.1", image_id: "sha256:9b8c...",
              deployed_at: "2026-11-22T05:30:00Z"}
    previous: {version: v1.0.0, image: "registry.example.com/clay/mobile:v1.0.0", image_id: "sha256:bd6c...",
               deployed_at: "2026-11-20T10:02:11Z"}
current:
  description: Shortcut to RV(record.current), null when nothing was recorded yet.
  returned: always
  type: dict
  sample: {version: v1.1.0, image: "registry.example.com/clay/mobile:v1.1.0", image_id: "sha256:4f2c..."}
previous:
  description: Shortcut to RV(record.previous).
  returned: always
  type: dict
  sample: {version: v1.0.0, image: "registry.example.com/clay/mobile:v1.0.0", image_id: "sha256:bd6c..."}
"""

import time

from ansible_collections.baton.docker.plugins.module_utils._module import ModuleRunner, run_module
from ansible_collections.baton.docker.plugins.module_utils._release import (
    ReleaseRecordError,
    next_record,
    read_record,
    write_record,
)


def _releases(record):
    record = record or {}
    return {"current": record.get("current"), "previous": record.get("previous")}


class Record(ModuleRunner):
    def run(self):
        module, params = self.module, self.params
        old = read_record(params["path"])
        if params["state"] == "read":
            if params["require_previous"] and not (old or {}).get("previous"):
                if old is None:
                    raise ReleaseRecordError("no release record at %s: nothing was deployed here with it yet" % params["path"])
                raise ReleaseRecordError("%s records no release before the current one (%s)"
                                         % (params["path"], (old.get("current") or {}).get("version")))
            return dict(changed=False, record=old, current=(old or {}).get("current"), previous=(old or {}).get("previous"))

        if not params["release"] or not params["app"]:
            # required_if lets an explicit null through.
            raise ReleaseRecordError("release and app are required when state is present")
        release = dict(params["release"])
        release["deployed_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        record, changed = next_record(old, params["app"], release, params["slots"], params["history_size"])
        if changed and not module.check_mode:
            write_record(params["path"], record)
        result = dict(changed=changed, record=record, current=record.get("current"), previous=record.get("previous"))
        if module._diff:
            result["diff"] = dict(before=_releases(old), after=_releases(record))
        return result


def argument_spec():
    return dict(
        path=dict(type="path", required=True),
        state=dict(type="str", default="present", choices=["present", "read"]),
        app=dict(type="str"),
        release=dict(type="dict", options=dict(
            version=dict(type="str", required=True),
            image=dict(type="str", required=True),
            image_id=dict(type="str", required=True),
        )),
        slots=dict(type="list", elements="dict", default=[]),
        history_size=dict(type="int", default=10),
        require_previous=dict(type="bool", default=False),
    )


def main():
    run_module(argument_spec(), Record,
               required_if=[("state", "present", ["release", "app"])])


if __name__ == "__main__":
    main()

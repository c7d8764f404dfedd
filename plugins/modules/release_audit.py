#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: release_audit
short_description: Keep the audit log of fleet releases on the lock host
version_added: 0.1.0
description:
  - Appends one JSON line per record to C(<path>/<name>.audit.jsonl) on the lock host (the host holding the
    M(baton.docker.fleet_lock) lock; reach it with C(delegate_to) and C(run_once)), and reads the latest records back.
  - With O(state=present) O(record) is appended as one line, written with a single C(write) to the file opened for
    appending and then synced to disk. C(recorded_at) (UTC, ISO 8601) is added when the record has none.
  - Idempotent - a record whose C(release_id) and C(outcome) equal those of the log's last record is not appended
    again, so re-running a recording task changes nothing. Appends are serialized by an C(flock) on the log, so two
    runs never both append the same record.
  - With O(state=query) the last O(last) records are returned, oldest first. A line left unfinished by a crash, or
    any line that is not a JSON object, is skipped and reported as a warning; the next append starts a new line
    after it.
  - The directory is created with mode 0700 and the log with 0600.
author:
  - baton.docker maintainers (@baton-docker)
extends_documentation_fragment:
  - baton.docker.attributes
attributes:
  check_mode:
    description: Reads the log and reports whether the record would be appended; writes nothing.
  diff_mode:
    description: The log's last record before and after.
  platform:
    description: Runs on the lock host (use C(delegate_to)).
options:
  path:
    description: The directory holding the audit logs (the one holding the locks).
    type: path
    default: /var/lib/baton/fleet
  name:
    description:
      - The log, named after the application and the destination (V(shop-production)), as the lock.
      - 1 to 128 letters, digits, V(_), V(.) or V(-), starting with a letter or digit.
    type: str
    required: true
  state:
    description: V(present) appends O(record), V(query) reads the latest records.
    type: str
    choices: [present, query]
    default: present
  record:
    description:
      - The record to append, with O(state=present). It must hold a C(release_id) string; C(outcome) (for example
        V(started), V(succeeded), V(failed)) tells the records of one release apart.
      - The record is written to a file and shown in the task result. Put no secret values in it, only the names
        (keys) of the secrets a release used. A record of more than 1 MiB as JSON is refused.
    type: dict
  last:
    description: With O(state=query), how many of the latest records to return.
    type: int
    default: 10
seealso:
  - module: baton.docker.fleet_lock
"""

EXAMPLES = r"""
- name: Record that the release started
  baton.docker.release_audit:
    name: shop-production
    record:
      release_id: "{{ release_id }}"
      outcome: started
      holder: alice@laptop
      version: v2.4.0
      hosts: "{{ ansible_play_hosts_all }}"
  delegate_to: "{{ groups['load_balancers'][0] }}"
  run_once: true

- name: Read the last five releases
  baton.docker.release_audit:
    name: shop-production
    state: query
    last: 5
  delegate_to: "{{ groups['load_balancers'][0] }}"
  run_once: true
  register: audit
"""

RETURN = r"""
record:
  description:
    - The record appended (or that would be appended in check mode), C(recorded_at) included; when it repeats the
      log's last record, that last record.
  returned: with O(state=present)
  type: dict
  sample: {release_id: shop-production-20261207-100000-alice, outcome: succeeded, version: v2.4.0,
           recorded_at: "2026-12-07T10:04:12Z"}
records:
  description: The last O(last) records, oldest first.
  returned: with O(state=query)
  type: list
  elements: dict
  sample:
    - {release_id: shop-production-20261207-100000-alice, outcome: started, recorded_at: "2026-12-07T10:00:01Z"}
    - {release_id: shop-production-20261207-100000-alice, outcome: succeeded, recorded_at: "2026-12-07T10:04:12Z"}
"""

from ansible_collections.baton.docker.plugins.module_utils._module import ModuleRunner, run_module
from ansible_collections.baton.docker.plugins.module_utils._params import state_name_error
from ansible_collections.baton.docker.plugins.module_utils._release_audit import (
    append_record,
    audit_file,
    last_record,
    read_latest,
    record_line,
    repeats,
)


class Audit(ModuleRunner):
    def __init__(self, module):
        super(Audit, self).__init__(module)
        self.warnings = []

    def run(self):
        params = self.params
        path = audit_file(params["path"], params["name"])
        if params["state"] == "query":
            records, self.warnings = read_latest(path, params["last"])
            return dict(changed=False, records=records)
        stored, line = record_line(params["record"])
        before, self.warnings = last_record(path)
        if self.module.check_mode:
            changed = not repeats(before, stored)
        else:
            changed, before = append_record(path, line, stored)
        result = dict(changed=changed, record=stored if changed else before)
        if self.module._diff:
            result["diff"] = dict(before=dict(last=before), after=dict(last=result["record"]))
        return result


def argument_spec():
    return dict(
        path=dict(type="path", default="/var/lib/baton/fleet"),
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "query"]),
        record=dict(type="dict", no_log=False),
        last=dict(type="int", default=10),
    )


def validate(params):
    error = state_name_error("name", params["name"])
    if error:
        return error
    if params["state"] == "present" and params["record"] is None:
        return "record is required when state is present"  # required_if lets an explicit null through
    if params["last"] < 1:
        return "last must be at least 1, got %d" % params["last"]
    return None


def main():
    run_module(argument_spec(), Audit, validate=validate, absolute_paths=("path",),
               required_if=[("state", "present", ["record"])])


if __name__ == "__main__":
    main()

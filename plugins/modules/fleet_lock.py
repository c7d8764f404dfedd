#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: fleet_lock
short_description: Hold the release lock of a fleet release across controllers
version_added: 0.1.0
description:
  - A fleet release (one playbook run over many hosts) holds one lock per application and destination so that two
    controllers never release the same application to the same hosts at once. The lock is a small JSON file,
    C(<path>/<name>.lock), on one lock host (the first load balancer by default) that the playbook reaches with
    C(delegate_to) and C(run_once).
  - With O(state=acquired) the lock is created for O(release_id) unless it exists. A lock already held by the same
    release changes nothing (the second job of one release). A lock held by another release is waited for up to
    O(wait) seconds; then the task fails naming its holder, release, version, digest and note.
  - With O(state=released) the lock of O(release_id) is removed. The lock of another release is never removed
    (the task fails and leaves it in place); no lock changes nothing.
  - With O(state=broken) whatever lock is there is removed, for a run that died holding it.
    With O(state=query) the lock is only read.
  - The lock file is created whole or not at all (a complete temporary file hard-linked to its name), so of two
    runs racing for it exactly one gets it and no reader sees a partial lock. Changes on the lock host are serialized
    by an C(flock) on C(<path>/.<name>.lock.guard). The directory is created with mode 0700, the files with 0600.
author:
  - baton.docker maintainers (@baton-docker)
extends_documentation_fragment:
  - baton.docker.attributes
attributes:
  check_mode:
    description: Reads the lock and reports what would change; writes nothing (O(wait) still applies).
  diff_mode:
    description: The lock before and after.
  platform:
    description: Runs on the lock host (use C(delegate_to)).
options:
  path:
    description: The directory holding the locks.
    type: path
    default: /var/lib/baton/fleet
  name:
    description:
      - The lock, named after the application and the destination (V(shop-production)).
      - 1 to 128 letters, digits, V(_), V(.) or V(-), starting with a letter or digit.
    type: str
    required: true
  state:
    description: What to do with the lock.
    type: str
    choices: [acquired, released, broken, query]
    default: acquired
  release_id:
    description: The release taking or letting go of the lock (unique per release, the same in all its jobs).
    type: str
  holder:
    description: Who runs the release (V(alice@laptop), V(awx@ci)). Required with O(state=acquired).
    type: str
  version:
    description: The version the release deploys, stored in the lock for others to see.
    type: str
  digest:
    description: The image digest the release deploys, stored in the lock.
    type: str
  note:
    description: Why the release runs, stored in the lock and shown to whoever finds it held.
    type: str
  wait:
    description:
      - With O(state=acquired), how many seconds to wait for another release to let the lock go before failing.
        V(0) fails at once. At most a day.
    type: float
    default: 0
  poll_interval:
    description: Seconds between two looks at a lock held by another release.
    type: float
    default: 1
notes:
  - The lock is not released when a run dies. Break it with O(state=broken) (C(playbooks/lock.yml -e
    lock_action=break)) once that run is known to be gone.
seealso:
  - module: baton.docker.release_audit
"""

EXAMPLES = r"""
- name: Take the release lock on the first load balancer
  baton.docker.fleet_lock:
    name: shop-production
    release_id: "{{ release_id }}"
    holder: "{{ lookup('env', 'USER') }}@{{ lookup('pipe', 'hostname') }}"
    version: v2.4.0
    digest: "{{ pulled.digest }}"
    note: weekly release
    wait: 60
  delegate_to: "{{ groups['load_balancers'][0] }}"
  run_once: true

- name: Let the lock go at the end of the release
  baton.docker.fleet_lock:
    name: shop-production
    state: released
    release_id: "{{ release_id }}"
  delegate_to: "{{ groups['load_balancers'][0] }}"
  run_once: true

- name: Break the lock of a run that died
  baton.docker.fleet_lock:
    name: shop-production
    state: broken
  delegate_to: "{{ groups['load_balancers'][0] }}"
  run_once: true
"""

RETURN = r"""
lock:
  description:
    - The lock held after the task (or that would be held, in check mode); V(null) when there is none.
    - When the task fails because another release holds the lock, that release's lock.
    - A lock file that is not a JSON object is returned as a dictionary whose only key, C(unreadable), says why.
  returned: always
  type: dict
  contains:
    holder:
      description: Who runs the release.
      type: str
      returned: when a lock is held
    release_id:
      description: The release holding the lock.
      type: str
      returned: when a lock is held
    version:
      description: The version it deploys.
      type: str
      returned: when a lock is held
    digest:
      description: The digest it deploys.
      type: str
      returned: when a lock is held
    note:
      description: Why it runs.
      type: str
      returned: when a lock is held
    since:
      description: When it took the lock (UTC, ISO 8601).
      type: str
      returned: when a lock is held
  sample:
    holder: bob@ci
    release_id: shop-production-20261207-100000-bob
    version: v2
    digest: "sha256:4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    note: weekly release
    since: "2026-12-07T10:00:00Z"
waited:
  description: Seconds the task waited for another release to let the lock go.
  returned: with O(state=acquired)
  type: float
  sample: 0.0
broken:
  description: The lock O(state=broken) removed (or would remove), V(null) when there was none.
  returned: with O(state=broken)
  type: dict
  sample: {holder: bob@ci, release_id: shop-production-20261207-100000-bob, since: "2026-12-07T10:00:00Z"}
"""

import math

from ansible_collections.baton.docker.plugins.module_utils._fleet_lock import FleetLock, new_lock
from ansible_collections.baton.docker.plugins.module_utils._module import MAX_SECONDS, ModuleRunner, run_module
from ansible_collections.baton.docker.plugins.module_utils._params import state_name_error


class Lock(ModuleRunner):
    def run(self):
        params = self.params
        lock = FleetLock(params["path"], params["name"], check_mode=self.module.check_mode)
        state = params["state"]
        if state == "query":
            held = lock.query()
            return dict(changed=False, lock=held)
        if state == "acquired":
            wanted = new_lock(params["release_id"], params["holder"], version=params["version"],
                              digest=params["digest"], note=params["note"])
            changed, before, held, waited = lock.acquire(wanted, wait=params["wait"],
                                                         poll_interval=params["poll_interval"])
            result = dict(changed=changed, lock=held, waited=round(waited, 3))
        elif state == "released":
            changed, before = lock.release(params["release_id"])
            held = None if changed else before
            result = dict(changed=changed, lock=held)
        else:
            changed, before = lock.break_()
            held = None
            result = dict(changed=changed, lock=None, broken=before)
        if self.module._diff:
            result["diff"] = dict(before=dict(lock=before), after=dict(lock=held))
        return result


REQUIRED = dict(acquired=("release_id", "holder"), released=("release_id",), broken=(), query=())


def argument_spec():
    return dict(
        path=dict(type="path", default="/var/lib/baton/fleet"),
        name=dict(type="str", required=True),
        state=dict(type="str", default="acquired", choices=["acquired", "released", "broken", "query"]),
        release_id=dict(type="str"),
        holder=dict(type="str"),
        version=dict(type="str"),
        digest=dict(type="str"),
        note=dict(type="str"),
        wait=dict(type="float", default=0),
        poll_interval=dict(type="float", default=1),
    )


def validate(params):
    """The rules the argument spec cannot state: a safe lock name, non-empty release and holder, a bounded wait."""
    error = state_name_error("name", params["name"])
    if error:
        return error
    for option in ("release_id", "holder"):
        value = params[option]
        if option in REQUIRED[params["state"]] and value is None:
            # required_if lets an explicit null through
            return "%s is required when state is %s" % (option, params["state"])
        if value is not None and not value.strip():
            return "%s must not be empty" % option
    wait = params["wait"]
    if math.isnan(wait) or not 0 <= wait <= MAX_SECONDS:
        return "wait must be a number of seconds from 0 to %d, got %s" % (MAX_SECONDS, wait)
    return None


def main():
    run_module(argument_spec(), Lock, validate=validate, absolute_paths=("path",),
               required_if=[("state", state, list(options)) for state, options in REQUIRED.items() if options])


if __name__ == "__main__":
    main()

# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters of a fleet release (playbooks/release.yml): the plan, each batch's verdict, the hosts to send back, what a
failed hook said and the report, decided by the pure functions of module_utils/_fleet_plan.py from the facts the
release keeps per host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.baton.docker.plugins.module_utils._fleet_plan import (
    FleetPlanError,
    batch_verdict,
    canary_verdict,
    fleet_plan as _fleet_plan,
    hook_failure,
    release_report,
    revert_hosts,
)


def _facts(host_vars, name):
    """host -> the fact ``name`` of each host's variables (a list of hostvars entries), in inventory order."""
    found = {}
    for entry in host_vars:
        found[entry["inventory_hostname"]] = entry.get(name)
    return found


def _call(name, function, *args):
    try:
        return function(*args)
    except FleetPlanError as exc:
        raise AnsibleFilterError("%s: %s" % (name, exc))


def fleet_plan(hosts, states, canary_hosts=None, batch_size=1, release=None, phase="all"):
    """The release's plan over ``hosts``; ``states`` lists each host's planning facts in the same order."""
    hosts, states = list(hosts), list(states)
    if len(hosts) != len(states):
        raise AnsibleFilterError("fleet_plan: %d hosts but %d plans" % (len(hosts), len(states)))
    return _call("fleet_plan", _fleet_plan, hosts, dict(zip(hosts, states)), canary_hosts, batch_size, release or {},
                 phase)


def fleet_batch_verdict(host_vars, batch, batch_max_failed=0, release_max_failed=0):
    """Whether the release stops after ``batch``, from each host's ``_release_outcome``."""
    outcomes = dict((h, o) for h, o in _facts(host_vars, "_release_outcome").items() if o)
    return _call("fleet_batch_verdict", batch_verdict, outcomes, list(batch), int(batch_max_failed),
                 int(release_max_failed))


def fleet_canary_verdict(host_vars, judgement=None):
    """Whether the release stops after the canary (the canary hosts' variables, and the judgement's result)."""
    host_vars = list(host_vars)
    outcomes = dict((h, o) for h, o in _facts(host_vars, "_release_outcome").items() if o)
    return canary_verdict(outcomes, [entry["inventory_hostname"] for entry in host_vars], dict(judgement or {}))


def fleet_revert_hosts(host_vars, fleet_revert=True):
    """The hosts to send back to the release they ran before."""
    outcomes = dict((h, o) for h, o in _facts(host_vars, "_release_outcome").items() if o)
    return revert_hosts(outcomes, bool(fleet_revert))


def fleet_hook_failure(failed_result):
    """What a failed hook said (``ansible_failed_result`` in a rescue)."""
    return hook_failure(failed_result)


def fleet_report(host_vars, release, verdict=None):
    """The audit record and the lines people read; ``release`` holds the release's own facts."""
    host_vars = list(host_vars)
    hosts = [entry["inventory_hostname"] for entry in host_vars]
    facts = {}
    for entry in host_vars:
        result = entry.get("_release_result")
        facts[entry["inventory_hostname"]] = dict(state=entry.get("_release_state"), outcome=entry.get("_release_outcome"),
                                                  result=result, reverted=bool(entry.get("_release_reverted")))
    return release_report(hosts, facts, dict(release or {}), dict(verdict or {}))


class FilterModule(object):
    def filters(self):
        return {
            "fleet_plan": fleet_plan,
            "fleet_batch_verdict": fleet_batch_verdict,
            "fleet_canary_verdict": fleet_canary_verdict,
            "fleet_revert_hosts": fleet_revert_hosts,
            "fleet_hook_failure": fleet_hook_failure,
            "fleet_report": fleet_report,
        }

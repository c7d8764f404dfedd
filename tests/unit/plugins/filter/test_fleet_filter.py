"""The fleet release's filters: the pure decisions of _fleet_plan fed from the facts the release keeps per host."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.baton.docker.plugins.filter import fleet
from ansible_collections.baton.docker.plugins.filter.fleet import FilterModule

V1 = {"version": "v1", "image": "reg/app@sha256:1"}


def host(name, **facts):
    return dict(facts, inventory_hostname=name)


def test_filters_are_registered():
    assert sorted(FilterModule().filters()) == ["fleet_batch_verdict", "fleet_canary_verdict", "fleet_hook_failure",
                                                "fleet_plan", "fleet_report", "fleet_revert_hosts"]


def test_plan_pairs_hosts_with_their_states_in_order():
    states = [{"current": V1, "changes": True}, {"current": V1, "changes": False}, {"current": V1, "changes": True}]
    plan = fleet.fleet_plan(["a", "b", "c"], states, [], 1, {"version": "v2", "image": "reg/app@sha256:2"})
    assert plan["canary"] == ["a"] and plan["batches"] == [["c"]] and plan["unchanged"] == ["b"]


@pytest.mark.parametrize("hosts, states, size, message", [
    (["a", "b"], [{}], 1, "fleet_plan: 2 hosts but 1 plans"),
    (["a", "b"], [{"changes": True}, {"changes": True}], "lots", "fleet_plan: batch_size: 'lots' is not a number"),
])
def test_plan_errors_are_filter_errors(hosts, states, size, message):
    with pytest.raises(AnsibleFilterError, match=message):
        fleet.fleet_plan(hosts, states, [], size)


def test_verdicts_and_revert_read_each_hosts_outcome():
    hosts = [host("a", _release_outcome={"outcome": "moved"}),
             host("b", _release_outcome={"outcome": "failed", "msg": "unhealthy"}), host("c")]
    verdict = fleet.fleet_batch_verdict(hosts, ["b"], 0, 0)
    assert verdict["stop"] is True and "b: unhealthy" in verdict["reason"]
    assert fleet.fleet_batch_verdict(hosts, ["b"], "1", "1")["stop"] is False
    assert fleet.fleet_revert_hosts(hosts) == ["a", "b"]
    assert fleet.fleet_revert_hosts(hosts, False) == ["b"]
    assert fleet.fleet_canary_verdict(hosts[:1], {"failed": True, "msg": "5xx"})["reason"] == "the canary failed: 5xx"


def test_report_reads_state_outcome_result_and_revert():
    hosts = [host("a", _release_state={"current": V1}, _release_outcome={"outcome": "moved", "seconds": 1.5},
                  _release_result={"version": "v2", "config": {"env": {"X": "1"}}}, _release_reverted=True)]
    report = fleet.fleet_report(hosts, {"release_id": "r", "version": "v2", "image": "reg/app@sha256:2"},
                                {"stop": True, "reason": "canary"})
    assert report["outcome"] == "failure"
    assert report["record"]["reverted"] == ["a"] and report["record"]["config_changes"] == ["env.X"]

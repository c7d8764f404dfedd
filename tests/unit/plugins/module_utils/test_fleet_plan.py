import json

import pytest

from ansible_collections.baton.docker.plugins.module_utils._fleet_plan import (
    FleetPlanError,
    batch_verdict,
    canary_verdict,
    config_changes,
    fleet_plan,
    release_report,
    hook_failure,
    revert_hosts,
    serial_batches,
)

HOSTS = ["h%02d" % i for i in range(1, 11)]
V1 = {"version": "v1", "image": "reg/app@sha256:1", "image_id": "sha256:i1", "config": {"env": {"A": "1"}}}
V2 = {"version": "v2", "image": "reg/app@sha256:2", "release_id": "r2"}


@pytest.mark.parametrize("hosts, size, expected", [
    (HOSTS[:5], 1, [["h01"], ["h02"], ["h03"], ["h04"], ["h05"]]),
    (HOSTS[:5], 2, [["h01", "h02"], ["h03", "h04"], ["h05"]]),
    (HOSTS[:5], "2", [["h01", "h02"], ["h03", "h04"], ["h05"]]),
    (HOSTS[:8], "25%", [HOSTS[0:2], HOSTS[2:4], HOSTS[4:6], HOSTS[6:8]]),
    (HOSTS[:3], "10%", [["h01"], ["h02"], ["h03"]]),  # never less than one host
    (HOSTS[:6], [1, "50%"], [["h01"], HOSTS[1:4], HOSTS[4:6]]),  # the last size repeats
    (HOSTS[:3], 10, [HOSTS[:3]]),
    ([], 2, []),
])
def test_serial_batches_cut_as_ansible_serial(hosts, size, expected):
    assert serial_batches(hosts, size) == expected


@pytest.mark.parametrize("size, message", [
    (0, "batch_size: 0 must be at least one host"),
    ("many", "batch_size: 'many' is not a number of hosts or a percentage"),
    ([], "batch_size: an empty list"),
    ([1, "x%"], "batch_size[1]: 'x%' is not a number"),
    (True, "batch_size: True is not a number"),
])
def test_bad_batch_sizes_are_named(size, message):
    with pytest.raises(FleetPlanError, match=message.replace("[", r"\[").replace("]", r"\]")):
        serial_batches(HOSTS[:4], size)


def states(changes=HOSTS, errors=None):
    errors = errors or {}
    return dict((h, {"current": V1, "changes": h in changes, "error": errors.get(h)}) for h in HOSTS)


def test_plan_puts_the_first_changing_host_first_and_cuts_the_rest():
    plan = fleet_plan(HOSTS, states(changes=HOSTS[2:]), batch_size="50%", release=V2)
    assert plan["canary"] == ["h03"]
    assert plan["batches"] == [HOSTS[3:6], HOSTS[6:9], ["h10"]]  # 50% of 7 is 3, as serial rounds
    assert plan["unchanged"] == ["h01", "h02"]
    assert plan["errors"] == {}
    assert plan["hosts"]["h01"] == {"now": "v1 (reg/app@sha256:1)", "will": "no change"}
    assert plan["hosts"]["h05"]["will"] == "v2 (reg/app@sha256:2) release r2"
    assert plan["lines"][:3] == ["release v2 (reg/app@sha256:2) release r2 to 10 host(s): 8 to change, 2 already on it",
                                 "canary: h03", "batch 1: h04, h05, h06"]
    assert "h01: already runs v1 (reg/app@sha256:1)" in plan["lines"]


def test_chosen_canary_hosts_go_first_and_one_already_released_is_not_a_canary():
    plan = fleet_plan(HOSTS, states(changes=HOSTS[1:]), canary_hosts=["h05", "h01"], batch_size=4, release=V2)
    assert plan["canary"] == ["h05"]
    assert plan["batches"] == [["h02", "h03", "h04", "h06"], ["h07", "h08", "h09", "h10"]]


def test_a_host_that_refuses_is_in_the_plan_with_its_reason():
    plan = fleet_plan(HOSTS, states(errors={"h04": "the health check is wrong"}), release=V2)
    assert plan["errors"] == {"h04": "the health check is wrong"}
    assert plan["refusal"] == "h04: the health check is wrong"
    assert "h04" not in plan["canary"] + sum(plan["batches"], [])
    assert "h04: refused: the health check is wrong" in plan["lines"]


@pytest.mark.parametrize("hosts, the_states, canary, message", [
    (HOSTS, states(), ["h99"], "canary_hosts: h99 is not among the release's hosts"),
    (HOSTS + ["h11"], states(), None, "no plan was made for h11"),
])
def test_plan_refusals(hosts, the_states, canary, message):
    with pytest.raises(FleetPlanError, match=message):
        fleet_plan(hosts, the_states, canary_hosts=canary)


def test_nothing_to_change_plans_no_canary_and_no_batch():
    plan = fleet_plan(HOSTS, states(changes=[]), release=V2)
    assert plan["canary"] == [] and plan["batches"] == [] and len(plan["unchanged"]) == 10


MOVED = {"outcome": "moved"}
FAILED = {"outcome": "failed", "msg": "h never turned healthy"}


@pytest.mark.parametrize("outcomes, batch, budgets, stop, reason", [
    ({"h01": MOVED, "h02": MOVED}, ["h02"], (0, 0), False, ""),
    ({"h01": MOVED, "h02": FAILED}, ["h02"], (0, 0), True,
     "1 host(s) of this batch failed, more than batch_max_failed (0): h02: h never turned healthy"),
    ({"h01": MOVED, "h02": FAILED}, ["h02"], (1, 0), True, "1 host(s) of the release failed, more than "
     "release_max_failed (0): h02"),
    ({"h01": FAILED, "h02": FAILED, "h03": MOVED}, ["h03"], (1, 1), True, "2 host(s) of the release failed"),
    ({"h01": MOVED, "h02": FAILED, "h03": MOVED}, ["h03"], (1, 1), False, ""),
])
def test_batch_verdict_applies_both_budgets(outcomes, batch, budgets, stop, reason):
    verdict = batch_verdict(outcomes, batch, *budgets)
    assert verdict["stop"] is stop
    assert verdict["reason"].startswith(reason)


@pytest.mark.parametrize("budget", [-1, "1", True])
def test_bad_budgets_are_named(budget):
    with pytest.raises(FleetPlanError, match="batch_max_failed"):
        batch_verdict({}, [], budget, 0)


@pytest.mark.parametrize("outcomes, judgement, stop, reason", [
    ({"h01": MOVED}, {"verdict": "pass", "failed": False}, False, ""),
    ({"h01": MOVED}, {"failed": True, "msg": "error rate 20% against 0%"}, True, "the canary failed: error rate 20%"),
    ({"h01": FAILED}, {"skipped": True}, True, "the canary's rollout failed on h01: h never turned healthy"),
])
def test_canary_verdict(outcomes, judgement, stop, reason):
    verdict = canary_verdict(outcomes, ["h01"], judgement)
    assert verdict["stop"] is stop and verdict["reason"].startswith(reason)


@pytest.mark.parametrize("result, said", [
    # a loop of hook commands: the first failed command's stderr
    ({"failed": True, "msg": "One or more items failed", "results": [
        {"failed": False, "stderr": "fine"}, {"failed": True, "stderr": "smoke test failed\n"},
        {"failed": True, "stderr": "later"}]}, "smoke test failed"),
    # a failed command that wrote nothing: the loop's msg
    ({"failed": True, "msg": "One or more items failed", "results": [{"failed": True, "stderr": ""}]},
     "One or more items failed"),
    # a hook task file's failed task
    ({"failed": True, "msg": "  the smoke test found 3 errors "}, "the smoke test found 3 errors"),
    ({"failed": True, "stderr": "x" * 400}, "x" * 297 + "..."),
    ({}, ""),
    (None, ""),
    ({"results": "not a list", "msg": "odd"}, "odd"),
])
def test_hook_failure_says_what_the_failed_hook_said(result, said):
    assert hook_failure(result) == said


def test_revert_takes_moved_and_failed_hosts_or_only_failed_ones():
    outcomes = {"h01": MOVED, "h02": {"outcome": "unchanged"}, "h03": FAILED}
    assert revert_hosts(outcomes) == ["h01", "h03"]
    assert revert_hosts(outcomes, fleet_revert=False) == ["h03"]


@pytest.mark.parametrize("before, after, expected", [
    (V1, dict(V1, image="x"), []),
    (V1, dict(V1, config={"env": {"A": "2", "B": "1"}}), ["env.A", "env.B"]),
    (V1, dict(V1, config={"env": {"A": "1"}, "command": ["x"]}), ["command"]),
    (dict(V1, secret_keys=["T"]), dict(V1, secret_keys=["T", "U"]), ["secret.U"]),
    (None, V1, ["env.A"]),
])
def test_config_changes_name_keys_only(before, after, expected):
    assert config_changes(before, after) == expected


def test_report_of_a_stopped_release_names_the_failed_and_reverted_hosts():
    facts = {
        "h01": {"state": {"current": V1}, "outcome": {"outcome": "moved", "seconds": 3.1},
                "result": dict(V1, config={"env": {"A": "2"}}), "reverted": True},
        "h02": {"state": {"current": V1}, "outcome": dict(FAILED, seconds=9.0), "reverted": True},
        "h03": {"state": {"current": V1}},
    }
    report = release_report(["h01", "h02", "h03"], facts, dict(V2, holder="ann@ci"),
                            {"stop": True, "reason": "1 host(s) of this batch failed"})
    record = report["record"]
    assert report["outcome"] == "failure" == record["outcome"]
    assert record["failed"] == ["h02"] and record["reverted"] == ["h01", "h02"]
    assert record["config_changes"] == ["env.A"]
    assert record["hosts"]["h03"]["outcome"] == "not reached"
    assert "stopped: 1 host(s) of this batch failed" in report["lines"]
    assert "h01: moved in 3.1 s, reverted; runs v1 (reg/app@sha256:1)" in report["lines"]
    json.dumps(record)  # the audit log keeps it as one JSON line


def test_report_of_a_successful_release():
    facts = {"h01": {"state": {"current": V1}, "outcome": {"outcome": "moved", "seconds": 2.0}, "result": V2}}
    report = release_report(["h01"], facts, V2, {"stop": False})
    assert report["outcome"] == "success"
    assert report["lines"][-1] == "h01: moved in 2.0 s; runs v2 (reg/app@sha256:2) release r2"


def test_phases_split_the_canary_from_the_rest_after_an_approval():
    canary = fleet_plan(HOSTS[:4], states(), batch_size=2, release=V2, phase="canary")
    assert canary["canary"] == ["h01"] and canary["batches"] == []
    assert "after approval, batch 1: h02, h03" in canary["lines"]
    rest = fleet_plan(HOSTS[:4], states(), batch_size=2, release=V2, phase="rest")
    assert rest["canary"] == [] and rest["batches"] == [["h01", "h02"], ["h03", "h04"]]
    with pytest.raises(FleetPlanError, match="release_phase: 'later' is not one of all, canary, rest"):
        fleet_plan(HOSTS, states(), phase="later")


def test_hosts_an_earlier_run_of_the_release_moved_go_back_to_what_they_ran_before_it():
    the_states = states(changes=HOSTS[1:])
    the_states["h01"] = {"current": V2, "previous": V1, "changes": False}
    plan = fleet_plan(HOSTS, the_states, release=V2)
    assert plan["earlier"] == ["h01"] and plan["unchanged"] == ["h01"]
    assert plan["revert_to"]["h01"] == V1 and plan["revert_to"]["h02"] == V1
    assert fleet_plan(HOSTS, the_states, release=dict(V2, release_id="other"))["earlier"] == []

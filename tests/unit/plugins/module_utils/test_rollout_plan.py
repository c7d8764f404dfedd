"""The rollout planner: tables of what the engine observed -> the ordered steps of a host's rollout."""

import pytest

from ansible_collections.baton.docker.plugins.module_utils._rollout_plan import (
    NoServingPeer,
    PlanError,
    journal_after,
    plan_rollout,
    serving_everywhere,
    step_timeline,
    summary_lines,
    unit_summary,
)

LB1 = "/run/haproxy/admin.sock"
LB2 = "10.0.0.2:9999"


def srv(name, admin="ready", up=True, lb=LB1, backend="app"):
    return dict(lb=lb, backend=backend, server=name, admin=admin, up=up)


def unit(name, change="none", serving=True, servers=None):
    return dict(name=name, change=change, serving=serving, servers=servers if servers is not None else [])


def master(change="none", serving=True, admin=("ready", "ready"), up=(True, True)):
    return unit("app-master", change, serving, [srv("h_master", admin[0], up[0]), srv("h_master", admin[1], up[1], LB2)])


def backup(change="none", serving=True, admin=("ready", "ready"), up=(True, True)):
    return unit("app-backup", change, serving, [srv("h_backup", admin[0], up[0]), srv("h_backup", admin[1], up[1], LB2)])


def out(name, lb=LB1):
    return dict(lb=lb, backend="app", server=name)


FULL_M = [("app-master", a) for a in ("drain", "maint", "swap", "ready")]
FULL_B = [("app-backup", a) for a in ("drain", "maint", "swap", "ready")]

CASES = [
    # id, units, journal, expected steps
    ("nothing to do", [master(), backup()], None, []),
    ("release: master then backup", [master("replace"), backup("replace")], None, FULL_M + FULL_B),
    ("only the backup differs", [master(), backup("replace")], None, FULL_B),
    ("first deploy: nothing serves, no peer needed",
     [master("create", False, ("ready", "ready"), (False, False)),
      backup("create", False, ("ready", "ready"), (False, False))], None, FULL_M + FULL_B),
    ("stopped master is replaced while the backup serves", [master("replace", False, up=(False, False)), backup()],
     None, FULL_M),
    ("killed after maint of the master, before its swap: the master still changes",
     [master("replace", admin=("maint", "maint"), up=(False, False)), backup("replace")],
     {"out": [out("h_master"), out("h_master", LB2)]}, FULL_M + FULL_B),
    ("killed after the master's swap, before ready: restored first, then the backup",
     [master(admin=("maint", "maint"), up=(False, False)), backup("replace")],
     {"out": [out("h_master"), out("h_master", LB2)]}, [("app-master", "restore")] + FULL_B),
    ("killed between ready on LB1 and LB2: restore the rest",
     [master(admin=("ready", "maint"), up=(True, False)), backup()],
     {"out": [out("h_master", LB2)]}, [("app-master", "restore")]),
    ("killed while draining: drain state counts as ours too",
     [master(admin=("drain", "drain")), backup("replace")],
     {"out": [out("h_master"), out("h_master", LB2)]}, [("app-master", "restore")] + FULL_B),
    ("a container recovered from a kill mid-swap is a change",
     [master("recover", admin=("maint", "maint"), up=(False, False)), backup()],
     {"out": [out("h_master"), out("h_master", LB2)]}, FULL_M),
    ("workers are swapped without load balancer steps",
     [unit("app0", "replace", servers=[srv("app0")]), unit("app1", servers=[srv("app1")]),
      unit("sidekiq0", "replace"), unit("cron0", "replace")], None,
     [("app0", a) for a in ("drain", "maint", "swap", "ready")] + [("sidekiq0", "swap"), ("cron0", "swap")]),
    ("replicas of a stack, one at a time",
     [unit("app0", "replace", servers=[srv("app0")]), unit("app1", "replace", servers=[srv("app1")])], None,
     [("app0", a) for a in ("drain", "maint", "swap", "ready")] + [("app1", a) for a in ("drain", "maint", "swap", "ready")]),
    ("units to remove go last, servers drained and put in maint first",
     [unit("app2", "remove", servers=[srv("app2"), srv("app2", lb=LB2)]), unit("old0", "remove"),
      unit("app0", "replace", servers=[srv("app0")]), unit("app1", servers=[srv("app1")])], None,
     [("app0", a) for a in ("drain", "maint", "swap", "ready")]
     + [("app2", "drain"), ("app2", "maint"), ("app2", "remove"), ("old0", "remove")]),
    ("removing every server of a backend needs no peer",
     [unit("app0", "remove", servers=[srv("app0")]), unit("app1", "remove", servers=[srv("app1")])], None,
     [("app0", "drain"), ("app0", "maint"), ("app0", "remove"), ("app1", "drain"), ("app1", "maint"),
      ("app1", "remove")]),
    ("killed after the maint of a unit to remove: it is removed, nothing restored",
     [unit("app0", servers=[srv("app0")]), unit("app2", "remove", servers=[srv("app2", "maint", False)])],
     {"out": [out("app2")]}, [("app2", "drain"), ("app2", "maint"), ("app2", "remove")]),
    ("a unit made again where we removed one: its server we left in maint is ours to put back",
     [unit("app0", servers=[srv("app0")]), unit("app2", "create", False, [srv("app2", "maint", False)])],
     {"out": [dict(out("app2"), removed=True)]}, [("app2", a) for a in ("drain", "maint", "swap", "ready")]),
]


@pytest.mark.parametrize("units, journal, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_plan(units, journal, expected):
    plan = plan_rollout(units, journal)
    assert [(s["unit"], s["action"]) for s in plan["steps"]] == expected


def test_never_two_units_of_a_host_out_at_once():
    """Whatever the observed state, at most one unit is between its drain and its ready (restores come first); a unit
    removed on purpose is out for good, not in between."""
    for case in CASES:
        steps = plan_rollout(case[1], case[2])["steps"]
        outside = set()
        for step in steps:
            if step["action"] == "drain":
                outside.add(step["unit"])
            elif step["action"] in ("ready", "restore", "remove"):
                outside.discard(step["unit"])
            assert len(outside) <= 1, case[0]


REFUSED = [
    # case, units, message, whether the peer may come UP (its container serves, only its health check is DOWN)
    ("backup down: the master may not leave", [master("replace"), backup(up=(False, False))],
     "h_master is the only server of backend app on load balancer %s" % LB1, True),
    ("backup down on the second load balancer only", [master("replace"), backup(up=(True, False))],
     "load balancer %s" % LB2, True),
    ("backup in maintenance by an operator", [master("replace"), backup(admin=("maint", "maint"))],
     "taking app-master out of rotation", False),
    ("backup container not serving", [master("replace"), backup(serving=False)], "would leave no server there", False),
]


@pytest.mark.parametrize("units, message, recovering", [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_refused_before_anything_changes(units, message, recovering):
    with pytest.raises(NoServingPeer) as info:
        plan_rollout(units)
    assert message in str(info.value)
    assert "Nothing was changed" in str(info.value)
    assert info.value.recovering is recovering


def test_refusal_can_be_waived():
    plan = plan_rollout([master("replace"), backup(up=(False, False))], require_serving_peer=False)
    assert [s["action"] for s in plan["steps"]] == ["drain", "maint", "swap", "ready"]


def test_backup_restored_by_this_run_counts_as_a_peer():
    units = [master("replace"), backup(admin=("maint", "maint"), up=(False, False))]
    plan = plan_rollout(units, {"out": [out("h_backup"), out("h_backup", LB2)]})
    assert [(s["unit"], s["action"]) for s in plan["steps"]] == [("app-backup", "restore")] + FULL_M


def test_servers_out_of_rotation_not_taken_by_us_are_held_and_reported():
    plan = plan_rollout([master(admin=("maint", "ready")), backup()])
    assert plan["steps"] == []
    assert plan["held"] == ["app/h_master on %s" % LB1]
    assert plan["restoring"] == []


def test_plan_names_changing_and_restoring_units():
    plan = plan_rollout([master(admin=("maint", "maint")), backup("replace")],
                        {"out": [out("h_master"), out("h_master", LB2)]})
    assert plan["changing"] == ["app-backup"]
    assert plan["restoring"] == ["app-master"]


@pytest.mark.parametrize("units, message", [
    ([unit("a"), unit("a")], "unit a is listed twice"),
    ([unit("")], "units[0]: a unit needs a name"),
    ([unit("a", "rebuild")], "units[0] (a): unknown change 'rebuild'"),
    ([unit("a", servers=[srv("s", admin="halfway")])], "app/s on %s has unknown admin state 'halfway'" % LB1),
])
def test_malformed_observations(units, message):
    with pytest.raises(PlanError) as info:
        plan_rollout(units)
    assert message in str(info.value)


def test_journal_adds_servers_before_they_leave_and_drops_them_once_back():
    servers = [srv("h_master"), srv("h_master", lb=LB2)]
    journal = journal_after([], servers, "drain")
    assert journal == [out("h_master"), out("h_master", LB2)]
    assert journal_after(journal, servers, "maint") == journal
    assert journal_after(journal, servers, "swap") == journal
    assert journal_after(journal, servers[:1], "ready") == [out("h_master", LB2)]
    assert journal_after(journal, servers, "restore") == []
    removed = journal_after(journal, servers[:1], "remove")
    assert removed == [dict(out("h_master"), removed=True), out("h_master", LB2)]
    assert journal_after(removed, servers, "ready") == []


def test_timeline_measures_time_out_of_rotation():
    events = [dict(unit="m", action="drain", started=10.0, ended=10.5),
              dict(unit="m", action="maint", started=10.5, ended=10.6),
              dict(unit="m", action="swap", started=10.6, ended=12.6),
              dict(unit="m", action="ready", started=12.6, ended=13.1),
              dict(unit="w", action="swap", started=13.1, ended=14.0)]
    timeline = step_timeline(events)
    assert [u["unit"] for u in timeline] == ["m", "w"]
    assert timeline[0]["out_of_rotation_seconds"] == 3.1
    assert timeline[0]["steps"][2] == dict(action="swap", started=10.6, seconds=2.0)
    assert timeline[1]["out_of_rotation_seconds"] is None


def test_summary_lines_for_people():
    units = [dict(slot="m", action="replace", old="app:v1", new="app:v2", seconds_to_healthy=1.2, rolled_back=False),
             dict(slot="b", action="none", old="app:v2", new="app:v2", seconds_to_healthy=None, rolled_back=False),
             dict(slot="w", action="replace", old="app:v1", new="app:bad", seconds_to_healthy=None, rolled_back=True)]
    timeline = [dict(unit="m", steps=[], out_of_rotation_seconds=2.5), dict(unit="w", steps=[], out_of_rotation_seconds=None)]
    assert summary_lines(units, timeline, restored=["b"]) == [
        "m: app:v1 -> app:v2, healthy after 1.2 s, out of rotation 2.5 s",
        "b: unchanged; put back in rotation after an interrupted run",
        "w: app:bad never turned healthy; rolled back to app:v1"]
    assert summary_lines(units[:1], [], check_mode=True) == ["m: would replace (app:v1 -> app:v2)"]
    gone = dict(slot="app2", action="remove", old="app:v1", new=None, seconds_to_healthy=None, rolled_back=False)
    assert summary_lines([gone], []) == ["app2: removed (app:v1)"]
    assert summary_lines([gone], [], check_mode=True) == ["app2: would be removed (app:v1)"]


def test_summary_lines_report_sessions_shut_down_and_a_killed_old_container():
    unit = dict(slot="m", action="replace", old="app:v1", new="app:v2", seconds_to_healthy=1.2, rolled_back=False,
                sessions_shut_down=dict(count=3, after_seconds=5.01, where=["2 on /run/a.sock", "1 on 10.0.0.2:9999"]),
                killed_at_stop_timeout=10.1)
    assert summary_lines([unit], [dict(unit="m", steps=[], out_of_rotation_seconds=16.4)]) == [
        "m: app:v1 -> app:v2, healthy after 1.2 s, out of rotation 16.4 s; 3 session(s) still open after the 5.01 s "
        "drain were shut down; the old container ignored its stop signal and was killed after 10.1 s"]
    assert unit_summary(dict(slot="m", killed_at_stop_timeout=2.0))["killed_at_stop_timeout"] == 2.0
    assert "killed_at_stop_timeout" not in unit_summary(dict(slot="m"))
    stopped = dict(slot="b", action="not reached", old="app:v1", new="app:v2", seconds_to_healthy=None, rolled_back=False)
    assert summary_lines([stopped], []) == ["b: not reached, the rollout stopped before it (still app:v1)"]


def test_a_held_server_does_not_count_as_a_peer_once_its_unit_is_replaced():
    """The operator's maintenance of the master on LB2 survives the master's swap: the backup may not leave LB2."""
    with pytest.raises(PlanError) as info:
        plan_rollout([master("replace", admin=("ready", "maint"), up=(True, False)), backup("replace")])
    assert "h_backup is the only server of backend app on load balancer %s" % LB2 in str(info.value)
    assert info.value.recovering is False


@pytest.mark.parametrize("swap, expected", [
    ({"slot": "shop-master", "seconds_to_healthy": 1.5, "rolled_back": False,
      "image": {"old_ref": "shop:v1", "old_id": "sha256:" + "a" * 64, "ref": "shop:v2"}},
     {"slot": "shop-master", "old": "shop:v1", "new": "shop:v2", "seconds_to_healthy": 1.5, "rolled_back": False}),
    ({"container": {"name": "shop-backup"}, "image": {"old_ref": None, "old_id": None, "ref": "shop:v1"}},
     {"slot": "shop-backup", "old": "(new slot)", "new": "shop:v1", "seconds_to_healthy": None, "rolled_back": False}),
    ({"slot": "s", "image": {"old_id": "sha256:" + "b" * 64, "new_id": "sha256:" + "c" * 64}, "rolled_back": True},
     {"slot": "s", "old": "sha256:bbbbbbbbbbbb", "new": "sha256:cccccccccccc", "seconds_to_healthy": None,
      "rolled_back": True}),
])
def test_unit_summary_of_a_swap(swap, expected):
    assert unit_summary(swap) == expected


@pytest.mark.parametrize("observed, expected", [
    (master(), True),
    (master(up=(True, False)), False),
    (master(admin=("ready", "drain")), False),
    (unit("worker", servers=[]), False),
])
def test_serving_everywhere_needs_every_server_ready_and_up(observed, expected):
    assert serving_everywhere(observed) is expected

"""fleet_lock and release_audit through the real ansible-playbook: runs racing for the lock, re-entrant acquire,
refusing to release another release's lock, break, and the audit log (append, idempotent re-run, query, torn line).

The lock tasks run as a fleet release runs them: once per play, delegated to the lock host (here localhost), while
the play targets several hosts."""

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor

from tests.support.ansible import run_module, run_playbook

NAME = "shop-production"
FLEET_INVENTORY = {
    "all": {"hosts": {host: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
                      for host in ("app1", "app2", "localhost")}},
}


def lock_task(directory, name="take the release lock", **args):
    options = dict(path=directory, name=NAME)
    options.update(args)
    return {"name": name, "baton.docker.fleet_lock": options, "delegate_to": "localhost", "run_once": True}


def audit_task(directory, name, record):
    return {"name": name, "baton.docker.release_audit": dict(path=directory, name=NAME, record=record),
            "delegate_to": "localhost", "run_once": True}


def release_play(directory, release_id, holder, wait, hold_seconds=None):
    """A fleet release over app1 and app2: take the lock (waiting up to ``wait``), record the start, (hold the lock
    ``hold_seconds``,) record the end and let the lock go - or, without ``hold_seconds``, keep it."""
    tasks = [
        lock_task(directory, release_id=release_id, holder=holder, version="v-" + release_id,
                  digest="sha256:" + "ab" * 32, note="release " + release_id, wait=wait, poll_interval=0.2),
        audit_task(directory, "record the start", dict(release_id=release_id, outcome="started", holder=holder)),
    ]
    if hold_seconds is not None:
        tasks += [
            {"name": "deploy", "ansible.builtin.pause": {"seconds": hold_seconds}, "run_once": True},
            audit_task(directory, "record the end", dict(release_id=release_id, outcome="succeeded", holder=holder)),
            lock_task(directory, "let the release lock go", state="released", release_id=release_id),
        ]
    return [{"hosts": "app1:app2", "gather_facts": False, "tasks": tasks}]


def race(plays):
    with ThreadPoolExecutor(max_workers=len(plays)) as pool:
        futures = [pool.submit(run_playbook, play, inventory=FLEET_INVENTORY, timeout=300) for play in plays]
        return [future.result() for future in futures]


def read_lock(directory):
    path = os.path.join(directory, NAME + ".lock")
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return json.load(handle)


def test_two_runs_racing_for_the_lock_exactly_one_wins(tmp_path):
    directory = str(tmp_path / "fleet")
    runs = race([release_play(directory, "r-alice", "alice@laptop", wait=2),
                 release_play(directory, "r-bob", "bob@ci", wait=2)])
    winners = [run for run in runs if run.rc == 0]
    losers = [run for run in runs if run.rc != 0]
    assert len(winners) == 1 and len(losers) == 1, [run.output[-3000:] for run in runs]
    held = read_lock(directory)
    won = winners[0].result("take the release lock")
    assert won["changed"] is True and won["lock"] == held
    lost = losers[0].result("take the release lock")
    assert lost["failed"] and lost["lock"] == held
    assert lost["msg"] == (
        "the release lock shop-production is held by %s since %s for release %s (version v-%s, digest sha256:%s): "
        "release %s. Wait, or break it with playbooks/lock.yml -e lock_action=break if its run is gone."
        % (held["holder"], held["since"], held["release_id"], held["release_id"], "ab" * 32, held["release_id"]))
    assert lost["waited"] >= 2
    assert not losers[0].results("record the start")  # the losing run stopped at the lock
    audit, _run = run_module("baton.docker.release_audit", dict(path=directory, name=NAME, state="query"))
    assert [(r["release_id"], r["outcome"]) for r in audit["records"]] == [(held["release_id"], "started")]
    assert oct(os.stat(directory).st_mode & 0o777) == "0o700"
    assert oct(os.stat(os.path.join(directory, NAME + ".lock")).st_mode & 0o777) == "0o600"


def test_runs_waiting_for_the_lock_release_one_after_the_other(tmp_path):
    """Both runs wait long enough: both release, and the audit log shows one release's start and end before the
    other's start (never interleaved)."""
    directory = str(tmp_path / "fleet")
    runs = race([release_play(directory, "r-alice", "alice@laptop", wait=240, hold_seconds=1),
                 release_play(directory, "r-bob", "bob@ci", wait=240, hold_seconds=1)])
    assert [run.rc for run in runs] == [0, 0], [run.output[-3000:] for run in runs]
    assert read_lock(directory) is None
    audit, _run = run_module("baton.docker.release_audit", dict(path=directory, name=NAME, state="query"))
    entries = [(r["release_id"], r["outcome"]) for r in audit["records"]]
    assert len(entries) == 4, entries
    first, second = entries[0][0], entries[2][0]
    assert {first, second} == {"r-alice", "r-bob"}
    assert entries == [(first, "started"), (first, "succeeded"), (second, "started"), (second, "succeeded")]


def test_acquire_is_reentrant_for_the_same_release_and_checked_first(tmp_path):
    directory = str(tmp_path / "fleet")
    args = dict(path=directory, name=NAME, release_id="r1", holder="alice@laptop", version="v1")
    result, _run = run_module("baton.docker.fleet_lock", args, check=True, diff=True)
    assert result["changed"] is True and result["diff"]["before"] == {"lock": None}
    assert not os.path.exists(directory)
    result, _run = run_module("baton.docker.fleet_lock", args)
    assert result["changed"] is True
    held = read_lock(directory)
    assert result["lock"] == held and held["release_id"] == "r1" and held["holder"] == "alice@laptop"
    # the second job of the same release, from another controller
    result, _run = run_module("baton.docker.fleet_lock", dict(args, holder="awx@ci"))
    assert result["changed"] is False and result["lock"] == held
    assert read_lock(directory) == held


def fleet_lock(directory, check=False, diff=False, **args):
    """Run baton.docker.fleet_lock on lock ``NAME`` in ``directory``; return its result."""
    result, _run = run_module("baton.docker.fleet_lock", dict(path=directory, name=NAME, **args), check=check,
                              diff=diff)
    return result


def test_release_of_another_release_is_refused_and_break_removes_it(tmp_path):
    directory = str(tmp_path / "fleet")
    result = fleet_lock(directory, release_id="r-bob", holder="bob@ci", note="hotfix")
    assert result["changed"] is True
    held = read_lock(directory)
    for check in (True, False):
        result = fleet_lock(directory, check=check, state="released", release_id="r-alice")
        assert result["failed"] and "not by release r-alice" in result["msg"]
        assert "held by bob@ci" in result["msg"] and read_lock(directory) == held

    result = fleet_lock(directory, state="query")
    assert result["changed"] is False and result["lock"] == held

    result = fleet_lock(directory, check=True, state="broken")
    assert result["changed"] is True and result["broken"] == held and read_lock(directory) == held
    result = fleet_lock(directory, diff=True, state="broken")
    assert result["changed"] is True and result["broken"] == held and result["lock"] is None
    assert result["diff"] == {"before": {"lock": held}, "after": {"lock": None}}
    assert read_lock(directory) is None
    result = fleet_lock(directory, state="broken")
    assert result["changed"] is False and result["broken"] is None

    result = fleet_lock(directory, release_id="r-alice", holder="alice@laptop")
    assert result["changed"] is True and read_lock(directory)["release_id"] == "r-alice"
    result = fleet_lock(directory, state="released", release_id="r-alice")
    assert result["changed"] is True and read_lock(directory) is None


def test_audit_append_idempotent_query_and_torn_line(tmp_path):
    directory = str(tmp_path / "fleet")
    log = os.path.join(directory, NAME + ".audit.jsonl")
    started = dict(path=directory, name=NAME, record=dict(release_id="r1", outcome="started", secrets=["DB_PASSWORD"]))
    result, _run = run_module("baton.docker.release_audit", started, check=True)
    assert result["changed"] is True and not os.path.exists(log)
    result, _run = run_module("baton.docker.release_audit", started)
    assert result["changed"] is True and result["record"]["recorded_at"].endswith("Z")
    result, _run = run_module("baton.docker.release_audit", started, diff=True)
    assert result["changed"] is False
    assert oct(os.stat(log).st_mode & 0o777) == "0o600"

    with open(log, "ab") as handle:  # a run that died in the middle of a write
        handle.write(b'{"release_id": "r1", "outco')
    result, _run = run_module("baton.docker.release_audit", dict(path=directory, name=NAME, state="query"))
    assert [r["outcome"] for r in result["records"]] == ["started"]
    assert any("unfinished last line" in warning for warning in result.get("warnings", [])), result

    result, _run = run_module("baton.docker.release_audit", dict(started, record=dict(release_id="r1",
                                                                                      outcome="succeeded")))
    assert result["changed"] is True
    result, _run = run_module("baton.docker.release_audit", dict(started, record=dict(release_id="r2",
                                                                                      outcome="started")))
    result, _run = run_module("baton.docker.release_audit", dict(path=directory, name=NAME, state="query", last=2))
    assert [(r["release_id"], r["outcome"]) for r in result["records"]] == [("r1", "succeeded"), ("r2", "started")]
    result, _run = run_module("baton.docker.release_audit", dict(path=directory, name=NAME, state="query"))
    assert [(r["release_id"], r["outcome"]) for r in result["records"]] == [
        ("r1", "started"), ("r1", "succeeded"), ("r2", "started")]
    assert any("not a JSON object" in warning for warning in result.get("warnings", [])), result
    with open(log, "rb") as handle:
        assert handle.read().count(b"\n") == 4  # the torn line kept on a line of its own

"""baton.docker.fleet_lock and baton.docker.release_audit driven through main() with module args: input checks,
check mode, diff, idempotence. Processes racing through ansible-playbook are in
tests/integration/test_fleet_lock.py."""

import os

import pytest

from ansible_collections.baton.docker.plugins.modules import fleet_lock, release_audit
from tests.support.module_harness import call_main

NAME = "shop-production"


def lock_args(tmp_path, **args):
    base = dict(path=str(tmp_path / "fleet"), name=NAME, release_id="r1", holder="alice@laptop", version="v1",
                digest="sha256:abc", note="weekly")
    base.update(args)
    return base


@pytest.mark.parametrize("args, message", [
    (dict(name="../etc"), "name: '../etc' is not a valid name"),
    (dict(name=".hidden"), "name: '.hidden' is not a valid name"),
    (dict(name="a/b"), "name: 'a/b' is not a valid name"),
    (dict(name="a" * 129), "is not a valid name"),
    (dict(name="ok\n"), "is not a valid name"),
    (dict(release_id=None), "release_id is required when state is acquired"),
    (dict(holder=None), "holder is required when state is acquired"),
    (dict(release_id=" "), "release_id must not be empty"),
    (dict(state="released", release_id=None), "release_id is required when state is released"),
    (dict(wait=-1.0), "wait must be a number of seconds from 0 to 86400"),
    (dict(wait=float("nan")), "wait must be a number of seconds"),
    (dict(wait=86401.0), "wait must be a number of seconds"),
    (dict(poll_interval=0.0), "poll_interval must be a positive number of seconds"),
    (dict(path="relative/dir"), "path: 'relative/dir' is not an absolute path"),
    (dict(note="a\x00b"), "note: cannot hold a NUL character"),
])
def test_fleet_lock_refuses_bad_input_before_anything_changes(tmp_path, args, message):
    outcome = call_main(fleet_lock.main, lock_args(tmp_path, **args))
    assert outcome.kind == "fail", outcome.result
    assert message in outcome.result["msg"]
    assert not os.path.exists(str(tmp_path / "fleet"))


def test_fleet_lock_check_apply_idempotent_release(tmp_path):
    check = call_main(fleet_lock.main, dict(lock_args(tmp_path), _ansible_check_mode=True, _ansible_diff=True))
    assert check.kind == "exit" and check.result["changed"] is True
    assert check.result["diff"]["before"] == dict(lock=None)
    assert check.result["diff"]["after"]["lock"]["release_id"] == "r1"
    assert not os.path.exists(str(tmp_path / "fleet"))

    applied = call_main(fleet_lock.main, dict(lock_args(tmp_path), _ansible_diff=True))
    assert applied.result["changed"] is True and applied.result["waited"] >= 0
    held = applied.result["lock"]
    assert {k: held[k] for k in ("holder", "release_id", "version", "digest", "note")} == dict(
        holder="alice@laptop", release_id="r1", version="v1", digest="sha256:abc", note="weekly")

    again = call_main(fleet_lock.main, lock_args(tmp_path, holder="alice@ci-job-2"))
    assert again.result["changed"] is False and again.result["lock"] == held

    query = call_main(fleet_lock.main, dict(path=str(tmp_path / "fleet"), name=NAME, state="query"))
    assert query.result == dict(changed=False, lock=held)

    released = call_main(fleet_lock.main, lock_args(tmp_path, state="released", _ansible_diff=True))
    assert released.result["changed"] is True and released.result["lock"] is None
    assert released.result["diff"] == dict(before=dict(lock=held), after=dict(lock=None))
    released = call_main(fleet_lock.main, lock_args(tmp_path, state="released"))
    assert released.result["changed"] is False


def test_fleet_lock_held_by_another_release_fails_naming_it(tmp_path):
    call_main(fleet_lock.main, lock_args(tmp_path, holder="bob@ci", release_id="r2", version="v2", note="hotfix"))
    for check in (False, True):
        outcome = call_main(fleet_lock.main, lock_args(tmp_path, _ansible_check_mode=check))
        assert outcome.kind == "fail"
        assert outcome.result["msg"].startswith("the release lock shop-production is held by bob@ci since ")
        assert "for release r2 (version v2, digest sha256:abc): hotfix. Wait, or break it" in outcome.result["msg"]
        assert outcome.result["lock"]["release_id"] == "r2" and outcome.result["waited"] == 0

    refused = call_main(fleet_lock.main, lock_args(tmp_path, state="released"))
    assert refused.kind == "fail" and "not by release r1" in refused.result["msg"]

    check = call_main(fleet_lock.main, dict(path=str(tmp_path / "fleet"), name=NAME, state="broken",
                                            _ansible_check_mode=True))
    assert check.result["changed"] is True and check.result["broken"]["release_id"] == "r2"
    broken = call_main(fleet_lock.main, dict(path=str(tmp_path / "fleet"), name=NAME, state="broken",
                                             _ansible_diff=True))
    assert broken.result["changed"] is True and broken.result["broken"]["release_id"] == "r2"
    assert broken.result["diff"]["after"] == dict(lock=None)
    again = call_main(fleet_lock.main, dict(path=str(tmp_path / "fleet"), name=NAME, state="broken"))
    assert again.result["changed"] is False and again.result["broken"] is None


def audit_args(tmp_path, **args):
    base = dict(path=str(tmp_path / "fleet"), name=NAME, record=dict(release_id="r1", outcome="started"))
    base.update(args)
    return base


@pytest.mark.parametrize("args, message", [
    (dict(name=".."), "name: '..' is not a valid name"),
    (dict(record=None), "record is required when state is present"),
    (dict(record=dict(outcome="ok")), "record must hold a release_id string"),
    (dict(record=dict(release_id="r1", log="x" * (1 << 20))), "more than the 1 MiB an audit record may hold"),
    (dict(record=dict(release_id="r\x001")), "record.release_id: cannot hold a NUL character"),
    (dict(state="query", last=0), "last must be at least 1"),
    (dict(path="fleet"), "path: 'fleet' is not an absolute path"),
])
def test_release_audit_refuses_bad_input_before_anything_changes(tmp_path, args, message):
    outcome = call_main(release_audit.main, audit_args(tmp_path, **args))
    assert outcome.kind == "fail", outcome.result
    assert message in outcome.result["msg"]
    assert not os.path.exists(str(tmp_path / "fleet"))


def test_release_audit_check_append_idempotent_query(tmp_path):
    check = call_main(release_audit.main, audit_args(tmp_path, _ansible_check_mode=True, _ansible_diff=True))
    assert check.result["changed"] is True and check.result["diff"]["before"] == dict(last=None)
    assert not os.path.exists(str(tmp_path / "fleet"))
    first = call_main(release_audit.main, audit_args(tmp_path))
    assert first.result["changed"] is True and first.result["record"]["outcome"] == "started"
    again = call_main(release_audit.main, audit_args(tmp_path, _ansible_diff=True))
    assert again.result["changed"] is False and again.result["record"] == first.result["record"]
    check = call_main(release_audit.main, audit_args(tmp_path, record=dict(release_id="r1", outcome="ok"),
                                                     _ansible_check_mode=True))
    assert check.result["changed"] is True
    call_main(release_audit.main, audit_args(tmp_path, record=dict(release_id="r1", outcome="ok")))
    query = call_main(release_audit.main, audit_args(tmp_path, state="query", last=5))
    assert [r["outcome"] for r in query.result["records"]] == ["started", "ok"]
    query = call_main(release_audit.main, audit_args(tmp_path, state="query", last=1))
    assert [r["outcome"] for r in query.result["records"]] == ["ok"]

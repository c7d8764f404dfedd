"""playbooks/release.yml, lock.yml and rollback.yml on the fleet lab when runs meet: two releases at once, a
controller SIGKILLed in the middle of a batch (its stale lock, the run that finishes its release, the rollback that
undoes exactly what it moved), and the cleanup of older releases. Real SSH, two HAProxy instances, paced load."""

import json
import os
import time

import pytest

from tests.support.ansible import start_playbook
from tests.support.fleet import REPOSITORY
from tests.support.lab import kill_tree

# No load runs here: the canary, with no traffic to judge, passes as inconclusive.
FAST = {"canary_seconds": 4, "canary_max_seconds": 8, "canary_min_requests": 20, "canary_inconclusive": "pass", "batch_size": 3}


@pytest.fixture
def fleet(fleet_lab):
    lab = fleet_lab
    lab.run("playbooks/lock.yml", extra_vars={"lock_action": "break"})
    lab.deploy_initial("v1")
    yield lab
    lab.run("playbooks/lock.yml", extra_vars={"lock_action": "break"})


def lock_path(lab):
    return os.path.join(lab.baton_dir(0), "%s-app.lock" % lab.app)


def read_lock(lab):
    try:
        with open(lock_path(lab)) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError("%s did not happen within %ss" % (what, timeout))


def start_release(lab, tmp_path, version, **more):
    extra = dict(FAST, version=version)
    extra.update(more)
    return start_playbook(tmp_path, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "playbooks", "release.yml"), extra_vars=extra, inventory=lab.inventory,
        args=["--forks", str(lab.forks)])


def moved_by(lab, release_id):
    return sorted(h for h in lab.names if (lab.record(h).get("current") or {}).get("release_id") == release_id)


def test_a_second_release_waits_for_the_lock_then_fails_naming_the_holder(fleet, tmp_path):
    lab = fleet
    first = start_release(lab, tmp_path, "v2", canary_seconds=12, release_message="first one")
    try:
        wait_for(lambda: read_lock(lab) is not None, 120, "the first release taking the lock")
        holder = read_lock(lab)
        started = time.monotonic()
        second = lab.run("playbooks/release.yml", extra_vars=dict(FAST, version="v3", lock_wait=3))
        assert second.rc != 0
        assert time.monotonic() - started >= 3
        assert "is held by %s" % holder["holder"] in second.output and holder["release_id"] in second.output
        assert "first one" in second.output
        assert first.wait(timeout=600) == 0
    finally:
        if first.poll() is None:
            kill_tree(first.pid)
    assert set(lab.versions().values()) == {("v2", "v2")}
    assert read_lock(lab) is None


def kill_mid_batch(lab, tmp_path):
    """A release of v2 SIGKILLed (the controller and everything it started) once a host of the first batch moved;
    returns the release id its lock names, once the module runs it left behind on the hosts have ended."""
    run = start_release(lab, tmp_path, "v2")
    try:
        wait_for(lambda: any(lab.slot_version(h, "master") == "v2" for h in ("h02", "h03", "h04")), 300,
                 "a host of the first batch moving to v2")
    finally:
        kill_tree(run.pid)
        run.wait(timeout=30)
    lock = read_lock(lab)
    assert lock and lock["version"] == "v2", lock
    # A module started over SSH goes on after its controller died; wait until no rollout holds a host.
    wait_for(lambda: not any(name.endswith(".lock") for h in lab.names for name in os.listdir(lab.state_dir(h))),
             120, "the hosts' own rollouts ending")
    return lock["release_id"]


def test_a_killed_controller_leaves_a_lock_the_same_release_finishes_under_load(fleet, tmp_path):
    lab = fleet
    release_id = kill_mid_batch(lab, tmp_path)
    assert moved_by(lab, release_id), "nothing moved before the kill"
    # Another release is refused while the stale lock stands.
    refused = lab.run("playbooks/release.yml", extra_vars=dict(FAST, version="v3"))
    assert refused.rc != 0 and release_id in refused.output
    shown = lab.run("playbooks/lock.yml")
    assert shown.rc == 0 and release_id in shown.output
    # The same release, named by its id, takes its own lock over and finishes what it left.
    resume = dict(FAST, version="v2", release_id=release_id)
    run, load = lab.under_load(lambda: lab.run("playbooks/release.yml", extra_vars=resume))
    assert run.rc == 0, run.output[-6000:]
    assert load["failed"] == 0, load
    assert set(lab.versions().values()) == {("v2", "v2")}
    assert read_lock(lab) is None
    lab.wait_all_up()


def test_after_a_killed_controller_rollback_undoes_exactly_the_hosts_the_release_moved(fleet, tmp_path):
    lab = fleet
    release_id = kill_mid_batch(lab, tmp_path)
    moved = moved_by(lab, release_id)
    untouched = [h for h in lab.names if h not in moved]
    assert moved and untouched
    ids = dict((h, lab.container(h, "master").id) for h in untouched)
    run, load = lab.under_load(lambda: lab.run("playbooks/rollback.yml", extra_vars={"release_id": release_id}))
    assert run.rc == 0, run.output[-6000:]
    assert load["failed"] == 0, load
    assert set(lab.versions().values()) == {("v1", "v1")}, lab.versions()
    assert dict((h, lab.container(h, "master").id) for h in untouched) == ids
    # The stale lock is broken only explicitly.
    assert read_lock(lab)["release_id"] == release_id
    broken = lab.run("playbooks/lock.yml", extra_vars={"lock_action": "break"})
    assert broken.rc == 0 and release_id in broken.output
    assert read_lock(lab) is None


def test_cleanup_keeps_exactly_the_last_releases_and_the_revert_target(fleet):
    lab = fleet
    digests = dict((tag, lab.digest(tag)) for tag in ("v1", "v2", "v3"))
    for version, keep in (("v2", 3), ("v3", 1)):
        extra = dict(FAST, version=version, keep_releases=keep, batch_size="100%")
        run = lab.run("playbooks/release.yml", extra_vars=extra)
        assert run.rc == 0, run.output[-6000:]
    repository = "%s/%s" % (lab.registry.address, REPOSITORY)
    present = set()
    for image in lab.docker.images.list(name=repository):
        present.update(d.split("@", 1)[1] for d in image.attrs.get("RepoDigests") or [] if d.startswith(repository))
    # keep_releases=1: the current release, and the one a revert goes back to; v1 is gone.
    assert present == {digests["v3"], digests["v2"]}, present
    for host in lab.names:
        record = lab.record(host)
        assert [r["version"] for r in record["history"]] == ["v3", "v2"]
        assert record["previous"]["version"] == "v2"

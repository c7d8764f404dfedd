"""The fleet lab (tests/support/fleet.py) and playbooks/release.yml on it: 10 application hosts reached over real SSH
behind two HAProxy instances, images from the lab's registry. One lab serves every case of this file (one lab per
session keeps the machine's load down).

First the lab itself: every inventory host reached over SSH, the initial release on every host with every server UP on
both load balancers, the demo application's injected error share. Then the releases, with paced load through both
load balancers; each release case starts from every host on v1. Then releases that meet: two at once, a controller
SIGKILLed in the middle of a batch (its stale lock, the run that finishes its release, the rollback that undoes exactly
what it moved), the cleanup of older releases; the release as an AWX job in the execution environment; and the status
playbook."""

import json
import os
import re
import threading
import time
import urllib.error
import urllib.request

import docker
import pytest

from tests.support import awx, secrets
from tests.support.awx import read, stats_event
from tests.support.ansible import ROOT, start_playbook
from tests.support.fleet import LABEL, REPOSITORY, ROLE_PLAY_TASK, container_env
from tests.support.lab import kill_tree, lock_held
from tests.support.net import free_port, wait_for_port

# Short canary observations for the tests; the load (2 connections of 50 requests a second per frontend, a tenth of
# them to the canary's master) gives it some 80 requests in that time.
FAST = {"canary_seconds": 4, "canary_max_seconds": 20, "canary_min_requests": 20, "batch_size": "100%"}
# Environment variables the cases below give a release; a host running one of them with a value is not on the plain
# v1 (the demo image itself sets APP_BROKEN to the empty string).
MARKERS = ("FEATURE_X", "APP_ERROR_PERCENT", "APP_BROKEN")
RELEASE_TASK = "Roll the release out to this host"
# Releases run with no load (two at once, killed ones): the canary, with no traffic to judge, passes as inconclusive.
QUIET = {"canary_seconds": 4, "canary_max_seconds": 8, "canary_min_requests": 20, "canary_inconclusive": "pass",
         "batch_size": 3}


def on_plain_v1(lab):
    """Whether every slot runs the registry's v1 digest with none of the cases' MARKERS set."""
    digest = lab.digest("v1")
    for host in lab.names:
        for role in ("master", "backup"):
            container = lab.container(host, role)
            if container is None or not any(
                    d.endswith("@" + digest) for d in lab.docker.images.get(container.attrs["Image"]).attrs[
                        "RepoDigests"]):
                return False
            env = container_env(container)
            if any(env.get(marker) for marker in MARKERS):
                return False
    return True


@pytest.fixture
def fleet(fleet_lab):
    lab = fleet_lab
    if not on_plain_v1(lab):
        lab.deploy_initial("v1")
    lab.wait_all_up()
    yield lab
    # A case that fails leaves no lock behind for the next one.
    if os.path.exists(lock_path(lab)):
        lab.run("playbooks/lock.yml", extra_vars={"lock_action": "break"})


@pytest.fixture
def serving_fleet(fleet_lab):
    """The lab with every host serving, on whatever release the cases before left (v1 when none ran yet)."""
    lab = fleet_lab
    if any(lab.container(host, role) is None for host in lab.names for role in ("master", "backup")):
        lab.deploy_initial("v1")
    lab.wait_all_up()
    return lab


def release(lab, version, **more):
    extra = dict(FAST, version=version)
    extra.update(more)
    return lab.run("playbooks/release.yml", extra_vars=extra)


def audit(lab):
    path = os.path.join(lab.baton_dir(0), "%s-app.audit.jsonl" % lab.app)
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def digest_of(lab, host, role="master"):
    return lab.container(host, role).attrs["Config"]["Image"].split("@", 1)[1]


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
    """release.yml started in the background (no load: the canary passes as inconclusive)."""
    extra = dict(QUIET, version=version)
    extra.update(more)
    return start_playbook(tmp_path, os.path.join(ROOT, "playbooks", "release.yml"), extra_vars=extra,
                          inventory=lab.inventory, args=["--forks", str(lab.forks)])


def rollout_running(lab, host):
    """Whether a rollout holds the host's lock."""
    return lock_held(os.path.join(lab.state_dir(host), "%s.lock" % lab.host_app(host)))


def moved_by(lab, release_id):
    return sorted(h for h in lab.names if (lab.record(h).get("current") or {}).get("release_id") == release_id)


def test_every_host_is_reached_over_ssh(fleet_lab):
    play = [{"hosts": "all", "gather_facts": False,
             "tasks": [{"name": "read the session", "ansible.builtin.command": "env"}]}]
    run = fleet_lab.run(play)
    assert run.rc == 0, run.output[-3000:]
    seen = {}
    for record in run.results("read the session"):
        env = dict(line.split("=", 1) for line in record["result"]["stdout_lines"] if "=" in line)
        seen[record["host"]] = env.get("SSH_CONNECTION", "").split()
    assert sorted(seen) == sorted(fleet_lab.names + fleet_lab.lb_names)
    for host, connection in seen.items():
        # client address, client port, server address, server port: each host has its own address (or port)
        address, port = fleet_lab.endpoints[host]
        assert connection[2:] == [address, str(port)], (host, connection)
    assert len(set(fleet_lab.endpoints.values())) == len(seen)


def test_initial_release_everywhere_and_served_by_both_load_balancers(fleet_lab):
    run = fleet_lab.deploy_initial("v1")
    rollouts = run.results(ROLE_PLAY_TASK)
    assert sorted(r["host"] for r in rollouts) == fleet_lab.names
    assert fleet_lab.versions() == {name: ("v1", "v1") for name in fleet_lab.names}
    digest = fleet_lab.digest("v1")
    for name in fleet_lab.names:
        current = fleet_lab.record(name)["current"]
        assert current["version"] == "v1" and current["image"] == fleet_lab.ref("v1"), current
        image = fleet_lab.docker.images.get(current["image_id"])
        # the image came through the lab's registry: it carries the digest the registry serves for v1
        assert "%s/fleet/app@%s" % (fleet_lab.registry.address, digest) in image.attrs["RepoDigests"]
        for role in ("master", "backup"):
            container = fleet_lab.container(name, role)
            assert container.labels[LABEL] == fleet_lab.app
            # rollout_healthcheck: the image's own healthcheck is off in the lab
            assert container.attrs["Config"]["Healthcheck"]["Test"] == ["NONE"]
    servers = {"%s_%s" % (name, role) for name in fleet_lab.names for role in ("master", "backup")}
    before = [fleet_lab.server_stats(index) for index in range(2)]

    def watch():
        views = []
        for _round in range(10):
            views.append(fleet_lab.statuses())
            time.sleep(0.2)
        return views

    views, load = fleet_lab.under_load(watch)
    assert load["failed"] == 0 and load["total"] > 0, load
    assert load["bodies"] == {"v1": load["total"]}, load
    for view in views:
        assert [set(statuses) for statuses in view] == [servers, servers]
        assert all(set(statuses.values()) == {"UP"} for statuses in view), view
    for index in range(2):
        after = fleet_lab.server_stats(index)
        served = {name for name in after if int(after[name]["stot"]) > int(before[index][name]["stot"])}
        # round robin over every host's master on both load balancers; the backups take nothing while masters serve
        assert served == {"%s_master" % name for name in fleet_lab.names}, (index, sorted(served))


def test_push_repoints_a_tag(fleet_lab):
    v2, v3 = fleet_lab.digest("v2"), fleet_lab.digest("v3")
    assert v2 != v3
    try:
        assert fleet_lab.push("v2", "v3") == v3
        assert fleet_lab.digest("v2") == v3
    finally:
        assert fleet_lab.push("v2", "v2") == v2


def _status(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:  # not listening yet
        return None


def test_error_percent_share_of_500s(fleet_lab):
    port = free_port()
    container = fleet_lab.docker.containers.run(
        "baton-demo/app:v1", detach=True, name="%s-errors" % fleet_lab.app, environment={"APP_ERROR_PERCENT": "20"},
        ports={"8000/tcp": ("127.0.0.1", port)}, labels={"baton.test": "1", LABEL: fleet_lab.app})
    try:
        wait_for_port(port)
        deadline = time.monotonic() + 30
        while _status("http://127.0.0.1:%d/health" % port) != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        codes = [_status("http://127.0.0.1:%d/" % port) for _request in range(200)]
        health = [_status("http://127.0.0.1:%d/health" % port) for _request in range(20)]
    finally:
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            pass
    # request n fails when n % 100 < 20: exactly 40 of 200, and the health checks never fail
    assert codes.count(500) == 40 and codes.count(200) == 160, codes
    assert health == [200] * 20


def test_check_mode_prints_the_plan_and_changes_nothing(fleet):
    lab = fleet
    ids = dict((h, lab.container(h, "master").id) for h in lab.names)
    run = lab.run("playbooks/release.yml", extra_vars=dict(FAST, version="v2", batch_size=3), check=True)
    assert run.rc == 0, run.output[-4000:]
    plan = run.result("Make the fleet plan")["ansible_facts"]["_release_plan"]
    assert plan["canary"] == ["h01"]
    assert plan["batches"] == [["h02", "h03", "h04"], ["h05", "h06", "h07"], ["h08", "h09", "h10"]]
    assert plan["hosts"]["h05"]["now"].startswith("v1 (") and plan["hosts"]["h05"]["will"].startswith("v2 (%s/%s@sha256:"
                                                                                                      % (lab.registry.address, REPOSITORY))
    assert "canary: h01" in run.output and "batch 3: h08, h09, h10" in run.output
    assert dict((h, lab.container(h, "master").id) for h in lab.names) == ids
    assert not os.path.exists(lock_path(lab))


def test_a_failing_hook_before_the_release_stops_it_before_anything_changes(fleet):
    lab = fleet
    ids = dict((h, lab.container(h, "master").id) for h in lab.names)
    run = release(lab, "v2", release_hooks={"before": [["sh", "-c", "echo change freeze >&2; exit 3"]]})
    assert run.rc != 0 and "change freeze" in run.output
    assert not run.results(RELEASE_TASK), "a host was released"
    assert dict((h, lab.container(h, "master").id) for h in lab.names) == ids
    assert not os.path.exists(lock_path(lab))


@pytest.mark.parametrize("settings, message", [
    (dict(canary_seconds=12, canary_max_seconds=8), "canary_max_seconds (8) must be at least canary_seconds (12)"),
    (dict(canary_min_requests=0), "min_requests must be between 1 and 1000000000, got 0"),
    (dict(canary_weight=150), "weight must be a percent between 1 and 100, got 150"),
], ids=["bound-shorter-than-observation", "no-request-needed", "weight-over-100"])
def test_canary_settings_the_judgement_refuses_stop_the_release_before_anything_changes(fleet, settings, message):
    lab = fleet
    ids = dict(((h, slot), lab.container(h, slot).id) for h in lab.names for slot in ("master", "backup"))
    run = release(lab, "v2", **settings)
    assert run.rc != 0 and message in run.output, run.output[-3000:]
    assert dict(((h, slot), lab.container(h, slot).id) for h in lab.names for slot in ("master", "backup")) == ids
    assert not os.path.exists(lock_path(lab)), "the lock was not released"


def test_a_wrong_health_check_is_refused_before_anything_changes(fleet):
    lab = fleet
    ids = dict((h, lab.container(h, "master").id) for h in lab.names)
    run = release(lab, "v2", rollout_health_path="/nope")
    assert run.rc != 0
    assert "Nothing was changed: h01: " in run.output and "the check itself is wrong" in run.output
    assert dict((h, lab.container(h, "master").id) for h in lab.names) == ids
    assert not os.path.exists(lock_path(lab)), "the lock was not released"


def test_a_clean_release_goes_canary_then_batches_on_one_digest_with_zero_failed_requests(fleet):
    lab = fleet
    v2 = lab.digest("v2")
    moved = threading.Event()

    def repush_when_the_canary_is_done():
        # The tag moves to another build while the release runs: the hosts still get the digest resolved at the start.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and lab.slot_version("h01", "backup") != "v2":
            time.sleep(0.5)
        lab.push("v2", "v3")
        moved.set()

    pusher = threading.Thread(target=repush_when_the_canary_is_done)
    pusher.start()
    try:
        run, load = lab.under_load(lambda: release(lab, "v2", keep_releases=1, batch_size="50%"))
    finally:
        pusher.join()
        lab.push("v2", "v2")
    assert run.rc == 0, run.output[-6000:]
    assert moved.is_set(), "the tag was not moved during the release"
    assert load["failed"] == 0 and load["total"] > 300, load
    assert set(lab.versions().values()) == {("v2", "v2")}
    assert set(digest_of(lab, h, role) for h in lab.names for role in ("master", "backup")) == {v2}
    lab.wait_all_up()
    # The canary went first and alone, then the batches of 50% of the 9 others (4, 4, 1), hosts of a batch together.
    started = dict((r["host"], r) for r in run.results(RELEASE_TASK))
    assert set(started) == set(lab.names)
    [record] = [r for r in audit(lab) if r["version"] == "v2" and r["outcome"] == "success"][-1:]
    assert record["plan"]["canary"] == ["h01"]
    assert record["plan"]["batches"] == [["h02", "h03", "h04", "h05"], ["h06", "h07", "h08", "h09"], ["h10"]]
    assert record["image"] == "%s/%s@%s" % (lab.registry.address, REPOSITORY, v2)
    assert record["canary"]["verdict"] == "pass"
    assert record["canary"]["figures"]["canary"]["requests"] >= FAST["canary_min_requests"]
    assert all(record["hosts"][h]["outcome"] == "moved" for h in lab.names)
    assert record["reverted"] == [] and record["config_changes"] == []
    # Every host recorded the release, its digest and the release id; the lock is free again.
    for host in lab.names:
        current = lab.record(host)["current"]
        assert current["release_id"] == record["release_id"] and current["image"].endswith(v2)
    assert not os.path.exists(lock_path(lab))


def test_a_canary_that_answers_500_on_a_share_of_requests_is_reverted_and_nothing_else_moves(fleet):
    lab = fleet
    ids = dict((h, lab.container(h, "master").id) for h in lab.names if h != "h01")
    run, load = lab.under_load(lambda: release(lab, "v2", rollout_env={"APP_ERROR_PERCENT": "30"}))
    assert run.rc != 0
    assert "the canary failed" in run.output
    assert set(lab.versions().values()) == {("v1", "v1")}, lab.versions()
    assert dict((h, lab.container(h, "master").id) for h in lab.names if h != "h01") == ids
    record = audit(lab)[-1]
    assert record["outcome"] == "failure" and record["reverted"] == ["h01"]
    figures = record["canary"]["figures"]
    assert figures["canary"]["errors"] > 0 and figures["baseline"]["errors"] == 0, figures
    assert figures["p_value"] < 1 - 0.99
    assert record["config_changes"] == ["env.APP_ERROR_PERCENT"]
    # What clients saw go wrong is the canary's own 500 answers, nothing else (no connection cut by the revert).
    assert set(load["failures"]) <= {"500"}, load
    # The canary runs v1 as it ran before, with its recorded run options: not with the env the failed release gave
    # with -e (extra vars outrank the variables a revert sets).
    assert on_plain_v1(lab), [lab.container("h01", role).attrs["Config"]["Env"] for role in ("master", "backup")]
    assert lab.record("h01")["current"]["config"]["env"] == {}
    lab.wait_all_up()


def test_a_hook_failing_after_the_canary_verdict_stops_the_release_and_sends_the_canary_back(fleet):
    lab = fleet
    ids = dict((h, lab.container(h, "master").id) for h in lab.names if h != "h01")
    smoke = ["sh", "-c", "echo smoke test of $BATON_RELEASE_VERSION failed >&2; exit 4"]
    run, load = lab.under_load(lambda: release(lab, "v2", release_hooks={"after_canary": [smoke]}))
    assert run.rc != 0
    assert "the after_canary hook failed: smoke test of v2 failed" in run.output, run.output[-3000:]
    assert set(lab.versions().values()) == {("v1", "v1")}, lab.versions()
    assert dict((h, lab.container(h, "master").id) for h in lab.names if h != "h01") == ids
    record = audit(lab)[-1]
    assert record["outcome"] == "failure" and record["reverted"] == ["h01"], record
    assert load["failed"] == 0, load
    assert not os.path.exists(lock_path(lab)), "the lock was not released"
    lab.wait_all_up()


def test_a_release_that_fails_on_a_host_of_the_last_batch_sends_every_moved_host_back(fleet, tmp_path):
    lab = fleet
    host_vars = os.path.join(os.path.dirname(lab.inventory), "host_vars")
    os.makedirs(host_vars, exist_ok=True)
    broken = os.path.join(host_vars, "h10.yml")
    with open(broken, "w") as handle:
        handle.write("rollout_env: {APP_BROKEN: '1'}\nrollout_health_retries: 10\n")
    try:
        run, load = lab.under_load(lambda: release(lab, "v2", batch_size=5))
    finally:
        os.unlink(broken)
    assert run.rc != 0
    assert load["failed"] == 0, load
    assert set(lab.versions().values()) == {("v1", "v1")}, lab.versions()
    record = audit(lab)[-1]
    assert record["outcome"] == "failure" and record["failed"] == ["h10"]
    assert sorted(record["reverted"]) == lab.names
    assert "1 host(s) of this batch failed" in record["reason"]
    assert "h10: failed" in run.output and "reverted: " in run.output
    lab.wait_all_up()


def test_a_config_change_alone_is_a_release_recorded_by_its_keys_with_its_hooks(fleet, tmp_path):
    lab = fleet
    seen = str(tmp_path / "hooks.log")
    hook = ["sh", "-c", 'echo "$BATON_RELEASE_POINT $BATON_RELEASE_VERSION $BATON_RELEASE_STOPPED $BATON_RELEASE_ID" >> "$0"',
            seen]
    hooks = dict((point, [hook]) for point in ("before", "after_canary", "after_batch", "success", "failure"))
    run, load = lab.under_load(lambda: release(lab, "v1", rollout_env={"FEATURE_X": "on"}, release_hooks=hooks))
    assert run.rc == 0, run.output[-6000:]
    assert load["failed"] == 0, load
    record = audit(lab)[-1]
    assert record["outcome"] == "success" and record["config_changes"] == ["env.FEATURE_X"]
    assert record["plan"]["canary"] == ["h01"] and record["plan"]["batches"] == [lab.names[1:]]
    for host in lab.names:
        env = lab.container(host, "master").attrs["Config"]["Env"]
        assert "FEATURE_X=on" in env
        assert lab.record(host)["previous"]["config"].get("env", {}).get("FEATURE_X") is None
    # The hooks ran on the controller at each point, in order, with the release's facts.
    with open(seen) as handle:
        points = [line.split() for line in handle]
    assert [p[0] for p in points] == ["before", "after_canary", "after_batch", "success"]
    assert all(p[1] == "v1" and p[2] == "False" for p in points)
    assert len(set(p[3] for p in points[1:])) == 1 and points[1][3] == record["release_id"]


def test_a_second_release_waits_for_the_lock_then_fails_naming_the_holder(fleet, tmp_path):
    lab = fleet
    first = start_release(lab, tmp_path, "v2", canary_seconds=12, canary_max_seconds=12, release_message="first one")
    try:
        wait_for(lambda: read_lock(lab) is not None, 120, "the first release taking the lock")
        holder = read_lock(lab)
        started = time.monotonic()
        second = lab.run("playbooks/release.yml", extra_vars=dict(QUIET, version="v3", lock_wait=3))
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
    # A module started over SSH goes on after its controller died; wait until no rollout holds a host's lock.
    wait_for(lambda: not any(rollout_running(lab, h) for h in lab.names), 120, "the hosts' own rollouts ending")
    return lock["release_id"]


def test_a_killed_controller_leaves_a_lock_the_same_release_finishes_under_load(fleet, tmp_path):
    lab = fleet
    release_id = kill_mid_batch(lab, tmp_path)
    assert moved_by(lab, release_id), "nothing moved before the kill"
    # Another release is refused while the stale lock stands.
    refused = lab.run("playbooks/release.yml", extra_vars=dict(QUIET, version="v3"))
    assert refused.rc != 0 and release_id in refused.output
    shown = lab.run("playbooks/lock.yml")
    assert shown.rc == 0 and release_id in shown.output
    # The same release, named by its id, takes its own lock over and finishes what it left.
    resume = dict(QUIET, version="v2", release_id=release_id)
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
        extra = dict(QUIET, version=version, keep_releases=keep, batch_size="100%")
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
        # The history keeps the entries of the kept releases (v2 ran several times on this lab), nothing older.
        assert list(dict.fromkeys(r["version"] for r in record["history"])) == ["v3", "v2"], record["history"]
        assert record["previous"]["version"] == "v2"


def run_release_job(lab, pdd, ident, timeout=900):
    """The job with the lab's directory at the same path (no Docker socket: the engine is used on the hosts)."""
    return awx.run_job(pdd, "release", ident, ["%s:%s" % (lab.workdir, lab.workdir)], timeout)


def test_an_awx_job_in_the_execution_environment_releases_the_fleet_over_ssh_and_hands_the_release_on(fleet, tmp_path):
    """The fleet release as AWX runs it: release.yml through ansible-runner with process isolation in our execution
    environment (`make ee`), from a private data directory as AWX writes it, against the lab's hosts over SSH. The job
    container is Ansible's controller only: it gets the lab's directory at the same path (the key, the paths the
    inventory names), the host network (the lab's sshd addresses and registry) and root; no Docker socket."""
    lab = fleet
    digest = lab.digest("v2")
    # The lab's inventory holds the registry credentials the hosts pull with; the project's ansible.cfg, as the
    # repository's, feeds modules on stdin over SSH.
    secrets.register_input(os.path.join(str(tmp_path), "job", "inventory", "hosts"))
    pdd = awx.private_data_dir(tmp_path, lab.inventory_data(), "release", dict(FAST, version="v2", batch_size="50%"),
                               forks=lab.forks, ansible_cfg="[defaults]\nretry_files_enabled = False\n\n"
                                                            "[connection]\npipelining = True\n")
    (proc, artifacts), load = lab.under_load(lambda: run_release_job(lab, pdd, "1"))
    assert read(os.path.join(artifacts, "status")) == "successful", proc.stdout[-6000:] + proc.stderr[-2000:]
    assert read(os.path.join(artifacts, "rc")) == "0"
    assert load["failed"] == 0 and load["total"] > 100, load
    assert set(lab.versions().values()) == {("v2", "v2")}, lab.versions()
    assert set(lab.container(h, role).attrs["Config"]["Image"] for h in lab.names for role in ("master", "backup")) \
        == {"%s/%s@%s" % (lab.registry.address, REPOSITORY, digest)}
    lab.wait_all_up()
    # What the next node of an AWX workflow gets as extra variables (set_stats in roles/release/tasks/finish.yml).
    handed = stats_event(artifacts)["event_data"]["artifact_data"]
    assert re.match(r"^%s/%s@sha256:[0-9a-f]{64}$" % (re.escape(lab.registry.address), REPOSITORY),
                    handed["release_image"]), handed["release_image"]
    assert handed["release_image"] == "%s/%s@%s" % (lab.registry.address, REPOSITORY, digest)
    assert handed["version"] == "v2"
    record = handed["baton_release"]
    assert record["release_id"] == handed["release_id"] and record["outcome"] == "success"
    assert record["version"] == "v2" and record["image"] == handed["release_image"]
    assert record["plan"]["canary"] == ["h01"] and record["canary"]["verdict"] == "pass"
    assert record["plan"]["batches"] == [["h02", "h03", "h04", "h05"], ["h06", "h07", "h08", "h09"], ["h10"]]
    assert all(record["hosts"][h]["outcome"] == "moved" for h in lab.names)
    # The same record is the audit's last one on the lock host, every host recorded the release, the lock is free.
    with open(os.path.join(lab.baton_dir(0), "%s-app.audit.jsonl" % lab.app)) as handle:
        audited = [json.loads(line) for line in handle if line.strip()]
    assert audited[-1]["release_id"] == handed["release_id"] and audited[-1]["outcome"] == "success"
    for host in lab.names:
        assert lab.record(host)["current"]["release_id"] == handed["release_id"]
    assert not os.path.exists(lock_path(lab))
    # The registry password the hosts pull with reaches nothing AWX shows: the job's output and its events (in any
    # form: quoted, escaped, inside base64).
    matcher = secrets.Matcher(["registry_password"])
    assert matcher.find((proc.stdout + proc.stderr).encode()) == []
    events = os.path.join(artifacts, "job_events")
    shown = [os.path.join(artifacts, "stdout")] + [os.path.join(events, f) for f in os.listdir(events)]
    assert len(shown) > 100
    for path in shown:
        with open(path, "rb") as handle:
            assert matcher.find(handle.read()) == [], path


def test_status_shows_what_runs_where_the_lock_and_the_last_releases(serving_fleet):
    lab = serving_fleet
    run = lab.run("playbooks/status.yml")
    assert run.rc == 0, run.output[-4000:]
    shown = run.result("Show the host", host="h03")["msg"]
    assert shown["release"] == lab.slot_version("h03", "master") == lab.record("h03")["current"]["version"]
    assert shown["slots"] == {lab.slot_name("h03", "master"): "running", lab.slot_name("h03", "backup"): "running"}
    assert sorted(shown["servers"]) == sorted("%s %s: UP" % (lb["socket"], role) for lb in lab.lbs
                                              for role in ("master", "backup"))
    summary = run.result("Show the lock and the last releases")["msg"]
    assert summary["lock"] == "free"

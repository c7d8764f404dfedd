"""baton.docker.rollout: a host's whole master/backup rollout in one module execution, behind TWO real HAProxy
instances (one driven over its unix socket, one over TCP), under load spread over both, against the real engine."""

import json
import os
import random
import subprocess
import sys
import threading
import time

import pytest

from bench.loadgen import LoadGenerator
from tests.support.ansible import COLLECTIONS, start_playbook
from tests.support import secrets
from tests.support.haproxy import runtime_command
from tests.support.lab import Lab, kill_tree, lock_held, under_load
from tests.support.net import free_port
from tests.support.tls import CertificateAuthority


def test_first_deploy_check_mode_then_apply_then_nothing_to_do(lab):
    result, run = lab.rollout("v1", check=True, diff=True)
    assert run.rc == 0, run.output[-4000:]
    assert result["changed"] is True
    assert [(s["unit"], s["action"]) for s in result["plan"]][:4] == [
        (lab.slot("master"), a) for a in ("drain", "maint", "swap", "ready")]
    assert set(result["diff"]["after"]) == {lab.slot("master"), lab.slot("backup")}
    assert lab.container("master") is None and not os.path.exists(lab.state_dir)

    result, run = lab.rollout("v1")
    assert run.rc == 0, run.output[-4000:]
    assert len(run.results()) == 1  # the whole rollout is one module execution
    assert lab.version("master") == "v1" and lab.version("backup") == "v1"
    lab.wait_all_up()
    record = json.load(open(os.path.join(lab.state_dir, "%s.json" % lab.app)))
    assert record["current"]["version"] == "v1"
    assert secrets.LAB_SECRET_ENV not in run.output
    assert lab.container("master").attrs["Config"]["Env"].count("APP_TOKEN=" + secrets.LAB_SECRET_ENV) == 1

    ids = {role: lab.container(role).id for role in ("master", "backup")}
    result, run = lab.rollout("v1")
    assert run.rc == 0 and result["changed"] is False and result["plan"] == []
    assert {role: lab.container(role).id for role in ("master", "backup")} == ids


def test_release_under_load_through_two_load_balancers_loses_nothing(lab_deployed):
    lab = lab_deployed
    (result, run), load = under_load(lab, lambda: lab.rollout("v2"))
    assert run.rc == 0, run.output[-4000:]
    assert load["failed"] == 0 and load["total"] > 100, load
    assert lab.version("master") == "v2" and lab.version("backup") == "v2"
    lab.wait_all_up()
    assert [u["unit"] for u in result["timeline"]] == [lab.slot("master"), lab.slot("backup")]
    for unit in result["timeline"]:
        assert [s["action"] for s in unit["steps"]] == ["drain", "maint", "swap", "ready"]
        assert unit["out_of_rotation_seconds"] > 0
    assert not os.path.exists(os.path.join(lab.state_dir, "%s.journal.json" % lab.app))


def test_broken_release_is_rolled_back_behind_both_load_balancers(lab_deployed):
    lab = lab_deployed
    backup_id = lab.container("backup").id
    (result, run), load = under_load(lab, lambda: lab.rollout("broken", container=dict(
        stop_timeout=5, health=dict(interval=0.2, retries=10))))
    assert run.rc != 0
    assert "not healthy" in result["msg"] and "It is back in rotation" in result["msg"], result["msg"]
    assert load["failed"] == 0, load
    assert lab.version("master") == "v1"
    assert lab.container("backup").id == backup_id
    lab.wait_all_up()


def test_master_is_not_taken_out_when_the_backup_does_not_serve(lab_deployed):
    lab = lab_deployed
    lab.container("backup").stop(timeout=5)
    deadline = time.monotonic() + 20
    while any(row.get("h_backup") != "DOWN" for row in lab.states()) and time.monotonic() < deadline:
        time.sleep(0.2)
    master_id = lab.container("master").id
    result, run = lab.rollout("v2")
    assert run.rc != 0
    assert "taking %s out of rotation would leave no server there" % lab.slot("master") in result["msg"]
    assert "Nothing was changed" in result["msg"]
    assert lab.container("master").id == master_id
    assert all(row["h_master"] == "UP" for row in lab.states())


def test_server_put_in_maintenance_by_an_operator_is_left_alone(lab_deployed):
    lab = lab_deployed
    runtime_command(lab.lbs[1]["socket"], "set server %s/h_backup state maint" % lab.app)
    result, run = lab.rollout("v1")
    assert run.rc == 0, run.output[-4000:]
    assert result["held"] == ["%s/h_backup on %s" % (lab.app, lab.lbs[1]["endpoint"])]
    assert "no rollout of %s put it there" % lab.app in run.output
    assert lab.states()[1]["h_backup"] == "MAINT"


def test_stale_journal_entry_does_not_undo_a_later_operator_maintenance(lab_deployed):
    lab = lab_deployed
    journal = os.path.join(lab.state_dir, "%s.journal.json" % lab.app)
    with open(journal, "w") as handle:  # a run that died after putting h_backup back, before clearing its journal
        json.dump({"out": [{"lb": lab.lbs[0]["endpoint"], "backend": lab.app, "server": "h_backup"}]}, handle)
    result, run = lab.rollout("v1")
    assert run.rc == 0 and result["changed"] is False, run.output[-3000:]
    assert not os.path.exists(journal)
    runtime_command(lab.lbs[0]["socket"], "set server %s/h_backup state maint" % lab.app)
    result, run = lab.rollout("v1")
    assert run.rc == 0 and result["restored"] == [], run.output[-3000:]
    assert lab.states()[0]["h_backup"] == "MAINT"


def test_operator_maintenance_that_leaves_no_peer_refuses_the_release(lab_deployed):
    lab = lab_deployed
    runtime_command(lab.lbs[1]["socket"], "set server %s/h_master state maint" % lab.app)
    ids = {role: lab.container(role).id for role in ("master", "backup")}
    result, run = lab.rollout("v2")
    assert run.rc != 0
    assert ("h_backup is the only server of backend %s on load balancer %s that serves"
            % (lab.app, lab.lbs[1]["endpoint"])) in result["msg"], result["msg"]
    assert {role: lab.container(role).id for role in ("master", "backup")} == ids
    assert lab.states()[1]["h_master"] == "MAINT"


def test_a_peer_whose_checks_fail_for_a_while_is_waited_for_not_refused(lab_deployed):
    """The backup's container serves, but both load balancers' health checks of it fail for a while (sent to a closed
    port, as checks that time out on a busy host): it is DOWN there. The rollout waits for it to come UP, then
    releases, instead of refusing."""
    lab = lab_deployed
    closed = free_port()

    def check_port(port):
        for lb in lab.lbs:
            runtime_command(lb["socket"], "set server %s/h_backup check-port %d" % (lab.app, port))

    lock = os.path.join(lab.state_dir, "%s.lock" % lab.app)
    stop = threading.Event()

    def restore_once_the_rollout_runs():
        # the checks come back 3 s after the rollout took its host lock (it is planning, and waits for the backup)
        while not stop.is_set() and not lock_held(lock):
            time.sleep(0.05)
        if not stop.wait(3):
            check_port(lab.ports["backup"])

    check_port(closed)
    restore = threading.Thread(target=restore_once_the_rollout_runs)
    try:
        deadline = time.monotonic() + 30
        while any(row["h_backup"] == "UP" for row in lab.states()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert all(row["h_backup"] != "UP" for row in lab.states()), lab.states()
        restore.start()
        result, run = lab.rollout("v2")
    finally:
        stop.set()
        restore.join()
        check_port(lab.ports["backup"])
    assert run.rc == 0, run.output[-4000:]
    assert any(w.startswith("waited ") and "h_master" in w for w in result["warnings"]), result.get("warnings")
    assert lab.version("master") == "v2" and lab.version("backup") == "v2"
    lab.wait_all_up()


def test_wrong_runtime_endpoint_is_named_and_nothing_changes(lab_deployed):
    lab = lab_deployed
    ids = {role: lab.container(role).id for role in ("master", "backup")}
    missing = os.path.join(lab.workdir, "nope.sock")
    result, run = lab.rollout("v2", load_balancers=[dict(socket=lab.lbs[0]["endpoint"]), dict(socket=missing)])
    assert run.rc != 0
    assert "load balancer %s" % missing in result["msg"] and "does not exist" in result["msg"]
    assert {role: lab.container(role).id for role in ("master", "backup")} == ids


def test_a_health_check_that_fails_on_the_serving_containers_is_refused_before_anything_changes(lab_deployed):
    lab = lab_deployed
    ids = {role: lab.container(role).id for role in ("master", "backup")}
    units = lab.args("v2")["units"]
    for unit in units:
        unit["container"]["health"]["url"] = unit["container"]["health"]["url"].replace("/health", "/healthz")
    result, run = lab.rollout("v2", units=units)
    assert run.rc != 0
    assert "%s: the health check http://127.0.0.1:%d/healthz fails on the container serving now (HTTP 404, not 200)" % (
        lab.slot("master"), lab.ports["master"]) in result["msg"], result["msg"]
    assert {role: lab.container(role).id for role in ("master", "backup")} == ids
    lab.wait_all_up()
    # Waived: the release changes its check on purpose; then the swap itself judges the new container.
    result, run = lab.rollout("v2", units=lab.args("v2")["units"], probe_health=False)
    assert run.rc == 0, run.output[-3000:]
    assert lab.version("master") == "v2"


@pytest.mark.parametrize("container, message", [
    (dict(ports="not-a-list", stop_timeout="soon"), "units[0] (%s).container: "),
    (dict(secret_env={"A": "b"}), "container.secret_env: use the secret_env option"),
    (dict(pull="always"), "container.pull: set by the rollout itself"),
])
def test_bad_unit_options_are_named_before_anything_changes(lab_deployed, container, message):
    lab = lab_deployed
    result, run = lab.rollout("v2", container=container)
    assert run.rc != 0
    assert message.replace("%s", lab.slot("master")) in result["msg"], result["msg"]
    assert lab.version("master") == "v1"


HOLD = """
import sys, time
sys.path.insert(0, %r)
from ansible_collections.baton.docker.plugins.module_utils._files import HostLock
HostLock(sys.argv[1], {"version": "v9"}).acquire()
print("held", flush=True)
time.sleep(60)
"""


def test_a_second_run_waits_for_the_lock_then_fails_naming_the_holder(lab_deployed):
    lab = lab_deployed
    holder = subprocess.Popen([sys.executable, "-c", HOLD % COLLECTIONS, os.path.join(lab.state_dir, lab.app + ".lock")],
                              stdout=subprocess.PIPE, universal_newlines=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result, run = lab.rollout("v2", lock_timeout=1)
        assert run.rc != 0
        assert "pid %d" % holder.pid in result["msg"] and "deploying v9" in result["msg"], result["msg"]
        assert lab.version("master") == "v1"
    finally:
        holder.kill()
        holder.wait()


def test_remote_load_balancer_over_tls_with_a_client_certificate(tmp_path):
    ca = CertificateAuthority(tmp_path / "ca")
    cert, key, _pem = ca.issue("app-host", "clientAuth")
    lab = Lab(tmp_path / "lab", tls=ca)
    try:
        tls = dict(ca_file=ca.ca, cert_file=cert, key_file=key)
        balancers = [dict(socket=lab.lbs[0]["endpoint"]), dict(socket=lab.lbs[1]["endpoint"], tls=tls)]
        result, run = lab.rollout("v1", load_balancers=balancers)
        assert run.rc == 0, run.output[-4000:]
        lab.wait_all_up()
        (result, run), load = under_load(lab, lambda: lab.rollout("v2", load_balancers=balancers))
        assert run.rc == 0, run.output[-4000:]
        assert load["failed"] == 0, load
        assert lab.version("master") == "v2"

        # A client certificate from another CA is refused by HAProxy: a clear error, nothing changed.
        stranger = CertificateAuthority(tmp_path / "other", name="stranger-ca")
        bad_cert, bad_key, _pem = stranger.issue("intruder", "clientAuth")
        master_id = lab.container("master").id
        result, run = lab.rollout("v3", load_balancers=[balancers[0], dict(
            socket=lab.lbs[1]["endpoint"], tls=dict(tls, cert_file=bad_cert, key_file=bad_key))])
        assert run.rc != 0
        assert "load balancer %s" % lab.lbs[1]["endpoint"] in result["msg"], result["msg"]
        assert "TLS" in result["msg"], result["msg"]
        assert lab.container("master").id == master_id

        # Without any client certificate: refused too.
        result, run = lab.rollout("v3", load_balancers=[balancers[0], dict(
            socket=lab.lbs[1]["endpoint"], tls=dict(ca_file=ca.ca))])
        assert run.rc != 0 and "TLS" in result["msg"], result["msg"]
        assert lab.container("master").id == master_id
    finally:
        lab.teardown()


def test_killed_at_random_moments_the_next_run_converges_without_losing_a_request(lab_deployed, tmp_path):
    lab = lab_deployed
    rng = random.Random(int(os.environ.get("BATON_KILL_SEED", "0")) or None)
    versions = ["v2", "v3", "v1"] * 3 + ["v2"]  # ten kills
    failed = total = 0
    interrupted = []
    for attempt, version in enumerate(versions):
        loads = lab.load()
        for load in loads:
            load.start()
        workdir = tmp_path / ("kill%d" % attempt)
        workdir.mkdir()
        delay = rng.uniform(1.0, 5.0)
        proc = start_playbook(workdir, lab.play(version))
        time.sleep(delay)
        kill_tree(proc.pid)
        proc.wait()
        # Never both slots out of rotation on a load balancer.
        for row in lab.states():
            assert "UP" in row.values(), (delay, lab.states())
        left = dict(journal=os.path.exists(os.path.join(lab.state_dir, "%s.journal.json" % lab.app)),
                    states=lab.states())
        result, run = lab.rollout(version)
        assert run.rc == 0, (delay, result.get("msg"), left, run.output[-4000:])
        if result["changed"]:  # the kill came before the rollout ended: this run finished it
            interrupted.append((round(delay, 2), left, result["restored"], [s["action"] for s in result["plan"]]))
        time.sleep(0.5)
        for load in loads:
            load.stop()
            summary = LoadGenerator.summary(load.window())
            failed += summary["failed"]
            total += summary["total"]
        assert lab.version("master") == version and lab.version("backup") == version, delay
        lab.wait_all_up()
        leftovers = [c.name for c in lab.docker.containers.list(all=True, filters={"name": lab.app})
                     if c.name.endswith(".baton-previous")]
        assert leftovers == []
    print("interrupted runs (delay, left behind, restored, plan of the next run):", interrupted)
    assert failed == 0 and total > 1000, (failed, total, interrupted)
    assert len(interrupted) >= 3, "fewer than 3 of the 10 kills came before their rollout ended: %s" % interrupted

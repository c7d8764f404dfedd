"""baton.docker.rollout: a host's whole master/backup rollout in one module execution, behind TWO real HAProxy
instances (one driven over its unix socket, one over TCP), under load spread over both, against the real engine."""

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid

import docker
import pytest

from bench.loadgen import LoadGenerator
from bench.loadgen import under_load as _under_load
from tests.support.ansible import COLLECTIONS, start_playbook, run_playbook
from tests.support.haproxy import HAProxyProcess, render_config, runtime_command
from tests.support.net import free_port
from tests.support.tls import CertificateAuthority

IMAGE = "baton-demo/app"
TASK = "roll out"


class Lab:
    """One application host (master + backup slots on this engine) behind two HAProxy instances."""

    def __init__(self, workdir, tls=None):
        """``tls``: a CertificateAuthority; the second load balancer then serves its runtime API over TLS and verifies clients."""
        self.workdir = str(workdir)
        self.app = "rm%s" % uuid.uuid4().hex[:8]
        self.ports = {"master": free_port(), "backup": free_port()}
        self.state_dir = os.path.join(self.workdir, "state")
        self.docker = docker.from_env()
        self.lbs = []
        for index in range(2):
            lbdir = os.path.join(self.workdir, "lb%d" % index)
            os.makedirs(lbdir)
            tcp = free_port() if index == 1 else None
            servers = [dict(name="h_master", port=self.ports["master"], check=True),
                       dict(name="h_backup", port=self.ports["backup"], check=True, options="backup")]
            admin = os.path.join(lbdir, "admin.sock")
            extra = ""
            if tcp and tls:
                # HAProxy's own TLS in front of its runtime API: clients must show a certificate of the CA.
                pem = tls.issue("lb%d" % index, "serverAuth", "IP:127.0.0.1")[2]
                extra = ("listen runtime-api\n    mode tcp\n    bind 127.0.0.1:%d ssl crt %s ca-file %s verify required\n"
                         "    server cli unix@%s\n" % (tcp, pem, tls.ca, admin))
            config = render_config(free_port(), servers, admin, tcp_socket_port=None if extra else tcp, extra=extra,
                                   backend=self.app, check_inter="300ms")
            frontend = int(config.split("bind 127.0.0.1:")[1].split()[0])
            proc = HAProxyProcess(lbdir, config).start()
            endpoint = "127.0.0.1:%d" % tcp if tcp else os.path.join(lbdir, "admin.sock")
            self.lbs.append(dict(proc=proc, frontend=frontend, endpoint=endpoint, socket=proc.socket_path))

    def slot(self, role):
        return "%s-%s" % (self.app, role)

    def args(self, version, **more):
        units = []
        for role in ("master", "backup"):
            port = self.ports[role]
            units.append(dict(name=self.slot(role), server="h_%s" % role, container=dict(
                ports=["127.0.0.1:%d:8000" % port], labels={"baton.test": "1", "baton.site": self.app},
                health=dict(url="http://127.0.0.1:%d/health" % port))))
        args = dict(app=self.app, image="%s:%s" % (IMAGE, version), state_dir=self.state_dir, units=units,
                    container=dict(stop_timeout=5, health=dict(interval=0.2, retries=40)),
                    secret_env={"APP_TOKEN": "s3cr3t-rollout-token"},
                    load_balancers=[dict(socket=lb["endpoint"]) for lb in self.lbs],
                    drain_timeout=20, up_timeout=20, lock_timeout=5)
        args.update(more)
        return args

    def play(self, version, **more):
        return [{"hosts": "localhost", "gather_facts": False,
                 "tasks": [{"name": TASK, "baton.docker.rollout": self.args(version, **more)}]}]

    def rollout(self, version, check=False, diff=False, **more):
        run = run_playbook(self.play(version, **more), check=check, diff=diff)
        results = run.results(TASK)
        return (results[-1]["result"] if results else {}), run

    def container(self, role):
        try:
            return self.docker.containers.get(self.slot(role))
        except docker.errors.NotFound:
            return None

    def version(self, role):
        import urllib.request
        with urllib.request.urlopen("http://127.0.0.1:%d/" % self.ports[role], timeout=5) as resp:
            return resp.read().decode().split()[1]

    def states(self):
        """Per load balancer, per server: (admin state name, status) read with an independent client."""
        found = []
        for lb in self.lbs:
            text = runtime_command(lb["socket"], "show stat")
            row = {}
            for line in text.splitlines():
                fields = line.split(",")
                if len(fields) > 17 and fields[0] == self.app and fields[1] in ("h_master", "h_backup"):
                    row[fields[1]] = fields[17]
            found.append(row)
        return found

    def wait_all_up(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(set(row.values()) == {"UP"} and len(row) == 2 for row in self.states()):
                return
            time.sleep(0.2)
        raise AssertionError("not every server UP on both load balancers: %s" % self.states())

    def load(self):
        return [LoadGenerator("http://127.0.0.1:%d/" % lb["frontend"], connections=3, period=0.02, max_seconds=240)
                for lb in self.lbs]

    def teardown(self):
        for lb in self.lbs:
            lb["proc"].stop()
        for container in self.docker.containers.list(all=True, filters={"label": "baton.site=%s" % self.app}):
            container.remove(force=True)
        for role in ("master", "backup"):
            for suffix in ("", ".baton-previous"):
                try:
                    self.docker.containers.get(self.slot(role) + suffix).remove(force=True)
                except docker.errors.NotFound:
                    pass


@pytest.fixture
def lab(tmp_path):
    lab = Lab(tmp_path)
    yield lab
    lab.teardown()


@pytest.fixture
def deployed(lab):
    result, run = lab.rollout("v1")
    assert run.rc == 0, run.output[-4000:]
    lab.wait_all_up()
    return lab


def under_load(lab, action):
    """``action()`` under 3 connections of paced load through each of the two HAProxy instances."""
    return _under_load(["http://127.0.0.1:%d/" % lb["frontend"] for lb in lab.lbs], action, connections=3)


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
    assert "s3cr3t-rollout-token" not in run.output
    assert lab.container("master").attrs["Config"]["Env"].count("APP_TOKEN=s3cr3t-rollout-token") == 1

    ids = {role: lab.container(role).id for role in ("master", "backup")}
    result, run = lab.rollout("v1")
    assert run.rc == 0 and result["changed"] is False and result["plan"] == []
    assert {role: lab.container(role).id for role in ("master", "backup")} == ids


def test_release_under_load_through_two_load_balancers_loses_nothing(deployed):
    lab = deployed
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


def test_broken_release_is_rolled_back_behind_both_load_balancers(deployed):
    lab = deployed
    backup_id = lab.container("backup").id
    (result, run), load = under_load(lab, lambda: lab.rollout("broken", container=dict(
        stop_timeout=5, health=dict(interval=0.2, retries=10))))
    assert run.rc != 0
    assert "not healthy" in result["msg"] and "It is back in rotation" in result["msg"], result["msg"]
    assert load["failed"] == 0, load
    assert lab.version("master") == "v1"
    assert lab.container("backup").id == backup_id
    lab.wait_all_up()


def test_master_is_not_taken_out_when_the_backup_does_not_serve(deployed):
    lab = deployed
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


def test_server_put_in_maintenance_by_an_operator_is_left_alone(deployed):
    lab = deployed
    runtime_command(lab.lbs[1]["socket"], "set server %s/h_backup state maint" % lab.app)
    result, run = lab.rollout("v1")
    assert run.rc == 0, run.output[-4000:]
    assert result["held"] == ["%s/h_backup on %s" % (lab.app, lab.lbs[1]["endpoint"])]
    assert "no rollout of %s put it there" % lab.app in run.output
    assert lab.states()[1]["h_backup"] == "MAINT"


def test_stale_journal_entry_does_not_undo_a_later_operator_maintenance(deployed):
    lab = deployed
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


def test_operator_maintenance_that_leaves_no_peer_refuses_the_release(deployed):
    lab = deployed
    runtime_command(lab.lbs[1]["socket"], "set server %s/h_master state maint" % lab.app)
    ids = {role: lab.container(role).id for role in ("master", "backup")}
    result, run = lab.rollout("v2")
    assert run.rc != 0
    assert ("h_backup is the only server of backend %s on load balancer %s that serves"
            % (lab.app, lab.lbs[1]["endpoint"])) in result["msg"], result["msg"]
    assert {role: lab.container(role).id for role in ("master", "backup")} == ids
    assert lab.states()[1]["h_master"] == "MAINT"


def test_wrong_runtime_endpoint_is_named_and_nothing_changes(deployed):
    lab = deployed
    ids = {role: lab.container(role).id for role in ("master", "backup")}
    missing = os.path.join(lab.workdir, "nope.sock")
    result, run = lab.rollout("v2", load_balancers=[dict(socket=lab.lbs[0]["endpoint"]), dict(socket=missing)])
    assert run.rc != 0
    assert "load balancer %s" % missing in result["msg"] and "does not exist" in result["msg"]
    assert {role: lab.container(role).id for role in ("master", "backup")} == ids


@pytest.mark.parametrize("container, message", [
    (dict(ports="not-a-list", stop_timeout="soon"), "units[0] (%s).container: "),
    (dict(secret_env={"A": "b"}), "container.secret_env: use the secret_env option"),
    (dict(pull="always"), "container.pull: set by the rollout itself"),
])
def test_bad_unit_options_are_named_before_anything_changes(deployed, container, message):
    lab = deployed
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


def test_a_second_run_waits_for_the_lock_then_fails_naming_the_holder(deployed):
    lab = deployed
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


def descendants(pid):
    """PIDs of every process below ``pid`` (Ansible's workers and the module process they start)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(pid):
    """SIGKILL a run and everything it started, all at once, as a lost host or a killed job container would."""
    for target in [pid] + descendants(pid):
        try:
            os.kill(target, signal.SIGKILL)
        except ProcessLookupError:
            pass


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


def test_killed_at_random_moments_the_next_run_converges_without_losing_a_request(deployed, tmp_path):
    lab = deployed
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
        assert run.rc == 0, (delay, left, run.output[-4000:])
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

"""baton.docker.haproxy_backend against a real HAProxy 2.6, through the real ansible-playbook.

One HAProxy (tests/support/haproxy.py) serves the whole module: a frontend on
127.0.0.1, backend "app" with app1..app3 (HTTP servers in this process,
health-checked every 500 ms) and "nocheck" (no health check), and four stats
sockets: unix level admin, TCP level admin, unix level user, and a unix one
owned by "nobody". Every test starts from all servers ready, weight 1, UP.
"""

import os
import shutil
import socket
import sys
import threading
import time
import urllib.request

import pytest

from tests.support.ansible import run_module
from tests.support.haproxy import HAProxyProcess, HTTPBackend, render_config
from tests.support.net import free_port

MODULE = "baton.docker.haproxy_backend"
SERVERS = ("app1", "app2", "app3", "nocheck")


class Lab:
    def __init__(self, workdir):
        self.workdir = str(workdir)
        self.apps = {name: HTTPBackend(name).start() for name in ("app1", "app2", "app3")}
        self.frontend_port = free_port()
        self.tcp_port = free_port()
        self.admin = os.path.join(self.workdir, "admin.sock")
        self.user_socket = os.path.join(self.workdir, "user.sock")
        self.locked_socket = os.path.join(self.workdir, "locked.sock")
        self.tcp = "127.0.0.1:%d" % self.tcp_port
        servers = [(name, app.port) for name, app in self.apps.items()]
        servers.append({"name": "nocheck", "port": self.apps["app1"].port, "check": False})
        config = render_config(
            self.frontend_port, servers, self.admin, tcp_socket_port=self.tcp_port,
            extra_sockets=["%s mode 600 level user" % self.user_socket,
                           "%s mode 600 user nobody level admin" % self.locked_socket])
        self.haproxy = HAProxyProcess(self.workdir, config).start()

    def stop(self):
        self.haproxy.stop()
        for app in self.apps.values():
            app.stop()

    def status(self, server):
        return self.haproxy.server_stat("app", server)["status"]

    def bits(self, server):
        return self.haproxy.admin_bits("app", server)

    def weight(self, server):
        return int(self.haproxy.server_stat("app", server)["uweight"])

    def sessions(self, server):
        return int(self.haproxy.server_stat("app", server)["scur"])

    def reset(self):
        for app in self.apps.values():
            app.healthy = True
            app.release()
            app.rearm()
        for server in SERVERS:
            self.haproxy.command("set server app/%s state ready" % server)
            self.haproxy.command("set server app/%s weight 1" % server)
        self.haproxy.wait_for(lambda: all(self.status(s) in ("UP", "no check") and self.sessions(s) == 0 for s in SERVERS),
                              timeout=15, what="every server UP with no session")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("haproxy"))
    yield lab
    lab.stop()


@pytest.fixture(autouse=True)
def clean(lab):
    lab.reset()
    yield
    for app in lab.apps.values():
        app.release()


def run(args, check=False, diff=False, inventory=None):
    """Run the module once; the result dict, with "failed" set from the task's recorded status.

    (ansible-core 2.19 leaves "failed" out of the result a callback sees, and the
    task runs with ignore_errors, so the status says it: "ignored" means failed.)
    """
    result, playbook = run_module(MODULE, args, check=check, diff=diff, inventory=inventory)
    status = playbook.results("under test")[-1]["status"]
    assert status in ("ok", "changed", "ignored"), playbook.output[-3000:]
    result = dict(result)
    result["failed"] = status == "ignored"
    return result


def module(lab, check=False, diff=False, **args):
    args.setdefault("socket", lab.admin)
    args.setdefault("backend", "app")
    return run(args, check=check, diff=diff)


# ---------------------------------------------------------------------------
# changes
# ---------------------------------------------------------------------------

def test_drain_check_mode_then_apply_then_idempotent(lab):
    checked = module(lab, check=True, diff=True, server="app1", state="drain")
    assert checked["failed"] is False, checked
    assert checked["changed"] is True
    assert checked["commands"] == ["set server app/app1 state drain"]
    assert checked["before"]["admin_state"] == "ready"
    assert checked["after"]["admin_state"] == "drain"
    assert checked["diff"]["before"]["admin_state"] == "ready"
    assert lab.bits("app1") == 0 and lab.status("app1") == "UP"  # check mode changed nothing

    applied = module(lab, diff=True, server="app1", state="drain")
    assert applied["failed"] is False, applied
    assert applied["changed"] is True
    assert applied["state"] == "drain"
    assert applied["after"]["admin_state"] == "drain" and applied["after"]["status"] == "DRAIN"
    assert applied["after"]["sessions"] == 0
    assert lab.bits("app1") == 0x08 and lab.status("app1") == "DRAIN"

    again = module(lab, server="app1", state="drain")
    assert again["failed"] is False, again
    assert again["changed"] is False
    assert again["commands"] == []
    assert lab.bits("app1") == 0x08


def test_drain_then_maint_waits_for_the_request_in_flight(lab):
    outcome = {}

    def request():
        with urllib.request.urlopen("http://127.0.0.1:%d/hold" % lab.frontend_port, timeout=60) as response:
            outcome.update(status=response.status, body=response.read().decode(), finished=time.monotonic())
    client = threading.Thread(target=request, daemon=True)
    client.start()
    lab.haproxy.wait_for(lambda: any(lab.sessions(s) for s in SERVERS), timeout=10, what="a session on some server")
    target = [s for s in SERVERS if lab.sessions(s)][0]
    app = lab.apps["app1" if target == "nocheck" else target]

    results = {}
    runner = threading.Thread(target=lambda: results.update(
        module(lab, diff=True, server=target, state="maint", drain=True, wait_timeout=60)), daemon=True)
    runner.start()
    # The module drains, then waits: the server must stay in drain while the request runs.
    lab.haproxy.wait_for(lambda: lab.bits(target) == 0x08, timeout=30, what="%s drained by the module" % target)
    time.sleep(1.0)
    assert runner.is_alive(), results
    assert lab.bits(target) == 0x08 and lab.sessions(target) == 1
    assert "finished" not in outcome

    app.release()
    client.join(30)
    runner.join(60)
    assert not runner.is_alive()
    assert outcome["status"] == 200 and outcome["body"] == "%s\n" % app.name
    result = results
    assert result["failed"] is False, result
    assert result["changed"] is True
    assert result["commands"] == ["set server app/%s state drain" % target, "set server app/%s state maint" % target]
    assert result["before"]["sessions"] == 1
    assert result["after"]["admin_state"] == "maint" and result["after"]["status"] == "MAINT"
    assert result["after"]["sessions"] == 0
    assert result["waited"] >= 1.0
    assert lab.bits(target) == 0x01

    again = module(lab, server=target, state="maint", drain=True)
    assert again["changed"] is False and again["commands"] == [] and again["waited"] == 0.0


def test_ready_waits_until_up(lab):
    lab.haproxy.command("set server app/app2 state maint")
    checked = module(lab, check=True, server="app2", state="ready")
    assert checked["changed"] is True and checked["after"]["admin_state"] == "ready"
    assert lab.bits("app2") == 0x01

    applied = module(lab, diff=True, server="app2", state="ready")
    assert applied["failed"] is False, applied
    assert applied["changed"] is True
    assert applied["before"]["status"] == "MAINT"
    assert applied["after"] == dict(admin_state="ready", status="UP", weight=1, sessions=0, queued=0)
    assert lab.bits("app2") == 0 and lab.status("app2") == "UP"

    again = module(lab, server="app2", state="ready")
    assert again["changed"] is False and again["after"]["status"] == "UP"


def test_ready_without_check_counts_no_check_as_up(lab):
    lab.haproxy.command("set server app/nocheck state maint")
    result = module(lab, server="nocheck", state="ready", wait_timeout=10)
    assert result["failed"] is False, result
    assert result["changed"] is True and result["after"]["status"] == "no check"


def test_ready_with_failing_health_check_fails_after_the_timeout(lab):
    lab.apps["app3"].healthy = False
    lab.haproxy.command("set server app/app3 state maint")
    result = module(lab, server="app3", state="ready", wait_timeout=3, wait_interval=0.1)
    assert result["failed"] is True, repr(result)[:3000]
    assert result["msg"].startswith("server app/app3 is not UP after 3s: status DOWN"), result["msg"]
    assert "last check L7STS" in result["msg"]
    assert result["changed"] is True  # ready was set; the server itself is not healthy
    assert result["waited"] >= 3
    assert result["after"]["admin_state"] == "ready"
    assert lab.bits("app3") == 0


def test_weight_over_tcp_socket(lab):
    checked = module(lab, check=True, diff=True, socket=lab.tcp, server="app1", weight=5)
    assert checked["changed"] is True and checked["after"]["weight"] == 5
    assert checked["commands"] == ["set server app/app1 weight 5"]
    assert lab.weight("app1") == 1

    applied = module(lab, socket=lab.tcp, server="app1", weight=5)
    assert applied["failed"] is False, applied
    assert applied["changed"] is True and applied["after"]["weight"] == 5 and applied["state"] == "ready"
    assert lab.weight("app1") == 5

    again = module(lab, socket=lab.tcp, server="app1", weight=5)
    assert again["changed"] is False


def test_drain_and_weight_zero_over_tcp_socket(lab):
    result = module(lab, socket=lab.tcp, server="app2", state="drain", weight=0)
    assert result["failed"] is False, result
    assert result["commands"] == ["set server app/app2 state drain", "set server app/app2 weight 0"]
    assert lab.bits("app2") == 0x08 and lab.weight("app2") == 0


# ---------------------------------------------------------------------------
# errors: each fails clearly and changes nothing
# ---------------------------------------------------------------------------

@pytest.fixture
def paths(lab, tmp_path):
    regular = tmp_path / "regular.sock"
    regular.write_text("not a socket\n")
    stale = str(tmp_path / "stale.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(stale)
    sock.close()
    return {"missing": str(tmp_path / "missing.sock"), "regular": str(regular), "stale": stale,
            "closed_port": "127.0.0.1:%d" % free_port()}


@pytest.mark.parametrize("args, message", [
    (dict(socket="{missing}"), "HAProxy runtime socket {missing} does not exist"),
    (dict(socket="{regular}"), "{regular} exists but is not a unix socket (it is a regular file)"),
    (dict(socket="{stale}"), "connection refused by HAProxy runtime socket {stale}"),
    (dict(socket="{closed_port}"), "connection refused by HAProxy runtime API at {closed_port}"),
    (dict(backend="nope"), "HAProxy has no backend 'nope'; known backends: app"),
    (dict(server="app9"), "HAProxy backend 'app' has no server 'app9'; its servers: app1, app2, app3, nocheck"),
    (dict(wait_timeout="half a minute"), "argument 'wait_timeout' is of type str and we were unable to convert to float"),
    (dict(socket="{user}"), "HAProxy runtime socket {user} has level 'user'; changing servers needs 'level admin'"),
])
def test_errors(lab, paths, args, message):
    paths = dict(paths, user=lab.user_socket)
    args = {key: value.format(**paths) if isinstance(value, str) else value for key, value in args.items()}
    args.setdefault("server", "app1")
    result = module(lab, state="drain", **args)
    assert result["failed"] is True
    assert message.format(**paths) in result["msg"], result["msg"]
    assert not result.get("changed")
    assert "Traceback" not in result.get("module_stderr", "")
    assert lab.bits("app1") == 0


def test_user_level_socket_fails_in_check_mode_too(lab):
    result = run(dict(socket=lab.user_socket, backend="app", server="app1", state="maint"), check=True)
    assert result["failed"] is True
    assert "has level 'user'" in result["msg"]


def test_permission_denied(lab, tmp_path):
    """The module runs as root without capabilities: like any user, it may not open a socket owned by 'nobody', mode 600."""
    setpriv = shutil.which("setpriv")
    assert setpriv or os.geteuid() != 0, "root ignores file modes: setpriv (util-linux) is needed to drop that capability"
    wrapper = tmp_path / "python-without-capabilities"
    if os.geteuid() == 0:
        wrapper.write_text("#!/bin/sh\nexec %s --bounding-set -all --inh-caps -all %s \"$@\"\n" % (setpriv, sys.executable))
    else:
        wrapper.write_text("#!/bin/sh\nexec %s \"$@\"\n" % sys.executable)
    wrapper.chmod(0o755)
    inventory = {"all": {"hosts": {"localhost": {"ansible_connection": "local",
                                                 "ansible_python_interpreter": str(wrapper)}}}}
    assert os.stat(lab.locked_socket).st_uid != 0
    result = run(dict(socket=lab.locked_socket, backend="app", server="app1", state="drain"), inventory=inventory)
    assert result["failed"] is True, result
    assert result["msg"].startswith("permission denied on HAProxy runtime socket %s" % lab.locked_socket)
    assert lab.bits("app1") == 0
    # The same socket works for a caller that may use it.
    allowed = run(dict(socket=lab.locked_socket, backend="app", server="app1", state="drain", wait=False))
    assert allowed["changed"] is True and lab.bits("app1") == 0x08


def test_works_across_a_reload(lab):
    """Each command opens its own connection, so a reload between two tasks goes unnoticed."""
    module(lab, server="app1", state="drain", wait=False)
    worker = lab.haproxy.worker_pid
    lab.haproxy.reload()
    assert lab.haproxy.worker_pid != worker
    assert lab.bits("app1") == 0  # a reload without a server-state-file starts from the config again
    lab.haproxy.wait_for(lambda: lab.status("app1") == "UP", timeout=15, what="app1 UP after the reload")
    result = module(lab, socket=lab.tcp, server="app1", state="drain", wait=False)
    assert result["failed"] is False, result
    assert result["changed"] is True and lab.bits("app1") == 0x08


# ---------------------------------------------------------------------------
# ignore_missing
# ---------------------------------------------------------------------------

def test_ignore_missing_server_check_mode_apply_and_rerun(lab):
    for check in (True, False, False):
        result = module(lab, check=check, diff=True, server="app9", state="maint", drain=True, ignore_missing=True)
        assert result["failed"] is False, result
        assert result["changed"] is False
        assert result["found"] is False
        assert "app9" in result["msg"]
        assert "diff" not in result or not result["diff"]
    assert all(lab.bits(server) == 0 for server in SERVERS)


def test_ignore_missing_changes_a_present_server(lab):
    result = module(lab, server="app2", state="maint", ignore_missing=True)
    assert result["failed"] is False, result
    assert result["changed"] is True and result["found"] is True
    assert lab.bits("app2") == 0x01
    again = module(lab, server="app2", state="maint", ignore_missing=True)
    assert again["changed"] is False and again["found"] is True


def test_ignore_missing_still_fails_on_a_missing_backend(lab):
    result = module(lab, backend="nope", server="app1", state="maint", ignore_missing=True)
    assert result["failed"] is True
    assert "HAProxy has no backend 'nope'; known backends: app" in result["msg"]
    assert lab.bits("app1") == 0

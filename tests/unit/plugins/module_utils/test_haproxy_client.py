"""Unit tests of the HAProxy runtime API client: socket addresses and names, its socket I/O against scripted local
sockets (FakeRuntimeSocket) answering real HAProxy 2.6 answers, and its waits. The real HAProxy is in
tests/integration."""

import os
import shutil
import socket
import subprocess
import sys
import threading

import pytest

from ansible_collections.baton.docker.plugins.module_utils import _haproxy_client as hx
from ansible_collections.baton.docker.plugins.module_utils import _haproxy_plan as pl
from ansible_collections.baton.docker.plugins.module_utils import _haproxy_stat as st
from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError
from tests.support.haproxy import FakeRuntimeSocket
from tests.support.haproxy_answers import (
    SERVERS_STATE_CHANGED_WEB,
    SHOW_BACKEND,
    STAT_CHANGED,
    STAT_SESSION_ENDED,
    STAT_SESSION_IN_FLIGHT,
    show_stat,
)

COLLECTIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)).rsplit(os.sep + "tests" + os.sep, 1)[0],
                           "build", "collections")


# ---------------------------------------------------------------------------
# socket spec and names
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("spec, expected", [
    ("/run/haproxy/admin.sock", ("unix", "/run/haproxy/admin.sock")),
    ("./admin.sock", ("unix", "./admin.sock")),
    ("admin.sock", ("unix", "admin.sock")),
    ("unix@/var/run/hap.sock", ("unix", "/var/run/hap.sock")),
    ("/tmp/odd:name.sock", ("unix", "/tmp/odd:name.sock")),
    ("127.0.0.1:9999", ("tcp", ("127.0.0.1", 9999))),
    (" 127.0.0.1:9999 ", ("tcp", ("127.0.0.1", 9999))),
    ("localhost:9999", ("tcp", ("localhost", 9999))),
    ("lb-1.example.internal:9999", ("tcp", ("lb-1.example.internal", 9999))),
    ("[::1]:9999", ("tcp", ("::1", 9999))),
    ("[fe80::1%eth0]:9999", ("tcp", ("fe80::1%eth0", 9999))),
    ("ipv4@127.0.0.1:9999", ("tcp", ("127.0.0.1", 9999))),
    ("ipv6@[::1]:9999", ("tcp", ("::1", 9999))),
])
def test_parse_socket_spec(spec, expected):
    assert hx.parse_socket_spec(spec) == expected


@pytest.mark.parametrize("spec, message", [
    ("", "socket is empty"),
    (None, "socket is empty"),
    ("127.0.0.1:", "neither a unix socket path"),
    ("127.0.0.1:http", "neither a unix socket path"),
    ("::1:9999", "neither a unix socket path"),
    ("[::1]", "neither a unix socket path"),
    ("127.0.0.1:70000", "port 70000 is out of range"),
    ("127.0.0.1:0", "port 0 is out of range"),
])
def test_parse_socket_spec_errors(spec, message):
    with pytest.raises(hx.HAProxyError, match=message):
        hx.parse_socket_spec(spec)


@pytest.mark.parametrize("name, valid", [
    ("app", True), ("app1_master", True), ("be-1.v2:x", True),
    ("", False), ("a b", False), ("app;shutdown sessions server app/app1", False), ("a\nb", False), ("a/b", False),
])
def test_check_name(name, valid):
    if valid:
        assert hx.check_name("server", name) == name
    else:
        with pytest.raises(hx.HAProxyError, match="not a valid HAProxy name"):
            hx.check_name("server", name)


@pytest.mark.parametrize("error", [hx.HAProxyError, hx.HAProxyTimeout, hx.HAProxyServerMissing, st.HAProxyAnswerError,
                                   pl.UnknownAdminState])
def test_haproxy_errors_are_baton_errors(error):
    assert issubclass(error, BatonError)


def test_runtime_refuses_bad_timeout():
    with pytest.raises(hx.HAProxyError, match="socket_timeout must be a positive"):
        hx.HAProxyRuntime("/x.sock", timeout=0)


# ---------------------------------------------------------------------------
# socket I/O (local sockets only; the real HAProxy is in tests/integration)
# ---------------------------------------------------------------------------

@pytest.fixture
def fake(tmp_path):
    servers = []

    def start(answers=None, silent=False):
        server = FakeRuntimeSocket(str(tmp_path / ("rt%d.sock" % len(servers))), answers, silent=silent).start()
        servers.append(server)
        return server
    yield start
    for server in servers:
        server.stop()


def test_command_reads_until_close(fake):
    server = fake({"show backend": SHOW_BACKEND})
    runtime = hx.HAProxyRuntime(server.path)
    assert runtime.command("show backend") == "# name\nweb\napi"
    assert runtime.backends() == ["web", "api"]
    assert server.received == ["show backend", "show backend"]


def test_command_refuses_multiline(fake):
    server = fake({})
    with pytest.raises(hx.HAProxyError, match="must be one line"):
        hx.HAProxyRuntime(server.path).command("show stat\nshutdown sessions server web/web1")
    assert server.received == []


def test_server_reads_both_tables(fake):
    server = fake({"show servers state web": SERVERS_STATE_CHANGED_WEB, "show stat": STAT_CHANGED})
    current = hx.HAProxyRuntime(server.path).server("web", "web2")
    assert current.as_dict() == dict(admin_state="drain", status="DRAIN", weight=7, sessions=0, queued=0)
    assert server.received == ["show servers state web", "show stat"]


def test_server_unknown_backend_lists_backends(fake):
    server = fake({"show servers state nope": "Can't find backend.\n\n", "show backend": SHOW_BACKEND})
    with pytest.raises(hx.HAProxyError, match=r"HAProxy has no backend 'nope'; known backends: web, api"):
        hx.HAProxyRuntime(server.path).server("nope", "web1")


def test_server_unknown_server_lists_servers(fake):
    server = fake({"show servers state web": SERVERS_STATE_CHANGED_WEB})
    with pytest.raises(hx.HAProxyError, match=r"backend 'web' has no server 'web9'; its servers: web1, web2, web3, web4, web5"):
        hx.HAProxyRuntime(server.path).server("web", "web9")


def test_server_refuses_bad_names_before_sending(fake):
    server = fake({})
    with pytest.raises(hx.HAProxyError, match="not a valid HAProxy name"):
        hx.HAProxyRuntime(server.path).server("web", "web1;disable server web/web2")
    assert server.received == []


@pytest.mark.parametrize("method, args, command", [
    ("set_state", ("web", "web1", "drain"), "set server web/web1 state drain"),
    ("set_weight", ("web", "web1", 0), "set server web/web1 weight 0"),
])
def test_writes_send_one_command(fake, method, args, command):
    server = fake({command: "\n"})
    getattr(hx.HAProxyRuntime(server.path), method)(*args)
    assert server.received == [command]


@pytest.mark.parametrize("answer, message", [
    ("Permission denied\n\n", r"refused 'set server web/web1 state drain': Permission denied \(the 'stats socket' line needs 'level admin'"),
    ("No such server.\n\n", "refused 'set server web/web1 state drain': No such server."),
])
def test_write_errors_are_reported(fake, answer, message):
    server = fake({"set server web/web1 state drain": answer})
    with pytest.raises(hx.HAProxyError, match=message):
        hx.HAProxyRuntime(server.path).set_state("web", "web1", "drain")


@pytest.mark.parametrize("method, args, message", [
    ("set_state", ("web", "web1", "up"), "state must be one of ready, drain, maint"),
    ("set_weight", ("web", "web1", 257), "weight must be between 0 and 256, got 257"),
    ("set_weight", ("web", "web1", "heavy"), "weight must be an integer"),
])
def test_write_arguments_are_checked_before_sending(fake, method, args, message):
    server = fake({})
    with pytest.raises(hx.HAProxyError, match=message):
        getattr(hx.HAProxyRuntime(server.path), method)(*args)
    assert server.received == []


@pytest.mark.parametrize("answer, level", [("admin\n\n", "admin"), ("user\n\n", "user"), ("Unknown command\n", None)])
def test_cli_level(fake, answer, level):
    server = fake({"show cli level": answer})
    assert hx.HAProxyRuntime(server.path).cli_level() == level


def test_require_level_names_the_socket(fake):
    server = fake({"show cli level": "operator\n\n"})
    with pytest.raises(hx.HAProxyError, match=r"runtime socket .*rt0.sock has level 'operator'; changing servers needs 'level admin'"):
        hx.HAProxyRuntime(server.path).require_level()


def test_silent_socket_times_out(fake):
    server = fake({}, silent=True)
    with pytest.raises(hx.HAProxyError, match=r"did not finish answering 'show stat' within 0.3s"):
        hx.HAProxyRuntime(server.path, timeout=0.3).command("show stat")


def test_missing_socket(tmp_path):
    path = str(tmp_path / "absent.sock")
    with pytest.raises(hx.HAProxyError, match="HAProxy runtime socket %s does not exist" % path):
        hx.HAProxyRuntime(path).command("show info")


@pytest.mark.parametrize("make, kind", [("file", "a regular file"), ("dir", "a directory")])
def test_path_that_is_not_a_socket(tmp_path, make, kind):
    path = tmp_path / "admin.sock"
    if make == "file":
        path.write_text("")
    else:
        path.mkdir()
    with pytest.raises(hx.HAProxyError, match="%s exists but is not a unix socket \\(it is %s\\)" % (path, kind)):
        hx.HAProxyRuntime(str(path)).command("show info")


def test_stale_socket_is_refused(tmp_path):
    path = str(tmp_path / "stale.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.close()  # the file stays, nobody listens
    with pytest.raises(hx.HAProxyError, match="connection refused by HAProxy runtime socket .*stale socket"):
        hx.HAProxyRuntime(path).command("show info")


def test_tcp_refused():
    # A port bound but not listening refuses connections, and no other test can take it meanwhile.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        with pytest.raises(hx.HAProxyError, match="connection refused by HAProxy runtime API at 127.0.0.1:%d" % port):
            hx.HAProxyRuntime("127.0.0.1:%d" % port, timeout=2).command("show info")


def test_tcp_command():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    received = []

    def serve():
        conn = listener.accept()[0]
        with conn:
            received.append(conn.recv(100))
            conn.sendall(b"admin\n\n")
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        runtime = hx.HAProxyRuntime("127.0.0.1:%d" % listener.getsockname()[1], timeout=5)
        assert runtime.cli_level() == "admin"
    finally:
        thread.join(5)
        listener.close()
    assert received == [b"show cli level\n"]


def test_permission_denied(tmp_path):
    """A socket the caller may not write to. Root ignores file modes, so root runs the client without capabilities."""
    server = FakeRuntimeSocket(str(tmp_path / "locked.sock")).start()
    try:
        os.chmod(server.path, 0)
        code = ("import sys; sys.path[:0] = %r\n"
                "from ansible_collections.baton.docker.plugins.module_utils._haproxy_client import HAProxyRuntime, HAProxyError\n"
                "try:\n    HAProxyRuntime(%r).command('show info')\n"
                "except HAProxyError as exc:\n    print(exc)\n") % ([COLLECTIONS], server.path)
        cmd = [sys.executable, "-c", code]
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            assert setpriv, "root ignores file modes: setpriv (util-linux) is needed to drop that capability"
            cmd = [setpriv, "--bounding-set", "-all", "--inh-caps", "-all"] + cmd
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=60, check=False).stdout
        assert "permission denied on HAProxy runtime socket %s" % server.path in out
        assert server.received == []
    finally:
        server.stop()


# ---------------------------------------------------------------------------
# waits
# ---------------------------------------------------------------------------

def test_poll_returns_at_once_when_done():
    calls = []

    def done():
        calls.append(1)
        return True, "value"
    elapsed, value = hx.HAProxyRuntime("/x.sock").poll(done, timeout=5, interval=1)
    assert (value, len(calls)) == ("value", 1)


def test_poll_until_done():
    values = iter([3, 2, 0])

    def sessions():
        left = next(values)
        return left == 0, left
    elapsed, value = hx.HAProxyRuntime("/x.sock").poll(sessions, timeout=5, interval=0.01)
    assert value == 0


def test_poll_times_out_with_last_value():
    calls = []

    def never():
        calls.append(1)
        return False, len(calls)
    with pytest.raises(hx.HAProxyTimeout) as info:
        hx.HAProxyRuntime("/x.sock").poll(never, timeout=0.2, interval=0.05)
    assert info.value.last == len(calls) and len(calls) >= 2
    assert info.value.elapsed >= 0.2


def test_wait_for_drained_follows_sessions(fake):
    server = fake({"show servers state web": SERVERS_STATE_CHANGED_WEB,
                   "show stat": [STAT_SESSION_IN_FLIGHT, STAT_SESSION_IN_FLIGHT, STAT_SESSION_ENDED]})
    elapsed, current = hx.HAProxyRuntime(server.path).wait_for_drained("web", "web1", timeout=10, interval=0.01)
    assert current.sessions == 0
    assert server.received.count("show stat") == 3


def test_wait_for_drained_timeout_message(fake):
    server = fake({"show servers state web": SERVERS_STATE_CHANGED_WEB, "show stat": STAT_SESSION_IN_FLIGHT})
    with pytest.raises(hx.HAProxyTimeout, match=r"^server web/web1 still has 1 sessions after 0.3s$") as info:
        hx.HAProxyRuntime(server.path).wait_for_drained("web", "web1", timeout=0.3, interval=0.05)
    assert info.value.last.sessions == 1


def test_wait_for_up_timeout_message(fake):
    server = fake({"show servers state web": SERVERS_STATE_CHANGED_WEB, "show stat": STAT_CHANGED})
    with pytest.raises(hx.HAProxyTimeout, match=r"^server web/web3 is not UP after 0.2s: status DOWN, last check L4CON \(Connection refused\)$"):
        hx.HAProxyRuntime(server.path).wait_for_up("web", "web3", timeout=0.2, interval=0.05)


def test_wait_for_up_names_admin_state(fake):
    server = fake({"show servers state web": SERVERS_STATE_CHANGED_WEB, "show stat": STAT_CHANGED})
    with pytest.raises(hx.HAProxyTimeout, match=r"^server web/web1 is not UP after 0.2s: status MAINT, admin state maint \(forced maint\)$"):
        hx.HAProxyRuntime(server.path).wait_for_up("web", "web1", timeout=0.2, interval=0.05)


def test_wait_for_up_accepts_no_check(fake):
    server = fake({"show servers state web": SERVERS_STATE_CHANGED_WEB, "show stat": STAT_CHANGED})
    elapsed, current = hx.HAProxyRuntime(server.path).wait_for_up("web", "web4", timeout=5, interval=0.05)
    assert current.status == "no check"


def test_wait_until_takes_a_predicate_on_the_server_state(fake):
    server = fake({"show servers state web": SERVERS_STATE_CHANGED_WEB,
                   "show stat": [STAT_SESSION_IN_FLIGHT, STAT_SESSION_ENDED]})
    elapsed, current = hx.HAProxyRuntime(server.path).wait_until(lambda s: s.sessions == 0, "web", "web1", timeout=10, interval=0.01)
    assert current.sessions == 0 and current.status == "DRAIN"


def test_wait_until_timeout_names_what_and_last_state(fake):
    server = fake({"show servers state web": SERVERS_STATE_CHANGED_WEB, "show stat": STAT_CHANGED})
    with pytest.raises(hx.HAProxyTimeout, match=r"^server web/web2 did not reach weight 3 after 0.2s: admin state drain, status DRAIN, 0 sessions$"):
        hx.HAProxyRuntime(server.path).wait_until(lambda s: s.weight == 3, "web", "web2", timeout=0.2, interval=0.05, what="weight 3")


def test_show_stat_picks_the_backend_when_a_frontend_shares_its_name(fake):
    answer = show_stat(dict(pxname="demo", svname="FRONTEND", scur=3, status="OPEN", iid=2),
                       dict(pxname="demo", svname="app1_master", scur=1, status="UP", iid=3),
                       dict(pxname="demo", svname="app1_backup", scur=0, status="UP", iid=3),
                       dict(pxname="demo", svname="BACKEND", scur=1, status="UP", iid=3),
                       dict(pxname="other", svname="BACKEND", scur=0, status="UP", iid=4))
    server = fake({"show stat": answer})
    rows = hx.HAProxyRuntime(server.path).show_stat("demo")
    assert [r["svname"] for r in rows] == ["app1_master", "app1_backup"]
    with pytest.raises(hx.HAProxyError, match="nosuch"):
        hx.HAProxyRuntime(server.path).show_stat("nosuch")

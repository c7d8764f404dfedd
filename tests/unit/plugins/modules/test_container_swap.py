"""Unit tests of baton.docker.container_swap: main() refusing bad arguments before it
touches the engine, and the health wait of the shared Docker client driven by a
scripted container state and a fake clock (the real waits run in the
integration tests)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.baton.docker.plugins.module_utils import _containers
from ansible_collections.baton.docker.plugins.module_utils import _docker_client
from ansible_collections.baton.docker.plugins.module_utils import _health
from ansible_collections.baton.docker.plugins.module_utils import _swap_engine
from ansible_collections.baton.docker.plugins.modules import container_swap
from tests.support.module_harness import engine_factory

SECRET = "hunter2 'quoted' $(id)"


# Read what main() prints, masked as Ansible masks it.
REAL_EXITS = True


def run_main(args, monkeypatch, capsys, connect=None):
    """Run main() with args; return (result dict, whether it connected to the engine)."""
    calls = []

    class FakeClient:
        def __init__(self, *a):
            self.args = a

        def connect(self):
            calls.append(self.args)
            if connect:
                return connect()
            raise AssertionError("main() reached the engine with invalid arguments")

    monkeypatch.setattr(_swap_engine, "DockerClient", engine_factory(FakeClient))
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            container_swap.main()
    out = capsys.readouterr().out
    return json.loads(out), bool(calls), out


BASE = dict(name="app-a", image="baton-demo/app:v2")


@pytest.mark.parametrize("args, fragment", [
    (dict(image="baton-demo/app:v2"), "missing required arguments: name"),
    (dict(name="app-a"), "state is started but all of the following are missing: image"),
    (dict(name="app-a", state="created"), "state is created but all of the following are missing: image"),
    (dict(BASE, state="stopped"), "value of state must be one of: started, created, absent"),
    (dict(BASE, update="sometimes"), "update"),
    (dict(BASE, pull="sometimes"), "value of pull must be one of: missing, always, never"),
    (dict(BASE, restart_policy="forever"), "value of restart_policy must be one of"),
    (dict(BASE, stop_timeout="soon"), "stop_timeout"),
    (dict(BASE, health=dict(interval="fast")), "interval"),
    (dict(BASE, pull_auth=dict(username="deploy")), "missing required arguments: password found in pull_auth"),
    (dict(BASE, unknown_option=1), "Unsupported parameters"),
])
def test_argument_spec_refuses(args, fragment, monkeypatch, capsys):
    result, connected = run_main(args, monkeypatch, capsys)[:2]
    assert result["failed"] is True
    assert fragment in result["msg"]
    assert not connected


@pytest.mark.parametrize("args, message", [
    (dict(BASE, name="app.baton-previous"), "name: 'app.baton-previous' ends with .baton-previous"),
    (dict(BASE, image="baton-demo/app :v2"), "image: 'baton-demo/app :v2' is not an image reference"),
    (dict(BASE, ports=["web:8000"]), "ports: 'web:8000': host port 'web' is not a number"),
    (dict(BASE, ports=["8081:8000", "8081:9000"]), "ports: host port 8081/tcp is published twice"),
    (dict(BASE, volumes=["data:/data", "conf/app.ini:/etc/app.ini"]), "volumes: 'conf/app.ini:/etc/app.ini': the source "
                                                                      "'conf/app.ini' is a relative path"),
    (dict(BASE, env=dict(DEBUG=True)), "env: the value of DEBUG is a boolean"),
    (dict(BASE, labels={"baton.slot": "x"}), "labels: baton.slot is set by the module itself"),
    (dict(BASE, stop_timeout=-1), "stop_timeout must not be negative (got -1)"),
    (dict(BASE, restart_retries=-2), "restart_retries must not be negative (got -2)"),
    (dict(BASE, log_lines=-5), "log_lines must not be negative (got -5)"),
    (dict(BASE, api_timeout=0), "api_timeout must be greater than 0 (got 0)"),
    (dict(BASE, health=dict(interval=0)), "health.interval must be greater than 0 (got 0)"),
    (dict(BASE, health=dict(retries=0)), "health.retries must be greater than 0 (got 0)"),
    (dict(BASE, health=dict(status=42)), "health.status: 42 is not an HTTP status code"),
    (dict(BASE, health=dict(url="ftp://127.0.0.1/health")), "health.url: 'ftp://127.0.0.1/health' must start with"),
    (dict(BASE, health=dict(url="http://127.0.0.1:99999/")), "health.url: 'http://127.0.0.1:99999/' cannot be parsed"),
    (dict(BASE, healthcheck=dict(interval=-1)), "healthcheck.interval must not be negative"),
    (dict(BASE, command="sh -c 'unterminated"), "command: \"sh -c 'unterminated\" cannot be split"),
    (dict(BASE, volumes_from=["data:z"]), "volumes_from: 'data:z': mode must be ro or rw, not 'z'"),
    (dict(BASE, state="created", volumes_from=["data", "data:ro"]), "volumes_from: container data is given more than once"),
    (dict(BASE, links=["db:a:b"]), "links: 'db:a:b': expected container or container:alias"),
    (dict(BASE, links=["db:store", "cache:store"]), "links: alias store is used more than once"),
    (dict(BASE, hostname="App_0"), "hostname: 'App_0' is not a valid hostname (RFC 1123"),
    (dict(BASE, hostname="app0." + "x" * 64), "hostname: 'app0.xxxx"),
    (dict(BASE, image="127.0.0.1:5000/demo/app:v1",
          pull_auth=dict(username="u", password=SECRET, registry="registry.example.com")),
     "pull_auth.registry: registry.example.com is not the registry of image 127.0.0.1:5000/demo/app:v1 (127.0.0.1:5000)"),
])
def test_bad_values_fail_before_the_engine_is_contacted(args, message, monkeypatch, capsys):
    result, connected = run_main(args, monkeypatch, capsys)[:2]
    assert result["failed"] is True
    assert result["msg"] == message or result["msg"].startswith(message)
    assert result["changed"] is False
    assert not connected


def test_secret_env_values_stay_out_of_the_output(monkeypatch, capsys):
    args = dict(BASE, env=dict(TOKEN="plain"), secret_env=dict(TOKEN=SECRET))
    result, connected, out = run_main(args, monkeypatch, capsys)
    assert result["msg"] == "env and secret_env both set TOKEN; set each variable in one of them"
    assert SECRET not in out
    assert not connected


def test_pull_auth_password_stays_out_of_the_output(monkeypatch, capsys):
    def engine_down():
        raise _docker_client.DockerClientError("engine down")

    args = dict(BASE, pull_auth=dict(username="deploy", password=SECRET))
    result, connected, out = run_main(args, monkeypatch, capsys, connect=engine_down)
    assert result["msg"] == "engine down"
    assert connected
    assert SECRET not in out


@pytest.mark.parametrize("extra", [dict(), dict(image="not an image ref", env=dict(DEBUG=True))])
def test_state_absent_needs_no_image_and_ignores_the_run_options(extra, monkeypatch, capsys):
    def engine_down():
        raise _docker_client.DockerClientError("engine down")

    result, connected = run_main(dict(name="app-a", state="absent", **extra), monkeypatch, capsys,
                                 connect=engine_down)[:2]
    assert connected
    assert result["msg"] == "engine down"
    assert (result["changed"], result["action"], result["image"]["ref"]) == (False, "none", None)


def test_unreachable_engine_is_a_clean_failure(monkeypatch, capsys):
    def refuse():
        raise _docker_client.DockerClientError("cannot reach the Docker engine at unix:///nowhere.sock: No such file")

    result, connected = run_main(dict(BASE, docker_host="unix:///nowhere.sock"), monkeypatch, capsys, connect=refuse)[:2]
    assert connected
    assert result["failed"] is True
    assert result["msg"] == "cannot reach the Docker engine at unix:///nowhere.sock: No such file"
    assert result["container"] == dict(name="app-a", old_id=None, new_id=None)
    assert result["image"]["ref"] == "baton-demo/app:v2"


# ------------------------------------------------- health wait (_health.py)

class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class ScriptedContainer:
    """api.inspect_container answering the next scripted State each call."""

    def __init__(self, states):
        self.states = list(states)

    def inspect_container(self, _container_id):
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return {"State": state}


RUNNING = {"Status": "running", "Running": True, "Restarting": False, "StartedAt": "t0"}


def health(status, output="", exit_code=0):
    return dict(RUNNING, Health={"Status": status, "Log": [{"ExitCode": exit_code, "Output": output}]})


def wait(states, mode, clock, **kwargs):
    client = _docker_client.DockerClient(api=ScriptedContainer(states))
    return _health.wait_until_healthy(client, "c" * 64, mode, clock=clock, sleep=clock.sleep, **kwargs)


def test_running_mode_observes_one_interval():
    clock = FakeClock()
    assert wait([RUNNING], "running", clock, interval=3.0) == 3.0
    assert clock.sleeps == [3.0]


@pytest.mark.parametrize("later, reason", [
    (dict(RUNNING, Running=False, Status="exited", ExitCode=3), "it exited with code 3"),
    (dict(RUNNING, StartedAt="t1", ExitCode=1), "it restarted (last exit code 1)"),
    (dict(RUNNING, Restarting=True, ExitCode=2), "it restarted (last exit code 2)"),
])
def test_running_mode_refuses_a_container_that_stopped_or_restarted(later, reason):
    with pytest.raises(_health.UnhealthyError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        wait([RUNNING, later], "running", FakeClock(), interval=1.0)


def test_docker_mode_returns_when_docker_says_healthy():
    clock = FakeClock()
    # the first answer is the state at the start, then one poll every 0.1s
    seconds = wait([health("starting"), health("starting"), health("starting"), health("healthy")], "docker", clock,
                   interval=1.0, retries=10)
    assert round(seconds, 6) == 0.2
    assert clock.sleeps == [0.1, 0.1]


def test_docker_mode_fails_at_once_on_unhealthy():
    with pytest.raises(_health.UnhealthyError) as err:
        wait([health("starting"), health("unhealthy", "urlopen error [Errno 111] Connection refused\n", 1)],
             "docker", FakeClock(), interval=1.0, retries=10)
    assert str(err.value) == "Docker reports it unhealthy (last check: exit code 1, urlopen error [Errno 111] Connection refused)"


def test_docker_mode_is_bounded_by_retries_times_interval():
    clock = FakeClock()
    with pytest.raises(_health.UnhealthyError, match=r"Docker still reports it starting after 4.0s"):
        wait([health("starting")], "docker", clock, interval=2.0, retries=2)
    assert round(sum(clock.sleeps), 6) == 4.0


def test_settle_period_keeps_checking_after_the_first_pass():
    clock = FakeClock()
    # start, first pass, then the settle period: its own start and one read per 0.2 s for 0.5 s
    seconds = wait([health("healthy")], "docker", clock, interval=0.2, retries=10, settle=0.5)
    assert round(seconds, 6) == 0.5
    assert [round(s, 6) for s in clock.sleeps] == [0.2, 0.2, 0.1]


@pytest.mark.parametrize("later, reason", [
    (health("unhealthy"), "it passed its health check, then Docker reports it unhealthy 0.4 s later, within the settle "
                          "period of 1.0s"),
    (dict(health("healthy"), StartedAt="t1", ExitCode=3), "it passed its health check, then it restarted (last exit "
                                                          "code 3) 0.4 s later, within the settle period of 1.0s"),
    (dict(RUNNING, Running=False, Status="exited", ExitCode=3), "it passed its health check, then it exited with code "
                                                                "3 0.4 s later, within the settle period of 1.0s"),
])
def test_settle_period_catches_a_container_that_fails_after_its_first_pass(later, reason):
    states = [health("healthy")] * 4 + [later]  # start, first pass, settle start, one settle read, then the fault
    with pytest.raises(_health.UnhealthyError) as err:
        wait(states, "docker", FakeClock(), interval=0.2, retries=10, settle=1.0)
    assert str(err.value) == reason


def test_docker_mode_without_a_healthcheck_is_refused():
    with pytest.raises(_health.UnhealthyError, match="no Docker health check"):
        wait([RUNNING], "docker", FakeClock(), interval=1.0)


class _Handler(BaseHTTPRequestHandler):
    answers = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        code = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def http_server():
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs=dict(poll_interval=0.05), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_http_probe_returns_the_status(http_server):
    _Handler.answers = [503]
    assert _health.http_probe("http://127.0.0.1:%d/health" % http_server.server_port, timeout=2) == 503


def test_http_probe_reports_a_refused_connection(port):
    with pytest.raises(_docker_client.DockerClientError, match="[Cc]onnection refused"):
        _health.http_probe("http://127.0.0.1:%d/health" % port, timeout=2)


def test_http_mode_probes_until_the_wanted_status(http_server):
    _Handler.answers = [500, 500, 204]
    clock = FakeClock()
    url = "http://127.0.0.1:%d/health" % http_server.server_port
    assert wait([RUNNING], "http", clock, url=url, status=204, interval=0.5, retries=5) == 1.0
    assert clock.sleeps == [0.5, 0.5]


def test_http_mode_gives_up_after_retries_probes(http_server):
    _Handler.answers = [500]
    clock = FakeClock()
    url = "http://127.0.0.1:%d/health" % http_server.server_port
    with pytest.raises(_health.UnhealthyError) as err:
        wait([RUNNING], "http", clock, url=url, interval=1.0, retries=3)
    assert str(err.value) == "%s did not answer HTTP 200 in 3 probe(s) 1.0s apart (last: HTTP 500)" % url
    assert clock.sleeps == [1.0, 1.0]


def test_http_mode_stops_when_the_container_exits(http_server):
    _Handler.answers = [500]
    url = "http://127.0.0.1:%d/health" % http_server.server_port
    exited = dict(RUNNING, Running=False, Status="exited", ExitCode=137, Error="")
    with pytest.raises(_health.UnhealthyError, match="it exited with code 137"):
        wait([RUNNING, RUNNING, exited], "http", FakeClock(), url=url, interval=1.0, retries=30)


@pytest.mark.parametrize("ip, proto", [("127.0.0.1", "tcp"), ("", "tcp"), ("127.0.0.1", "udp")])
def test_host_port_in_use_sees_a_listening_socket(ip, proto):
    import socket
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        if proto == "tcp":
            sock.listen(1)
        taken = sock.getsockname()[1]
        assert "in use" in _containers.host_port_in_use(ip, taken, proto)
    assert _containers.host_port_in_use(ip, taken, proto) is None

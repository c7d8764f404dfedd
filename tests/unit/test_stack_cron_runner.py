"""Unit tests of the pure parts of roles/deploy/files/baton-stack-cron and of its engine client.

TEMPLATE is ``docker inspect`` (trimmed) of a container the engine (20.10) created with
`docker create` with env, a bind and a named volume, --volumes-from, --link, a tmpfs mount,
a log option, a published port, --restart always, -w, -u and --entrypoint. The engine
client is driven against a small HTTP server on a unix socket in tmp_path that stands in
for the Docker engine's error answers.
"""

import copy
import http.server
import importlib.machinery
import importlib.util
import io
import json
import os
import py_compile
import re
import signal
import socketserver
import threading

import pytest

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "roles", "deploy", "files", "baton-stack-cron")


def load_script():
    loader = importlib.machinery.SourceFileLoader("baton_stack_cron", SCRIPT)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


cron = load_script()

TEMPLATE = {
    "Image": "sha256:85a19065f5de71d8e672511e5ab24b455410f511528dd2fda132f563d04b6165",
    "Config": {
        "Env": ["DB_PASSWORD=pw", "PATH=/bin"],
        "Cmd": ["-c", "echo hi"],
        "Entrypoint": ["/bin/sh"],
        "WorkingDir": "/app",
        "User": "1000",
        "Labels": {"baton.kind": "cron", "baton.slot": "job", "baton.stack": "shop", "baton.test": "1"},
        "ExposedPorts": {"8000/tcp": {}},
        "Image": "baton-base/busybox:latest",
        "Hostname": "0123456789ab",
    },
    "HostConfig": {
        "Binds": ["/srv/x:/x:ro", "named:/data"],
        "VolumesFrom": ["baton-it-cron-db"],
        "Links": ["/baton-it-cron-db:/baton-it-cron-sample/db"],
        "NetworkMode": "default",
        "Mounts": [{"Type": "tmpfs", "Target": "/scratch"}],
        "LogConfig": {"Type": "json-file", "Config": {"max-size": "1m"}},
        "PortBindings": {"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8123"}]},
        "RestartPolicy": {"Name": "always", "MaximumRetryCount": 0},
        "ExtraHosts": None,
        "Tmpfs": None,
        "Init": None,
    },
}


def test_script_compiles_and_is_executable(tmp_path):
    py_compile.compile(SCRIPT, cfile=str(tmp_path / "baton-stack-cron.pyc"), doraise=True)
    assert os.access(SCRIPT, os.X_OK)


def test_run_config_copies_the_template_without_ports_or_restart_policy():
    body = cron.run_config(copy.deepcopy(TEMPLATE), "shop-cron")
    assert body == {
        "Image": TEMPLATE["Image"],
        "Env": ["DB_PASSWORD=pw", "PATH=/bin"],
        "Cmd": ["-c", "echo hi"],
        "Entrypoint": ["/bin/sh"],
        "WorkingDir": "/app",
        "User": "1000",
        "Labels": {"baton.kind": "cron-run", "baton.cron-of": "shop-cron", "baton.stack": "shop", "baton.test": "1"},
        "Tty": False, "OpenStdin": False, "AttachStdout": False, "AttachStderr": False,
        "HostConfig": {
            "Binds": ["/srv/x:/x:ro", "named:/data"],
            "VolumesFrom": ["baton-it-cron-db"],
            "Links": ["/baton-it-cron-db:/baton-it-cron-sample/db"],
            "NetworkMode": "default",
            "Mounts": [{"Type": "tmpfs", "Target": "/scratch"}],
            "LogConfig": {"Type": "json-file", "Config": {"max-size": "1m"}},
        },
    }


def test_run_config_leaves_the_template_alone_and_tolerates_empty_parts():
    template = copy.deepcopy(TEMPLATE)
    cron.run_config(template, "shop-cron")
    assert template == TEMPLATE
    body = cron.run_config({"Image": "sha256:ab", "Config": {"Labels": None, "Entrypoint": None}, "HostConfig": None}, "t")
    assert body["Labels"] == {"baton.kind": "cron-run", "baton.cron-of": "t"}
    assert "Entrypoint" not in body and body["HostConfig"] == {}


def test_run_name_is_a_valid_unique_container_name():
    first, second = cron.run_name("shop-cron", 0), cron.run_name("shop-cron", 0)
    assert re.match(r"^shop-cron-run-19700101T000000Z-[0-9a-f]{6}$", first)
    assert re.match(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$", first)
    assert first != second


@pytest.mark.parametrize("docker_host, path", [
    (None, "/var/run/docker.sock"),
    ("", "/var/run/docker.sock"),
    ("unix:///var/run/docker.sock", "/var/run/docker.sock"),
    ("unix:///run/user/1000/docker.sock", "/run/user/1000/docker.sock"),
])
def test_socket_path(docker_host, path):
    assert cron.socket_path(docker_host) == path


@pytest.mark.parametrize("docker_host", ["tcp://127.0.0.1:2375", "ssh://user@host", "npipe:////./pipe/docker_engine", "unix://"])
def test_socket_path_refuses_other_transports(docker_host):
    with pytest.raises(cron.EngineError, match="DOCKER_HOST must be unix:///path/to/docker.sock"):
        cron.socket_path(docker_host)


def frame(stream, payload):
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


class Trickle(io.BytesIO):
    """A stream that hands out at most a few bytes per read, like a slow socket."""

    def read(self, size=-1):
        return super().read(min(size, 3) if size and size > 0 else size)


@pytest.mark.parametrize("stream_class", [io.BytesIO, Trickle])
def test_demux_joins_stdout_and_stderr_in_order(stream_class):
    data = frame(1, b"out one\n") + frame(2, b"err \x00 binary\n") + frame(1, b"x" * 70000)
    written = []
    cron.demux(stream_class(data).read, written.append)
    assert b"".join(written) == b"out one\nerr \x00 binary\n" + b"x" * 70000


def test_demux_stops_at_a_truncated_header():
    written = []
    cron.demux(io.BytesIO(frame(1, b"whole\n") + b"\x01\x00").read, written.append)
    assert written == [b"whole\n"]


class FakeEngine(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class Handler(http.server.BaseHTTPRequestHandler):
    """Answers like the engine: JSON errors, a non-JSON error, a JSON body, and no body."""

    def do_GET(self):
        answers = {
            "/v1.41/containers/gone/json": (404, b'{"message":"No such container: gone"}'),
            "/v1.41/containers/broken/json": (500, b"plain failure\n"),
            "/v1.41/containers/ok/json": (200, b'{"Id": "abc"}'),
        }
        status, body = answers.get(self.path, (400, b'{"message":"unexpected request"}'))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.server.bodies.append(json.loads(self.rfile.read(length)) if length else None)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def engine(tmp_path):
    path = str(tmp_path / "engine.sock")
    server = FakeEngine(path, Handler)
    server.bodies = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield cron.Engine(path, "1.41"), server
    server.shutdown()
    server.server_close()


def test_engine_turns_answers_into_data_or_readable_errors(engine):
    client, server = engine
    assert client.inspect("ok") == {"Id": "abc"}
    with pytest.raises(cron.EngineError, match=r"^no container named gone \(is the stack deployed\?\)$"):
        client.inspect("gone")
    with pytest.raises(cron.EngineError, match=r"^GET /containers/broken/json: plain failure$"):
        client.inspect("broken")
    assert client.request("POST", "/containers/create", {"name": "n"}, {"Env": ["A=b"]}) is None
    assert server.bodies == [{"Env": ["A=b"]}]


def test_engine_unreachable_is_one_readable_error(tmp_path):
    with pytest.raises(cron.EngineError, match="cannot talk to the Docker engine at .*missing.sock"):
        cron.Engine(str(tmp_path / "missing.sock"), "1.41").inspect("any")


@pytest.fixture
def keep_signal_handlers():
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_main_reports_engine_errors_with_exit_1(monkeypatch, capsys, keep_signal_handlers):
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:2375")
    assert cron.main(["job"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "baton-stack-cron: DOCKER_HOST must be unix:///path/to/docker.sock; tcp:// is not supported\n"


@pytest.mark.parametrize("argv", [[], ["--timeout", "0", "job"], ["--timeout", "soon", "job"]])
def test_main_rejects_a_bad_command_line_with_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cron.main(argv)
    assert exc.value.code == 2
    assert "usage: baton-stack-cron" in capsys.readouterr().err

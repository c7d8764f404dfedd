"""Truncated and malformed answers, fed through real sockets, end in the collection's own errors with a clear message
(what was expected, what came), never a KeyError, TypeError, IndexError or AttributeError traceback.

HAProxy: HAProxyRuntime against a scripted unix socket (FakeRuntimeSocket, or a server that cuts the connection in
the middle of an answer), starting from real HAProxy 2.6 answers. Docker: the feature functions that read
inspect data (_containers, _health, _images, _data_volumes), through the Docker SDK against a scripted engine speaking HTTP on a unix socket.
"""

import json
import os
import socket
import socketserver
import struct
import threading
from http.server import BaseHTTPRequestHandler

import pytest

from ansible_collections.baton.docker.plugins.module_utils import _containers
from ansible_collections.baton.docker.plugins.module_utils import _data_volumes
from ansible_collections.baton.docker.plugins.module_utils import _docker_client
from ansible_collections.baton.docker.plugins.module_utils import _health
from ansible_collections.baton.docker.plugins.module_utils import _images
from ansible_collections.baton.docker.plugins.module_utils import _haproxy_client as hx
from tests.support.haproxy import FakeRuntimeSocket
from tests.support.haproxy_answers import SERVERS_STATE_STARTED as STATE
from tests.support.haproxy_answers import STAT_STARTED as STAT

UNKNOWN = "Unknown command, but maybe one of the following ones is a better match:\n  help\n\n"


def _drop_column(csv_text, name):
    """show stat with one column removed from the header and every row."""
    lines = csv_text.splitlines()
    header = lines[0][2:].split(",")
    index = header.index(name)
    out = ["# " + ",".join(header[:index] + header[index + 1:])]
    for line in lines[1:]:
        fields = line.split(",")
        out.append(",".join(fields[:index] + fields[index + 1:]))
    return "\n".join(out) + "\n"


def _drop_state_column(text, name):
    lines = text.splitlines()
    header = lines[1][2:].split()
    index = header.index(name)
    out = [lines[0], "# " + " ".join(header[:index] + header[index + 1:])]
    for line in lines[2:]:
        if line.strip():
            fields = line.split()
            out.append(" ".join(fields[:index] + fields[index + 1:]))
    return "\n".join(out) + "\n"


def _cut(text, marker):
    """The answer cut in the middle of the line holding ``marker``."""
    at = text.index(marker)
    end = text.index("\n", at)
    return text[:at + (end - at) // 2]


def _state_with(field, value, server="web2"):
    lines = STATE.splitlines()
    header = lines[1][2:].split()
    out = []
    for line in lines:
        fields = line.split()
        if len(fields) == len(header) and fields[3] == server:
            fields[header.index(field)] = value
            line = " ".join(fields)
        out.append(line)
    return "\n".join(out) + "\n"


@pytest.fixture
def runtime(tmp_path):
    """runtime(answers) -> an HAProxyRuntime on a FakeRuntimeSocket answering ``answers`` (command -> text)."""
    servers = []

    def start(answers):
        server = FakeRuntimeSocket(str(tmp_path / ("rt%d.sock" % len(servers))), answers).start()
        servers.append(server)
        return hx.HAProxyRuntime(server.path, timeout=2.0)

    yield start
    for server in servers:
        server.stop()


GOOD = {"show stat": STAT, "show servers state web": STATE, "show cli level": "admin\n\n", "show backend": "# name\nweb\n\n"}


def test_the_real_answers_read_fine(runtime):
    """The baseline the malformed cases start from."""
    state = runtime(dict(GOOD)).server("web", "web2")
    assert state.status == "UP" and state.admin_state == "ready"


@pytest.mark.parametrize("answers, expected", [
    ({"show stat": _drop_column(STAT, "status")}, "the 'show stat' answer has no status column"),
    ({"show stat": _drop_column(STAT, "scur")}, "the 'show stat' answer has no scur column"),
    ({"show stat": _cut(STAT, "web,web3,")}, "of the 'show stat' answer has"),
    ({"show stat": "\x00\x13garbage \xff\nmore garbage\n\n"}, "unexpected answer to 'show stat': "),
    ({"show stat": "# pxname,svname,scur,status,\nweb,\"web2,0,UP,\n"}, "the 'show stat' answer"),
    ({"show stat": ""}, "closed the connection without answering 'show stat'"),
    ({"show stat": "\n"}, "unexpected answer to 'show stat': (empty answer)"),
    ({"show stat": "Permission denied\n\n"}, "refused 'show stat': Permission denied"),
    ({"show stat": UNKNOWN}, "does not know 'show stat': Unknown command"),
    ({"show servers state web": _drop_state_column(STATE, "srv_admin_state")},
     "the 'show servers state' answer has no srv_admin_state column"),
    ({"show servers state web": _cut(STATE, " web2 ")}, "of the 'show servers state' answer has"),
    ({"show servers state web": _state_with("srv_admin_state", "maint")}, "srv_admin_state 'maint', not a number"),
    ({"show servers state web": _state_with("srv_op_state", "-")}, "srv_op_state '-', not a number"),
    ({"show servers state web": "1\n"}, "unexpected answer to 'show servers state': 1"),
    ({"show servers state web": "2\n# be_id be_name srv_id srv_name\n"}, "format version 2 is not supported"),
    ({"show servers state web": "garbage\n# x\n"}, "unexpected answer to 'show servers state': garbage"),
    ({"show servers state web": ""}, "closed the connection without answering 'show servers state web'"),
    ({"show servers state web": "Permission denied\n\n"}, "refused 'show servers state': Permission denied"),
    ({"show servers state web": UNKNOWN}, "does not know 'show servers state'"),
    ({"show stat": "\n".join(line for line in STAT.splitlines() if not line.startswith("web,web2,")) + "\n"},
     "'show servers state' lists web/web2 but 'show stat' has no line for it"),
])
def test_malformed_runtime_answers_end_in_haproxy_errors(runtime, answers, expected):
    client = runtime(dict(GOOD, **answers))
    with pytest.raises(hx.HAProxyError) as caught:
        client.server("web", "web2")
    assert expected in str(caught.value), str(caught.value)
    assert client.describe() in str(caught.value), str(caught.value)


def test_waits_stop_at_a_malformed_answer_instead_of_timing_out(runtime):
    """A truncated state is an error at once, not a state that never becomes drained or UP."""
    client = runtime(dict(GOOD, **{"show stat": _cut(STAT, "web,web2,")}))
    for wait in (client.wait_for_drained, client.wait_for_up):
        with pytest.raises(hx.HAProxyError) as caught:
            wait("web", "web2", timeout=5, interval=0.05)
        assert not isinstance(caught.value, hx.HAProxyTimeout)
        assert "fields where its header has" in str(caught.value)


@pytest.mark.parametrize("answer, expected", [
    ("", "closed the connection without answering 'set server web/web2 state drain'"),
    ("Permission denied\n\n", "refused 'set server web/web2 state drain': Permission denied (the 'stats socket' line "
                              "needs 'level admin' for this)"),
    (UNKNOWN, "refused 'set server web/web2 state drain': Unknown command"),
    ("No such server.\n\n", "refused 'set server web/web2 state drain': No such server."),
    ("\x00\x01\x02 garbage\n", "refused 'set server web/web2 state drain': "),
])
def test_a_write_is_done_only_when_haproxy_says_so(runtime, answer, expected):
    """Success is HAProxy's empty line; anything else, and no answer at all, is an error."""
    client = runtime({"set server web/web2 state drain": answer})
    with pytest.raises(hx.HAProxyError) as caught:
        client.set_state("web", "web2", "drain")
    assert expected in str(caught.value), str(caught.value)


def test_the_empty_line_of_haproxy_is_a_success(runtime):
    runtime({"set server web/web2 state drain": "\n"}).set_state("web", "web2", "drain")


class CuttingServer:
    """A unix socket server that reads one command, sends the first ``keep`` bytes of ``answer`` and then resets the
    connection (SO_LINGER 0): a connection cut in the middle of an answer."""

    def __init__(self, path, answer, keep):
        self.path = path
        self.answer = answer.encode()
        self.keep = keep
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.sock.settimeout(5)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn = self.sock.accept()[0]
        except OSError:
            return
        conn.recv(4096)
        conn.sendall(self.answer[:self.keep])
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    def stop(self):
        self.sock.close()
        self.thread.join(5)
        os.unlink(self.path)


def test_a_connection_reset_in_the_middle_of_an_answer(tmp_path):
    server = CuttingServer(str(tmp_path / "cut.sock"), STAT, keep=len(STAT) // 2)
    try:
        with pytest.raises(hx.HAProxyError) as caught:
            hx.HAProxyRuntime(server.path, timeout=2.0).show_stat("web")
        message = str(caught.value)
        # The reset is seen either as such, or (the half already read) as a cut answer.
        assert ("connection lost during 'show stat'" in message or "fields where its header has" in message), message
        assert server.path in message, message
    finally:
        server.stop()


# ------------------------------------------------------------------------- Docker inspect data

class FakeEngine:
    """A scripted Docker engine: HTTP on a unix socket, answering /_ping, /version and the paths of ``answers``
    (path without the API version prefix -> raw body text, status 200)."""

    def __init__(self, path, answers):
        self.path = path
        self.answers = answers
        engine = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                if path.startswith("/v1."):
                    path = "/" + path.split("/", 2)[2]
                if path == "/_ping":
                    body, kind = "OK", "text/plain"
                elif path == "/version":
                    body, kind = json.dumps({"ApiVersion": "1.41", "MinAPIVersion": "1.12", "Version": "20.10"}), "application/json"
                elif path in engine.answers:
                    body, kind = engine.answers[path], "application/json"
                else:
                    body, kind = json.dumps({"message": "no such object: %s" % path}), "application/json"
                    self.send_response(404)
                    self._body(body, kind)
                    return
                self.send_response(200)
                self._body(body, kind)

            def _body(self, body, kind):
                data = body.encode()
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def address_string(self):
                return "unix"

            def log_message(self, *args):
                pass

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self.server = Server(path, Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        os.unlink(self.path)


def container(**changes):
    """Inspect data of a running container named app, as the engine gives it (the parts the collection reads)."""
    attrs = {"Id": "c" * 64, "Name": "/app", "Image": "sha256:" + "a" * 64, "Created": "2026-01-01T00:00:00Z",
             "State": {"Status": "running", "Running": True, "Restarting": False, "StartedAt": "t0", "ExitCode": 0,
                       "Health": {"Status": "starting", "Log": []}},
             "Config": {"Image": "baton-demo/app:v1", "Labels": {"baton.test": "1"}, "Env": []},
             "HostConfig": {"PortBindings": {}}, "NetworkSettings": {"Networks": {"bridge": {}}},
             "Mounts": [{"Type": "bind", "Source": "/srv/app", "Destination": "/data", "RW": True}]}
    for key, value in changes.items():
        if key.startswith("State_"):
            attrs["State"] = dict(attrs["State"], **{key[len("State_"):]: value})
        elif value is _MISSING:
            attrs.pop(key)
        else:
            attrs[key] = value
    return attrs


_MISSING = object()


@pytest.fixture
def engine(tmp_path):
    """engine(answers) -> a DockerClient connected to a FakeEngine answering ``answers``."""
    started = []

    def start(answers):
        fake = FakeEngine(str(tmp_path / ("engine%d.sock" % len(started))), answers)
        started.append(fake)
        return _docker_client.DockerClient("unix://" + fake.path, 5).connect()

    yield start
    for fake in started:
        fake.stop()


def _inspect(attrs):
    return {"/containers/app/json": attrs if isinstance(attrs, str) else json.dumps(attrs),
            "/containers/%s/json" % ("c" * 64): attrs if isinstance(attrs, str) else json.dumps(attrs)}


def test_the_well_formed_inspect_data_reads_fine(engine):
    client = engine(_inspect(container()))
    attrs = _containers.get_container(client, "app")
    assert _containers.is_running(attrs) and _containers.container_state(client, "c" * 64)["Status"] == "running"
    assert _data_volumes.host_path_of(attrs, "/data/x") == "/srv/app/x"
    assert _containers.container_summary(attrs)["mounts"][0]["destination"] == "/data"


@pytest.mark.parametrize("body, expected", [
    ("[]", "inspect data of container app: expected an object from the engine, got []"),
    ('"app"', "inspect data of container app: expected an object from the engine, got 'app'"),
    (json.dumps(container())[:150], "cannot inspect container app: "),
    (json.dumps(container(Name=_MISSING)), "inspect data of container app: expected a string Name, got None"),
    (json.dumps(container(Name=["app"])), "expected a string Name, got ['app']"),
    (json.dumps(container(Id=42)), "inspect data of container app: expected a string Id, got 42"),
    (json.dumps(container(State="running")), "inspect data of container app: State: expected an object from the "
                                             "engine, got 'running'"),
    (json.dumps(container(State_Health=["healthy"])), "State.Health: expected an object from the engine, got ['healthy']"),
    (json.dumps(container(Mounts={"/data": "/srv/app"})), "Mounts: expected a list of objects from the engine"),
    (json.dumps(container(Mounts=["/srv/app:/data"])), "Mounts: expected a list of objects from the engine"),
    (json.dumps(container(NetworkSettings="bridge")), "NetworkSettings: expected an object from the engine, got 'bridge'"),
    (json.dumps(container(Config=None, HostConfig=7)), "HostConfig: expected an object from the engine, got 7"),
])
def test_malformed_container_inspect_data_ends_in_docker_client_errors(engine, body, expected):
    client = engine(_inspect(body))
    with pytest.raises(_docker_client.DockerClientError) as caught:
        _containers.get_container(client, "app")
    assert expected in str(caught.value), str(caught.value)


@pytest.mark.parametrize("attrs, expected", [
    (container(State=_MISSING), "State: expected an object from the engine, got nothing"),
    (container(State=None), "State: expected an object from the engine, got nothing"),
    (container(State=["running"]), "State: expected an object from the engine, got ['running']"),
    (container(State_Health="healthy"), "State.Health: expected an object from the engine, got 'healthy'"),
    ([], "expected an object from the engine, got []"),
])
def test_a_missing_or_malformed_state_is_named(engine, attrs, expected):
    client = engine(_inspect(attrs))
    with pytest.raises(_docker_client.DockerClientError) as caught:
        _containers.container_state(client, "c" * 64)
    assert expected in str(caught.value), str(caught.value)
    if isinstance(attrs, dict) and "Health" not in expected:  # is_running reads State only
        with pytest.raises(_docker_client.DockerClientError) as caught:
            _containers.is_running(attrs)
        assert expected.split(":")[0] in str(caught.value), str(caught.value)


@pytest.mark.parametrize("health, expected", [
    (None, "it has no Docker health check to wait for"),
    ({"Status": "starting", "Log": "garbage"}, "last check: unreadable ('garbage')"),
    ({"Status": "starting", "Log": [["exit 1"]]}, "last check: unreadable ([['exit 1']])"),
    ({"Status": "unhealthy", "Log": [{"ExitCode": 1, "Output": 42}]}, "Docker reports it unhealthy (last check: exit code 1)"),
])
def test_the_health_wait_names_a_missing_or_malformed_health_block(engine, health, expected):
    attrs = container(State_Health=health)
    client = engine(_inspect(attrs))
    with pytest.raises(_health.UnhealthyError) as caught:
        _health.wait_until_healthy(client, "c" * 64, "docker", interval=0.05, retries=2)
    assert expected in str(caught.value), str(caught.value)


@pytest.mark.parametrize("attrs, expected", [
    ({"Mounts": "/data"}, "Mounts: expected a list of objects from the engine, got '/data'"),
    ({"Mounts": [None]}, "Mounts: expected a list of objects from the engine, got [None]"),
    ("mounts", "container inspect data: expected an object from the engine, got 'mounts'"),
])
def test_mount_lookups_name_malformed_mounts(attrs, expected):
    for read in (lambda: _data_volumes.host_path_of(attrs, "/data/x"), lambda: _data_volumes.data_container_mounts(attrs)):
        with pytest.raises(_docker_client.DockerClientError) as caught:
            read()
        assert expected in str(caught.value), str(caught.value)


@pytest.mark.parametrize("listing, expected", [
    ('{"Id": "x"}', "container list: expected a list of objects from the engine"),
    ('[{"Names": ["/app"]}]', "container list: an entry has no Id"),
    ('[{"Id": "%s", "Names": ["/app"], "Ports": "8000"}]' % ("c" * 64), "Ports of app: expected a list of objects"),
])
def test_container_listings_with_malformed_entries(engine, listing, expected):
    client = engine({"/containers/json": listing})
    with pytest.raises(_docker_client.DockerClientError) as caught:
        _containers.published_host_ports(client)
    assert expected in str(caught.value), str(caught.value)


def test_a_listing_entry_without_id_in_list_containers(engine):
    client = engine({"/containers/json": '[{"Names": ["/app"]}]'})
    with pytest.raises(_docker_client.DockerClientError) as caught:
        _containers.list_containers(client, labels={"baton.test": "1"})
    assert "container list: an entry has no Id" in str(caught.value)


def test_container_summary_of_malformed_data():
    with pytest.raises(_docker_client.DockerClientError) as caught:
        _containers.container_summary(container(Config="baton-demo/app:v1"))
    assert "inspect data of container /app: Config: expected an object from the engine" in str(caught.value)


@pytest.mark.parametrize("body, expected", [
    ('{"RepoTags": ["baton-demo/app:v1"]}', "inspect data of image baton-demo/app:v1: expected a string Id, got None"),
    ('["sha256:abc"]', "inspect data of image baton-demo/app:v1: expected an object from the engine"),
])
def test_image_inspect_data_without_an_id(engine, body, expected):
    client = engine({"/images/baton-demo/app:v1/json": body})
    with pytest.raises(_docker_client.DockerClientError) as caught:
        _images.image_id_of(client, "baton-demo/app:v1")
    assert expected in str(caught.value), str(caught.value)

"""Unit tests of module_utils/_docker_client.py: the pure helpers (error translation, answer shapes, pull auth,
progress-stream errors) as tables, and DockerClient against scripted stand-ins for the SDK's low-level client.
Pulls against a real engine and registry run in tests/integration and tests/faults."""

import socket
import threading
import time

import pytest
import requests
from docker import errors as docker_errors

from ansible_collections.baton.docker.plugins.module_utils import _docker_client
from ansible_collections.baton.docker.plugins.module_utils._image_ref import ImageRef
from ansible_collections.baton.docker.plugins.module_utils._docker_client import (
    DockerClient,
    DockerClientError,
    auth_config,
    engine_unreachable,
    expect_object,
    expect_object_list,
    is_local_engine,
    shown,
    stream_error,
    tls_settings,
)
from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError


class Response:
    """The part of a requests response an SDK APIError reads."""

    def __init__(self, status_code):
        self.status_code = status_code
        self.reason = "Scripted"
        self.url = "http+docker://localhost/v1.41/scripted"


def api_error(status, explanation):
    return docker_errors.APIError("%d error" % status, response=Response(status), explanation=explanation)


# ---------------------------------------------------------------- pure helpers

@pytest.mark.parametrize("exc, unreachable", [
    (ConnectionRefusedError(111, "Connection refused"), True),
    (FileNotFoundError(2, "No such file or directory"), True),
    (ConnectionResetError(104, "Connection reset by peer"), True),
    (requests.exceptions.ConnectionError("Connection aborted."), True),
    (requests.exceptions.ConnectionError(Exception("wrapped")), True),
    (Exception("outer", ConnectionRefusedError(111, "refused")), True),
    (requests.exceptions.ReadTimeout("Read timed out."), False),
    (socket.timeout("timed out"), False),
    (api_error(500, "driver failed"), False),
    (ValueError("bad"), False),
])
def test_engine_unreachable(exc, unreachable):
    assert engine_unreachable(exc) is unreachable


@pytest.mark.parametrize("docker_host, exc, message", [
    ("unix:///var/run/docker.sock", ConnectionRefusedError(111, "Connection refused"),
     "the Docker engine at unix:///var/run/docker.sock does not answer ([Errno 111] Connection refused)"),
    ("tcp://10.0.0.5:2375", requests.exceptions.ConnectionError(),
     "the Docker engine at tcp://10.0.0.5:2375 does not answer (ConnectionError)"),
    (None, FileNotFoundError(2, "No such file or directory"),
     "the Docker engine at its address does not answer ([Errno 2] No such file or directory)"),
    ("unix:///x.sock", api_error(409, "Conflict. The container name is already in use "),
     "Conflict. The container name is already in use"),
    ("unix:///x.sock", api_error(500, b"bytes explanation\n"), "bytes explanation"),
    ("unix:///x.sock", api_error(500, None), "500 Server Error for http+docker://localhost/v1.41/scripted: Scripted"),
    ("unix:///x.sock", requests.exceptions.ReadTimeout(" Read timed out. "), "Read timed out."),
    ("unix:///x.sock", KeyError(), "KeyError"),
])
def test_explain_names_the_engine_of_the_client(docker_host, exc, message):
    assert DockerClient(docker_host, api=object()).explain(exc) == message


def test_two_clients_name_their_own_engine():
    first = DockerClient("unix:///run/one.sock", api=object())
    second = DockerClient("tcp://127.0.0.1:2375", api=object())
    exc = ConnectionRefusedError(111, "Connection refused")
    assert "unix:///run/one.sock" in first.explain(exc)
    assert "tcp://127.0.0.1:2375" in second.explain(exc)
    assert "unix:///run/one.sock" in first.explain(exc)


@pytest.mark.parametrize("value, limit, text", [
    ("app", 120, "'app'"),
    ([1, 2], 120, "[1, 2]"),
    ("x" * 10, 5, "'xxxx..."),
    (None, 120, "None"),
])
def test_shown(value, limit, text):
    assert shown(value, limit) == text


@pytest.mark.parametrize("value, required, result, error", [
    ({"a": 1}, False, {"a": 1}, None),
    (None, False, {}, None),
    (None, True, None, "State: expected an object from the engine, got nothing"),
    ([], False, None, "State: expected an object from the engine, got []"),
    ("running", True, None, "State: expected an object from the engine, got 'running'"),
])
def test_expect_object(value, required, result, error):
    if error is None:
        assert expect_object(value, "State", required) == result
    else:
        with pytest.raises(DockerClientError) as caught:
            expect_object(value, "State", required)
        assert str(caught.value) == error


@pytest.mark.parametrize("value, result, error", [
    ([{"a": 1}], [{"a": 1}], None),
    ([], [], None),
    (None, [], None),
    ({"a": 1}, None, "Mounts: expected a list of objects from the engine, got {'a': 1}"),
    ([{"a": 1}, "b"], None, "Mounts: expected a list of objects from the engine, got [{'a': 1}, 'b']"),
])
def test_expect_object_list(value, result, error):
    if error is None:
        assert expect_object_list(value, "Mounts") == result
    else:
        with pytest.raises(DockerClientError) as caught:
            expect_object_list(value, "Mounts")
        assert str(caught.value) == error


@pytest.mark.parametrize("auth, config", [
    (None, None),
    ({}, None),
    ({"username": "", "password": "pw"}, None),
    ({"username": "ci", "password": "pw"}, {"username": "ci", "password": "pw"}),
    ({"username": "ci", "password": None}, {"username": "ci", "password": ""}),
    ({"username": "ci", "password": "pw", "registry": "registry.example.com:5000"},
     {"username": "ci", "password": "pw", "serveraddress": "registry.example.com:5000"}),
])
def test_auth_config(auth, config):
    assert auth_config(auth) == config


@pytest.mark.parametrize("docker_host, local", [
    ("unix:///var/run/docker.sock", True),
    ("/var/run/docker.sock", True),
    ("tcp://10.0.0.5:2376", False),
    ("ssh://deploy@host", False),
])
def test_is_local_engine(docker_host, local):
    assert is_local_engine(docker_host) is local


@pytest.mark.parametrize("chunk, error", [
    ({"status": "Downloading"}, None),
    ("text", None),
    ({"error": ""}, None),
    ({"error": "short", "errorDetail": {"message": "the long reason"}}, "the long reason"),
    ({"error": "short", "errorDetail": {}}, "short"),
    ({"error": "short", "errorDetail": "not an object"}, "short"),
])
def test_stream_error(chunk, error):
    assert stream_error(chunk) == error


def test_every_docker_error_is_a_baton_error():
    assert issubclass(DockerClientError, BatonError)


# ---------------------------------------------------------------- the client

def test_connect_names_the_engine_that_does_not_answer(tmp_path):
    host = "unix://%s" % (tmp_path / "nowhere.sock")
    client = DockerClient(host, 2)
    with pytest.raises(DockerClientError) as caught:
        client.connect()
    assert str(caught.value).startswith("docker_host: cannot reach the Docker engine at %s: " % host)
    with pytest.raises(DockerClientError):  # the api attribute connects on first use
        client.api


def test_a_given_api_is_used_as_it_is():
    api = object()
    client = DockerClient("unix:///nowhere.sock", api=api)
    assert client.connect() is client and client.api is api


def test_call_turns_errors_into_docker_client_errors():
    client = DockerClient("unix:///x.sock", api=object())
    assert client.call("cannot add", lambda a, b=0: a + b, 1, b=2) == 3

    def refuse():
        raise api_error(404, "No such container: app")

    with pytest.raises(DockerClientError) as caught:
        client.call("cannot start container app", refuse)
    assert str(caught.value) == "cannot start container app: No such container: app"

    def already_worded():
        raise DockerClientError("worded")

    with pytest.raises(DockerClientError) as caught:
        client.call("cannot start container app", already_worded)
    assert str(caught.value) == "worded"


class ImageAPI:
    """inspect_image answering from a table: a dict is the inspect data, an exception is raised."""

    def __init__(self, answers):
        self.answers = answers

    def inspect_image(self, ref):
        answer = self.answers[ref]
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.mark.parametrize("answer, result, error", [
    ({"Id": "sha256:1"}, {"Id": "sha256:1"}, None),
    (docker_errors.NotFound("no such image"), None, None),
    (api_error(400, "invalid reference format"), None, None),
    (api_error(404, "no such image"), None, None),
    (api_error(500, "layer store broken"), None, "cannot inspect image app:v1: layer store broken"),
    (ConnectionRefusedError(111, "refused"), None, "cannot inspect image app:v1: the Docker engine at "
                                                   "unix:///x.sock does not answer ([Errno 111] refused)"),
])
def test_image_attrs(answer, result, error):
    client = DockerClient("unix:///x.sock", api=ImageAPI({"app:v1": answer}))
    if error is None:
        assert client.image_attrs("app:v1") == result
    else:
        with pytest.raises(DockerClientError) as caught:
            client.image_attrs("app:v1")
        assert str(caught.value) == error


class PullAPI(ImageAPI):
    """pull streaming scripted chunks (``None``: a stall of ``stall`` seconds); the image is present afterwards
    unless ``present`` is False."""

    def __init__(self, chunks, present=True, timeout=60, stall=0.0):
        super().__init__({})
        self.chunks = chunks
        self.present = present
        self.timeout = timeout
        self.stall = stall
        self.pulls = []
        self.release = threading.Event()

    def pull(self, repository, tag=None, auth_config=None, stream=False, decode=False):
        self.pulls.append((repository, tag, auth_config, stream, decode))
        for chunk in self.chunks:
            if chunk is None:
                self.release.wait(self.stall)
                continue
            if isinstance(chunk, Exception):
                raise chunk
            yield chunk
        if self.present:
            self.answers["%s@%s" % (repository, tag) if tag.startswith("sha256:") else "%s:%s" % (repository, tag)] = \
                {"Id": "sha256:new"}

    def inspect_image(self, ref):
        if ref not in self.answers:
            raise docker_errors.NotFound("no such image")
        return super().inspect_image(ref)


def test_pull_image_sends_the_auth_and_returns_the_inspect_data():
    api = PullAPI([{"status": "Pulling"}, {"status": "Done"}])
    client = DockerClient("unix:///x.sock", api=api)
    attrs = client.pull_image(ImageRef("registry.example.com/app", "v2"), auth=dict(username="ci", password="pw"))
    assert attrs == {"Id": "sha256:new"}
    assert api.pulls == [("registry.example.com/app", "v2", {"username": "ci", "password": "pw"}, True, True)]


@pytest.mark.parametrize("chunks, present, message", [
    ([{"status": "Pulling"}, {"error": "x", "errorDetail": {"message": "manifest unknown"}}], True,
     "manifest unknown"),
    ([api_error(500, "pull access denied for app")], True, "pull access denied for app"),
    ([ConnectionResetError(104, "Connection reset by peer")], True,
     "the Docker engine at unix:///x.sock does not answer ([Errno 104] Connection reset by peer)"),
    ([{"status": "Done"}], False, "the engine reported success but registry.example.com/app:v2 is not present "
                                  "afterwards"),
])
def test_pull_image_failures(chunks, present, message):
    client = DockerClient("unix:///x.sock", api=PullAPI(chunks, present))
    with pytest.raises(DockerClientError) as caught:
        client.pull_image(ImageRef("registry.example.com/app", "v2"))
    assert str(caught.value) == message


def test_pull_image_by_digest():
    digest = "sha256:" + "d" * 64
    api = PullAPI([{"status": "Done"}])
    attrs = DockerClient("unix:///x.sock", api=api).pull_image(ImageRef("app", "ignored", digest))
    assert attrs == {"Id": "sha256:new"} and api.pulls[0][1] == digest


def test_a_stalled_pull_fails_after_the_api_timeout():
    api = PullAPI([{"status": "Pulling"}, None, {"status": "Done"}], timeout=1, stall=10)
    client = DockerClient("unix:///x.sock", 1, api=api)
    started = time.monotonic()
    try:
        with pytest.raises(DockerClientError) as caught:
            client.pull_image(ImageRef("registry.example.com/app", "v2"))
    finally:
        api.release.set()
    assert time.monotonic() - started < 5
    assert "(api_timeout) pulling registry.example.com/app:v2: the registry registry.example.com does not answer" \
        in str(caught.value), str(caught.value)
    assert str(caught.value).startswith("the engine reported no progress for 1.")


class DistributionAPI:
    def __init__(self, answer):
        self.answer = answer
        self.asked = []

    def inspect_distribution(self, ref, auth_config=None):
        self.asked.append((ref, auth_config))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.mark.parametrize("answer, digest, error", [
    ({"Descriptor": {"digest": "sha256:abc"}}, "sha256:abc", None),
    ({"Descriptor": None}, None, None),
    ({}, None, None),
    (api_error(403, "denied: requested access to the resource is denied"), None,
     "denied: requested access to the resource is denied"),
])
def test_distribution_digest(answer, digest, error):
    api = DistributionAPI(answer)
    client = DockerClient("unix:///x.sock", api=api)
    if error is None:
        assert client.distribution_digest("app:v1", dict(username="ci", password="pw")) == digest
        assert api.asked == [("app:v1", {"username": "ci", "password": "pw"})]
    else:
        with pytest.raises(DockerClientError) as caught:
            client.distribution_digest("app:v1")
        assert str(caught.value) == error


def test_the_shared_argument_specs():
    assert _docker_client.DOCKER_COMMON_ARGS["docker_host"]["default"] == "unix:///var/run/docker.sock"
    assert _docker_client.DOCKER_COMMON_ARGS["api_timeout"] == dict(type="float", default=60.0)
    assert _docker_client.PULL_ARGS["pull"]["choices"] == ["missing", "always", "never"]
    assert _docker_client.PULL_ARGS["pull_auth"]["options"]["password"]["no_log"] is True


# -- TLS settings --------------------------------------------------------------------------------------------------

@pytest.fixture
def pem_files(tmp_path):
    paths = {}
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("-----BEGIN TEST-----\n")
        paths[name] = str(tmp_path / name)
    return paths


@pytest.mark.parametrize("params, expected", [
    (dict(docker_host="unix:///var/run/docker.sock", validate_certs=True), None),
    (dict(docker_host="tcp://h:2376"), None),
    (dict(docker_host="tcp://h:2376", tls=True), dict(verify=False, cert=None, hostname=None)),
    (dict(docker_host="tcp://h:2376", tls=True, tls_hostname="n"), dict(verify=False, cert=None, hostname=None)),
    (dict(docker_host="tcp://h:2376", validate_certs=True), dict(verify=True, cert=None, hostname=None)),
    (dict(docker_host="tcp://h:2376", validate_certs=True, ca_path="ca.pem", client_cert="cert.pem",
          client_key="key.pem", tls_hostname="n"), dict(verify="ca.pem", cert=("cert.pem", "key.pem"), hostname="n")),
    (dict(docker_host="https://h:2376", tls=True, client_cert="cert.pem", client_key="key.pem"),
     dict(verify=False, cert=("cert.pem", "key.pem"), hostname=None)),
])
def test_tls_settings(params, expected, pem_files):
    params = dict((k, pem_files.get(v, v)) for k, v in params.items())
    expected = expected and dict((k, pem_files.get(v, v) if isinstance(v, str) else
                                  tuple(pem_files[p] for p in v) if isinstance(v, tuple) else v)
                                 for k, v in expected.items())
    assert tls_settings(params) == expected


@pytest.mark.parametrize("option", ["ca_path", "client_cert", "client_key"])
def test_tls_settings_name_a_missing_file(option, pem_files):
    params = dict(docker_host="tcp://h:2376", validate_certs=True, ca_path=pem_files["ca.pem"],
                  client_cert=pem_files["cert.pem"], client_key=pem_files["key.pem"])
    params[option] = "/nonexistent/%s.pem" % option
    with pytest.raises(DockerClientError) as info:
        tls_settings(params)
    assert str(info.value) == "%s: no such file /nonexistent/%s.pem (TLS with the Docker engine at tcp://h:2376)" % (
        option, option)

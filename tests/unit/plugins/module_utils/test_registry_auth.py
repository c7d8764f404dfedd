"""Unit tests of module_utils/_registry_auth.py: where the credentials are kept, whether the stored ones match, and
login against a scripted engine (the real registry login runs in tests/integration/test_release_modules.py)."""

import base64
import json
import os
import stat

import pytest
from docker import errors as docker_errors

from ansible_collections.baton.docker.plugins.module_utils._docker_client import DockerClient, DockerClientError
from ansible_collections.baton.docker.plugins.module_utils._registry_auth import (
    docker_config_path,
    login,
    stored_auth_matches,
)


def auth(username, password):
    return base64.b64encode(("%s:%s" % (username, password)).encode()).decode()


@pytest.mark.parametrize("docker_config, home, path", [
    ("/etc/ci/docker", "/home/ci", "/etc/ci/docker/config.json"),
    ("", "/home/ci", "/home/ci/.docker/config.json"),
    (None, "/root", "/root/.docker/config.json"),
])
def test_docker_config_path(docker_config, home, path, monkeypatch):
    if docker_config is None:
        monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    else:
        monkeypatch.setenv("DOCKER_CONFIG", docker_config)
    monkeypatch.setenv("HOME", home)
    assert docker_config_path() == path


@pytest.mark.parametrize("config, matches", [
    (None, False),
    ({}, False),
    ({"auths": {}}, False),
    ({"auths": {"registry.example.com": {"auth": auth("ci", "pw")}}}, True),
    ({"auths": {"registry.example.com": {"auth": auth("ci", "old")}}}, False),
    ({"auths": {"registry.example.com": {"auth": auth("other", "pw")}}}, False),
    ({"auths": {"other.example.com": {"auth": auth("ci", "pw")}}}, False),
    ({"auths": {"registry.example.com": None}}, False),
])
def test_stored_auth_matches(config, matches, tmp_path):
    path = tmp_path / "config.json"
    if config is not None:
        path.write_text(json.dumps(config))
    assert stored_auth_matches("registry.example.com", "ci", "pw", str(path)) is matches


def test_a_config_that_is_not_json_is_named(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("{not json")
    with pytest.raises(DockerClientError) as caught:
        stored_auth_matches("registry.example.com", "ci", "pw", str(path))
    assert str(caught.value).startswith("%s is not valid JSON: " % path)


class LoginAPI:
    def __init__(self, error=None):
        self.error = error
        self.logins = []

    def login(self, **kwargs):
        self.logins.append(kwargs)
        if self.error:
            raise self.error


def test_login_checks_then_stores_the_credentials_beside_others(tmp_path):
    path = tmp_path / "docker" / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"auths": {"other.example.com": {"auth": "x"}}, "credsStore": "none"}))
    api = LoginAPI()
    login(DockerClient(api=api), "registry.example.com", "ci", "s3cret", str(path))
    assert api.logins == [dict(username="ci", password="s3cret", registry="registry.example.com", reauth=True)]
    config = json.loads(path.read_text())
    assert config["auths"] == {"other.example.com": {"auth": "x"},
                               "registry.example.com": {"auth": auth("ci", "s3cret")}}
    assert config["credsStore"] == "none"
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert stored_auth_matches("registry.example.com", "ci", "s3cret", str(path))


def test_refused_credentials_are_not_stored(tmp_path):
    path = tmp_path / "config.json"
    error = docker_errors.APIError("500 Server Error", explanation="Get \"http://127.0.0.1:5000/v2/\": unauthorized")
    with pytest.raises(DockerClientError) as caught:
        login(DockerClient(api=LoginAPI(error)), "127.0.0.1:5000", "ci", "wrong", str(path))
    assert str(caught.value) == "login to 127.0.0.1:5000 as ci failed: Get \"http://127.0.0.1:5000/v2/\": unauthorized"
    assert "wrong" not in str(caught.value)
    assert not path.exists()

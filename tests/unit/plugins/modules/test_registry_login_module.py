"""Unit tests of the registry_login module: main() with patched exit/fail.

The Docker engine is not needed here: these are the paths that must not reach
it (bad options, credentials already stored, check mode). Real logins against
a real registry are in tests/integration/aws/test_registry_login.py.
"""

import base64
import json

import pytest


from ansible_collections.baton.docker.plugins.modules import registry_login
from tests.support.module_harness import call_main, engine_factory

PASSWORD = "unit s3cret 'pw'"


@pytest.fixture(autouse=True)
def no_engine(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the Docker engine must not be contacted")
    monkeypatch.setattr(registry_login, "DockerClient", engine_factory(refuse))


def run(args):
    return call_main(registry_login.main, args)


def stored_config(path, registry, username, password):
    auth = base64.b64encode(("%s:%s" % (username, password)).encode()).decode()
    path.write_text(json.dumps({"auths": {registry: {"auth": auth}}}))


@pytest.mark.parametrize("args,needle", [
    (dict(registry="r:5000", username="u"), "ecr is False but all of the following are missing: password"),
    (dict(ecr=True, password="x", region="us-east-1"), "password: not used with ecr=true"),
    (dict(ecr=True, username="x", region="us-east-1"), "username: not used with ecr=true"),
    (dict(registry="r:5000", username="u", password="p", registry_id="1"), "registry_id: only used with ecr=true"),
])
def test_bad_options(tmp_path, args, needle):
    result = run(dict(args, config_path=str(tmp_path / "config.json")))
    assert result.kind == "fail"
    assert needle in result.result["msg"]


def test_stored_credentials_mean_no_change_and_no_engine(tmp_path):
    config = tmp_path / "config.json"
    stored_config(config, "registry.example.com:5000", "deploy", PASSWORD)
    result = run(dict(registry="https://registry.example.com:5000/", username="deploy", password=PASSWORD,
                      config_path=str(config)))
    assert result.kind == "exit"
    assert result.result["changed"] is False
    assert result.result["registry"] == "registry.example.com:5000"
    assert PASSWORD not in json.dumps(result.result)


def test_check_mode_reports_a_login_without_doing_it(tmp_path):
    config = tmp_path / "config.json"
    stored_config(config, "registry.example.com:5000", "deploy", "old password")
    before = config.read_text()
    result = run(dict(registry="registry.example.com:5000", username="deploy", password=PASSWORD,
                      config_path=str(config), _ansible_check_mode=True))
    assert result.kind == "exit" and result.result["changed"] is True
    assert result.result["msg"] == "would store new credentials for registry.example.com:5000"
    assert config.read_text() == before


def test_unreadable_config_is_reported(tmp_path):
    config = tmp_path / "config.json"
    config.write_text("{not json")
    result = run(dict(registry="r:5000", username="u", password="p", config_path=str(config)))
    assert result.kind == "fail" and "is not valid JSON" in result.result["msg"]

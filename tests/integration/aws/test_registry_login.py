"""registry_login through the real ansible-playbook, against real registries and the real Docker engine.

- Password logins go to the session's docker-registry with htpasswd (fixture
  `registry`).
- ECR logins get their token from a real moto server's ECR
  (GetAuthorizationToken, reached through the Elastic Beanstalk double, which
  only forwards here). moto's token decodes to AWS:123456789012-auth-token, so
  a second docker-registry with exactly that htpasswd user stands in for the
  ECR registry; `registry` points the login at it instead of the
  *.dkr.ecr.*.amazonaws.com endpoint moto names.
"""

import base64
import json
import os
import stat

import pytest

from tests.integration.aws.conftest import REGION, failed, run_verbose
from tests.support.ansible import run_module
from tests.support.registry import Registry
from tests.support import secrets

MODULE = "baton.docker.registry_login"
ECR_USER, ECR_PASSWORD = "AWS", secrets.runtime("ecr_password", secrets.MOTO_ECR_PASSWORD)


@pytest.fixture(scope="module")
def ecr_registry(tmp_path_factory):
    reg = Registry(str(tmp_path_factory.mktemp("ecr-registry")), username=ECR_USER, password=ECR_PASSWORD).start()
    yield reg
    reg.stop()


@pytest.fixture
def docker_config(tmp_path):
    """A Docker config directory of this test's own, as the modules see it (DOCKER_CONFIG)."""
    path = tmp_path / "docker-config"
    path.mkdir()
    return path


def stored(config_dir, registry):
    with open(config_dir / "config.json") as handle:
        auth = json.load(handle)["auths"][registry]["auth"]
    return base64.b64decode(auth).decode()


def test_password_login_check_apply_idempotent(registry, docker_config):
    env = {"DOCKER_CONFIG": str(docker_config)}
    args = dict(registry=registry.address, username=registry.username, password=registry.password)

    result, run = run_module(MODULE, args, check=True, env=env)
    assert result["changed"] is True and not (docker_config / "config.json").exists()

    result, run = run_module(MODULE, args, env=env)
    assert not failed(run), run.output
    assert result["changed"] is True and result["registry"] == registry.address
    assert result["config_path"] == str(docker_config / "config.json")
    assert stored(docker_config, registry.address) == "%s:%s" % (registry.username, registry.password)
    assert stat.S_IMODE(os.stat(docker_config / "config.json").st_mode) == 0o600

    result, run = run_module(MODULE, args, env=env)
    assert result["changed"] is False

    result, run = run_module(MODULE, dict(args, reauthorize=True), env=env)
    assert not failed(run) and result["changed"] is False
    assert result["msg"] == "the registry %s accepted the stored credentials" % registry.address


def test_wrong_password_fails_clearly_and_stores_nothing(registry, docker_config):
    wrong = "wr0ng-pa55-c0ffee-never-print-me"
    result, run = run_verbose(MODULE, dict(registry=registry.address, username=registry.username, password=wrong),
                              env={"DOCKER_CONFIG": str(docker_config)})
    assert failed(run)
    assert result["msg"].startswith("login to %s as %s failed" % (registry.address, registry.username))
    assert not (docker_config / "config.json").exists()
    everything = run.output + json.dumps(run.records)
    assert wrong not in everything


def test_password_never_in_output(registry, docker_config):
    result, run = run_verbose(MODULE, dict(registry=registry.address, username=registry.username,
                                           password=registry.password),
                              env={"DOCKER_CONFIG": str(docker_config)})
    assert not failed(run), run.output
    everything = run.output + json.dumps(run.records)
    assert registry.password not in everything


def test_ecr_token_login(aws, aws_env, ecr_registry, docker_config):
    env = dict(aws_env, DOCKER_CONFIG=str(docker_config))
    args = dict(ecr=True, registry=ecr_registry.address, region=REGION, endpoint_url=aws.url)

    result, run = run_module(MODULE, args, check=True, env=env)
    assert result["changed"] is True and not (docker_config / "config.json").exists()

    result, run = run_verbose(MODULE, args, env=env)
    assert not failed(run), run.output
    assert result["changed"] is True and result["username"] == "AWS" and result["expires_at"]
    assert stored(docker_config, ecr_registry.address) == "%s:%s" % (ECR_USER, ECR_PASSWORD)
    everything = run.output + json.dumps(run.records)
    assert ECR_PASSWORD not in everything
    assert aws.calls["GetAuthorizationToken"] == 2

    # moto hands out the same token again: nothing new to store.
    result, run = run_module(MODULE, args, env=env)
    assert result["changed"] is False


def test_ecr_login_defaults_to_the_endpoint_ecr_names(aws, aws_env, docker_config):
    env = dict(aws_env, DOCKER_CONFIG=str(docker_config))
    result, run = run_module(MODULE, dict(ecr=True, region=REGION, endpoint_url=aws.url), check=True, env=env)
    assert not failed(run), run.output
    assert result["registry"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    assert result["msg"] == "would store new credentials for 123456789012.dkr.ecr.us-east-1.amazonaws.com"

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What baton.docker.registries leaves on the instance, checked from the outside.

The registry's address, user and password come from the state file prepare.yml
wrote on the controller; the outcome of the side effect (strict run failing on
the empty entry, then a run skipping it) from the instance.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import json
import os

import pytest

CONFIG = "/root/.docker/config.json"
OUTCOME_FILE = "/var/lib/baton-molecule/registries.json"


@pytest.fixture(scope="module")
def registry():
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "registry.json")
    with open(path) as handle:
        return json.load(handle)


def test_config_holds_the_login(host, registry):
    config = host.file(CONFIG)
    assert config.is_file
    assert config.user == "root"
    assert config.mode == 0o600
    auths = json.loads(config.content_string)["auths"]
    want = base64.b64encode(("%s:%s" % (registry["username"], registry["password"])).encode()).decode()
    assert auths[registry["address"]]["auth"] == want


def test_empty_registry_is_not_stored(host):
    auths = json.loads(host.file(CONFIG).content_string)["auths"]
    assert "quay.io" not in auths


def test_registry_refuses_an_anonymous_pull(host, registry):
    result = host.run("DOCKER_CONFIG=/nonexistent docker pull %s", registry["image"])
    assert result.rc != 0
    assert "no basic auth credentials" in result.stderr or "unauthorized" in result.stderr


def test_pull_with_the_stored_login(host, registry):
    result = host.run("docker pull %s", registry["image"])
    assert result.rc == 0, result.stderr
    assert host.run("docker image inspect %s", registry["image"]).rc == 0


def test_password_in_no_ansible_output(registry):
    log = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "ansible.log")
    with open(log) as handle:
        text = handle.read()
    assert "Log in to the private registries" in text, "the converge output was not logged"
    assert registry["address"] in text
    assert registry["password"] not in text


def test_password_in_no_process_argv(host, registry):
    # Nothing of the login may run on: no process of the instance carries it.
    assert registry["password"] not in host.check_output("ps -eo args")


def test_empty_credentials_fail_naming_the_registry(host):
    outcome = host.file(OUTCOME_FILE)
    if not outcome.exists:
        pytest.skip("the side effect has not run")
    data = json.loads(outcome.content_string)
    assert data["strict"]["failed"] is True
    assert "quay.io" in data["strict"]["msg"]
    assert "registries_skip_empty" in data["strict"]["msg"]
    # With registries_skip_empty the real registry is still logged in (already stored: no change).
    assert data["skip_empty_logins"] == 1
    assert data["skip_empty_changed"] == 0

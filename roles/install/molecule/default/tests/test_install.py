# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What baton.docker.install leaves on the instance, checked from the inside.

Expected values come from the role's defaults, the scenario's inventory
(install_daemon_options, install_docker_users) and, after the side effect,
from the options it added and the state file it wrote (engine PID and the
container that ran across the restart).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import pytest

testinfra_hosts = ["ansible://docker_hosts"]

DAEMON_JSON = "/etc/docker/daemon.json"
PID_FILE = "/var/run/docker.pid"
STATE_FILE = "/var/lib/baton-molecule/before-restart.json"
TINY_IMAGE = "baton-molecule/tiny:local"
IMPORT_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "import_tiny_image.sh")

# The role's default daemon settings, then what the scenario and its side effect merge over them.
EXPECTED_DAEMON = {
    "log-driver": "json-file",
    "log-opts": {"max-size": "20m", "max-file": "5"},
    "live-restore": True,
    "storage-driver": "vfs",
    "cgroup-parent": "baton-molecule-dind",
    "labels": ["baton.molecule=restarted"],
}


def docker_json(host, *args):
    result = host.run("docker " + " ".join(["%s"] * len(args)), *args)
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def before(host):
    return json.loads(host.file(STATE_FILE).content_string)


def test_package_installed(host):
    assert host.package("docker.io").is_installed


def test_daemon_json_content(host):
    conf = host.file(DAEMON_JSON)
    assert conf.is_file
    assert conf.user == "root"
    assert conf.mode == 0o644
    assert json.loads(conf.content_string) == EXPECTED_DAEMON


def test_dockerd_runs_with_the_config(host, before):
    pid = int(host.file(PID_FILE).content_string.strip())
    cmdline = host.file("/proc/%d/cmdline" % pid).content_string.split("\0")
    assert os.path.basename(cmdline[0]) == "dockerd"
    assert cmdline[1:3] == ["--config-file", DAEMON_JSON]
    # The side effect changed daemon.json: the handler restarted the engine.
    assert pid != before["dockerd_pid"]


def test_docker_info_reports_the_configuration(host):
    info = docker_json(host, "info", "--format", "{{json .}}")
    assert info["LoggingDriver"] == "json-file"
    assert info["Driver"] == "vfs"
    assert info["LiveRestoreEnabled"] is True
    assert "baton.molecule=restarted" in info["Labels"]


def test_container_survived_the_restart(host, before):
    state = docker_json(host, "inspect", "--format", "{{json .State}}", before["container"])
    assert state["Running"] is True
    assert state["Pid"] == before["container_pid"]
    assert state["StartedAt"] == before["started_at"]


def test_container_logs_use_the_configured_driver(host, before):
    config = docker_json(host, "inspect", "--format", "{{json .HostConfig.LogConfig}}", before["container"])
    assert config["Type"] == "json-file"


def test_docker_run_works(host):
    with open(IMPORT_SCRIPT) as script:
        imported = host.run("sh -c %s", script.read())
    assert imported.rc == 0, imported.stderr
    result = host.run("docker run --rm --network none %s /bin/sh -c %s", TINY_IMAGE, "echo hello from $$")
    assert result.rc == 0, result.stderr
    # $$ is 1: the shell is the first process of its own PID namespace.
    assert result.stdout.strip() == "hello from 1"


def test_user_in_docker_group(host):
    assert "docker" in host.user("baton-molecule").groups

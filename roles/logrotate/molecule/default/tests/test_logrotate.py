# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What baton.docker.logrotate leaves on the instance, and what a rotation does.

Expected values come from the role's defaults and the scenario's inventory:
the fake container log directory, maxsize 100M, and the forwarder named by
baton_stack.logrotate.forwarder (a container on the host engine, reached
through the mounted socket).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

import pytest

testinfra_hosts = ["ansible://log_hosts"]

CONFIG = "/etc/logrotate.d/baton-docker-containers"
FORWARDER = "baton-molecule-logspout0"
PATTERN = "/var/lib/baton-molecule/containers/*/*.log"
LOG = "/var/lib/baton-molecule/containers/0123456789ab/0123456789ab-json.log"
STATE = "/tmp/baton-molecule-logrotate.state"

EXPECTED_BODY = [
    '"%s" {' % PATTERN,
    "daily",
    "rotate 7",
    "maxsize 100M",
    "compress",
    "delaycompress",
    "copytruncate",
    "missingok",
    "notifempty",
    "sharedscripts",
    "postrotate",
    "/usr/bin/docker restart '%s' >/dev/null" % FORWARDER,
    "endscript",
    "}",
]


def started_at(host):
    result = host.run("docker inspect --format %s %s", "{{.State.StartedAt}}", FORWARDER)
    assert result.rc == 0, result.stderr
    return result.stdout.strip()


def rotate(host):
    result = host.run("logrotate --force --state %s %s", STATE, CONFIG)
    assert result.rc == 0, result.stderr
    return result


def test_config_file(host):
    conf = host.file(CONFIG)
    assert conf.is_file
    assert conf.user == "root"
    assert conf.mode == 0o644
    lines = [line.strip() for line in conf.content_string.splitlines()]
    body = [line for line in lines if line and not line.startswith("#")]
    assert body == EXPECTED_BODY


def test_config_passes_logrotate_debug(host):
    result = host.run("logrotate -d %s", CONFIG)
    assert result.rc == 0, result.stderr
    # logrotate -d writes its report to stderr; the pattern found the fake log.
    assert LOG in result.stderr


@pytest.fixture(scope="module")
def rotations(host):
    """Two forced rotations with fresh content each time; what each left behind."""
    host.run("rm -f %s %s.1 %s.2.gz", STATE, LOG, LOG)
    seen = []
    for number in (1, 2):
        line = '{"log":"rotation %d\\n","stream":"stdout"}\n' % number
        assert host.run("printf %s %s > %s", "%s", line, LOG).rc == 0
        before = started_at(host)
        # StartedAt has nanoseconds; a restart within the same instant is impossible, but keep them apart.
        time.sleep(1)
        rotate(host)
        seen.append({"line": line, "before": before, "after": started_at(host)})
    return seen


def test_rotation_copies_and_truncates(host, rotations):
    log = host.file(LOG)
    assert log.exists
    assert log.size == 0
    # delaycompress: the newest rotated copy stays plain, the older one is gzipped.
    assert host.file(LOG + ".1").content_string == rotations[1]["line"]
    older = host.run("gzip -dc %s", LOG + ".2.gz")
    assert older.rc == 0, older.stderr
    assert older.stdout == rotations[0]["line"]


def test_rotation_restarts_the_forwarder(host, rotations):
    for rotation in rotations:
        assert rotation["after"] != rotation["before"]
    running = host.run("docker inspect --format %s %s", "{{.State.Running}}", FORWARDER)
    assert running.stdout.strip() == "true"


def test_empty_log_is_left_alone(host, rotations):
    # notifempty: the truncated log is not rotated again and the forwarder is not restarted.
    before = started_at(host)
    rotated_before = host.file(LOG + ".1").content_string
    rotate(host)
    assert host.file(LOG + ".1").content_string == rotated_before
    assert started_at(host) == before

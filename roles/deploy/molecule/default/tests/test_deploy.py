# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What baton.docker.deploy leaves on the Docker engine after a deploy of v1 and a redeploy of v2.

Checked from the instance, which reaches the host engine through the mounted
socket and the host's loopback through the shared network. Names, slug, port
and versions come from the scenario's inventory; the containers as they were
before the redeploy come from the state file the side effect wrote.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import time

import pytest

STATE_FILE = "/var/lib/baton-molecule/deploy-before.json"
RUNNER = "/usr/local/libexec/baton-stack-cron"
LOG_DIR = "/var/log/baton"
# name -> (baton.kind, state)
EXPECTED = {
    "app0": ("http", "running"),
    "app1": ("http", "running"),
    "cron0": ("cron", "created"),
    "sidekiq0": ("worker", "running"),
    "haproxy0": ("manual", "running"),
    "nginx0": ("manual", "running"),
}
DATA = ("socks", "lbadmin", "static")


@pytest.fixture(scope="module")
def variables(host):
    return host.ansible.get_variables()


@pytest.fixture(scope="module")
def prefix(variables):
    return variables["molecule_stack_prefix"]


@pytest.fixture(scope="module")
def before(host):
    state_file = host.file(STATE_FILE)
    if not state_file.exists:
        pytest.skip("the side effect (redeploy of the next version) has not run")
    return json.loads(state_file.content_string)


def inspect(host, name):
    result = host.run("docker container inspect %s", name)
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)[0]


def python(host, code, *args):
    return host.run("/usr/bin/python3 -c %s" + " %s" * len(args), code, *args)


def http_get(host, port, attempts=20):
    """GET / through nginx on the host's loopback; the body, retried a few times while HAProxy settles."""
    code = ("import sys, urllib.request\n"
            "with urllib.request.urlopen('http://127.0.0.1:%s/' % sys.argv[1], timeout=5) as r:\n"
            "    sys.stdout.write('%d %s' % (r.status, r.read().decode()))\n")
    last = None
    for _attempt in range(attempts):
        last = python(host, code, str(port))
        if last.rc == 0 and last.stdout.startswith("200 "):
            return last.stdout[4:].strip()
        time.sleep(0.5)
    raise AssertionError("nginx on 127.0.0.1:%s does not answer 200: %s %s" % (port, last.stdout, last.stderr))


def test_every_container_exists_in_its_state(host, prefix, variables):
    for name, (kind, state) in EXPECTED.items():
        attrs = inspect(host, prefix + name)
        labels = attrs["Config"]["Labels"]
        assert attrs["State"]["Status"] == state, name
        assert labels["baton.stack"] == variables["molecule_stack_slug"], name
        assert labels["baton.entry"] == name.rstrip("0123456789"), name
        assert labels["baton.kind"] == kind, name


def test_data_containers_are_created_not_started(host, prefix, variables):
    for name in DATA:
        attrs = inspect(host, prefix + name)
        assert attrs["State"]["Status"] == "created", name
        assert attrs["Config"]["Image"] == variables["data_volumes_image"]
        assert attrs["Config"]["Labels"]["baton.kind"] == "data"
        assert attrs["Config"]["Labels"]["baton.test"] == "1"


def test_nothing_else_carries_the_stack_label(host, prefix, variables):
    result = host.run("docker ps --all --filter label=baton.stack=%s --format %s", variables["molecule_stack_slug"],
                      "{{.Names}}")
    assert result.rc == 0, result.stderr
    expected = [prefix + name for name in list(EXPECTED) + list(DATA)]
    assert sorted(result.stdout.split()) == sorted(expected)


def test_redeploy_replaced_the_auto_and_cron_entries(host, prefix, variables, before):
    image = "baton-stack/app:%s" % variables["molecule_stack_next_version"]
    for name in ("app0", "app1", "sidekiq0", "cron0"):
        attrs = inspect(host, prefix + name)
        assert attrs["Config"]["Image"] == image, name
        assert attrs["Id"] != before[prefix + name]["id"], name
        assert "GIT_REVISION=%s" % variables["molecule_stack_next_version"] in attrs["Config"]["Env"], name


def test_redeploy_left_the_manual_entries_running(host, prefix, before):
    for name in ("haproxy0", "nginx0"):
        attrs = inspect(host, prefix + name)
        assert attrs["Id"] == before[prefix + name]["id"], name
        assert attrs["State"]["StartedAt"] == before[prefix + name]["started_at"], name
        assert attrs["RestartCount"] == 0, name


def test_haproxy_balances_both_replicas(host, prefix):
    """Read through the runtime socket at its host path (the data volume, mounted in the instance)."""
    mounts = inspect(host, prefix + "lbadmin")["Mounts"]
    source = [m["Source"] for m in mounts if m["Destination"] == "/var/lib/haproxy/admin"][0]
    code = ("import socket, sys\n"
            "s = socket.socket(socket.AF_UNIX)\n"
            "s.settimeout(5)\n"
            "s.connect(sys.argv[1])\n"
            "s.sendall(b'show stat\\n')\n"
            "data = b''\n"
            "while True:\n"
            "    chunk = s.recv(65536)\n"
            "    if not chunk:\n"
            "        break\n"
            "    data += chunk\n"
            "sys.stdout.write(data.decode())\n")
    result = python(host, code, source + "/admin.sock")
    assert result.rc == 0, result.stderr
    lines = result.stdout.splitlines()
    header = lines[0].lstrip("# ").split(",")
    states = {}
    for line in lines[1:]:
        row = dict(zip(header, line.split(",")))
        if row.get("pxname") == "app" and row.get("svname") not in ("FRONTEND", "BACKEND", None):
            states[row["svname"]] = row["status"]
    assert states == {prefix + "app0": "UP", prefix + "app1": "UP"}


def test_nginx_serves_the_new_version_from_both_replicas(host, prefix, variables):
    seen = set()
    for _request in range(12):
        body = http_get(host, variables["molecule_http_port"])
        words = body.split()
        assert words[:2] == ["stack-app", variables["molecule_stack_next_version"]], body
        seen.add(words[2])
    assert seen == {prefix + "app0", prefix + "app1"}


def test_cron_file_runs_the_template(host, prefix, variables):
    cron = host.file("/etc/cron.d/baton-%s" % variables["molecule_stack_slug"])
    assert cron.is_file
    assert cron.user == "root" and cron.mode == 0o644
    lines = [line for line in cron.content_string.splitlines() if line and not line.startswith(("#", "SHELL", "PATH"))]
    assert lines == ["59 * * * * root /usr/bin/python3 %s --timeout 3600 %scron0 >>%s/%s-%scron0.log 2>&1"
                     % (RUNNER, prefix, LOG_DIR, variables["molecule_stack_slug"], prefix)]
    assert host.file(RUNNER).mode == 0o755
    assert host.file(LOG_DIR).is_directory


def test_cron_runner_runs_the_entry_by_hand(host, prefix, variables):
    result = host.run("/usr/bin/python3 %s %s", RUNNER, prefix + "cron0")
    assert result.rc == 0, result.stderr
    # the runner copies the run's output: app cron-run prints "cron-run: <version> <time> <host>"
    assert result.stdout.split()[:2] == ["cron-run:", variables["molecule_stack_next_version"]], result.stdout
    # the run wrote to the static data volume, which the worker mounts too
    log = host.run("docker exec %s cat /var/static/cron.log", prefix + "sidekiq0")
    assert log.rc == 0, log.stderr
    assert log.stdout.splitlines()[-1].split()[0] == variables["molecule_stack_next_version"]
    # and its container is gone
    left = host.run("docker ps --all --quiet --filter label=baton.cron-of=%s", prefix + "cron0")
    assert left.rc == 0 and left.stdout.strip() == ""

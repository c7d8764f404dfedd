# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What baton.docker.haproxy leaves on the instance, checked from the outside.

Expected values come from the scenario's inventory (haproxy_apps, the hosts of
each app group and their addresses) and, after the side effect, from the state
file it wrote (the host it added and the PIDs from before the reload).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import csv
import io
import json
import os
import re
import shutil
import tempfile

import pytest

testinfra_hosts = ["ansible://haproxy"]

# The role's defaults; the scenario does not override them.
BINARY = "/usr/sbin/haproxy"
CONFIG = "/etc/haproxy/haproxy.cfg"
PID_FILE = "/run/haproxy.pid"
SOCKET = "/run/haproxy/admin.sock"
STATE_FILE = "/var/lib/baton-molecule/before-reload.json"

# The runtime API is spoken by the collection's own client, HAProxyRuntime: its module_utils are copied onto the
# instance (into CLIENT_DIR, with the same package path) and run there with the instance's python3.
MODULE_UTILS = os.path.join(os.path.dirname(os.path.abspath(__file__)).rsplit(os.sep + "molecule" + os.sep, 1)[0],
                            "plugins", "module_utils")
PACKAGE = "ansible_collections/baton/docker/plugins/module_utils"
CLIENT_DIR = "/tmp/baton-molecule-client"
_API_CLIENT = """
import sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.baton.docker.plugins.module_utils._haproxy_client import HAProxyRuntime
sys.stdout.write(HAProxyRuntime(sys.argv[2]).command(sys.argv[3]))
"""

# GETs / on a frontend and prints the status code, whatever it is.
_HTTP_CLIENT = """
import http.client, sys
conn = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=10)
conn.request("GET", "/")
print(conn.getresponse().status)
"""


def client_modules(name="_haproxy_client"):
    """The module_utils file names the client needs: it and what it imports from the collection, transitively."""
    needed, todo = set(), [name]
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            with open(os.path.join(MODULE_UTILS, name + ".py")) as handle:
                todo.extend(re.findall(r"module_utils\.(\w+) import", handle.read()))
    return sorted(name + ".py" for name in needed)


@pytest.fixture(scope="module")
def runtime_client(host):
    """Puts HAProxyRuntime's module_utils on the instance (once per module)."""
    staging = tempfile.mkdtemp(prefix="baton-molecule-client.")
    try:
        os.makedirs(os.path.join(staging, PACKAGE))
        for name in client_modules():
            shutil.copy(os.path.join(MODULE_UTILS, name), os.path.join(staging, PACKAGE, name))
        host.ansible("copy", "src=%s/ansible_collections dest=%s/" % (staging, CLIENT_DIR), check=False)
    finally:
        shutil.rmtree(staging)
    return CLIENT_DIR


def runtime_api(host, command):
    """One runtime API command, sent by HAProxyRuntime on the instance; the answer text."""
    result = host.run("python3 -c %s %s %s %s", _API_CLIENT, CLIENT_DIR, SOCKET, command)
    assert result.rc == 0, result.stderr
    return result.stdout


def show_stat(host):
    text = runtime_api(host, "show stat").lstrip("# ")
    return list(csv.DictReader(io.StringIO(text)))


def process_info(host):
    """The answer to "show info" as a dict."""
    info = {}
    for line in runtime_api(host, "show info").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


def read_state(host):
    state = host.file(STATE_FILE)
    if not state.exists:
        return None
    return json.loads(state.content_string)


def master_pid(host):
    return int(host.file(PID_FILE).content_string.split()[0])


def child_pids(host, pid):
    return {int(p) for p in host.check_output("ps -o pid= --ppid %s", str(pid)).split()}


@pytest.fixture(scope="module")
def apps(host):
    return host.ansible.get_variables()["haproxy_apps"]


@pytest.fixture(scope="module")
def expected_servers(host, apps):
    """{backend: {server name: (address:port, is backup)}} from the inventory."""
    runner = host.backend.ansible_runner
    groups = host.ansible.get_variables()["groups"]
    state = read_state(host) or {}
    servers = {}
    for app in apps:
        hosts = {}
        for name in groups.get(app.get("app_group", "app"), []):
            hostvars = runner.get_variables(name)
            hosts[name] = hostvars.get("baton_app_address", hostvars.get("ansible_host", name))
        hosts.update(state.get("added_hosts", {}))
        assert hosts, "the scenario inventory has no application host for %s" % app["name"]
        backend = {}
        for name, address in hosts.items():
            backend[name + "_master"] = ("%s:%s" % (address, app.get("master_port", 50000)), False)
            backend[name + "_backup"] = ("%s:%s" % (address, app.get("backup_port", 50001)), True)
        servers[app["name"]] = backend
    return servers


def config_servers(text):
    """{backend: {server name: (address:port, is backup)}} as written in the configuration."""
    servers = {}
    section = None
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if not line[0].isspace():
            section = words[1] if words[0] == "backend" and len(words) > 1 else None
            continue
        if section and words[0] == "server":
            servers.setdefault(section, {})[words[1]] = (words[2], "backup" in words[3:])
    return servers


def test_configuration_file(host):
    config = host.file(CONFIG)
    assert config.is_file
    assert config.user == "root"
    assert config.mode == 0o640


def test_configuration_is_valid(host):
    result = host.run("%s -c -f %s", BINARY, CONFIG)
    assert result.rc == 0, result.stdout + result.stderr


def test_configuration_has_master_and_backup_per_host(host, expected_servers):
    written = config_servers(host.file(CONFIG).content_string)
    assert written == expected_servers


def test_master_process_runs(host):
    pid = master_pid(host)
    assert host.file("/proc/%d/exe" % pid).linked_to == BINARY
    argv = host.file("/proc/%d/cmdline" % pid).content_string.split("\0")
    assert "-W" in argv
    assert CONFIG in argv
    workers = child_pids(host, pid)
    assert workers, "the master has no worker"
    for worker in workers:
        assert host.file("/proc/%d/exe" % worker).linked_to == BINARY


def test_runtime_api_socket(host):
    sock = host.file(SOCKET)
    assert sock.is_socket
    assert sock.user == "root"
    assert sock.mode == 0o600


def test_runtime_api_is_answered_by_the_current_worker(host, runtime_client):
    info = process_info(host)
    assert info["Name"] == "HAProxy"
    # The worker of the current master answers.
    assert int(info["Pid"]) in child_pids(host, master_pid(host))


def test_runtime_api_lists_the_servers(host, runtime_client, expected_servers):
    rows = show_stat(host)
    for backend, servers in expected_servers.items():
        live = {r["svname"]: r for r in rows if r["pxname"] == backend and r["svname"] not in ("FRONTEND", "BACKEND")}
        assert sorted(live) == sorted(servers)
        for name, (address, backup) in servers.items():
            assert live[name]["bck"] == ("1" if backup else "0"), name
            assert live[name]["check_status"] != "", name


def test_frontends_listen_and_answer(host, apps):
    for app in apps:
        address, _sep, port = app["bind"].rpartition(":")
        listen = "0.0.0.0" if address in ("*", "") else address
        assert host.socket("tcp://%s:%s" % (listen, port)).is_listening
        # No application runs behind the fake hosts: HAProxy itself answers 503.
        target = "127.0.0.1" if listen == "0.0.0.0" else listen
        status = host.check_output("python3 -c %s %s %s", _HTTP_CLIENT, target, port)
        assert status.strip() == "503"


def test_added_host_reloads_without_restart(host, runtime_client):
    state = read_state(host)
    if state is None:
        pytest.skip("the side effect (a third application host) has not run")
    pid = master_pid(host)
    assert pid == state["master_pid"], "the master process was restarted instead of reloaded"
    worker = int(process_info(host)["Pid"])
    assert worker not in state["worker_pids"], "the old worker still answers the runtime API"
    names = {r["svname"] for r in show_stat(host)}
    for added in state["added_hosts"]:
        assert added + "_master" in names
        assert added + "_backup" in names

"""A whole local deployment site for rollout tests: HAProxy (through the haproxy role) and
application hosts on this machine, with their own ports, socket, state directory and
container names, torn down by PID and by label."""

import csv
import io
import os
import signal
import sys
import time
import urllib.request
import uuid

import docker

from bench.loadgen import under_load as _under_load

from .ansible import ROOT, run_playbook
from .haproxy import ensure_ports_free, runtime_command
from .net import free_port

IMAGE = "baton-demo/app"


class Site:
    def __init__(self, workdir, app_hosts=("app1",), staging_hosts=(), extra_vars=None):
        self.workdir = str(workdir)
        self.app = "it%s" % uuid.uuid4().hex[:8]
        self.frontend_port = free_port()
        self.socket = os.path.join(self.workdir, "run", "haproxy.sock")
        self.pid_file = os.path.join(self.workdir, "run", "haproxy.pid")
        self.state_dir = os.path.join(self.workdir, "state")
        self.hosts = {}
        for name in list(staging_hosts) + list(app_hosts):
            # Each inventory host is this machine; distinct slot names and ports keep them apart.
            self.hosts[name] = {"master": free_port(), "backup": free_port()}
        self.staging = list(staging_hosts)
        self.production = list(app_hosts)
        self.extra_vars = dict(extra_vars or {})
        self.docker = docker.from_env()

    # -- inventory --------------------------------------------------------------------------
    def host_vars(self, name):
        ports = self.hosts[name]
        return {
            "baton_app_address": "127.0.0.1",
            "rollout_app": "%s-%s" % (self.app, name),
            "rollout_haproxy_backend": self.app,
            "rollout_master_port": ports["master"],
            "rollout_backup_port": ports["backup"],
        }

    def inventory(self):
        common = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "rollout_image": IMAGE,
            "rollout_container_port": 8000,
            "rollout_bind_address": "127.0.0.1",
            "rollout_labels": {"baton.test": "1", "baton.site": self.app},
            "rollout_haproxy_socket": self.socket,
            "rollout_state_dir": self.state_dir,
            "rollout_health_retries": 40,
            "rollout_drain_timeout": 20,
            "rollout_up_timeout": 20,
            "haproxy_install": False,
            "haproxy_service_manager": "process",
            "haproxy_config_path": os.path.join(self.workdir, "etc", "haproxy.cfg"),
            "haproxy_state_file": os.path.join(self.workdir, "lib", "server-state"),
            "haproxy_pid_file": self.pid_file,
            "haproxy_socket_path": self.socket,
            "haproxy_check_interval": "300ms",
            "haproxy_apps": [{"name": self.app, "bind": "127.0.0.1:%d" % self.frontend_port,
                              "app_group": "app", "health_path": "/health"}],
        }
        staging = {n: self.host_vars(n) for n in self.staging}
        production = {n: self.host_vars(n) for n in self.production}
        return {"all": {
            "vars": common,
            "children": {
                "lb": {"hosts": {"lb": {}}},
                "app": {"children": {"staging": {"hosts": staging}, "production": {"hosts": production}}},
            }}}

    # -- actions ------------------------------------------------------------------------------
    def playbook(self, name, check=False, diff=False, extra_vars=None, inventory=None, **kwargs):
        variables = dict(self.extra_vars)
        variables.update(extra_vars or {})
        return run_playbook(os.path.join(ROOT, "playbooks", name), extra_vars=variables,
                            inventory=inventory or self.inventory(), check=check, diff=diff, **kwargs)

    def setup_lb(self):
        ensure_ports_free([self.frontend_port])
        run = self.playbook("lb.yml")
        assert run.rc == 0, run.output[-3000:]
        return run

    def deploy(self, version, extra_vars=None, **kwargs):
        variables = dict(extra_vars or {}, version=version)
        return self.playbook("deploy.yml", extra_vars=variables, **kwargs)

    # -- observations -----------------------------------------------------------------------
    def slot_name(self, host, role):
        return "%s-%s-%s" % (self.app, host, role)

    def container(self, host, role):
        try:
            return self.docker.containers.get(self.slot_name(host, role))
        except docker.errors.NotFound:
            return None

    def version_on(self, port):
        with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=5) as resp:
            return resp.read().decode().split()[1]

    def slot_version(self, host, role):
        return self.version_on(self.hosts[host][role])

    def frontend_version(self):
        return self.version_on(self.frontend_port)

    def server_stats(self):
        """show stat rows of this site's backend, by server name, read with an independent client."""
        text = runtime_command(self.socket, "show stat")
        rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
        return {r["svname"]: r for r in rows if r["pxname"] == self.app and r["svname"] != "BACKEND"}

    def wait_all_up(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            stats = self.server_stats()
            if all(s["status"] == "UP" for n, s in stats.items() if n != "FRONTEND"):
                return stats
            time.sleep(0.2)
        raise AssertionError("servers not all UP: %s" % {n: s["status"] for n, s in self.server_stats().items()})

    def containers(self):
        return self.docker.containers.list(all=True, filters={"label": "baton.site=%s" % self.app})

    def record(self, host):
        import json
        path = os.path.join(self.state_dir, "%s-%s.json" % (self.app, host))
        with open(path) as handle:
            return json.load(handle)

    # -- teardown -----------------------------------------------------------------------------
    def teardown(self):
        try:
            pid = int(open(self.pid_file).read().split()[0])
            if os.path.basename(os.readlink("/proc/%d/exe" % pid)).startswith("haproxy"):
                os.kill(pid, signal.SIGTERM)
                for _attempt in range(50):
                    if not os.path.exists("/proc/%d" % pid):
                        break
                    time.sleep(0.1)
        except (OSError, ValueError, IndexError):
            pass
        for container in self.containers():
            container.remove(force=True)
        for name in list(self.hosts):
            for role in ("master", "backup"):
                for suffix in ("", ".baton-previous"):
                    try:
                        self.docker.containers.get(self.slot_name(name, role) + suffix).remove(force=True)
                    except docker.errors.NotFound:
                        pass


def under_load(site, action):
    """``action()`` under 4 connections of paced load through the site's HAProxy: (its outcome, the load summary)."""
    return _under_load(["http://127.0.0.1:%d/" % site.frontend_port], action)

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
    def __init__(self, workdir, app_hosts=("app1",), staging_hosts=(), extra_vars=None, load_balancers=1):
        """``load_balancers``: how many HAProxy instances (lb0, lb1, ...: each its own config, socket and frontend
        port) every application host's rollout drives; the first is ``frontend_port``/``socket``/``pid_file``."""
        self.workdir = str(workdir)
        self.app = "it%s" % uuid.uuid4().hex[:8]
        self.frontend_ports = [free_port() for _index in range(load_balancers)]
        self.sockets = [os.path.join(self.workdir, "run", "haproxy%s.sock" % self._suffix(i)) for i in range(load_balancers)]
        self.pid_files = [os.path.join(self.workdir, "run", "haproxy%s.pid" % self._suffix(i)) for i in range(load_balancers)]
        self.frontend_port, self.socket, self.pid_file = self.frontend_ports[0], self.sockets[0], self.pid_files[0]
        self.state_dir = os.path.join(self.workdir, "state")
        self.hosts = {}
        for name in list(staging_hosts) + list(app_hosts):
            # Each inventory host is this machine; distinct slot names and ports keep them apart.
            self.hosts[name] = {"master": free_port(), "backup": free_port()}
        self.staging = list(staging_hosts)
        self.production = list(app_hosts)
        self.extra_vars = dict(extra_vars or {})
        self.docker = docker.from_env()

    @staticmethod
    def _suffix(index):
        return "" if index == 0 else str(index)

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
            # The rollout's own probe of /health is the slots' health: the image's Docker HEALTHCHECK (a python3
            # exec every 2 s, 2 s timeout) times out on a busy host, and the planner does not count a container the
            # engine calls unhealthy as a serving peer.
            "rollout_healthcheck": {"test": ["NONE"]},
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
        lbs = {"lb": {}}
        if len(self.sockets) > 1:
            common["rollout_load_balancers"] = [{"socket": path} for path in self.sockets]
            lbs = {}
            for index, port in enumerate(self.frontend_ports):
                suffix = self._suffix(index)
                lbs["lb%d" % index] = {
                    "haproxy_config_path": os.path.join(self.workdir, "etc", "haproxy%s.cfg" % suffix),
                    "haproxy_state_file": os.path.join(self.workdir, "lib", "server-state%s" % suffix),
                    "haproxy_pid_file": self.pid_files[index], "haproxy_socket_path": self.sockets[index],
                    "haproxy_apps": [dict(common["haproxy_apps"][0], bind="127.0.0.1:%d" % port)]}
        return {"all": {
            "vars": common,
            "children": {
                "lb": {"hosts": lbs},
                "app": {"children": {"staging": {"hosts": staging}, "production": {"hosts": production}}},
            }}}

    # -- actions ------------------------------------------------------------------------------
    def playbook(self, name, check=False, diff=False, extra_vars=None, inventory=None, **kwargs):
        variables = dict(self.extra_vars)
        variables.update(extra_vars or {})
        return run_playbook(os.path.join(ROOT, "playbooks", name), extra_vars=variables,
                            inventory=inventory or self.inventory(), check=check, diff=diff, **kwargs)

    def setup_lb(self):
        ensure_ports_free(self.frontend_ports)
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

    def server_stats(self, socket=None):
        """show stat rows of this site's backend, by server name, read with an independent client (from the first
        load balancer, or the one at ``socket``)."""
        text = runtime_command(socket or self.socket, "show stat")
        rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
        return {r["svname"]: r for r in rows if r["pxname"] == self.app and r["svname"] != "BACKEND"}

    def wait_all_up(self, timeout=20):
        """Wait until every server is UP on every load balancer; return the first one's stats."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            views = [self.server_stats(socket) for socket in self.sockets]
            if all(s["status"] == "UP" for stats in views for n, s in stats.items() if n != "FRONTEND"):
                return views[0]
            time.sleep(0.2)
        raise AssertionError("servers not all UP: %s" % [{n: s["status"] for n, s in self.server_stats(socket).items()}
                                                         for socket in self.sockets])

    def containers(self):
        return self.docker.containers.list(all=True, filters={"label": "baton.site=%s" % self.app})

    def record(self, host):
        import json
        path = os.path.join(self.state_dir, "%s-%s.json" % (self.app, host))
        with open(path) as handle:
            return json.load(handle)

    # -- teardown -----------------------------------------------------------------------------
    def teardown(self):
        for pid_file in self.pid_files:
            try:
                pid = int(open(pid_file).read().split()[0])
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
    """``action()`` under 4 connections of paced load through each of the site's HAProxy instances: (its outcome, the
    load summary)."""
    return _under_load(["http://127.0.0.1:%d/" % port for port in site.frontend_ports], action)

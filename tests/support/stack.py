"""A whole example stack on this machine for the stack tests and the benchmark: seed 000's stack
(data volumes, app x N behind a containerised HAProxy, cron, worker, nginx, log forwarder) with
its own names, port, cron file and labels, deployed with playbooks/stack.yml and torn down by label."""

import http.server
import json
import os
import sys
import threading
import time
import urllib.request
import uuid

import docker

from . import secrets
from .ansible import ROOT, run_playbook
from .net import free_port

PLAYBOOK = os.path.join(ROOT, "playbooks", "stack.yml")
APP_IMAGE = "baton-stack/app"
ODD_VALUE = "it's \"quoted\" 100% $(touch /tmp/pwned) `id` ${HOME}\nsecond line  "
DATABASE = {"adapter": "postgresql", "database": "amazing", "host": "db.internal", "port": 5432,
            "username": "amazing", "password": secrets.DB_PASSWORD}


class StackSite:
    def __init__(self, workdir, counts=None):
        self.workdir = str(workdir)
        tag = uuid.uuid4().hex[:6]
        self.prefix = "bt%s-" % tag
        self.name = "IT Stack %s" % tag
        self.slug = "it-stack-%s" % tag
        self.http_port = free_port()
        self.version = "v1"
        self.counts = dict(app=2, sidekiq=1)
        self.counts.update(counts or {})
        self.dropped = set()
        self.migration = "app migrate"
        # the image's health probe is a process started by docker exec, which can take seconds on a busy
        # engine: a healthy replica is given the image's whole start period
        self.startup_time = 60
        self.extra = {}
        self.docker = docker.from_env()
        for sub in ("bin", "cron.d", "log"):
            os.makedirs(os.path.join(self.workdir, sub), exist_ok=True)

    def volume(self, name):
        return self.prefix + name

    def entries(self):
        p = self.prefix
        app_env = {"RANDOM_VAR": "foo", "RACK_ENV": "production", "GIT_REVISION": self.version, "ODD": ODD_VALUE,
                   "APP_MIGRATIONS_FILE": "/var/static/migrations.log"}
        entries = [
            ("app", {
                "deploy": "auto", "image": APP_IMAGE, "tag": self.version, "database": True,
                "containers": self.counts["app"], "volumes_from": [p + "socks", p + "static"],
                "entrypoint": "/app/bin/entrypoint",
                "command": "app serve --listen unix:/var/lib/haproxy/socks/%{app_name}.sock",
                "migration": self.migration, "startup_time": self.startup_time, "stop_timeout": 10, "env": app_env,
                "haproxy": {"backend": "app"},
                "notifications": {"rollbar": {"access_token": self.extra.get("rollbar_token", ""),
                                              "env_var": "RACK_ENV", "rev_var": "GIT_REVISION"}}}),
            ("cron", {
                "deploy": "cron", "image": APP_IMAGE, "tag": self.version, "database": True, "containers": 1,
                "env_from": "app", "volumes_from": [p + "static"], "command": "app cron-run",
                "cron": {"minute": 59}}),
            ("sidekiq", {
                "deploy": "auto", "image": APP_IMAGE, "tag": self.version, "database": True,
                "containers": self.counts["sidekiq"], "env_from": "app", "volumes_from": [p + "static"],
                "command": "app worker", "stop_timeout": 10}),
            ("haproxy", {
                "deploy": "manual", "hostname": "opsworks", "image": "baton-stack/haproxy",
                "volumes_from": [p + "socks", p + "lbadmin"],
                "env": {"HAPROXY_SERVERS": " ".join("%sapp%d" % (p, i) for i in range(4))}}),
            ("nginx", {
                "deploy": "manual", "image": "baton-stack/nginx", "ports": ["127.0.0.1:%d:80" % self.http_port],
                "volumes_from": [p + "socks", p + "static"]}),
            ("logspout", {
                "deploy": "manual", "hostname": "%{opsworks}", "image": "baton-stack/logforwarder",
                "volumes": ["/var/run/docker.sock:/tmp/docker.sock"], "command": "syslog://127.0.0.1:514"}),
        ]
        return [{name: spec} for name, spec in entries if name not in self.dropped]

    def document(self):
        p = self.prefix
        return {
            "logrotate": {"forwarder": p + "logspout0"},
            "deploy": {self.name: {
                "data_volumes": [{p + "socks": {"volumes": ["/var/run", "/var/lib/haproxy/socks"]},
                                  p + "static": {"volumes": ["/var/static"]},
                                  p + "lbadmin": {"volumes": ["/var/lib/haproxy/admin"]}}],
                "containers": self.entries(),
            }},
            "docker": {"registries": {}},
        }

    def extra_vars(self, **more):
        values = {
            "baton_stack": self.document(),
            "deploy_container_prefix": self.prefix,
            "deploy_database": DATABASE,
            "deploy_haproxy_socket": self.prefix + "lbadmin:/var/lib/haproxy/admin/admin.sock",
            "deploy_cron_runner": os.path.join(self.workdir, "bin", "baton-stack-cron"),
            "deploy_cron_file": os.path.join(self.workdir, "cron.d", self.slug),
            "deploy_cron_log_dir": os.path.join(self.workdir, "log"),
            "deploy_state_dir": os.path.join(self.workdir, "state"),
            "deploy_health_interval": 0.2,
            "deploy_cron_backend": "cron",
            "data_volumes_image": "baton-base/busybox:latest",
            "data_volumes_labels": {"baton.test": "1", "baton.stack": self.slug},
            "stack_install": False,
            "stack_logrotate": False,
        }
        values.update(self.extra.get("vars", {}))
        values.update(more)
        return values

    def deploy(self, version=None, check=False, diff=False, args=(), **more):
        if version:
            self.version = version
        return run_playbook(PLAYBOOK, extra_vars=self.extra_vars(**more), inventory=_inventory(),
                            check=check, diff=diff, args=args, timeout=600)

    # -- reading the result back ---------------------------------------------------------------
    def containers(self, data=False):
        """The stack's containers by name (its data containers only with data=True)."""
        found = self.docker.containers.list(all=True, filters={"label": "baton.stack=%s" % self.slug})
        return dict((c.name, c) for c in found if data or c.labels.get("baton.kind") != "data")

    def ids(self):
        return dict((name, c.id) for name, c in self.containers().items())

    def started_at(self, name):
        return self.docker.api.inspect_container(name)["State"]["StartedAt"]

    def get(self, path="/", timeout=5):
        url = "http://127.0.0.1:%d%s" % (self.http_port, path)
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()

    def wait_serving(self, timeout=30):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                status, body = self.get()
                if status == 200:
                    return body
            except OSError as exc:
                last = exc
            time.sleep(0.2)
        raise AssertionError("the stack does not serve on port %d: %s" % (self.http_port, last))

    def exec_in(self, name, argv):
        code, output = self.docker.containers.get(name).exec_run(argv)
        return code, output.decode()

    def read_static(self, path):
        """A file of the static data volume, read through the running worker."""
        code, output = self.exec_in(self.prefix + "sidekiq0", ["cat", path])
        return output if code == 0 else None

    def haproxy_states(self):
        """{server: status} of the app backend, from the HAProxy admin socket in its data volume."""
        code, output = self.exec_in(self.prefix + "haproxy0", [
            "python3", "-c",
            "import socket,sys;s=socket.socket(socket.AF_UNIX);s.connect('/var/lib/haproxy/admin/admin.sock');"
            "s.sendall(b'show stat\\n');d=b''\n"
            "while True:\n c=s.recv(65536)\n if not c: break\n d+=c\nsys.stdout.write(d.decode())"])
        assert code == 0, output
        header = output.splitlines()[0].lstrip("# ").split(",")
        states = {}
        for line in output.splitlines()[1:]:
            row = dict(zip(header, line.split(",")))
            if row.get("pxname") == "app" and row.get("svname") not in ("FRONTEND", "BACKEND", None):
                states[row["svname"]] = row["status"]
        return states

    def teardown(self):
        for container in self.containers(data=True).values():
            try:
                container.remove(force=True, v=True)
            except docker.errors.APIError:
                pass
        for name in ("socks", "static", "lbadmin"):
            try:
                self.docker.containers.get(self.volume(name)).remove(force=True, v=True)
            except docker.errors.NotFound:
                pass
        for container in self.docker.containers.list(all=True, filters={"label": "baton.oneoff=true"}):
            if container.labels.get("baton.stack") == self.slug:
                container.remove(force=True, v=True)


def _inventory():
    return {"all": {"children": {"docker": {"hosts": {"stack-local": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}}}


class Recorder:
    """A local HTTP endpoint that records the POSTs it gets (Rollbar and webhook stand-in)."""

    def __init__(self):
        self.requests = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                recorder.requests.append({"path": self.path, "headers": dict(self.headers.items()),
                                          "body": json.loads(body.decode() or "null")})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"err": 0}')

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def close(self):
        self.server.shutdown()
        self.server.server_close()

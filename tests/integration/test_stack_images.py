"""The images of the example stack (demo/stack), wired together as the stack JSON does.

Two data containers (socks: HAProxy's sockets and runtime API; static), two
application replicas serving on unix sockets in the socks volume, HAProxy in
front of them, nginx published on 127.0.0.1, and the log forwarder.
Images: `bash scripts/build_stack_images.sh` (cached; scripts/build_images.sh runs it).
"""

import http.client
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest

from ansible_collections.baton.docker.plugins.module_utils._haproxy_client import HAProxyRuntime
from tests.support.net import bridge_gateway, free_port

IMAGES = (
    "baton-base/busybox:latest",
    "baton-stack/app:v1",
    "baton-stack/app:broken",
    "baton-stack/haproxy:latest",
    "baton-stack/nginx:latest",
    "baton-stack/logforwarder:latest",
)
SOCKS = "/var/lib/haproxy/socks"
ADMIN = "/var/lib/haproxy/admin"
STATIC = "/var/static"


def wait_until(what, probe, timeout=30.0, interval=0.2):
    """Call probe() until it returns something truthy; bounded in time."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.0fs waiting for %s (last: %r)" % (timeout, what, last))


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        http.client.HTTPConnection.__init__(self, "localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class Stack:
    """Creates the containers of one test run and removes every one of them."""

    def __init__(self, client):
        self.client = client
        self.prefix = "baton-it-stackimg-%s-" % uuid.uuid4().hex[:6]
        self.labels = {"baton.test": "1", "baton.test.run": self.prefix}
        # Volume paths are long (/var/lib/docker/volumes/<64 hex>/_data/...) and a unix
        # socket path must stay under 108 bytes: reach the sockets through short links.
        self.links = tempfile.mkdtemp(prefix="bstk")

    def name(self, short):
        return self.prefix + short

    def create_data(self, short, volumes):
        return self.client.containers.create(
            "baton-base/busybox:latest", command=["true"], name=self.name(short),
            volumes=list(volumes), labels=self.labels)

    def run(self, image, short, **kwargs):
        kwargs.setdefault("volumes_from", [self.name("socks"), self.name("static")])
        return self.client.containers.run(image, name=self.name(short), detach=True, labels=self.labels, **kwargs)

    def mount_source(self, short, destination):
        """A short host path (a link) to the volume of data container `short` at `destination`."""
        container = self.client.containers.get(self.name(short))
        for mount in container.attrs["Mounts"]:
            if mount["Destination"] == destination:
                link = os.path.join(self.links, os.path.basename(destination))
                os.symlink(mount["Source"], link)
                return link
        raise AssertionError("%s has no mount at %s" % (short, destination))

    def health(self, container):
        container.reload()
        return (container.attrs["State"].get("Health") or {}).get("Status")

    def teardown(self):
        for container in self.client.containers.list(all=True, filters={"label": "baton.test.run=" + self.prefix}):
            try:
                container.remove(force=True, v=True)
            except Exception:  # pylint: disable=broad-except  # already gone
                pass
        shutil.rmtree(self.links, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(docker_client):
    missing = [image for image in IMAGES if not docker_client.images.list(name=image)]
    if missing:
        pytest.fail("images missing: %s; run `bash scripts/build_stack_images.sh`" % ", ".join(missing))
    s = Stack(docker_client)
    try:
        s.create_data("socks", [SOCKS, ADMIN])
        s.create_data("static", [STATIC])
        for replica in ("app0", "app1"):
            s.run("baton-stack/app:v1", replica, command=["app", "serve", "--listen", "unix:%s/%s.sock" % (SOCKS, replica)])
        s.run("baton-stack/haproxy:latest", "haproxy", volumes_from=[s.name("socks")],
              environment={"HAPROXY_SERVERS": "app0 app1"})
        s.web_port = free_port()
        s.run("baton-stack/nginx:latest", "nginx", ports={"80/tcp": ("127.0.0.1", s.web_port)})
        s.socks_dir = s.mount_source("socks", SOCKS)
        s.admin_dir = s.mount_source("socks", ADMIN)
        s.static_dir = s.mount_source("static", STATIC)
        yield s
    finally:
        s.teardown()


def read_text(path):
    """The text of a file, or None when it does not exist."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None


def get(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except (OSError, http.client.HTTPException) as exc:
        return None, str(exc)


def test_requests_through_nginx_reach_both_replicas(stack):
    seen = {}

    def both_seen():
        status, body = get(stack.web_port, "/")
        if status == 200:
            seen[body.strip()] = seen.get(body.strip(), 0) + 1
        return len(seen) >= 2

    wait_until("answers of app0 and app1 through nginx", both_seen, timeout=30)
    assert set(seen) == {"stack-app v1 app0", "stack-app v1 app1"}


def test_nginx_serves_static_files_from_the_static_volume(stack, docker_client):
    migrate = docker_client.containers.run(
        "baton-stack/app:v1", ["app", "migrate"], name=stack.name("migrate"), detach=True,
        labels=stack.labels, volumes_from=[stack.name("static")])
    assert migrate.wait(timeout=30)["StatusCode"] == 0
    assert "migrating to v1" in migrate.logs(stdout=True, stderr=False).decode()

    status, body = get(stack.web_port, "/static/migrations.log")
    assert (status, body) == (200, "v1\n")


def test_healthcheck_healthy_for_v1_unhealthy_for_broken_and_neutral_for_workers(stack, docker_client):
    app0 = docker_client.containers.get(stack.name("app0"))
    # The image's start period (60 s) hides failures while a server boots; a short one shows the verdict.
    broken = stack.run("baton-stack/app:broken", "appbroken",
                       command=["app", "serve", "--listen", "unix:%s/appbroken.sock" % SOCKS],
                       healthcheck={"test": ["CMD", "app", "ping"], "interval": 10 ** 9, "timeout": 2 * 10 ** 9,
                                    "retries": 2, "start_period": 10 ** 9})
    worker = stack.run("baton-stack/app:v1", "worker", command=["app", "worker"])

    wait_until("app0 healthy", lambda: stack.health(app0) == "healthy")
    wait_until("the broken replica unhealthy", lambda: stack.health(broken) == "unhealthy")
    wait_until("the worker healthy", lambda: stack.health(worker) == "healthy")
    # The broken build answers 500 on /ping, which is why it is unhealthy.
    conn = UnixHTTPConnection(os.path.join(stack.socks_dir, "appbroken.sock"))
    conn.request("GET", "/ping")
    assert conn.getresponse().status == 500
    conn.close()


def test_haproxy_admin_socket_answers_show_stat_from_the_host(stack):
    path = os.path.join(stack.admin_dir, "admin.sock")
    wait_until("the admin socket", lambda: os.path.exists(path), timeout=15)

    def both_up():
        status = {row["svname"]: row["status"] for row in HAProxyRuntime(path).show_stat() if row["pxname"] == "app"}
        return status if status.get("app0") == "UP" and status.get("app1") == "UP" else None

    status = wait_until("app0 and app1 UP in show stat", both_up, timeout=20)
    assert set(status) == {"BACKEND", "app0", "app1"}


def test_sigterm_on_a_replica_finishes_the_request_in_flight_and_removes_its_socket(stack):
    replica = stack.run("baton-stack/app:v1", "app2", environment={"APP_SLOW_MS": "1500"},
                        command=["app", "serve", "--listen", "unix:%s/app2.sock" % SOCKS])
    sock_path = os.path.join(stack.socks_dir, "app2.sock")
    wait_until("app2's socket", lambda: os.path.exists(sock_path), timeout=15)
    assert os.stat(sock_path).st_mode & 0o777 == 0o666

    answer = {}
    started = threading.Event()

    def slow_request():
        conn = UnixHTTPConnection(sock_path)
        try:
            conn.request("GET", "/slow")
            started.set()
            resp = conn.getresponse()
            answer["status"], answer["body"] = resp.status, resp.read().decode()
        except (OSError, http.client.HTTPException) as exc:
            answer["error"] = repr(exc)
        finally:
            started.set()
            conn.close()

    thread = threading.Thread(target=slow_request)
    thread.start()
    started.wait(5)
    time.sleep(0.3)  # the request has reached the server and sleeps there
    replica.kill(signal="SIGTERM")
    assert replica.wait(timeout=20)["StatusCode"] == 0
    thread.join(10)

    assert answer == {"status": 200, "body": "stack-app v1 app2\n"}
    assert not os.path.exists(sock_path)
    logs = replica.logs().decode()
    assert "stopping, no new connections" in logs


def test_failed_migration_exits_3_with_its_message_and_writes_nothing(stack, docker_client):
    log_path = os.path.join(stack.static_dir, "migrations.log")
    before = read_text(log_path)
    migrate = docker_client.containers.run(
        "baton-stack/app:v1", ["app", "migrate", "--fail", "boom"], name=stack.name("migrate-fail"), detach=True,
        labels=stack.labels, volumes_from=[stack.name("static")])
    assert migrate.wait(timeout=30)["StatusCode"] == 3
    assert migrate.logs(stdout=False, stderr=True).decode().strip() == "boom"
    after = read_text(log_path)
    assert after == before


def test_worker_stops_gracefully_on_sigterm(stack):
    worker = stack.run("baton-stack/app:v1", "sidekiq0", command=["app", "worker"],
                       environment={"APP_WORKER_FILE": "%s/sidekiq0.beat" % STATIC})
    beat = os.path.join(stack.static_dir, "sidekiq0.beat")
    wait_until("a worker heartbeat", lambda: (read_text(beat) or "").startswith("v1 "), timeout=15)
    worker.kill(signal="SIGTERM")
    assert worker.wait(timeout=20)["StatusCode"] == 0
    assert "worker stopping gracefully" in worker.logs().decode()


def test_haproxy_and_nginx_exit_0_on_sigterm(stack):
    haproxy = stack.run("baton-stack/haproxy:latest", "haproxy-stop", volumes_from=[],
                        environment={"HAPROXY_SERVERS": "app0", "HAPROXY_SOCKS_DIR": "/tmp/socks",
                                     "HAPROXY_ADMIN_DIR": "/tmp/admin"})
    nginx = stack.run("baton-stack/nginx:latest", "nginx-stop")
    wait_until("haproxy running", lambda: "servers: app0" in haproxy.logs().decode(), timeout=15)
    wait_until("nginx running", lambda: nginx.exec_run(["test", "-s", "/run/nginx.pid"]).exit_code == 0, timeout=15)
    haproxy.kill(signal="SIGTERM")
    nginx.kill(signal="SIGTERM")
    assert haproxy.wait(timeout=20)["StatusCode"] == 0
    assert nginx.wait(timeout=20)["StatusCode"] == 0


def test_forwarder_sends_container_lines_to_a_syslog_listener_on_the_bridge(stack, docker_client):
    gateway = bridge_gateway(docker_client)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind((gateway, 0))
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        forwarder = stack.run("baton-stack/logforwarder:latest", "logspout0", volumes_from=[],
                              command=["syslog://%s:%d" % (gateway, port)],
                              volumes=["/var/run/docker.sock:/tmp/docker.sock:ro"])
        marker = "marker-" + uuid.uuid4().hex[:8]
        talker = stack.run("baton-base/busybox:latest", "talker", volumes_from=[],
                           command=["sh", "-c", "i=0; while [ $i -lt 100 ]; do echo %s $i; i=$((i+1)); sleep 0.2; done" % marker])

        def received():
            try:
                data = listener.recv(65536).decode(errors="replace")
            except socket.timeout:
                return None
            return data if marker in data else None

        datagram = wait_until("a forwarded line", received, timeout=30, interval=0)
    assert re.match(r"<14>1 \S+ \S+ %s %s - - %s \d+$" % (re.escape(talker.name), talker.id[:12], marker), datagram), datagram
    forwarder.kill(signal="SIGTERM")
    assert forwarder.wait(timeout=20)["StatusCode"] == 0

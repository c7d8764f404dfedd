"""A lab for rollout tests at module level: one application host's master and backup slots (on the default engine, or
on one a test started) behind TWO real HAProxy instances, one driven over its unix socket and one over TCP (TLS with
client certificates when asked), with paced load spread over both. Used by the integration and fault suites."""

import fcntl
import os
import signal
import time
import uuid

import docker
import pytest

from bench.loadgen import LoadGenerator
from bench.loadgen import under_load as _under_load
from tests.support import secrets
from tests.support.ansible import run_playbook
from tests.support.haproxy import HAProxyProcess, StateSampler, render_config
from tests.support.net import free_port

IMAGE = "baton-demo/app"
TASK = "roll out"


class Lab:
    """One application host (master + backup slots on this engine) behind two HAProxy instances."""

    def __init__(self, workdir, tls=None, docker_host=None):
        """``tls``: a CertificateAuthority; the second load balancer then serves its runtime API over TLS and verifies clients.
        ``docker_host``: the engine the slots run on (the default engine when None)."""
        self.workdir = str(workdir)
        self.app = "rm%s" % uuid.uuid4().hex[:8]
        self.ports = {"master": free_port(), "backup": free_port()}
        self.state_dir = os.path.join(self.workdir, "state")
        self.docker_host = docker_host
        self.docker = docker.DockerClient(base_url=docker_host) if docker_host else docker.from_env()
        self.lbs = []
        for index in range(2):
            lbdir = os.path.join(self.workdir, "lb%d" % index)
            os.makedirs(lbdir)
            tcp = free_port() if index == 1 else None
            servers = [dict(name="h_master", port=self.ports["master"], check=True),
                       dict(name="h_backup", port=self.ports["backup"], check=True, options="backup")]
            admin = os.path.join(lbdir, "admin.sock")
            extra = ""
            if tcp and tls:
                # HAProxy's own TLS in front of its runtime API: clients must show a certificate of the CA.
                pem = tls.issue("lb%d" % index, "serverAuth", "IP:127.0.0.1")[2]
                extra = ("listen runtime-api\n    mode tcp\n    bind 127.0.0.1:%d ssl crt %s ca-file %s verify required\n"
                         "    server cli unix@%s\n" % (tcp, pem, tls.ca, admin))
            config = render_config(free_port(), servers, admin, tcp_socket_port=None if extra else tcp, extra=extra,
                                   backend=self.app, check_inter="300ms")
            frontend = int(config.split("bind 127.0.0.1:")[1].split()[0])
            proc = HAProxyProcess(lbdir, config).start()
            endpoint = "127.0.0.1:%d" % tcp if tcp else os.path.join(lbdir, "admin.sock")
            self.lbs.append(dict(proc=proc, frontend=frontend, endpoint=endpoint, socket=proc.socket_path))

    def slot(self, role):
        return "%s-%s" % (self.app, role)

    def args(self, version, **more):
        units = []
        for role in ("master", "backup"):
            port = self.ports[role]
            units.append(dict(name=self.slot(role), server="h_%s" % role, container=dict(
                ports=["127.0.0.1:%d:8000" % port], labels={"baton.test": "1", "baton.site": self.app},
                health=dict(url="http://127.0.0.1:%d/health" % port))))
        args = dict(app=self.app, image="%s:%s" % (IMAGE, version), state_dir=self.state_dir, units=units,
                    # the image's Docker HEALTHCHECK is off, as in the site (tests/support/site.py)
                    container=dict(stop_timeout=5, health=dict(interval=0.2, retries=150),
                                   healthcheck=dict(test=["NONE"])),
                    secret_env={"APP_TOKEN": secrets.LAB_SECRET_ENV},
                    load_balancers=[dict(socket=lb["endpoint"]) for lb in self.lbs],
                    drain_timeout=20, up_timeout=20, lock_timeout=5)
        if self.docker_host:
            args["docker_host"] = self.docker_host
        args.update(more)
        return args

    def play(self, version, **more):
        return [{"hosts": "localhost", "gather_facts": False,
                 "tasks": [{"name": TASK, "baton.docker.rollout": self.args(version, **more)}]}]

    def rollout(self, version, check=False, diff=False, **more):
        run = run_playbook(self.play(version, **more), check=check, diff=diff)
        results = run.results(TASK)
        return (results[-1]["result"] if results else {}), run

    def container(self, role):
        try:
            return self.docker.containers.get(self.slot(role))
        except docker.errors.NotFound:
            return None

    def version(self, role):
        import urllib.request
        with urllib.request.urlopen("http://127.0.0.1:%d/" % self.ports[role], timeout=5) as resp:
            return resp.read().decode().split()[1]

    def states(self):
        """Per load balancer, per server: its show stat status, read with an independent client."""
        reader = StateSampler([lb["socket"] for lb in self.lbs], self.app, ("h_master", "h_backup"))
        return [reader.read(index) for index in range(len(self.lbs))]

    def wait_all_up(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(set(row.values()) == {"UP"} and len(row) == 2 for row in self.states()):
                return
            time.sleep(0.2)
        raise AssertionError("not every server UP on both load balancers: %s" % self.states())

    def load(self):
        return [LoadGenerator("http://127.0.0.1:%d/" % lb["frontend"], connections=3, period=0.02, max_seconds=240)
                for lb in self.lbs]

    def teardown(self):
        for lb in self.lbs:
            lb["proc"].stop()
        for container in self.docker.containers.list(all=True, filters={"label": "baton.site=%s" % self.app}):
            container.remove(force=True)
        for role in ("master", "backup"):
            for suffix in ("", ".baton-previous"):
                try:
                    self.docker.containers.get(self.slot(role) + suffix).remove(force=True)
                except docker.errors.NotFound:
                    pass


def under_load(lab, action):
    """``action()`` under 3 connections of paced load through each of the two HAProxy instances."""
    return _under_load(["http://127.0.0.1:%d/" % lb["frontend"] for lb in lab.lbs], action, connections=3)


def descendants(pid):
    """PIDs of every process below ``pid`` (Ansible's workers and the module process they start)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(pid):
    """SIGKILL a run and everything it started, all at once, as a lost host or a killed job container would. A run
    started in a session of its own (``start_playbook``) is killed as its process group, in one step of the kernel's:
    killing process by process from a list read earlier would miss a module process that a worker forks in between
    (it would go on holding the app's lock)."""
    tree = [pid] + descendants(pid)
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for target in tree:  # anything that had left the group
        try:
            os.kill(target, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture
def lab(tmp_path):
    lab = Lab(tmp_path)
    yield lab
    lab.teardown()


@pytest.fixture
def lab_deployed(lab):
    """The lab with v1 rolled out and every server UP on both load balancers."""
    result, run = lab.rollout("v1")
    assert run.rc == 0, run.output[-4000:]
    lab.wait_all_up()
    return lab


class RotationWatch(StateSampler):
    """Both load balancers' view of the lab's two servers, sampled every ``interval`` s while a fault runs (a
    StateSampler). ``answered``: the reads that got both servers (a load balancer that does not answer, itself the fault
    under test, is not a gap); ``gaps``: those where a load balancer had neither server UP, i.e. the whole backend out
    of rotation."""

    def __init__(self, lab, interval=0.05, max_seconds=120):
        super().__init__([lb["socket"] for lb in lab.lbs], lab.app, ("h_master", "h_backup"), interval, max_seconds)

    @property
    def answered(self):
        return [(t, index, rows) for t, index, rows in self.samples if rows is not None and len(rows) == 2]

    @property
    def gaps(self):
        return [(round(t, 2), index, rows) for t, index, rows in self.answered
                if not any(status.startswith("UP") for status in rows.values())]


def lock_held(path):
    """Whether a rollout holds the host lock at ``path`` (the rollout module's flock on <state_dir>/<app>.lock)."""
    try:
        handle = open(path)
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False

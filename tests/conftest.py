"""Fixtures shared by every test: the real Docker engine, free ports, a real registry; and the session-wide parts of
the secret-leak audit (tests/audit): the argv sampler, the record of what ran, the audit ordered last."""

import os
import sys
import threading
import time
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
# Unit tests import the collection as ansible_collections.baton.docker (see scripts/bootstrap.sh).
sys.path.insert(0, os.path.join(ROOT, "build", "collections"))

from tests.support import secrets  # noqa: E402
from tests.support.net import free_port  # noqa: E402
from tests.support.registry import Registry  # noqa: E402

AUDIT_DIR = os.path.join("tests", "audit") + os.sep
SUITES = ("tests/integration/", "tests/faults/")


class ArgvSampler(threading.Thread):
    """Reads every process's argv (/proc/PID/cmdline, never its environ) every ``interval`` seconds for the whole
    session and records each planted value seen: its name, the pid, the command name and whether the process descends
    from this pytest process (values not unique to the session only count there) - never the value."""

    def __init__(self, interval=0.05):
        super().__init__(name="argv-sampler", daemon=True)
        self.interval = interval
        self.stopping = threading.Event()
        self.sweeps = 0
        self.processes_read = 0
        self.busy = 0.0
        self.hits = []
        self._seen = set()
        self._known = None

    def run(self):
        while not self.stopping.is_set():
            started = time.thread_time()
            current = secrets.values()
            if current != self._known:
                self._known, self.matcher = current, secrets.Matcher()
            self.sweep()
            self.busy += time.thread_time() - started  # CPU seconds of this thread
            self.stopping.wait(self.interval)

    def sweep(self):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as handle:
                    argv = handle.read()
            except OSError:
                continue
            self.processes_read += 1
            for name in self.matcher.find(argv):
                key = (int(entry), name)
                if key not in self._seen:
                    self._seen.add(key)
                    self.hits.append(dict(name=name, pid=int(entry), command=_comm(entry),
                                          ours=_descends_from(int(entry), os.getpid()), at=time.time()))
        self.sweeps += 1

    def stop(self):
        self.stopping.set()
        self.join(timeout=5)


def _comm(pid):
    try:
        with open("/proc/%s/comm" % pid) as handle:
            return handle.read().strip()
    except OSError:
        return "?"


def _descends_from(pid, ancestor):
    for _attempt in range(64):
        if pid == ancestor:
            return True
        if pid <= 1:
            return False
        try:
            with open("/proc/%d/stat" % pid) as handle:
                pid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return False


def pytest_sessionstart(session):
    session.config.baton_argv_sampler = ArgvSampler()
    session.config.baton_argv_sampler.start()


def pytest_collection_modifyitems(session, config, items):
    """The audit runs last, after every other test of the session."""
    items.sort(key=lambda item: item.nodeid.startswith(AUDIT_DIR.replace(os.sep, "/")))


def pytest_collection_finish(session):
    session.config.baton_collected = [item.nodeid for item in session.items]


REPORTS = {}  # node id -> outcome of its call (or of its setup when that failed or skipped), in the order they ran


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        REPORTS.setdefault(report.nodeid, report.outcome)


def pytest_sessionfinish(session):
    sampler = getattr(session.config, "baton_argv_sampler", None)
    if sampler:
        sampler.stop()


@pytest.fixture(scope="session")
def argv_sampler(request):
    return request.config.baton_argv_sampler


@pytest.fixture(scope="session")
def session_reports(request):
    """(node ids collected, in run order; {node id: outcome} of the tests run so far)."""
    return getattr(request.config, "baton_collected", []), REPORTS


@pytest.fixture(scope="session")
def docker_client():
    import docker
    client = docker.from_env()
    client.ping()
    yield client
    client.close()


@pytest.fixture
def docker_names(docker_client):
    """Factory of unique names, ``docker_names(prefix)``. In teardown, the containers of those names (and
    of their slots, kept-aside ones included), volumes and networks are removed."""
    from docker import errors
    names = []

    def make(prefix):
        names.append(prefix + uuid.uuid4().hex[:10])
        return names[-1]

    yield make
    for name in names:
        found = docker_client.containers.list(all=True, filters={"label": "baton.slot=%s" % name})
        found += docker_client.containers.list(all=True, filters={"name": "^/%s(\\.baton-previous)?$" % name})
        for container in found:
            try:
                container.remove(force=True, v=True)
            except errors.NotFound:
                pass
        for kind in ("volumes", "networks"):
            try:
                getattr(docker_client, kind).get(name).remove()
            except errors.NotFound:
                pass


@pytest.fixture
def port():
    return free_port()


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    reg = Registry(str(tmp_path_factory.mktemp("registry")), password=secrets.REGISTRY_PASSWORD).start()
    yield reg
    reg.stop()

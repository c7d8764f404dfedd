"""Fixtures shared by every test: the real Docker engine, free ports, a real registry; and the session-wide parts of
the secret-leak audit (tests/audit): the argv sampler, the record of what ran, the audit ordered last.

With pytest-xdist the argv sampler and the record of what ran live in the controller (its workers are its
descendants); when the controller finishes it writes them to the session directory (build/audit/<session>/
run-<process>.json), where the audit, run afterwards in its own pytest process of the same session, reads them."""

import json
import os
import sys
import time
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
# Unit tests import the collection as ansible_collections.baton.docker (see scripts/bootstrap.sh).
sys.path.insert(0, os.path.join(ROOT, "build", "collections"))

from tests.support import secrets  # noqa: E402
from tests.support.argv_sampler import ArgvSampler  # noqa: E402
from tests.support.net import free_port  # noqa: E402
from tests.support.registry import Registry  # noqa: E402

AUDIT_DIR = os.path.join("tests", "audit") + os.sep
SUITES = ("tests/integration/", "tests/faults/")


def _xdist_worker(config):
    return hasattr(config, "workerinput")


def pytest_sessionstart(session):
    """The argv sampler runs in the process that sees the whole session: the xdist controller, or pytest itself."""
    if not _xdist_worker(session.config):
        session.config.baton_argv_sampler = ArgvSampler()
        session.config.baton_argv_sampler.start()


# Seconds each test file of the suites took in a run of 3 xdist workers on a busy 2-CPU machine (--durations=0, summed
# per file). Workers get the files longest first, so that the run does not end with one worker alone on a long file.
FILE_SECONDS = {
    "tests/integration/test_fleet_release.py": 1450,
    "tests/integration/test_container_swap.py": 572,
    "tests/integration/test_rollout.py": 380,
    "tests/fuzz/test_module_fuzz.py": 445,
    "tests/integration/test_stack.py": 385,
    "tests/integration/test_rollout_module.py": 373,
    "tests/faults/test_release_faults.py": 282,
    "tests/integration/test_haproxy_backend.py": 278,
    "tests/faults/test_load_balancer_faults.py": 219,
    "tests/faults/test_engine_faults.py": 209,
    "tests/integration/test_container_run.py": 202,
    "tests/faults/test_playbook_kills.py": 176,
    "tests/integration/test_haproxy_role.py": 170,
    "tests/faults/test_registry_faults.py": 133,
    "tests/integration/test_rollout_topology.py": 116,
    "tests/integration/test_readme_examples.py": 100,
    "tests/integration/test_action_groups.py": 45,
    "tests/integration/test_docs_site.py": 30,
    "tests/integration/test_docker_tls.py": 25,
    "tests/integration/test_awx_runner.py": 93,
    "tests/integration/test_data_volume.py": 88,
    "tests/integration/aws/test_eb_deploy.py": 87,
    "tests/integration/test_delegated_rollout.py": 84,
    "tests/integration/test_release_cleanup.py": 120,
    "tests/integration/test_fleet_lock.py": 120,
    "tests/integration/test_release_canary.py": 90,
    "tests/integration/test_container_info.py": 74,
    "tests/integration/test_release_modules.py": 42,
    "tests/integration/test_build_push.py": 41,
    "tests/integration/test_stack_images.py": 38,
    "tests/integration/aws/test_eb_deploy_playbook.py": 37,
    "tests/integration/aws/test_registry_login.py": 37,
    "tests/integration/aws/test_ecr_tag_exists.py": 29,
    "tests/integration/aws/test_eb_dockerrun.py": 25,
    "tests/integration/test_stack_cron.py": 18,
}


def _file_of(item):
    return item.nodeid.split("::", 1)[0]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    """The audit runs last, after every other test of the session. In xdist workers (``--dist loadfile``: each file goes
    whole to one worker, its module fixtures set up once), the longest files come first."""
    audit = AUDIT_DIR.replace(os.sep, "/")
    if not _xdist_worker(config):
        items.sort(key=lambda item: item.nodeid.startswith(audit))
        return
    order = dict((item.nodeid, index) for index, item in enumerate(items))
    items.sort(key=lambda item: (item.nodeid.startswith(audit), -FILE_SECONDS.get(_file_of(item), 0),
                                 order[item.nodeid]))


def pytest_collection_finish(session):
    session.config.baton_collected = [item.nodeid for item in session.items]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    """The controller's record of what its workers collected (every worker collects the same tests)."""
    node.config.baton_collected = _union(getattr(node.config, "baton_collected", []), ids)


def _union(first, second):
    """The node ids of ``first``, then those of ``second`` not in ``first``."""
    known = set(first)
    return list(first) + [nodeid for nodeid in second if nodeid not in known]


REPORTS = {}  # node id -> outcome of its call (or of its setup when that failed or skipped), in the order they ran


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        REPORTS.setdefault(report.nodeid, report.outcome)


def pytest_sessionfinish(session):
    sampler = getattr(session.config, "baton_argv_sampler", None)
    if sampler:
        sampler.stop()
        _write_run_record(session, sampler)


def _write_run_record(session, sampler):
    """What this process saw of the session (tests collected, outcomes, its pytest base temp dir, the argv sampler's
    findings), for an audit run later in the same session."""
    factory = getattr(session.config, "_tmp_path_factory", None)
    basetemp = str(factory.getbasetemp()) if factory else None
    record = dict(process=secrets.PROCESS, pid=os.getpid(), basetemp=basetemp, finished=time.time(),
                  collected=getattr(session.config, "baton_collected", []), reports=REPORTS,
                  argv=sampler.summary())
    os.makedirs(secrets.AUDIT_DIR, mode=0o700, exist_ok=True)
    path = os.path.join(secrets.AUDIT_DIR, "run-%s.json" % secrets.PROCESS)
    with open(path + ".new", "w") as handle:
        json.dump(record, handle)
    os.replace(path + ".new", path)


def earlier_runs():
    """The records of the session's earlier pytest processes that ran (see _write_run_record)."""
    found = []
    for name in sorted(os.listdir(secrets.AUDIT_DIR)) if os.path.isdir(secrets.AUDIT_DIR) else []:
        if name.startswith("run-") and name.endswith(".json") and name != "run-%s.json" % secrets.PROCESS:
            with open(os.path.join(secrets.AUDIT_DIR, name)) as handle:
                found.append(json.load(handle))
    return found


@pytest.fixture(scope="session")
def argv_sampler(request):
    """This process's argv sampler (None in an xdist worker)."""
    return getattr(request.config, "baton_argv_sampler", None)


@pytest.fixture(scope="session")
def session_runs():
    return earlier_runs()


@pytest.fixture(scope="session")
def session_reports(request, session_runs):
    """(node ids collected, in run order; {node id: outcome} of the tests run so far), by this process and by the
    session's earlier ones."""
    collected, reports = [], {}
    for run in session_runs:
        collected = _union(collected, run["collected"])
        reports.update(run["reports"])
    collected = _union(collected, getattr(request.config, "baton_collected", []))
    reports.update(REPORTS)
    return collected, reports


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

"""The stack deploy end to end: playbooks/stack.yml on the real engine with the example stack's images
(app x2 behind a containerised HAProxy, nginx in front, cron, worker, log forwarder, data volumes).

The tests share one stack and run in order: first deploy (check mode, apply, idempotent re-run), a
redeploy under load, a failing migration, a failing new replica, a count change, an entry removal."""

import os

import pytest

from bench.loadgen import under_load as _under_load
from tests.support.stack import DATABASE, ODD_VALUE, Recorder, StackSite
from tests.support import secrets


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    site = StackSite(tmp_path_factory.mktemp("stack"))
    yield site
    site.teardown()


@pytest.fixture(scope="module")
def recorder():
    r = Recorder()
    yield r
    r.close()


def under_load(stack, action, connections=4):
    """``action()`` under paced load through the stack's nginx: (its outcome, summary, answers per version)."""
    outcome, summary = _under_load(["http://127.0.0.1:%d/" % stack.http_port], action, connections, settle=0, after=0)
    return outcome, summary, summary["bodies"]


def test_check_mode_creates_nothing(stack):
    run = stack.deploy(check=True)
    assert run.rc == 0, run.output[-4000:]
    assert stack.containers() == {}
    assert not os.path.exists(os.path.join(stack.workdir, "cron.d", stack.slug))


def test_first_deploy(stack, recorder):
    stack.extra["rollbar_token"] = secrets.ROLLBAR_TOKEN
    stack.extra["vars"] = {"deploy_rollbar_endpoint": recorder.url("/api/1/deploy/"),
                           "deploy_webhook_url": recorder.url("/hook"), "deploy_version": "v1"}
    run = stack.deploy(args=("-v",))
    assert run.rc == 0, run.output[-6000:]
    p = stack.prefix
    containers = stack.containers()
    assert sorted(containers) == sorted(p + n for n in ("app0", "app1", "cron0", "sidekiq0", "haproxy0", "nginx0",
                                                        "logspout0"))
    for name, container in containers.items():
        expected = "created" if name.endswith("cron0") else "running"
        assert container.status == expected, (name, container.status)
    # requests go nginx -> haproxy -> both replicas
    seen = set()
    stack.wait_serving()
    for _attempt in range(20):
        status, body = stack.get()
        assert status == 200 and body.startswith("stack-app v1 ")
        seen.add(body.split()[2])
    assert seen == {p + "app0", p + "app1"}
    assert stack.haproxy_states() == {p + "app0": "UP", p + "app1": "UP", p + "app2": "DOWN", p + "app3": "DOWN"}
    # the migration ran once, in the new image, with the app's volumes
    assert stack.read_static("/var/static/migrations.log").split() == ["v1"]
    # env reaches the containers unchanged; the DB password never reaches Ansible's output
    assert stack.exec_in(p + "app0", ["printenv", "ODD"]) == (0, ODD_VALUE + "\n")
    assert stack.exec_in(p + "sidekiq0", ["printenv", "DB_PASSWORD"]) == (0, DATABASE["password"] + "\n")
    assert stack.exec_in(p + "sidekiq0", ["printenv", "ODD"]) == (0, ODD_VALUE + "\n")  # env_from app
    assert DATABASE["password"] not in run.output
    assert stack.extra["rollbar_token"] not in run.output
    # hostnames: %{opsworks}, literal, default <name>.<host>
    assert containers[p + "logspout0"].attrs["Config"]["Hostname"] == "%s-stack-local" % stack.slug
    assert containers[p + "haproxy0"].attrs["Config"]["Hostname"] == "opsworks"
    assert containers[p + "app1"].attrs["Config"]["Hostname"] == p + "app1.stack-local"
    # the cron entry: a template container and a cron line that runs it
    with open(os.path.join(stack.workdir, "cron.d", stack.slug)) as handle:
        lines = [line for line in handle.read().splitlines() if line and not line.startswith(("#", "SHELL", "PATH"))]
    runner = os.path.join(stack.workdir, "bin", "baton-stack-cron")
    assert lines == ["59 * * * * root /usr/bin/python3 %s --timeout 3600 %scron0 >>%s/%s-%scron0.log 2>&1"
                     % (runner, p, os.path.join(stack.workdir, "log"), stack.slug, p)]
    assert os.access(runner, os.X_OK)
    # notifications, from the controller
    rollbar = [r for r in recorder.requests if r["path"] == "/api/1/deploy/"]
    assert len(rollbar) == 1
    assert rollbar[0]["headers"]["X-Rollbar-Access-Token"] == stack.extra["rollbar_token"]
    assert rollbar[0]["body"]["environment"] == "production" and rollbar[0]["body"]["revision"] == "v1"
    assert rollbar[0]["body"]["status"] == "succeeded"
    hooks = [r["body"] for r in recorder.requests if r["path"] == "/hook"]
    assert hooks == [{"app": stack.name, "version": "v1", "hosts": ["stack-local"], "failed_hosts": [],
                      "result": "succeeded"}]


def test_cron_line_runs_the_entry(stack):
    import subprocess
    runner = os.path.join(stack.workdir, "bin", "baton-stack-cron")
    proc = subprocess.run(["/usr/bin/python3", runner, stack.prefix + "cron0"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = stack.read_static("/var/static/cron.log").splitlines()
    assert lines and lines[-1].split()[0] == "v1"


def test_second_run_changes_nothing(stack):
    before = stack.ids()
    run = stack.deploy()
    assert run.rc == 0, run.output[-4000:]
    assert run.changed() == 0, run.changed_tasks()
    assert stack.ids() == before
    assert stack.read_static("/var/static/migrations.log").split() == ["v1"]


def test_redeploy_new_tag_under_load(stack):
    before = stack.ids()
    started = dict((n, stack.started_at(stack.prefix + n)) for n in ("haproxy0", "nginx0", "logspout0"))
    run, summary, bodies = under_load(stack, lambda: stack.deploy("v2"))
    assert run.rc == 0, run.output[-6000:]
    p = stack.prefix
    after = stack.ids()
    for name in ("app0", "app1", "sidekiq0", "cron0"):
        assert after[p + name] != before[p + name], name
    for name in ("haproxy0", "nginx0", "logspout0"):
        assert after[p + name] == before[p + name], name
        assert stack.started_at(p + name) == started[name], name  # not restarted
    assert summary["failed"] == 0, summary
    assert summary["total"] > 100
    assert bodies.get("v2", 0) > 0
    assert stack.get()[1].startswith("stack-app v2 ")
    assert stack.read_static("/var/static/migrations.log").split() == ["v1", "v2"]
    assert stack.exec_in(p + "sidekiq0", ["printenv", "GIT_REVISION"]) == (0, "v2\n")


def test_failing_migration_replaces_nothing(stack):
    before = stack.ids()
    stack.migration = "app migrate --fail boom-the-schema-conflicts"
    try:
        run = stack.deploy("v3")
    finally:
        stack.migration = "app migrate"
    assert run.rc != 0
    assert "boom-the-schema-conflicts" in run.output
    assert stack.ids() == before
    assert stack.get()[1].startswith("stack-app v2 ")
    assert stack.read_static("/var/static/migrations.log").split() == ["v1", "v2"]
    stack.version = "v2"


def test_failing_new_replica_is_rolled_back(stack):
    before = stack.ids()
    p = stack.prefix
    healthy_wait, stack.startup_time = stack.startup_time, 20  # the broken build never turns healthy
    try:
        run, summary, _bodies = under_load(stack, lambda: stack.deploy("broken"))
    finally:
        stack.version = "v2"
        stack.startup_time = healthy_wait
    assert run.rc != 0
    assert "not healthy" in run.output and "Rolled back" in run.output
    after = stack.ids()
    assert after == before  # app0 back in its slot (same container), nothing else touched
    assert summary["failed"] == 0, summary
    assert stack.haproxy_states()[p + "app0"] == "UP"
    for _attempt in range(10):
        assert stack.get()[1].startswith("stack-app v2 ")


def test_count_change_adds_and_removes_replicas(stack):
    p = stack.prefix
    stack.counts["app"] = 3
    try:
        run = stack.deploy()
        assert run.rc == 0, run.output[-4000:]
        assert p + "app2" in stack.containers()
        assert stack.haproxy_states()[p + "app2"] == "UP"
        stack.counts["app"] = 1
        run, summary, _bodies = under_load(stack, stack.deploy)
        assert run.rc == 0, run.output[-4000:]
        names = stack.containers()
        assert p + "app0" in names and p + "app1" not in names and p + "app2" not in names
        assert summary["failed"] == 0, summary
        states = stack.haproxy_states()
        assert states[p + "app0"] == "UP" and states[p + "app1"] in ("MAINT", "DOWN")
    finally:
        # back to two replicas: the next deploy (the entry removal's) adds app1 again
        stack.counts["app"] = 2


def test_removing_entries_removes_their_containers_and_schedule(stack):
    p = stack.prefix
    stack.dropped.update({"sidekiq", "cron"})
    try:
        run = stack.deploy()
    finally:
        stack.dropped.clear()
    assert run.rc == 0, run.output[-4000:]
    names = stack.containers()
    assert p + "sidekiq0" not in names and p + "cron0" not in names
    assert p + "app0" in names and p + "nginx0" in names
    # the replica the count change removed is back (the count is two again)
    assert p + "app1" in names
    assert not os.path.exists(os.path.join(stack.workdir, "cron.d", stack.slug))
    # containers we did not create are never touched, even with our stack's name in theirs
    stranger = stack.docker.containers.create("baton-base/busybox:latest", ["sleep", "30"], name=p + "sidekiq1",
                                              labels={"baton.test": "1"})
    try:
        run = stack.deploy()
        assert run.rc == 0, run.output[-4000:]
        stranger.reload()
        assert stranger.status == "created"
    finally:
        stranger.remove(force=True)


def test_invalid_spec_fails_before_anything_changes(stack):
    before = stack.ids()
    stack.extra.setdefault("vars", {})
    document = stack.document()
    entries = document["deploy"][stack.name]["containers"]
    entries[2]["sidekiq"]["env_from"] = "app2"
    run = stack.deploy(baton_stack=document)
    assert run.rc != 0
    assert "containers[2].sidekiq.env_from: 'app2' is not a container in this stack" in run.output
    assert stack.ids() == before

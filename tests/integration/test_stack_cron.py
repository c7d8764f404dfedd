"""roles/deploy/files/baton-stack-cron against the real Docker engine.

Each test creates a cron template the way the deploy role does (created, never started,
labelled baton.kind=cron) and runs the script with the host's /usr/bin/python3, as the
host's cron does. Templates and their runs are named baton-it-cron-<random>, labelled
baton.test=1 (runs inherit the label from the template) and removed in teardown.
"""

import os
import signal
import subprocess
import tempfile
import time
import uuid

import docker
import pytest


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "roles", "deploy", "files", "baton-stack-cron")
PYTHON, BUSYBOX = "baton-base/python:bookworm", "baton-base/busybox:latest"
PREFIX = "baton-it-cron-"
CRON_LABELS = {"baton.test": "1", "baton.managed": "true", "baton.kind": "cron", "baton.stack": "it", "baton.entry": "job",
               "baton.slot": "job"}
# Values a shell would mangle; DB_PASSWORD also stands for the secrets the output must never show.
ENV = {
    "QUOTES": "it's \"quoted\"",
    "PERCENT": "50% done %s %{app_name}",
    "SUBST": "$(id) `id` ${HOME} $HOME",
    "SPACES": "two  words ",
    "NEWLINE": "line one\nline two",
    "DB_PASSWORD": "s3cr3t-!@#-" + uuid.uuid4().hex,
}
# Exits on SIGTERM at once, so stopping it needs no grace period.
LONG_JOB = ["sh", "-c", "trap 'exit 0' TERM; echo started; sleep 120 & wait"]


def run_script(*args, env=None, timeout=120):
    return subprocess.run(["/usr/bin/python3", SCRIPT] + list(args), capture_output=True, text=True, timeout=timeout,
                          env=env if env is not None else dict(os.environ), check=False)


def runs_of(client, template):
    """Runs of template, from the container list alone (no inspect that a removal could race)."""
    return client.containers.list(all=True, filters={"label": "baton.cron-of=%s" % template}, sparse=True)


def wait_for_run(client, template, runner, deadline=30):
    """The running run of template once it has printed "started"; fails at once when the runner has ended."""
    for _attempt in range(int(deadline * 5)):
        if runner.poll() is not None:
            raise AssertionError("runner ended with %s: %s" % (runner.returncode, runner.stderr.read()))
        running = [c for c in runs_of(client, template) if c.status == "running"]
        if running and b"started" in running[0].logs():
            return client.containers.get(running[0].id)
        time.sleep(0.2)
    raise AssertionError("no run of %s started within %s s" % (template, deadline))


@pytest.fixture
def make_template(docker_client):
    """Factory of cron templates; templates, their runs, extra containers and the runner's lock files go in teardown."""
    names = []

    def make(command, image=PYTHON, labels=None, **kwargs):
        name = PREFIX + uuid.uuid4().hex[:10]
        names.append(name)
        docker_client.containers.create(image, command, name=name, labels=dict(CRON_LABELS if labels is None else labels),
                                        **kwargs)
        return name

    make.extra = names
    yield make
    for name in names:
        for container in runs_of(docker_client, name):
            try:
                container.remove(force=True)
            except docker.errors.NotFound:
                pass
        try:
            docker_client.containers.get(name).remove(force=True, v=True)
        except docker.errors.NotFound:
            pass
        for lock_dir in ("/run/lock", tempfile.gettempdir()):
            lock = os.path.join(lock_dir, "baton-stack-cron.%s.lock" % name)
            if os.path.exists(lock):
                os.remove(lock)


def new_name(make_template):
    name = PREFIX + uuid.uuid4().hex[:10]
    make_template.extra.append(name)
    return name


def assert_template_untouched(client, name, template_id):
    template = client.containers.get(name)
    assert template.id == template_id
    assert template.status == "created"
    assert template.attrs["State"]["StartedAt"].startswith("0001-01-01")


def test_run_prints_output_propagates_exit_code_and_keeps_env_unchanged(docker_client, make_template, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    command = ["sh", "-c", "printenv -0 > /out/env; echo to-stdout; echo to-stderr >&2; exit 3"]
    name = make_template(command, environment=ENV, volumes={str(out): {"bind": "/out", "mode": "rw"}})
    template_id = docker_client.containers.get(name).id

    result = run_script(name, env=dict(os.environ, DOCKER_HOST="unix:///var/run/docker.sock"))

    assert result.returncode == 3, result.stderr
    assert "to-stdout\n" in result.stdout and "to-stderr\n" in result.stdout
    assert result.stderr == ""
    seen = dict(item.split("=", 1) for item in (out / "env").read_text().split("\0") if item)
    for key, value in ENV.items():
        assert seen[key] == value
    assert ENV["DB_PASSWORD"] not in result.stdout + result.stderr
    assert runs_of(docker_client, name) == []
    assert_template_untouched(docker_client, name, template_id)


def test_successful_run_exits_zero(make_template):
    name = make_template(["echo", "hello from cron"], image=BUSYBOX)
    result = run_script(name)
    assert (result.returncode, result.stdout, result.stderr) == (0, "hello from cron\n", "")


def test_run_uses_the_template_image_id_not_its_tag(docker_client, make_template):
    tag = PREFIX + uuid.uuid4().hex[:10]
    docker_client.images.get(PYTHON).tag(tag, "latest")
    try:
        name = make_template(["python3", "-c", "print('deployed build')"], image=tag + ":latest")
        docker_client.images.get(BUSYBOX).tag(tag, "latest")  # the tag moves on, the template keeps its image
        result = run_script(name)
    finally:
        docker_client.images.remove(tag + ":latest")
    assert (result.returncode, result.stdout) == (0, "deployed build\n"), result.stderr


def test_run_mounts_volumes_from_and_keeps_the_data_volume(docker_client, make_template):
    data = new_name(make_template)
    docker_client.containers.create(BUSYBOX, ["true"], name=data, labels={"baton.test": "1"}, volumes=["/shared"])
    docker_client.containers.run(BUSYBOX, ["sh", "-c", "echo seeded > /shared/file"], volumes_from=[data], remove=True,
                                 labels={"baton.test": "1"})
    volume = docker_client.containers.get(data).attrs["Mounts"][0]["Name"]
    name = make_template(["sh", "-c", "cat /shared/file; echo more >> /shared/file"], image=BUSYBOX, volumes_from=[data])

    first, second = run_script(name), run_script(name)

    assert (first.returncode, first.stdout) == (0, "seeded\n"), first.stderr
    assert (second.returncode, second.stdout) == (0, "seeded\nmore\n"), second.stderr
    docker_client.volumes.get(volume)  # raises NotFound if removing the run took the data volume with it


def test_run_keeps_the_template_links(docker_client, make_template):
    db = new_name(make_template)
    docker_client.containers.run(BUSYBOX, ["sleep", "120"], name=db, detach=True, labels={"baton.test": "1"})
    name = make_template(["sh", "-c", "grep -cw database /etc/hosts"], image=BUSYBOX, links={db: "database"})
    result = run_script(name)
    assert (result.returncode, result.stdout) == (0, "1\n"), result.stderr


def test_run_config_has_no_ports_no_restart_policy_and_run_labels(docker_client, make_template, port):
    name = make_template(LONG_JOB, image=BUSYBOX, environment=ENV, ports={"8000/tcp": ("127.0.0.1", port)},
                         restart_policy={"Name": "always"}, working_dir="/tmp", user="65534:65534")
    template = docker_client.containers.get(name)
    runner = subprocess.Popen(["/usr/bin/python3", SCRIPT, name], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        run = wait_for_run(docker_client, name, runner)
        attrs = run.attrs
        # The runner's own command line carries only the template name: the env goes through the API.
        with open("/proc/%d/cmdline" % runner.pid, "rb") as handle:
            argv = handle.read().rstrip(b"\0").split(b"\0")
        assert argv == [b"/usr/bin/python3", SCRIPT.encode(), name.encode()]
        assert not any(value.encode() in b" ".join(argv) for value in ENV.values())
    finally:
        runner.send_signal(signal.SIGTERM)
        stdout, stderr = runner.communicate(timeout=60)
    assert run.name.startswith(name + "-run-")
    assert attrs["Image"] == template.attrs["Image"]
    assert attrs["Config"]["Env"] == template.attrs["Config"]["Env"]
    assert attrs["Config"]["Cmd"] == LONG_JOB
    assert (attrs["Config"]["WorkingDir"], attrs["Config"]["User"]) == ("/tmp", "65534:65534")
    assert not attrs["HostConfig"].get("PortBindings")
    assert attrs["HostConfig"]["RestartPolicy"]["Name"] in ("", "no")
    labels = attrs["Config"]["Labels"]
    assert labels["baton.kind"] == "cron-run" and labels["baton.cron-of"] == name
    assert "baton.slot" not in labels
    assert (labels["baton.stack"], labels["baton.entry"], labels["baton.test"]) == ("it", "job", "1")
    # SIGTERM to the runner stops and removes the run.
    assert runner.returncode == 128 + signal.SIGTERM, stderr
    assert b"started\n" in stdout
    assert runs_of(docker_client, name) == []
    assert_template_untouched(docker_client, name, template.id)


def test_second_invocation_during_a_run_starts_nothing(docker_client, make_template):
    name = make_template(LONG_JOB, image=BUSYBOX)
    runner = subprocess.Popen(["/usr/bin/python3", SCRIPT, name], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = wait_for_run(docker_client, name, runner)
        second = run_script(name)
        assert second.returncode == 75
        assert second.stderr.startswith("baton-stack-cron: ") and "still in progress" in second.stderr
        assert [c.id for c in runs_of(docker_client, name)] == [first.id]
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.communicate(timeout=60)


def test_a_running_run_left_by_a_killed_runner_blocks_the_next_one(docker_client, make_template):
    name = make_template(["echo", "should not run"], image=BUSYBOX)
    orphan = docker_client.containers.run(BUSYBOX, ["sleep", "120"], name=name + "-run-orphan", detach=True,
                                          labels={"baton.test": "1", "baton.kind": "cron-run", "baton.cron-of": name})
    result = run_script(name)
    assert result.returncode == 75
    assert "previous run %s-run-orphan is still running" % name in result.stderr
    assert result.stdout == ""
    assert [c.id for c in runs_of(docker_client, name)] == [orphan.id]


def test_stopped_leftover_runs_are_removed_before_the_next_run(docker_client, make_template):
    name = make_template(["echo", "ran"], image=BUSYBOX)
    leftover = docker_client.containers.create(BUSYBOX, ["true"], name=name + "-run-leftover",
                                               labels={"baton.test": "1", "baton.kind": "cron-run", "baton.cron-of": name})
    result = run_script(name)
    assert (result.returncode, result.stdout) == (0, "ran\n"), result.stderr
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(leftover.id)


def test_timeout_stops_the_run_and_exits_124(docker_client, make_template):
    name = make_template(LONG_JOB, image=BUSYBOX)
    template_id = docker_client.containers.get(name).id
    result = run_script("--timeout", "3", name)
    assert result.returncode == 124, result.stderr
    assert "still running after 3 s: stopping it" in result.stderr
    assert "started\n" in result.stdout
    assert runs_of(docker_client, name) == []
    assert_template_untouched(docker_client, name, template_id)


def test_container_without_cron_label_is_refused(docker_client, make_template):
    name = make_template(["echo", "should not run"], image=BUSYBOX, labels={"baton.test": "1", "baton.kind": "http"})
    result = run_script(name)
    assert result.returncode == 1
    assert result.stderr == "baton-stack-cron: %s is not a cron template (no label baton.kind=cron); not running it\n" % name
    assert result.stdout == ""
    assert runs_of(docker_client, name) == []


def test_missing_template_is_a_clear_error(make_template):
    name = new_name(make_template)
    result = run_script(name)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "baton-stack-cron: no container named %s (is the stack deployed?)\n" % name


@pytest.mark.parametrize("docker_host, expected", [
    ("tcp://127.0.0.1:2375", "tcp:// is not supported"),
    ("unix:///nonexistent/docker.sock", "cannot talk to the Docker engine at /nonexistent/docker.sock"),
])
def test_unusable_docker_host_is_refused(docker_host, expected):
    result = run_script(PREFIX + "any", env=dict(os.environ, DOCKER_HOST=docker_host))
    assert result.returncode == 1
    assert result.stderr.startswith("baton-stack-cron: ") and expected in result.stderr
    assert result.stderr.count("\n") == 1

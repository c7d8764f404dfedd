"""baton.docker.container_run against the real Docker engine, through ansible-playbook.

Images: baton-base/python:bookworm (coreutils, python3) and baton-base/busybox.
Every one-off container gets the labels baton.test=1 and baton.test.run=<id of
the test>, so each test can assert that nothing of its own is left behind;
helper containers, volumes and networks are named baton-it-run-<random> and
removed in teardown.
"""

import hashlib
import re
import threading
import time
import uuid

import docker
import pytest

from tests.support.ansible import run_module, run_module_steps
from tests.support import secrets


MODULE = "baton.docker.container_run"
PREFIX = "baton-it-run-"
PYTHON = "baton-base/python:bookworm"
BUSYBOX = "baton-base/busybox:latest"


@pytest.fixture
def run_id():
    return uuid.uuid4().hex[:10]


@pytest.fixture
def leftovers(docker_client, run_id):
    """A function listing this test's containers; asserts in teardown that none is left, then cleans up."""
    def listing():
        return docker_client.containers.list(all=True, filters={"label": "baton.test.run=%s" % run_id})

    yield listing
    left = listing()
    for container in left:
        container.remove(force=True, v=True)
    assert not left, "one-off containers left behind: %s" % [c.name for c in left]


@pytest.fixture
def helpers(docker_names):
    """Factory of names for helper containers, volumes and networks; all removed in teardown."""
    return lambda: docker_names(PREFIX)


def labelled(run_id, args):
    """The module arguments with the test's labels added."""
    labels = dict(args.get("labels", {}))
    labels.update({"baton.test": "1", "baton.test.run": run_id})
    return dict(args, labels=labels)


def run(run_id, check=False, diff=False, **args):
    """Run the module once; the result dict with "failed" from the task status, and the PlaybookRun."""
    result, playbook = run_module(MODULE, labelled(run_id, args), check=check, diff=diff)
    status = playbook.results("under test")[-1]["status"]
    assert status in ("ok", "changed", "ignored"), playbook.output[-3000:]
    result = dict(result)
    result["failed"] = status == "ignored"
    return result, playbook


def run_steps(run_id, *calls):
    """Run the module once per call (module arguments, plus ``check`` and ``diff``), in order, in one playbook; their
    results."""
    return run_module_steps(MODULE, [labelled(run_id, call) for call in calls])[0]


def test_env_values_arrive_unchanged(run_id, leftovers):
    tricky = {
        "QUOTES": "it's \"quoted\" and 'single'",
        "DOLLAR": "$(id) `id` $HOME ${PATH}",
        "PERCENT": "100% %s %(name)s %{app_name}",
        "SPACES": "  leading and trailing  ",
        "NEWLINE": "first line\nsecond line",
    }
    results = run_steps(run_id, *[dict(image=PYTHON, command=["printenv", name], env=tricky) for name in tricky])
    for (name, value), result in zip(tricky.items(), results):
        assert result["failed"] is False, result
        assert result["changed"] is True and result["ran"] is True
        assert result["rc"] == 0
        assert result["output"] == value.split("\n"), name
    assert not leftovers()


def test_secret_env_reaches_the_container_and_stays_out_of_the_output(run_id, leftovers):
    secret = secrets.SECRET_ENV
    script = "import hashlib, os; print(hashlib.sha256(os.environ['DB_PASSWORD'].encode()).hexdigest())"
    result, playbook = run(run_id, diff=True, image=PYTHON, command=["python3", "-c", script], env={"DB_USER": "app"},
                           secret_env={"DB_PASSWORD": secret})
    assert result["failed"] is False, result
    assert result["output"] == [hashlib.sha256(secret.encode()).hexdigest()]
    assert result["diff"]["before"] == {} and result["diff"]["after"]["image"] == PYTHON
    assert secret not in playbook.output
    assert not leftovers()


def test_string_command_is_split_without_a_shell(run_id, leftovers):
    result = run(run_id, image=BUSYBOX, command="echo 'one two' $HOME ;")[0]
    assert result["failed"] is False, result
    assert result["command"] == ["echo", "one two", "$HOME", ";"]
    assert result["output"] == ["one two $HOME ;"]


def test_default_command_and_entrypoint(run_id, leftovers):
    result = run(run_id, image=BUSYBOX, entrypoint=["echo", "from"], command=["entrypoint"])[0]
    assert result["failed"] is False, result
    assert result["command"] == ["echo", "from", "entrypoint"]
    assert result["output"] == ["from entrypoint"]
    # Without command, the image's CMD (/bin/sh) runs: with no stdin it exits 0 at once.
    result = run(run_id, image=BUSYBOX)[0]
    assert result["failed"] is False, result
    assert result["command"] == ["/bin/sh"] and result["rc"] == 0


def test_nonzero_exit_fails_with_the_output_tail(run_id, leftovers):
    # every line on stderr, so that their order is kept (stdout and stderr are two streams)
    script = "for i in 1 2 3 4 5; do echo line$i >&2; done; echo oops >&2; exit 3"
    result = run(run_id, image=BUSYBOX, command=["sh", "-c", script], log_lines=3, name=PREFIX + run_id)[0]
    assert result["failed"] is True
    assert result["rc"] == 3 and result["ran"] is True and result["changed"] is True
    assert result["output"] == ["line4", "line5", "oops"]
    assert result["container"] == PREFIX + run_id
    msg = result["msg"]
    assert msg.startswith("sh -c 'for i in 1 2 3 4 5; do echo line$i >&2; done; echo oops >&2; exit 3' in %s exited with code 3"
                          % BUSYBOX), msg
    assert msg.endswith("last 3 line(s) of output:\nline4\nline5\noops")
    assert not leftovers()


def test_timeout_kills_and_fails_with_the_output(run_id, leftovers, docker_client):
    result = run(run_id, image=BUSYBOX, command=["sh", "-c", "echo started; sleep 60"], timeout=2)[0]
    assert result["failed"] is True
    assert "did not finish within 2 s and was killed" in result["msg"], result["msg"]
    assert result["rc"] is None and result["ran"] is True
    assert result["output"] == ["started"]
    assert "started" in result["msg"]
    assert 2 <= result["seconds"] < 60
    assert not leftovers()


def test_check_mode_runs_nothing(run_id, leftovers, docker_client):
    name = PREFIX + run_id
    result = run(run_id, check=True, image=BUSYBOX, command=["touch", "/ran"], name=name)[0]
    assert result["failed"] is False, result
    assert result["changed"] is True and result["ran"] is False
    assert "rc" not in result and "output" not in result
    assert result["msg"] == "check mode: would run touch /ran in a one-off container %s of %s" % (name, BUSYBOX)
    assert not leftovers()
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(name)


def test_labels_and_default_name_while_it_runs(run_id, leftovers, docker_client):
    """Watch the container while the command runs: named baton-run-<8 hex>, labelled as one-off."""
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(
        result=run(run_id, image=BUSYBOX, command=["sleep", "4"], labels={"team": "ops"})[0]))
    worker.start()
    seen = []
    deadline = time.monotonic() + 60
    while not seen and worker.is_alive() and time.monotonic() < deadline:
        seen = leftovers()
        time.sleep(0.1)
    worker.join(120)
    assert seen, "the one-off container was never seen running"
    labels = seen[0].labels
    assert labels["baton.managed"] == "true" and labels["baton.oneoff"] == "true" and labels["team"] == "ops"
    assert re.match(r"^baton-run-[0-9a-f]{8}$", seen[0].name)
    assert outcome["result"]["container"] == seen[0].name
    assert outcome["result"]["failed"] is False
    assert not leftovers()


def test_volumes_volumes_from_network_working_dir_user(run_id, leftovers, helpers, docker_client, tmp_path):
    data, network, volume, scratch = helpers(), helpers(), helpers(), helpers()
    docker_client.containers.run(BUSYBOX, ["sh", "-c", "echo from-data > /data/file"], name=data,
                                 volumes={helpers_volume(docker_client, volume): {"bind": "/data", "mode": "rw"}},
                                 labels={"baton.test": "1"})
    docker_client.networks.create(network, labels={"baton.test": "1"})
    host_dir = tmp_path / "host"
    host_dir.mkdir()
    (host_dir / "config").write_text("from-host\n")
    script = "pwd; cat config /data/file; id -u; echo written > /scratch/out"
    result = run(run_id, image=BUSYBOX, command=["sh", "-c", script], volumes=["%s:/srv/host:ro" % host_dir,
                 "%s:/scratch" % scratch], volumes_from=[data + ":ro"], network=network, working_dir="/srv/host",
                 user="1000")[0]
    # /scratch is a named volume owned by root: user 1000 cannot write there, which proves the user applies.
    assert result["failed"] is True
    # stdout and stderr are two streams: their lines may interleave in any order
    stdout = [line for line in result["output"] if "Permission denied" not in line]
    assert stdout == ["/srv/host", "from-host", "from-data", "1000"], result["output"]
    assert ["sh: can't create /scratch/out: Permission denied"] == [line for line in result["output"] if line not in stdout]
    assert not leftovers()


def helpers_volume(docker_client, name):
    docker_client.volumes.create(name, labels={"baton.test": "1"})
    return name


def test_links_reach_a_running_container(run_id, leftovers, helpers, docker_client):
    peer = helpers()
    docker_client.containers.run(BUSYBOX, ["sleep", "300"], name=peer, detach=True, labels={"baton.test": "1"})
    result = run(run_id, image=BUSYBOX, command=["sh", "-c", "grep -w db /etc/hosts | wc -l"], links=[peer + ":db"])[0]
    assert result["failed"] is False, result
    assert result["output"] == ["1"]


@pytest.mark.parametrize("args, message", [
    (dict(volumes=["relative/dir:/data"]), "volumes: 'relative/dir:/data': the source 'relative/dir' is a relative path"),
    (dict(volumes=["/tmp:/data:rx"]), "volumes: '/tmp:/data:rx': mode must be ro or rw"),
    (dict(volumes_from=["{prefix}absent"]), "volumes_from: there is no container called {prefix}absent"),
    (dict(volumes_from=["x:rx"]), "volumes_from: 'x:rx': mode must be ro or rw, not 'rx'"),
    (dict(links=["{prefix}absent:db"]), "links: there is no container called {prefix}absent"),
    (dict(network="{prefix}absent"), "network: there is no Docker network called {prefix}absent"),
    (dict(timeout=0), "timeout must be greater than 0 (got 0)"),
    (dict(timeout=-5), "timeout must be greater than 0 (got -5)"),
    (dict(log_lines=-1), "log_lines must not be negative (got -1)"),
    (dict(working_dir="srv"), "working_dir: 'srv' must be an absolute path"),
    (dict(env={"DEBUG": True}), "env: the value of DEBUG is a boolean"),
    (dict(env={"A": "1"}, secret_env={"A": "2"}), "env and secret_env both set A"),
    (dict(labels={"baton.oneoff": "no"}), "labels: baton.oneoff is set by the module itself"),
    (dict(image="baton-base/absent:v0", pull="never"), "image: baton-base/absent:v0 is not present locally and pull is never"),
    (dict(image="bad image"), "image: 'bad image' is not an image reference"),
    (dict(command="echo 'unterminated"), "command: \"echo 'unterminated\" cannot be split into arguments"),
])
def test_validation_errors_run_nothing(run_id, leftovers, args, message):
    args = {key: value.format(prefix=PREFIX) if isinstance(value, str) else
            [v.format(prefix=PREFIX) for v in value] if isinstance(value, list) else value
            for key, value in args.items()}
    args.setdefault("image", BUSYBOX)
    args.setdefault("command", ["touch", "/ran"])
    results = run_steps(run_id, dict(args, check=True), dict(args, check=False))
    for check, result in zip((True, False), results):
        if check and "there is no container called" in message:
            # a check run only warns: an earlier task of the same run may create the container
            assert result["changed"] is True and result["ran"] is False
            assert any(message.format(prefix=PREFIX) + " yet" in w for w in result.get("warnings", [])), result
            continue
        assert result["failed"] is True
        assert message.format(prefix=PREFIX) in result["msg"], result["msg"]
        assert result["changed"] is False and result["ran"] is False
    assert not leftovers()


def test_name_already_taken_fails_before_running(run_id, leftovers, helpers, docker_client):
    taken = helpers()
    docker_client.containers.create(BUSYBOX, ["true"], name=taken, labels={"baton.test": "1"})
    result = run(run_id, image=BUSYBOX, command=["true"], name=taken)[0]
    assert result["failed"] is True
    assert result["msg"] == "name: a container called %s already exists" % taken
    assert docker_client.containers.get(taken).status == "created"


def test_links_to_a_stopped_container_fail(run_id, leftovers, helpers, docker_client):
    stopped = helpers()
    docker_client.containers.create(BUSYBOX, ["true"], name=stopped, labels={"baton.test": "1"})
    result = run(run_id, image=BUSYBOX, command=["true"], links=[stopped])[0]
    assert result["failed"] is True
    assert result["msg"] == "links: container %s is not running; a link needs a running container" % stopped


def test_command_that_cannot_start_fails_and_is_removed(run_id, leftovers):
    result = run(run_id, image=BUSYBOX, command=["/no/such/binary"])[0]
    assert result["failed"] is True
    assert result["msg"].startswith("/no/such/binary in %s could not start (container baton-run-" % BUSYBOX)
    assert "no such file or directory" in result["msg"]
    assert not leftovers()


def test_pulls_a_missing_image_with_pull_auth(run_id, leftovers, registry, docker_client):
    repository = "%s/baton-it-run/busybox" % registry.address
    tag = run_id
    ref = "%s:%s" % (repository, tag)
    docker_client.images.get(BUSYBOX).tag(repository, tag)
    auth = {"username": registry.username, "password": registry.password}
    for line in docker_client.images.push(repository, tag=tag, auth_config=auth, stream=True, decode=True):
        assert "error" not in line, line
    docker_client.images.remove(ref)
    try:
        checked = run(run_id, check=True, image=ref, command=["echo", "hi"],
                      pull_auth=dict(auth, registry=registry.address))[0]
        assert checked["failed"] is False, checked
        assert checked["msg"].startswith("check mode: would pull %s and run echo hi" % ref)
        with pytest.raises(docker.errors.ImageNotFound):
            docker_client.images.get(ref)
        result = run(run_id, image=ref, command=["echo", "hi"], pull_auth=dict(auth, registry=registry.address))[0]
        assert result["failed"] is False, result
        assert result["pulled"] is True and result["output"] == ["hi"]
        again = run(run_id, image=ref, command=["echo", "hi"])[0]
        assert again["failed"] is False and again["pulled"] is False
    finally:
        try:
            docker_client.images.remove(ref)
        except docker.errors.ImageNotFound:
            pass
    assert not leftovers()

"""baton.docker.container_swap against the real Docker engine, through ansible-playbook.

Images: baton-demo/app:v1, v2 and broken (scripts/build_images.sh; GET / answers
"demo <version> <hostname>", /health 200, broken answers 500 and its Docker
HEALTHCHECK fails) and baton-base/busybox (no healthcheck). Every slot is named
baton-it-swap-<random>, published on 127.0.0.1 only, labelled baton.test=1 and
removed in teardown.
"""

import json
import socket
import urllib.error
import urllib.request
import uuid

import docker
import pytest

from tests.support.ansible import run_module, run_module_steps, run_playbook
from tests.support.net import free_port
from tests.support import secrets


PREFIX = "baton-it-swap-"
V1, V2, BROKEN = "baton-demo/app:v1", "baton-demo/app:v2", "baton-demo/app:broken"
TEST_LABELS = {"baton.test": "1"}


@pytest.fixture
def new_slot(docker_names):
    """Factory of slot names; every container of those slots is removed in teardown."""
    return lambda: docker_names(PREFIX)


@pytest.fixture
def slot(new_slot):
    return new_slot()


def swap(name, check=False, diff=False, cli_args=(), run_env=None, **options):
    """Run the module on localhost through ansible-playbook; return (result, PlaybookRun)."""
    options["name"] = name
    if not cli_args:
        result, run = run_module("baton.docker.container_swap", options, check=check, diff=diff, env=run_env)
    else:
        play = [{"hosts": "localhost", "gather_facts": False,
                 "tasks": [{"name": "under test", "baton.docker.container_swap": options, "ignore_errors": True}]}]
        run = run_playbook(play, check=check, diff=diff, env=run_env, args=cli_args)
        result = run.result("under test")
    # the recorded result carries no "failed" key: take it from the task status
    result["failed"] = run.results("under test")[-1]["status"] in ("failed", "ignored")
    return result, run


def swap_result(name, **kwargs):
    return swap(name, **kwargs)[0]


def swap_results(name, *calls):
    """Run the module on the slot ``name`` once per call, as the tasks of one playbook, in order (see
    run_module_steps). Returns their results."""
    return run_module_steps("baton.docker.container_swap", [dict(call, name=name) for call in calls])[0]


def check_then_apply(name, **options):
    """The module's results in check mode, then applied, on the slot ``name`` (one playbook)."""
    return swap_results(name, dict(options, check=True), dict(options, check=False))


def deploy_v1(name, port, **options):
    """First deploy of v1 on 127.0.0.1:port, probed over HTTP; returns the result."""
    options.setdefault("labels", TEST_LABELS)
    result, run = swap(name, image=V1, ports=["127.0.0.1:%d:8000" % port], health=probe(port), **options)
    assert not result["failed"], run.output[-3000:]
    return result


def probe(port, **extra):
    health = dict(url="http://127.0.0.1:%d/health" % port, interval=0.5, retries=20)
    health.update(extra)
    return health


def page(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=5) as response:
        return response.read().decode()


def inspect(client, name):
    try:
        return client.api.inspect_container(name)
    except docker.errors.NotFound:
        return None


def env_of(client, name):
    return dict(e.split("=", 1) for e in client.api.inspect_container(name)["Config"]["Env"])


def previous_exists(client, name):
    return inspect(client, name + ".baton-previous") is not None


# ---------------------------------------------------------------- first deploy

def test_first_deploy_check_mode_then_apply_then_idempotent(docker_client, slot, port):
    args = dict(image=V1, ports=["127.0.0.1:%d:8000" % port], env={"FOO": "first"}, labels=TEST_LABELS,
                health=probe(port))

    result = swap_result(slot, check=True, diff=True, **args)
    assert (result["changed"], result["created"], result["failed"]) == (True, True, False)
    assert result["container"]["new_id"] is None
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["image"] == V1
    assert result["diff"]["after"]["ports"] == ["127.0.0.1:%d:8000/tcp" % port]
    assert inspect(docker_client, slot) is None

    result, run = swap(slot, **args)
    assert (result["changed"], result["created"], result["rolled_back"]) == (True, True, False), run.output[-3000:]
    attrs = inspect(docker_client, slot)
    assert attrs["Id"] == result["container"]["new_id"]
    assert attrs["State"]["Running"] is True
    assert attrs["Image"] == result["image"]["new_id"] == docker_client.images.get(V1).id
    assert page(port).startswith("demo v1 ")
    labels = attrs["Config"]["Labels"]
    assert (labels["baton.managed"], labels["baton.slot"], labels["baton.image"], labels["baton.test"]) == (
        "true", slot, V1, "1")
    assert attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert env_of(docker_client, slot)["FOO"] == "first"

    for again in check_then_apply(slot, **args):
        assert (again["changed"], again["created"]) == (False, False)
        assert again["container"]["new_id"] == again["container"]["old_id"] == attrs["Id"]
    assert inspect(docker_client, slot)["State"]["StartedAt"] == attrs["State"]["StartedAt"]


def test_failed_first_deploy_leaves_the_slot_empty(docker_client, slot, port):
    result = swap_result(slot, image=BROKEN, ports=["127.0.0.1:%d:8000" % port], labels=TEST_LABELS,
                         health=probe(port, retries=3, interval=1.5))
    assert result["failed"] is True
    assert result["rolled_back"] is False
    assert result["created"] is True
    assert "did not answer HTTP 200 in 3 probe(s)" in result["msg"]
    assert "the slot stays empty" in result["msg"]
    assert "health check will fail" in result["msg"]
    assert inspect(docker_client, slot) is None


# ---------------------------------------------------------------- upgrade

def test_upgrade_keeps_the_slot_config_and_is_idempotent(docker_client, slot, port):
    first = deploy_v1(slot, port, env={"FOO": "kept across swaps"}, stop_timeout=7)
    old_id = first["container"]["new_id"]

    result = swap_result(slot, check=True, diff=True, image=V2, health=probe(port))
    assert (result["changed"], result["created"]) == (True, False)
    assert result["container"] == dict(name=slot, old_id=old_id, new_id=None)
    before, after = result["diff"]["before"], result["diff"]["after"]
    assert (before["image"], after["image"]) == (V1, V2)
    assert before["env"] == after["env"] != {"FOO": "kept across swaps"}
    assert before["stop_timeout"] == after["stop_timeout"] == 7
    assert inspect(docker_client, slot)["Id"] == old_id
    assert page(port).startswith("demo v1 ")

    result, run = swap(slot, image=V2, health=probe(port))
    assert (result["changed"], result["rolled_back"]) == (True, False), run.output[-3000:]
    new_id = result["container"]["new_id"]
    assert new_id != old_id
    assert result["image"]["old_id"] == docker_client.images.get(V1).id
    assert result["image"]["new_id"] == docker_client.images.get(V2).id
    assert inspect(docker_client, old_id) is None
    assert not previous_exists(docker_client, slot)
    assert page(port).startswith("demo v2 ")
    env = env_of(docker_client, slot)
    assert env["FOO"] == "kept across swaps"
    assert env["APP_VERSION"] == "v2"
    attrs = inspect(docker_client, slot)
    assert attrs["Config"]["StopTimeout"] == 7
    assert attrs["Config"]["Labels"]["baton.test"] == "1"
    assert attrs["Config"]["Labels"]["baton.image"] == V2

    again = swap_result(slot, image=V2, health=probe(port))
    assert again["changed"] is False
    assert again["container"]["new_id"] == new_id


def test_a_given_option_replaces_the_carried_setting(docker_client, slot, port):
    first = deploy_v1(slot, port, env={"FOO": "one", "BAR": "two"})
    result = swap_result(slot, image=V1, env={"BAR": "three"}, health=probe(port))
    assert result["changed"] is True
    assert result["container"]["new_id"] != first["container"]["new_id"]
    env = env_of(docker_client, slot)
    assert env["BAR"] == "three"
    assert "FOO" not in env
    assert env["APP_VERSION"] == "v1"


def test_a_stopped_slot_gets_a_fresh_container(docker_client, slot, port):
    old_id = deploy_v1(slot, port)["container"]["new_id"]
    docker_client.api.stop(old_id, timeout=5)

    result = swap_result(slot, check=True, image=V1, health=probe(port))
    assert (result["changed"], result["created"]) == (True, False)
    assert inspect(docker_client, slot)["State"]["Running"] is False

    result = swap_result(slot, image=V1, health=probe(port))
    assert (result["changed"], result["rolled_back"]) == (True, False)
    assert result["container"]["old_id"] == old_id != result["container"]["new_id"]
    assert inspect(docker_client, old_id) is None
    assert page(port).startswith("demo v1 ")


# ---------------------------------------------------------------- failures

def test_broken_image_rolls_back_to_the_running_container(docker_client, slot, port):
    old_id = deploy_v1(slot, port)["container"]["new_id"]

    result = swap_result(slot, image=BROKEN, health=probe(port, retries=4, interval=1.5), log_lines=10)
    assert result["failed"] is True
    assert result["rolled_back"] is True
    assert result["container"]["new_id"] == result["container"]["old_id"] == old_id
    assert "is not healthy" in result["msg"]
    assert "(last: HTTP 500)" in result["msg"]
    assert "error: configuration invalid, health check will fail" in result["msg"]
    assert "error: configuration invalid, health check will fail" in result["logs"]
    attrs = inspect(docker_client, slot)
    assert attrs["Id"] == old_id
    assert attrs["State"]["Running"] is True
    assert page(port).startswith("demo v1 ")
    assert not previous_exists(docker_client, slot)
    assert docker_client.containers.list(all=True, filters={"ancestor": BROKEN, "label": "baton.slot=%s" % slot}) == []


def test_missing_tag_fails_before_touching_the_running_container(docker_client, slot, port):
    deploy_v1(slot, port)
    before = inspect(docker_client, slot)

    for result in check_then_apply(slot, image="baton-demo/app:v9", health=probe(port)):
        assert result["failed"] is True
        assert result["changed"] is False
        assert result["msg"].startswith("image baton-demo/app:v9 is not present locally and could not be ")
    after = inspect(docker_client, slot)
    assert after["Id"] == before["Id"]
    assert after["State"]["StartedAt"] == before["State"]["StartedAt"]
    assert after["State"]["Running"] is True
    assert page(port).startswith("demo v1 ")


def test_port_taken_by_a_plain_process_fails_before_anything_changes(docker_client, slot, new_slot, port):
    deploy_v1(slot, port)
    before = inspect(docker_client, slot)
    taken = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
        blocker.bind(("127.0.0.1", taken))
        blocker.listen(1)
        ports = ["127.0.0.1:%d:8000" % port, "127.0.0.1:%d:8001" % taken]
        result = swap_result(slot, image=V2, ports=ports, health=probe(port))
        other = new_slot()
        first = swap_result(other, image=V1, ports=["127.0.0.1:%d:8000" % taken], labels=TEST_LABELS)
    assert result["failed"] is True
    assert result["msg"].startswith("ports: host port 127.0.0.1:%d/tcp is already in use on the Docker host by another "
                                    "process" % taken)
    after = inspect(docker_client, slot)
    assert (after["Id"], after["State"]["StartedAt"]) == (before["Id"], before["State"]["StartedAt"])
    assert first["failed"] is True and "127.0.0.1:%d/tcp is already in use" % taken in first["msg"]
    assert inspect(docker_client, other) is None


def test_port_published_by_another_container_is_named(docker_client, slot, new_slot, port):
    deploy_v1(slot, port)
    other = new_slot()
    result = swap_result(other, image=V1, ports=["127.0.0.1:%d:8000" % port], labels=TEST_LABELS)
    assert result["failed"] is True
    assert result["msg"] == "ports: host port %d/tcp is already published by container %s" % (port, slot)
    assert inspect(docker_client, other) is None


@pytest.mark.parametrize("options, message", [
    (dict(health=dict(url="http://127.0.0.1:{other}/health")),
     "health.url: http://127.0.0.1:{other}/health targets port {other} on 127.0.0.1, but the slot publishes host "
     "port(s) {port}"),
    (dict(health=dict(url="http://baton-no-such-host.invalid:8000/health")),
     "health.url: the host baton-no-such-host.invalid of http://baton-no-such-host.invalid:8000/health does not "
     "resolve"),
    (dict(network="baton-it-swap-no-such-network"),
     "network: there is no Docker network called baton-it-swap-no-such-network"),
    (dict(volumes=["relative/dir:/data"]), "volumes: 'relative/dir:/data': the source 'relative/dir' is a relative path"),
])
def test_pre_checks_refuse_before_anything_is_created(docker_client, slot, port, options, message):
    other = free_port()
    if "health" in options:
        options = dict(health=dict(url=options["health"]["url"].format(other=other)))
    result = swap_result(slot, image=V1, ports=["127.0.0.1:%d:8000" % port], labels=TEST_LABELS, **options)
    assert result["failed"] is True
    assert result["msg"].startswith(message.format(other=other, port=port))
    assert inspect(docker_client, slot) is None


# ---------------------------------------------------------------- health modes

def test_docker_healthcheck_path_without_url(docker_client, slot, port):
    result, run = swap(slot, image=V1, ports=["127.0.0.1:%d:8000" % port], labels=TEST_LABELS,
                       health=dict(interval=1, retries=30))
    assert result["changed"] is True, run.output[-3000:]
    old_id = result["container"]["new_id"]
    assert inspect(docker_client, slot)["State"]["Health"]["Status"] == "healthy"

    result = swap_result(slot, image=BROKEN, health=dict(interval=1, retries=30))
    assert result["failed"] is True and result["rolled_back"] is True
    assert "Docker reports it unhealthy" in result["msg"]
    attrs = inspect(docker_client, slot)
    assert attrs["Id"] == old_id and attrs["State"]["Running"] is True
    assert attrs["State"]["Health"]["Status"] == "healthy"
    assert page(port).startswith("demo v1 ")


def test_running_path_without_any_healthcheck(docker_client, slot):
    busybox = "baton-base/busybox:latest"
    # sleep as PID 1 ignores SIGTERM: a short stop timeout keeps the swaps quick
    result, run = swap(slot, image=busybox, command=["sleep", "600"], stop_timeout=1, labels=TEST_LABELS,
                       health=dict(interval=1))
    assert result["changed"] is True, run.output[-3000:]
    old_id = result["container"]["new_id"]
    assert result["seconds_to_healthy"] >= 1
    assert swap(slot, image=busybox, command="sleep 600", health=dict(interval=1))[0]["changed"] is False

    result = swap_result(slot, image=busybox, command=["sh", "-c", "echo starting; echo crashed >&2; exit 3"],
                         health=dict(interval=1))
    assert result["failed"] is True and result["rolled_back"] is True
    # seen while the engine waits to start it again, or after: the engine keeps no exit code once it runs again
    assert "it restarted (last exit code 3)" in result["msg"] or "the engine started it again" in result["msg"], \
        result["msg"]
    assert "crashed" in result["logs"]
    attrs = inspect(docker_client, slot)
    assert attrs["Id"] == old_id and attrs["State"]["Running"] is True
    assert attrs["Config"]["Cmd"] == ["sleep", "600"]


# ---------------------------------------------------------------- registry

def test_pull_from_a_private_registry_with_credentials(docker_client, registry, slot, port):
    auth = dict(username=registry.username, password=registry.password)
    repository = "%s/baton-it-swap/app-%s" % (registry.address, uuid.uuid4().hex[:8])
    ref = repository + ":v1"
    docker_client.images.get(V1).tag(repository, "v1")
    try:
        for line in docker_client.images.push(repository, "v1", auth_config=auth, stream=True, decode=True):
            assert "error" not in line, line
    finally:
        docker_client.images.remove(ref)
    assert inspect_image(docker_client, ref) is None
    options = dict(image=ref, ports=["127.0.0.1:%d:8000" % port], labels=TEST_LABELS, health=probe(port))
    try:
        result = swap_result(slot, check=True, pull_auth=auth, **options)
        assert (result["changed"], result["created"], result["failed"]) == (True, True, False)
        assert inspect_image(docker_client, ref) is None

        missing = dict(options)
        missing["image"] = repository + ":v9"
        for result in check_then_apply(slot, pull_auth=auth, **missing):
            assert result["failed"] is True
            assert result["msg"].startswith("image %s:v9 is not present locally and could not be " % repository)
            assert "unknown" in result["msg"] or "not found" in result["msg"]

        result = swap_result(slot, **options)
        assert result["failed"] is True
        assert result["msg"].startswith("image %s is not present locally and could not be pulled: " % ref)

        result, run = swap(slot, pull_auth=auth, cli_args=["-vvv"], **options)
        assert (result["changed"], result["created"]) == (True, True), run.output[-3000:]
        assert registry.password not in run.output
        assert result["image"]["new_digest"].startswith(repository + "@sha256:")
        assert page(port).startswith("demo v1 ")
        assert inspect(docker_client, slot)["Config"]["Image"] == ref

        # pull=always: the registry digest matches the local image, so nothing changes
        for again in check_then_apply(slot, pull="always", pull_auth=auth, **options):
            assert (again["changed"], again["failed"]) == (False, False), again.get("msg")
            assert again["image"]["new_id"] == result["image"]["new_id"]
    finally:
        try:
            docker_client.images.remove(ref)
        except docker.errors.ImageNotFound:
            pass


def test_pull_uses_the_docker_config_credentials(docker_client, registry, slot, port, tmp_path):
    import base64
    repository = "%s/baton-it-swap/app-%s" % (registry.address, uuid.uuid4().hex[:8])
    ref = repository + ":v2"
    auth = dict(username=registry.username, password=registry.password)
    docker_client.images.get(V2).tag(repository, "v2")
    try:
        for line in docker_client.images.push(repository, "v2", auth_config=auth, stream=True, decode=True):
            assert "error" not in line, line
    finally:
        docker_client.images.remove(ref)
    token = base64.b64encode(("%s:%s" % (registry.username, registry.password)).encode()).decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {registry.address: {"auth": token}}}))
    try:
        result, run = swap(slot, image=ref, ports=["127.0.0.1:%d:8000" % port], labels=TEST_LABELS,
                           health=probe(port), run_env={"DOCKER_CONFIG": str(tmp_path)})
        assert result["changed"] is True, run.output[-3000:]
        assert page(port).startswith("demo v2 ")
    finally:
        try:
            docker_client.images.remove(ref)
        except docker.errors.ImageNotFound:
            pass


def inspect_image(client, ref):
    try:
        return client.api.inspect_image(ref)
    except docker.errors.ImageNotFound:
        return None


# ---------------------------------------------------------------- env values

def test_env_values_reach_the_container_unchanged_and_stay_masked(docker_client, slot, port):
    values = {
        "SPACES": "several  spaced   words-e1f2",
        "QUOTES": "it's \"double\" and 'single'-a9b8",
        "SUBST": "$(touch /tmp/pwned) `id` ${HOME} $$-c7d6",
        "NEWLINES": "first line\nsecond line\n-b5c4",
        "BACKSLASH": "C:\\temp\\new\\t-d3e2",
        "UNICODE": "h\u00e9llo \u2713 \u65e5\u672c-f1a0",
        "EQUALS": "a=b==c-9e8d",
        "EMPTY": "",
    }
    secret = secrets.SECRET_ENV
    result, run = swap(slot, diff=True, image=V1, ports=["127.0.0.1:%d:8000" % port], labels=TEST_LABELS,
                       env=values, secret_env={"TOKEN": secret}, health=probe(port))
    assert result["changed"] is True, run.output[-3000:]

    raw = docker_client.containers.get(slot).exec_run(["cat", "/proc/1/environ"]).output
    environ = dict(item.split("=", 1) for item in raw.decode("utf-8").split("\0") if item)
    for key, value in values.items():
        assert environ[key] == value
    assert environ["TOKEN"] == secret
    assert docker_client.containers.get(slot).exec_run(["ls", "/tmp/pwned"]).exit_code != 0

    shown = result["diff"]["after"]["env"]
    assert sorted(shown) == sorted(list(values) + ["TOKEN"])
    assert all(v.startswith("sha256:") for v in shown.values())
    reported = dict(result)
    reported.pop("invocation", None)
    dumped = json.dumps(reported)
    for value in [v for v in values.values() if v] + [secret]:
        assert json.dumps(value)[1:-1] not in dumped
    assert secret not in run.output

    again = swap_result(slot, image=V1, env=values, secret_env={"TOKEN": secret}, health=probe(port))
    assert again["changed"] is False


# ---------------------------------------------------------------- interrupted runs

def test_leftover_previous_with_an_empty_slot_is_restored_then_swapped(docker_client, slot, port):
    old_id = deploy_v1(slot, port)["container"]["new_id"]
    # what an interrupted swap leaves: the old container renamed aside and stopped, no new one yet
    docker_client.api.rename(old_id, slot + ".baton-previous")
    docker_client.api.stop(old_id, timeout=5)

    result = swap_result(slot, check=True, image=V2, health=probe(port))
    assert (result["changed"], result["recovery"], result["created"]) == (True, "restored", False)
    assert result["container"]["old_id"] == old_id
    assert inspect(docker_client, slot) is None and previous_exists(docker_client, slot)

    result, run = swap(slot, image=V2, health=probe(port))
    assert (result["changed"], result["recovery"], result["rolled_back"]) == (True, "restored", False), \
        run.output[-3000:]
    assert result["container"]["old_id"] == old_id
    assert page(port).startswith("demo v2 ")
    assert not previous_exists(docker_client, slot)
    assert inspect(docker_client, old_id) is None


def test_stale_previous_next_to_a_running_slot_is_removed(docker_client, slot, port):
    slot_id = deploy_v1(slot, port)["container"]["new_id"]
    stale = docker_client.containers.create(V1, name=slot + ".baton-previous", labels=dict(TEST_LABELS))

    result = swap_result(slot, check=True, image=V1, health=probe(port))
    assert (result["changed"], result["recovery"]) == (True, "discarded")
    assert previous_exists(docker_client, slot)

    result = swap_result(slot, image=V1, health=probe(port))
    assert (result["changed"], result["recovery"]) == (True, "discarded")
    assert result["container"]["new_id"] == slot_id
    assert inspect(docker_client, stale.id) is None
    assert inspect(docker_client, slot)["Id"] == slot_id

    again = swap_result(slot, image=V1, health=probe(port))
    assert (again["changed"], again["recovery"]) == (False, None)


def test_a_slot_container_that_never_started_is_replaced_by_the_previous(docker_client, slot, port):
    old_id = deploy_v1(slot, port)["container"]["new_id"]
    # interrupted after creating the new container, before stopping the old one
    docker_client.api.rename(old_id, slot + ".baton-previous")
    half = docker_client.containers.create(V2, name=slot, labels=dict(TEST_LABELS, **{"baton.slot": slot}))

    result, run = swap(slot, image=V1, health=probe(port))
    assert (result["changed"], result["recovery"]) == (True, "replaced"), run.output[-3000:]
    assert result["container"]["new_id"] == old_id
    assert inspect(docker_client, half.id) is None
    attrs = inspect(docker_client, slot)
    assert attrs["Id"] == old_id and attrs["State"]["Running"] is True
    assert not previous_exists(docker_client, slot)
    assert page(port).startswith("demo v1 ")


# ---------------------------------------------------------------- volumes_from, links, hostname

BUSYBOX = "baton-base/busybox:latest"


def data_container(client, name, path="/shared"):
    """A stopped data container with one anonymous volume, as a stack's data_volumes entry."""
    return client.containers.create(BUSYBOX, command=["true"], name=name, volumes=[path], labels=dict(TEST_LABELS))


def sidecar(client, name):
    """A running container to link to (busybox sleeping; a short stop timeout keeps teardown quick)."""
    return client.containers.run(BUSYBOX, command=["sleep", "600"], name=name, labels=dict(TEST_LABELS),
                                 detach=True, stop_signal="SIGKILL")


def test_volumes_from_is_carried_to_the_next_image_and_a_change_replaces(docker_client, slot, new_slot, port):
    data = new_slot()
    data_container(docker_client, data)
    first = deploy_v1(slot, port, volumes_from=[data])
    attrs = inspect(docker_client, slot)
    assert attrs["HostConfig"]["VolumesFrom"] == [data]
    written = docker_client.containers.get(slot).exec_run(["sh", "-c", "echo kept > /shared/file"])
    assert written.exit_code == 0

    result, run = swap(slot, image=V2, health=probe(port))
    assert (result["changed"], result["action"]) == (True, "replace"), run.output[-3000:]
    assert result["container"]["new_id"] != first["container"]["new_id"]
    assert inspect(docker_client, slot)["HostConfig"]["VolumesFrom"] == [data]
    assert docker_client.containers.get(slot).exec_run(["cat", "/shared/file"]).output == b"kept\n"
    assert page(port).startswith("demo v2 ")
    again = swap_result(slot, image=V2, volumes_from=[data + ":rw"], health=probe(port))
    assert (again["changed"], again["action"]) == (False, "none")

    for result in check_then_apply(slot, diff=True, image=V2, volumes_from=[data + ":ro"], health=probe(port)):
        assert (result["changed"], result["action"]) == (True, "replace")
        assert (result["diff"]["before"]["volumes_from"], result["diff"]["after"]["volumes_from"]) == (
            [data], [data + ":ro"])
    attrs = inspect(docker_client, slot)
    assert attrs["HostConfig"]["VolumesFrom"] == [data + ":ro"]
    assert docker_client.containers.get(slot).exec_run(["sh", "-c", "echo x > /shared/other"]).exit_code != 0
    assert swap_result(slot, image=V2, health=probe(port))["changed"] is False


def test_links_are_set_carried_and_compared(docker_client, slot, new_slot, port):
    target = new_slot()
    sidecar(docker_client, target)
    deploy_v1(slot, port, links=[target + ":db"])
    assert inspect(docker_client, slot)["HostConfig"]["Links"] == ["/%s:/%s/db" % (target, slot)]
    hosts = docker_client.containers.get(slot).exec_run(["cat", "/etc/hosts"]).output.decode()
    assert any("db" in line.split() for line in hosts.splitlines()), hosts

    result, run = swap(slot, diff=True, image=V2, health=probe(port))
    assert result["changed"] is True, run.output[-3000:]
    assert result["diff"]["after"]["links"] == [target + ":db"]
    assert inspect(docker_client, slot)["HostConfig"]["Links"] == ["/%s:/%s/db" % (target, slot)]
    again = swap_result(slot, image=V2, links=[target + ":db"], health=probe(port))
    assert (again["changed"], again["action"]) == (False, "none")

    result = swap_result(slot, image=V2, links=[target], health=probe(port))
    assert (result["changed"], result["action"]) == (True, "replace")
    assert inspect(docker_client, slot)["HostConfig"]["Links"] == ["/%s:/%s/%s" % (target, slot, target)]


def test_links_on_a_user_defined_network(docker_client, slot, new_slot, port):
    network = new_slot()
    docker_client.networks.create(network, labels=dict(TEST_LABELS))
    try:
        target = new_slot()
        docker_client.containers.run(BUSYBOX, command=["sleep", "600"], name=target, network=network,
                                     labels=dict(TEST_LABELS), detach=True, stop_signal="SIGKILL")
        deploy_v1(slot, port, network=network, links=[target + ":db"])
        ping = docker_client.containers.get(slot).exec_run(["getent", "hosts", "db"])
        assert ping.exit_code == 0, ping.output
        again = swap_result(slot, image=V1, health=probe(port))
        assert (again["changed"], again["action"]) == (False, "none")
        result = swap_result(slot, image=V2, health=probe(port))
        assert result["changed"] is True
        assert docker_client.containers.get(slot).exec_run(["getent", "hosts", "db"]).exit_code == 0
    finally:
        for name in (slot, target):
            try:
                docker_client.containers.get(name).remove(force=True)
            except docker.errors.NotFound:
                pass
        docker_client.networks.get(network).remove()


def test_hostname_is_set_compared_and_reset(docker_client, slot, port):
    deploy_v1(slot, port, hostname="app0.baton-test")
    assert inspect(docker_client, slot)["Config"]["Hostname"] == "app0.baton-test"
    assert page(port).startswith("demo v1 app0.baton-test")

    *again, carried = swap_results(slot, dict(check=True, image=V1, hostname="app0.baton-test", health=probe(port)),
                                   dict(image=V1, hostname="app0.baton-test", health=probe(port)),
                                   # left out: carried
                                   dict(image=V1, health=probe(port)))
    for result in again:
        assert (result["changed"], result["action"]) == (False, "none")
    assert carried["changed"] is False

    result = swap_result(slot, image=V1, hostname="app1.baton-test", health=probe(port))
    assert (result["changed"], result["action"]) == (True, "replace")
    assert page(port).startswith("demo v1 app1.baton-test")

    result = swap_result(slot, image=V1, hostname="", health=probe(port))
    assert result["changed"] is True
    attrs = inspect(docker_client, slot)
    assert attrs["Config"]["Hostname"] == attrs["Id"][:12]
    # the engine's default hostname reads back as unset
    unset, left_out = swap_results(slot, dict(image=V1, hostname="", health=probe(port)),
                                   dict(image=V1, health=probe(port)))
    assert unset["changed"] is False
    assert left_out["changed"] is False


@pytest.mark.parametrize("option", ["volumes_from", "links"])
def test_missing_referenced_container_fails_before_anything_changes(docker_client, slot, new_slot, port, option):
    missing = new_slot()
    deploy_v1(slot, port)
    before = inspect(docker_client, slot)
    # a check run only warns: an earlier task of the same run may create the container
    result = swap_result(slot, check=True, image=V2, health=probe(port), **{option: [missing]})
    assert result.get("failed") is not True and result["action"] == "replace"
    assert any("there is no container called %s yet" % missing in w for w in result.get("warnings", []))
    result = swap_result(slot, image=V2, health=probe(port), **{option: [missing]})
    assert result["failed"] is True
    assert result["changed"] is False
    assert result["msg"] == "%s: there is no container called %s" % (option, missing)
    after = inspect(docker_client, slot)
    assert (after["Id"], after["State"]["StartedAt"], after["State"]["Running"]) == (
        before["Id"], before["State"]["StartedAt"], True)
    assert page(port).startswith("demo v1 ")

    empty = new_slot()
    result = swap_result(empty, image=V1, labels=TEST_LABELS, **{option: [missing]})
    assert result["failed"] is True and result["msg"].endswith("there is no container called %s" % missing)
    assert inspect(docker_client, empty) is None


def test_link_to_a_stopped_container_fails_before_anything_changes(docker_client, slot, new_slot, port):
    target = new_slot()
    data_container(docker_client, target)
    result = swap_result(slot, image=V1, ports=["127.0.0.1:%d:8000" % port], labels=TEST_LABELS,
                         links=[target], health=probe(port))
    assert result["failed"] is True
    assert result["msg"].startswith("links: container %s does not run" % target)
    assert inspect(docker_client, slot) is None


# ---------------------------------------------------------------- state=created

def test_state_created_creates_without_starting_is_idempotent_and_replaces(docker_client, slot, new_slot):
    data = new_slot()
    data_container(docker_client, data)
    args = dict(image=V1, state="created", labels=TEST_LABELS, command=["python3", "-c", "print('report done')"],
                volumes_from=[data + ":ro"], hostname="report-job")

    result = swap_result(slot, check=True, diff=True, **args)
    assert (result["changed"], result["action"], result["created"]) == (True, "create", True)
    assert result["diff"]["before"] == {} and result["diff"]["after"]["status"] == "created"
    assert inspect(docker_client, slot) is None

    result, run = swap(slot, **args)
    assert (result["changed"], result["action"]) == (True, "create"), run.output[-3000:]
    assert "seconds_to_healthy" not in result
    attrs = inspect(docker_client, slot)
    assert attrs["Id"] == result["container"]["new_id"]
    assert attrs["State"]["Status"] == "created"
    assert attrs["HostConfig"]["VolumesFrom"] == [data + ":ro"]
    assert attrs["Config"]["Hostname"] == "report-job"
    assert attrs["HostConfig"]["RestartPolicy"]["Name"] in ("", "no")
    first_id = attrs["Id"]

    for again in check_then_apply(slot, **args):
        assert (again["changed"], again["action"]) == (False, "none")
        assert again["container"]["new_id"] == first_id

    # the scheduler ran it: it exited, which is normal for a created slot
    docker_client.api.start(first_id)
    assert docker_client.api.wait(first_id, timeout=30)["StatusCode"] == 0
    again = swap_result(slot, **args)
    assert (again["changed"], again["action"]) == (False, "none")

    newer = dict(args)
    newer["image"] = V2
    result = swap_result(slot, check=True, **newer)
    assert (result["changed"], result["action"]) == (True, "replace")
    assert inspect(docker_client, slot)["Id"] == first_id
    result = swap_result(slot, **newer)
    assert (result["changed"], result["action"], result["created"]) == (True, "replace", False)
    attrs = inspect(docker_client, slot)
    assert attrs["Id"] == result["container"]["new_id"] != first_id
    assert attrs["State"]["Status"] == "created"
    assert attrs["Config"]["Image"] == V2
    assert inspect(docker_client, first_id) is None
    assert not previous_exists(docker_client, slot)
    assert swap_result(slot, **newer)["changed"] is False


def test_state_created_replaces_a_running_container_without_starting_the_new_one(docker_client, slot, port):
    old_id = deploy_v1(slot, port)["container"]["new_id"]
    result = swap_result(slot, image=V1, state="created")
    assert (result["changed"], result["action"]) == (False, "none")
    result = swap_result(slot, image=V2, state="created")
    assert (result["changed"], result["action"]) == (True, "replace")
    assert inspect(docker_client, old_id) is None
    attrs = inspect(docker_client, slot)
    assert attrs["State"]["Status"] == "created"
    assert attrs["HostConfig"]["PortBindings"] == {"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}


# ---------------------------------------------------------------- state=absent

def die_events(client, container_id, since, until):
    return list(client.events(since=since, until=until, decode=True,
                              filters={"container": container_id, "event": ["kill", "die"]}))


def test_state_absent_stops_gracefully_and_removes(docker_client, slot, port):
    import time
    old_id = deploy_v1(slot, port, stop_timeout=10)["container"]["new_id"]
    stale = docker_client.containers.create(V1, name=slot + ".baton-previous", labels=dict(TEST_LABELS))

    result = swap_result(slot, check=True, diff=True, state="absent")
    assert (result["changed"], result["action"], result["recovery"]) == (True, "remove", "discarded")
    assert result["diff"]["after"] == {}
    assert result["diff"]["before"]["image"] == V1
    assert result["diff"]["before"]["ports"] == ["127.0.0.1:%d:8000/tcp" % port]
    assert inspect(docker_client, slot)["State"]["Running"] is True

    since = int(time.time()) - 1
    result, run = swap(slot, state="absent")
    until = int(time.time()) + 1
    assert (result["changed"], result["action"], result["failed"]) == (True, "remove", False), run.output[-3000:]
    assert result["container"] == dict(name=slot, old_id=old_id, new_id=None)
    assert inspect(docker_client, slot) is None
    assert inspect(docker_client, stale.id) is None
    events = die_events(docker_client, old_id, since, until)
    kills = [e["Actor"]["Attributes"]["signal"] for e in events if e["Action"] == "kill"]
    exits = [e["Actor"]["Attributes"]["exitCode"] for e in events if e["Action"] == "die"]
    assert kills == ["15"]  # SIGTERM only, no SIGKILL
    assert exits == ["0"]

    for again in check_then_apply(slot, diff=True, state="absent"):
        assert (again["changed"], again["action"], again["recovery"]) == (False, "none", None)
        assert again["diff"] == dict(before={}, after={})


# ---------------------------------------------------------------- update=false

def test_update_false_keeps_an_outdated_container_and_starts_a_stopped_one(docker_client, slot, port):
    old_id = deploy_v1(slot, port, env={"FOO": "one"})["container"]["new_id"]
    started_at = inspect(docker_client, slot)["State"]["StartedAt"]

    for result in check_then_apply(slot, image=V2, env={"FOO": "two"}, update=False, health=probe(port)):
        assert (result["changed"], result["action"]) == (False, "none")
        assert result["container"]["new_id"] == old_id
    # the image is not needed when nothing is created
    result = swap_result(slot, image="baton-demo/app:v9", update=False, health=probe(port))
    assert (result["changed"], result["failed"]) == (False, False)
    attrs = inspect(docker_client, slot)
    assert (attrs["Id"], attrs["State"]["StartedAt"]) == (old_id, started_at)
    assert page(port).startswith("demo v1 ")

    docker_client.api.stop(old_id, timeout=10)
    result = swap_result(slot, check=True, diff=True, image=V2, update=False, health=probe(port))
    assert (result["changed"], result["action"]) == (True, "start")
    assert (result["diff"]["before"]["status"], result["diff"]["after"]["status"]) == ("exited", "running")
    assert inspect(docker_client, slot)["State"]["Running"] is False

    result = swap_result(slot, image=V2, update=False, health=probe(port))
    assert (result["changed"], result["action"], result["failed"]) == (True, "start", False)
    assert result["container"]["new_id"] == old_id
    assert result["seconds_to_healthy"] >= 0
    assert inspect(docker_client, slot)["State"]["Running"] is True
    assert page(port).startswith("demo v1 ")
    assert env_of(docker_client, slot)["FOO"] == "one"

    again = swap_result(slot, image=V2, update=False, health=probe(port))
    assert (again["changed"], again["action"]) == (False, "none")


def test_update_false_creates_in_an_empty_slot(docker_client, slot, port):
    result = swap_result(slot, image="baton-demo/app:v9", update=False, labels=TEST_LABELS)
    assert result["failed"] is True
    assert result["msg"].startswith("image baton-demo/app:v9 is not present locally")
    result, run = swap(slot, image=V1, update=False, ports=["127.0.0.1:%d:8000" % port], labels=TEST_LABELS,
                       health=probe(port))
    assert (result["changed"], result["action"], result["created"]) == (True, "create", True), run.output[-3000:]
    assert page(port).startswith("demo v1 ")

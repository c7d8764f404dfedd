"""baton.docker.data_volume against the real Docker engine, through ansible-playbook.

Every data container and named volume is named baton-it-dv-<random>, labelled
baton.test=1 and removed (with its volumes) in teardown. Files are written and
read with one-off baton-base/busybox containers (--rm, labelled baton.test=1).
Each change runs in one playbook three ways: check mode, apply, re-run.
"""

import pytest

from tests.support.ansible import run_module, run_playbook


PREFIX = "baton-it-dv-"
IMAGE = "baton-base/busybox:latest"
TEST_LABELS = {"baton.test": "1"}
FQCN = "baton.docker.data_volume"
PATHS = ["/var/run", "/var/lib/haproxy/socks"]


@pytest.fixture
def new_name(docker_names):
    """Factory of names; containers and volumes of those names are removed in teardown."""
    return lambda: docker_names(PREFIX)


def three_ways(args):
    """One play: the task in check mode with diff, applied, then applied again."""
    task = {FQCN: args, "ignore_errors": True}
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        dict(task, name="check", check_mode=True, diff=True),
        dict(task, name="apply", diff=True),
        dict(task, name="again"),
    ]}]
    run = run_playbook(play)
    return run.result("check"), run.result("apply"), run.result("again")


def busybox(docker_client, command, **kwargs):
    output = docker_client.containers.run(IMAGE, ["sh", "-c", command], remove=True, labels=TEST_LABELS, **kwargs)
    return output.decode()


def data_args(name, paths=None, **extra):
    args = dict(name=name, volumes=list(paths or PATHS), image=IMAGE, labels=TEST_LABELS)
    args.update(extra)
    return args


def test_data_container_check_create_idempotent(docker_client, new_name):
    name = new_name()
    check, apply, again = three_ways(data_args(name))
    assert not check.get("failed"), check
    assert check["changed"] is True and check["created"] is True and check["id"] is None
    assert check["diff"]["before"] == {}
    assert check["diff"]["after"]["volumes"] == PATHS
    assert apply["changed"] is True and apply["created"] is True
    assert apply["kind"] == "container"
    assert apply["diff"]["before"] == {}
    assert sorted(apply["diff"]["after"]["volumes"]) == sorted(PATHS)

    attrs = docker_client.api.inspect_container(name)
    assert attrs["Id"] == apply["id"]
    assert attrs["State"]["Status"] == "created", "a data container is never started"
    labels = attrs["Config"]["Labels"]
    assert labels["baton.kind"] == "data" and labels["baton.managed"] == "true" and labels["baton.test"] == "1"
    mounts = dict((m["Destination"], m["Source"]) for m in attrs["Mounts"])
    assert sorted(mounts) == sorted(PATHS)
    assert apply["mounts"] == mounts

    assert again["changed"] is False and again["created"] is False
    assert again["id"] == apply["id"] and again["mounts"] == mounts and again["drift"] == {}
    assert not again.get("warnings")


def test_check_mode_creates_nothing(docker_client, new_name):
    name = new_name()
    volume = new_name()
    play = [{"hosts": "localhost", "gather_facts": False, "check_mode": True, "tasks": [
        {"name": "container", FQCN: data_args(name)},
        {"name": "volume", FQCN: dict(name=volume, labels=TEST_LABELS)},
    ]}]
    run = run_playbook(play)
    assert run.rc == 0, run.output[-3000:]
    assert run.result("container")["changed"] is True
    assert run.result("volume")["changed"] is True
    assert docker_client.containers.list(all=True, filters={"name": "^/%s$" % name}) == []
    assert [v for v in docker_client.volumes.list() if v.name == volume] == []


def test_data_survives_a_second_run_and_volumes_from(docker_client, new_name):
    name = new_name()
    first, _run = run_module(FQCN, data_args(name))
    assert first["changed"] is True
    busybox(docker_client, "echo kept > /var/lib/haproxy/socks/marker && echo run > /var/run/marker",
            volumes_from=[name])
    second, _run = run_module(FQCN, data_args(name))
    assert second["changed"] is False and second["id"] == first["id"] and second["mounts"] == first["mounts"]
    output = busybox(docker_client, "cat /var/lib/haproxy/socks/marker /var/run/marker", volumes_from=[name])
    assert output.split() == ["kept", "run"]


def test_drift_warns_and_recreates_nothing(docker_client, new_name):
    name = new_name()
    first, _run = run_module(FQCN, data_args(name))
    busybox(docker_client, "echo kept > /var/run/marker", volumes_from=[name])
    drifted, _run = run_module(FQCN, data_args(name, paths=["/var/run", "/var/static"]))
    assert not drifted.get("failed"), drifted
    assert drifted["changed"] is False and drifted["created"] is False
    assert drifted["drift"] == {"missing": ["/var/static"], "extra": ["/var/lib/haproxy/socks"]}
    assert any("not recreated" in w and "/var/static" in w for w in drifted["warnings"])
    attrs = docker_client.api.inspect_container(name)
    assert attrs["Id"] == first["id"]
    assert sorted(m["Destination"] for m in attrs["Mounts"]) == sorted(PATHS)
    assert busybox(docker_client, "cat /var/run/marker", volumes_from=[name]).strip() == "kept"


def test_name_of_an_ordinary_container_is_refused(docker_client, new_name):
    name = new_name()
    other = docker_client.containers.run(IMAGE, ["sleep", "60"], name=name, detach=True, labels=TEST_LABELS)
    result, _run = run_module(FQCN, data_args(name))
    assert result["failed"] is True
    assert result["msg"].startswith("name: a container called %s exists and is not a data container" % name)
    assert "it is running" in result["msg"]
    other.reload()
    assert other.status == "running" and other.attrs["Mounts"] == []


def test_stopped_container_without_volumes_is_refused(docker_client, new_name):
    name = new_name()
    docker_client.api.create_container(IMAGE, command=["true"], name=name, labels=TEST_LABELS)
    result, _run = run_module(FQCN, data_args(name), check=True)
    assert result["failed"] is True
    assert "it has no volumes and no baton.kind=data label" in result["msg"]


def test_hand_made_data_container_is_adopted(docker_client, new_name):
    """What `docker run --name socks -v /var/run busybox` leaves: stopped, volumes, no label."""
    name = new_name()
    made = docker_client.containers.run(IMAGE, ["true"], name=name, volumes=["/var/run"], detach=True,
                                        labels=TEST_LABELS)
    made.wait(timeout=30)
    result, _run = run_module(FQCN, data_args(name, paths=["/var/run"]))
    assert not result.get("failed"), result
    assert result["changed"] is False and result["id"] == made.id and result["drift"] == {}


def test_relative_path_fails_and_creates_nothing(docker_client, new_name):
    name = new_name()
    result, _run = run_module(FQCN, data_args(name, paths=["/var/run", "var/lib/haproxy"]))
    assert result["failed"] is True
    assert result["msg"] == "volumes: 'var/lib/haproxy' is not an absolute path (container paths start with /)"
    assert docker_client.containers.list(all=True, filters={"name": "^/%s$" % name}) == []


def test_named_volume_check_create_idempotent(docker_client, new_name):
    name = new_name()
    check, apply, again = three_ways(dict(name=name, labels=TEST_LABELS))
    assert check["changed"] is True and check["created"] is True and check["diff"]["before"] == {}
    assert apply["changed"] is True and apply["kind"] == "volume" and apply["id"] == name
    attrs = docker_client.api.inspect_volume(name)
    assert attrs["Driver"] == "local"
    assert attrs["Labels"] == {"baton.test": "1", "baton.kind": "data", "baton.managed": "true"}
    assert apply["mountpoint"] == attrs["Mountpoint"] and apply["mounts"] == {}
    assert again["changed"] is False and again["mountpoint"] == attrs["Mountpoint"] and again["drift"] == {}


def test_named_volume_option_drift_is_reported(docker_client, new_name):
    name = new_name()
    run_module(FQCN, dict(name=name, labels=TEST_LABELS))
    result, _run = run_module(FQCN, dict(name=name, driver_opts={"type": "tmpfs", "device": "tmpfs"}))
    assert result["changed"] is False
    assert result["drift"] == {"driver_opts": {}}
    assert any("not recreated" in w for w in result["warnings"])


def test_named_volume_in_use_cannot_be_removed(docker_client, new_name):
    name = new_name()
    user = new_name()
    run_module(FQCN, dict(name=name, labels=TEST_LABELS))
    docker_client.api.create_container(IMAGE, command=["true"], name=user, labels=TEST_LABELS,
                                       host_config=docker_client.api.create_host_config(binds=["%s:/data" % name]))
    result, _run = run_module(FQCN, dict(name=name, state="absent"))
    assert result["failed"] is True
    assert result["msg"] == "cannot remove volume %s: it is in use by %s; remove those containers first" % (name, user)
    docker_client.api.inspect_volume(name)
    docker_client.api.remove_container(user)
    removed, _run = run_module(FQCN, dict(name=name, state="absent"))
    assert removed["changed"] is True
    assert [v for v in docker_client.volumes.list() if v.name == name] == []
    gone, _run = run_module(FQCN, dict(name=name, state="absent"))
    assert gone["changed"] is False


def test_absent_keeps_the_volumes_unless_told(docker_client, new_name):
    name = new_name()
    created, _run = run_module(FQCN, data_args(name))
    volumes = [m["Name"] for m in docker_client.api.inspect_container(name)["Mounts"]]
    check, _run = run_module(FQCN, dict(name=name, volumes=PATHS, state="absent"), check=True)
    assert check["changed"] is True
    docker_client.api.inspect_container(name)
    removed, _run = run_module(FQCN, dict(name=name, volumes=PATHS, state="absent"))
    assert removed["changed"] is True and removed["mounts"] == created["mounts"]
    assert docker_client.containers.list(all=True, filters={"name": "^/%s$" % name}) == []
    kept = [docker_client.volumes.get(v) for v in volumes]
    assert len(kept) == 2
    for volume in kept:
        volume.remove()

    second = new_name()
    run_module(FQCN, data_args(second))
    volumes = [m["Name"] for m in docker_client.api.inspect_container(second)["Mounts"]]
    removed, _run = run_module(FQCN, dict(name=second, volumes=PATHS, state="absent", remove_volumes=True))
    assert removed["changed"] is True and removed["mounts"] == {}
    names = set(v.name for v in docker_client.volumes.list())
    assert not names.intersection(volumes)


def test_data_container_in_use_cannot_be_removed(docker_client, new_name):
    name = new_name()
    user = new_name()
    run_module(FQCN, data_args(name))
    docker_client.api.create_container(IMAGE, command=["true"], name=user, labels=TEST_LABELS,
                                       host_config=docker_client.api.create_host_config(volumes_from=[name]))
    result, _run = run_module(FQCN, dict(name=name, volumes=PATHS, state="absent"))
    assert result["failed"] is True
    assert "its volumes are mounted by %s" % user in result["msg"]
    docker_client.api.inspect_container(name)


def test_a_stack_of_data_volumes_in_one_task(docker_client, new_name):
    """data_volumes: a data container and a named volume in one execution; check mode creates neither; the second
    run changes nothing; an entry that fails stops the task with the entries before it reported."""
    socks, uploads = new_name(), new_name()
    args = dict(data_volumes=[dict(name=socks, volumes=PATHS), dict(name=uploads, kind="volume")],
                image=IMAGE, labels=TEST_LABELS)
    check, apply, again = three_ways(args)
    assert not check.get("failed"), check
    assert check["changed"] is True and [r["created"] for r in check["results"]] == [True, True]
    assert check["diff"]["before"] == [{}, {}]
    assert [r["kind"] for r in apply["results"]] == ["container", "volume"]
    assert apply["changed"] is True and [r["created"] for r in apply["results"]] == [True, True]
    assert sorted(apply["results"][0]["mounts"]) == sorted(PATHS)
    assert apply["results"][1]["mountpoint"].endswith("/_data")
    assert again["changed"] is False and [r["created"] for r in again["results"]] == [False, False]
    assert docker_client.containers.get(socks).labels["baton.kind"] == "data"
    assert docker_client.volumes.get(uploads).attrs["Labels"]["baton.test"] == "1"

    # An ordinary container holding a later entry's name: the earlier entries are done, then the task fails there.
    taken = new_name()
    docker_client.containers.create(IMAGE, ["true"], name=taken, labels=TEST_LABELS)
    fresh = new_name()
    entries = [dict(name=fresh, kind="volume"), dict(name=taken, volumes=PATHS)]
    failed, _run = run_module(FQCN, dict(data_volumes=entries, image=IMAGE, labels=TEST_LABELS))
    assert failed.get("failed") and "a container called %s exists and is not a data container" % taken in failed["msg"]
    assert [r["name"] for r in failed["results"]] == [fresh]

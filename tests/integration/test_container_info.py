"""baton.docker.container_info against the real Docker engine, through ansible-playbook.

Each test creates its own containers from baton-base/busybox, named
baton-it-info-<random>, labelled baton.test=1 and baton.test.run=<id of the
test> (so the listing only sees them), and removes them in teardown.
"""

import uuid

import docker
import pytest

from tests.support.ansible import run_module


MODULE = "baton.docker.container_info"
PREFIX = "baton-it-info-"
BUSYBOX = "baton-base/busybox:latest"


@pytest.fixture
def stack(docker_client):
    """Three containers of a fake stack: app0 running, app1 created, job0 exited; removed afterwards."""
    run_id = uuid.uuid4().hex[:10]
    base = {"baton.test": "1", "baton.test.run": run_id}
    names = {key: "%s%s-%s" % (PREFIX, run_id, key) for key in ("app0", "app1", "job0")}
    made = []
    try:
        made.append(docker_client.containers.run(
            BUSYBOX, ["sleep", "300"], name=names["app0"], detach=True,
            labels=dict(base, **{"baton.entry": "app", "baton.replica": "0", "baton.kind": "http"})))
        made.append(docker_client.containers.create(
            BUSYBOX, ["true"], name=names["app1"],
            labels=dict(base, **{"baton.entry": "app", "baton.replica": "1", "baton.kind": ""})))
        job = docker_client.containers.create(BUSYBOX, ["sh", "-c", "exit 4"], name=names["job0"],
                                              labels=dict(base, **{"baton.entry": "job"}))
        made.append(job)
        job.start()
        job.wait(timeout=60)
        yield dict(run_id=run_id, names=names)
    finally:
        for container in made:
            try:
                container.remove(force=True, v=True)
            except docker.errors.NotFound:
                pass


def info(check=False, **args):
    result, playbook = run_module(MODULE, args, check=check)
    status = playbook.results("under test")[-1]["status"]
    assert status in ("ok", "ignored"), playbook.output[-3000:]
    result = dict(result)
    result["failed"] = status == "ignored"
    return result


def test_lists_by_label_sorted_with_states(stack, docker_client):
    names = stack["names"]
    result = info(labels={"baton.test.run": stack["run_id"]})
    assert result["failed"] is False, result
    assert result["changed"] is False
    listed = result["containers"]
    assert [c["name"] for c in listed] == sorted(names.values())
    by_name = {c["name"]: c for c in listed}
    app0 = by_name[names["app0"]]
    assert app0["status"] == "running" and app0["running"] is True
    assert app0["image"] == BUSYBOX
    assert app0["image_id"] == docker_client.images.get(BUSYBOX).id
    assert app0["id"] == docker_client.containers.get(names["app0"]).id
    assert app0["labels"]["baton.replica"] == "0" and app0["labels"]["baton.test.run"] == stack["run_id"]
    assert app0["created"] == docker_client.containers.get(names["app0"]).attrs["Created"]
    assert by_name[names["app1"]]["status"] == "created" and by_name[names["app1"]]["running"] is False
    assert by_name[names["job0"]]["status"] == "exited" and by_name[names["job0"]]["running"] is False


@pytest.mark.parametrize("labels, all_, keys", [
    ({"baton.entry": "app"}, True, ["app0", "app1"]),
    ({"baton.entry": "app"}, False, ["app0"]),
    ({"baton.kind": ""}, True, ["app0", "app1"]),       # present with any value, the empty one included
    ({"baton.kind": "http"}, True, ["app0"]),
    ({"baton.kind": "cron"}, True, []),
    ({"baton.entry": "job", "baton.kind": ""}, True, []),
])
def test_label_filters(stack, labels, all_, keys):
    labels = dict(labels, **{"baton.test.run": stack["run_id"]})
    for check in (False, True):
        result = info(check=check, labels=labels, all=all_)
        assert result["failed"] is False, result
        assert result["changed"] is False
        assert [c["name"] for c in result["containers"]] == [stack["names"][key] for key in keys]


def test_exact_name(stack):
    names = stack["names"]
    result = info(name=names["job0"])
    assert [c["name"] for c in result["containers"]] == [names["job0"]]
    assert info(name=names["job0"], all=False)["containers"] == []
    # a prefix of a name, or of an ID, is not a name
    assert info(name=names["job0"][:-1])["containers"] == []
    assert info(name=result["containers"][0]["id"][:12])["containers"] == []
    assert info(name=names["job0"], labels={"baton.entry": "app"})["containers"] == []


def test_bad_label_value_is_refused(stack):
    result = info(labels={"baton.test": True})
    assert result["failed"] is True
    assert "labels: the value of baton.test is a boolean" in result["msg"]

"""baton.docker.container_info against the real Docker engine, through ansible-playbook.

The tests share one set of containers from baton-base/busybox (the module only
reads), named baton-it-info-<random>, labelled baton.test=1 and
baton.test.run=<id of the set> (so the listing only sees them), removed when the
module's tests are done. The calls of one test run as the tasks of one playbook.
"""

import uuid

import docker
import pytest

from tests.support.ansible import run_playbook


MODULE = "baton.docker.container_info"
PREFIX = "baton-it-info-"
BUSYBOX = "baton-base/busybox:latest"


@pytest.fixture(scope="module")
def stack(docker_client):
    """Three containers of a fake stack: app0 running, app1 created, job0 exited; removed afterwards."""
    run_id = uuid.uuid4().hex[:10]
    base = {"baton.test": "1", "baton.test.run": run_id}
    names = {key: "%s%s-%s" % (PREFIX, run_id, key) for key in ("app0", "app1", "job0")}
    made = []
    try:
        made.append(docker_client.containers.run(
            BUSYBOX, ["sleep", "3600"], name=names["app0"], detach=True,
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


def infos(*calls):
    """Run the module once per call, (args) or (args, check), as the tasks of one playbook; their results in order,
    each with "failed" set when the task failed."""
    calls = [call if isinstance(call, tuple) else (call, False) for call in calls]
    names = ["under test %d" % number for number in range(len(calls))]
    play = [{"hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": name, MODULE: args, "check_mode": check, "ignore_errors": True}
                       for name, (args, check) in zip(names, calls)]}]
    playbook = run_playbook(play)
    results = []
    for name in names:
        found = [r for r in playbook.records if r["task"] == name]
        assert found, "no result for task %r in:\n%s" % (name, playbook.output[-3000:])
        assert found[-1]["status"] in ("ok", "ignored"), playbook.output[-3000:]
        result = dict(found[-1]["result"])
        result["failed"] = found[-1]["status"] == "ignored"
        results.append(result)
    return results


def info(check=False, **args):
    return infos((args, check))[0]


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
    for result in infos((dict(labels=labels, all=all_), False), (dict(labels=labels, all=all_), True)):
        assert result["failed"] is False, result
        assert result["changed"] is False
        assert [c["name"] for c in result["containers"]] == [stack["names"][key] for key in keys]


def test_exact_name(stack, docker_client):
    names = stack["names"]
    job_id = docker_client.containers.get(names["job0"]).id
    result, running, name_prefix, id_prefix, other_labels = infos(
        dict(name=names["job0"]), dict(name=names["job0"], all=False),
        # a prefix of a name, or of an ID, is not a name
        dict(name=names["job0"][:-1]), dict(name=job_id[:12]),
        dict(name=names["job0"], labels={"baton.entry": "app"}))
    assert [c["name"] for c in result["containers"]] == [names["job0"]]
    assert result["containers"][0]["id"] == job_id
    assert running["containers"] == []
    assert name_prefix["containers"] == []
    assert id_prefix["containers"] == []
    assert other_labels["containers"] == []


def test_bad_label_value_is_refused(stack):
    result = info(labels={"baton.test": True})
    assert result["failed"] is True
    assert "labels: the value of baton.test is a boolean" in result["msg"]

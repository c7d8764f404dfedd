"""release_cleanup through the real ansible-playbook, against the real Docker engine: distinct tiny images built from
baton-base/busybox:latest under a repository of this test's own, a release record of five releases, a stopped
container on one of them, and an image of another repository that also carries one of the app's tags."""

import io
import json
import uuid

import pytest
from docker import errors as docker_errors

from tests.support.ansible import run_module

BASE = "baton-base/busybox:latest"
MODULE = "baton.docker.release_cleanup"


@pytest.fixture
def world(docker_client, tmp_path):
    """Images ``<repo>:v1``..``v5`` (distinct builds), ``<other>:keep`` also tagged ``<repo>:v0``, a state
    directory and a container name; every image and container is removed by name afterwards."""
    unique = uuid.uuid4().hex[:10]
    repo, other = "baton-cleanup-%s/app" % unique, "baton-cleanup-%s/tool" % unique
    refs, containers = [], []
    ids = {}
    try:
        for name, ref in [("v%d" % n, "%s:v%d" % (repo, n)) for n in range(1, 6)] + [("tool", other + ":keep")]:
            dockerfile = "FROM %s\nLABEL baton.test.cleanup=%s-%s\n" % (BASE, unique, name)
            image, _logs = docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=ref, pull=False,
                                                      rm=True)
            refs.append(ref)
            ids[name] = image.id
        docker_client.api.tag(ids["tool"], repo, "v0")
        refs.append(repo + ":v0")
        state = tmp_path / "state"
        state.mkdir()
        yield dict(repo=repo, other=other, ids=ids, state=str(state), app="shop-%s" % unique,
                   container="baton-cleanup-%s-old" % unique, containers=containers)
    finally:
        for name in containers:
            try:
                docker_client.api.remove_container(name, force=True)
            except docker_errors.NotFound:
                pass
        for ref in refs:
            try:
                docker_client.images.remove(ref, force=True)
            except docker_errors.NotFound:
                pass


def write_record(world, previous="v2"):
    history = [{"version": "v%d" % n, "image": "%s:v%d" % (world["repo"], n), "image_id": world["ids"]["v%d" % n],
                "deployed_at": "2026-12-0%dT10:00:00Z" % n} for n in (5, 4, 3, 2, 1)]
    record = {"app": world["app"], "current": history[0],
              "previous": next(entry for entry in history if entry["version"] == previous),
              "history": history, "last_rollout": []}
    path = "%s/%s.json" % (world["state"], world["app"])
    with open(path, "w") as handle:
        json.dump(record, handle)
    return path


def present(docker_client, world):
    """{version: the app's tags it still carries} of the five release images and the other repository's image."""
    found = {}
    for name, image_id in world["ids"].items():
        try:
            tags = docker_client.api.inspect_image(image_id).get("RepoTags") or []
        except docker_errors.NotFound:
            continue
        found[name] = sorted(tags)
    return found


def test_keeps_the_newest_releases_the_previous_one_and_what_a_container_uses(docker_client, world):
    path = write_record(world, previous="v2")
    ids, repo = world["ids"], world["repo"]
    # A stopped container of release v3 (it ran, and exited).
    container = docker_client.api.create_container(ids["v3"], command=["true"], name=world["container"])
    world["containers"].append(world["container"])
    docker_client.api.start(container["Id"])
    assert docker_client.api.wait(container["Id"], timeout=60)["StatusCode"] == 0
    args = {"app": world["app"], "state_dir": world["state"], "keep_releases": 2}
    before = present(docker_client, world)

    result, _run = run_module(MODULE, args, check=True, diff=True)
    assert not result.get("failed"), result
    assert result["changed"] is True and result["record_pruned"] is True
    assert sorted((str(item["version"]), item["action"]) for item in result["removed"]) == [
        ("None", "untag"), ("v1", "delete")]
    assert present(docker_client, world) == before, "check mode removed images"
    with open(path) as handle:
        assert len(json.load(handle)["history"]) == 5, "check mode wrote the record"
    diff = result["diff"]
    assert any(ids["v1"] in line for line in diff["before"]["images"])
    assert not any(ids["v1"] in line for line in diff["after"]["images"])
    assert diff["before"]["history"] == ["v5", "v4", "v3", "v2", "v1"] and diff["after"]["history"] == ["v5", "v4", "v2"]

    result, _run = run_module(MODULE, args)
    assert not result.get("failed"), result
    assert result["changed"] is True
    assert sorted((item["id"], item["action"]) for item in result["removed"]) == sorted(
        [(ids["v1"], "delete"), (ids["tool"], "untag")])
    reasons = dict((item["version"], item["reason"]) for item in result["kept"])
    assert "current release" in reasons["v5"] and "among the 2 newest" in reasons["v4"]
    assert "previous release" in reasons["v2"] and world["container"] in reasons["v3"]
    assert present(docker_client, world) == {
        "v5": [repo + ":v5"], "v4": [repo + ":v4"], "v3": [repo + ":v3"], "v2": [repo + ":v2"],
        # Shared with another repository: only the app's tag went, the image stays for the other repository.
        "tool": [world["other"] + ":keep"],
    }
    with open(path) as handle:
        record = json.load(handle)
    assert [entry["version"] for entry in record["history"]] == ["v5", "v4", "v2"]
    assert record["current"]["version"] == "v5" and record["previous"]["version"] == "v2"

    result, _run = run_module(MODULE, args, diff=True)
    assert not result.get("failed"), result
    assert result["changed"] is False and result["removed"] == [] and result["record_pruned"] is False
    assert set(present(docker_client, world)) == {"v5", "v4", "v3", "v2", "tool"}

    # Once its container is gone, the v3 image (no longer a release of the record, still of the app's repository)
    # goes too: exactly keep_releases and the previous release are left.
    docker_client.api.remove_container(world["container"])
    result, _run = run_module(MODULE, args)
    assert result["changed"] is True and [item["id"] for item in result["removed"]] == [ids["v3"]]
    assert result["removed"][0]["version"] is None
    assert set(present(docker_client, world)) == {"v5", "v4", "v2", "tool"}
    result, _run = run_module(MODULE, args)
    assert result["changed"] is False and result["removed"] == []


def test_keep_one_still_keeps_the_previous_release(docker_client, world):
    write_record(world, previous="v4")
    args = {"app": world["app"], "state_dir": world["state"], "keep_releases": 1}
    result, _run = run_module(MODULE, args)
    assert not result.get("failed"), result
    assert result["history"] == ["v5", "v4"]
    assert set(present(docker_client, world)) == {"v5", "v4", "tool"}
    result, _run = run_module(MODULE, args)
    assert result["changed"] is False


def test_without_a_record_there_is_nothing_to_do(tmp_path):
    result, _run = run_module(MODULE, {"app": "shop", "state_dir": str(tmp_path)}, check=True)
    assert not result.get("failed"), result
    assert result["changed"] is False and "no release record at %s/shop.json" % tmp_path in result["msg"]
    result, _run = run_module(MODULE, {"app": "shop", "state_dir": str(tmp_path / "absent")})
    assert not result.get("failed"), result
    assert result["changed"] is False and result["removed"] == []


def test_a_record_that_is_not_json_fails_naming_the_file(tmp_path):
    path = tmp_path / "shop.json"
    path.write_text("{\"current\": ")
    result, _run = run_module(MODULE, {"app": "shop", "state_dir": str(tmp_path)})
    assert result.get("failed")
    assert str(path) in result["msg"] and "not valid JSON" in result["msg"]


@pytest.mark.parametrize("args, option", [
    ({"app": "../etc/passwd"}, "app"),
    ({"app": "shop", "keep_releases": 0}, "keep_releases"),
    ({"app": "shop", "state_dir": "relative/dir"}, "state_dir"),
])
def test_bad_input_is_refused_naming_the_option(tmp_path, args, option):
    args = dict({"state_dir": str(tmp_path)}, **args)
    result, _run = run_module(MODULE, args)
    assert result.get("failed") and result["msg"].startswith(option + ":"), result

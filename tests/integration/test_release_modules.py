"""image_pull and release_record through the real ansible-playbook, against the real Docker engine."""

import json

from tests.support.ansible import run_module


def test_image_pull_present_image_is_no_change_and_reports_its_id(docker_client):
    expected = docker_client.images.get("baton-demo/app:v1").id
    result, _run = run_module("baton.docker.image_pull", {"image": "baton-demo/app:v1"})
    assert not result.get("failed"), result
    assert result["changed"] is False and result["pulled"] is False
    assert result["image_id"] == expected


def test_image_pull_refuses_a_different_build(docker_client):
    other = docker_client.images.get("baton-demo/app:v2").id
    result, _run = run_module("baton.docker.image_pull", {"image": "baton-demo/app:v1", "expected_id": other,
                                                          "pull": "never"})
    assert result.get("failed")
    assert "not the expected build %s" % other in result["msg"]


def test_image_pull_unknown_tag_fails_in_check_mode_too(registry):
    ref = "%s/demo/app:v404" % registry.address
    auth = {"username": registry.username, "password": registry.password}
    for check in (True, False):
        result, run = run_module("baton.docker.image_pull", {"image": ref, "pull_auth": auth}, check=check)
        assert result.get("failed"), result
        assert "baton-demo" not in result["msg"] and ref in result["msg"]
        assert registry.password not in run.output


def test_image_pull_pulls_from_the_registry_with_credentials(docker_client, registry):
    ref = "%s/demo/app:pulltest" % registry.address
    auth = {"username": registry.username, "password": registry.password}
    image = docker_client.images.get("baton-demo/app:v2")
    image.tag(ref)
    for line in docker_client.api.push(ref, stream=True, decode=True,
                                       auth_config={"username": registry.username, "password": registry.password}):
        assert "error" not in line, line
    docker_client.images.remove(ref)
    try:
        result, run = run_module("baton.docker.image_pull", {"image": ref, "pull_auth": auth}, check=True)
        assert result["changed"] is True and result["image_id"] is None
        result, run = run_module("baton.docker.image_pull", {"image": ref, "pull_auth": auth})
        assert result["changed"] is True and result["image_id"] == image.id
        assert registry.password not in run.output
        result, _run = run_module("baton.docker.image_pull", {"image": ref, "pull_auth": auth})
        assert result["changed"] is False
    finally:
        docker_client.images.remove(ref, force=True)


def test_release_record_check_apply_idempotent_and_read(tmp_path):
    path = str(tmp_path / "shop.json")
    args = {"path": path, "app": "shop",
            "release": {"version": "v1", "image": "shop:v1", "image_id": "sha256:1"}}
    result, _run = run_module("baton.docker.release_record", args, check=True, diff=True)
    assert result["changed"] is True
    assert not (tmp_path / "shop.json").exists()
    result, _run = run_module("baton.docker.release_record", args)
    assert result["changed"] is True
    assert json.loads((tmp_path / "shop.json").read_text())["current"]["version"] == "v1"
    result, _run = run_module("baton.docker.release_record", args)
    assert result["changed"] is False

    result, _run = run_module("baton.docker.release_record", {"path": path, "state": "read", "require_previous": True})
    assert result.get("failed") and "no release before the current one (v1)" in result["msg"]
    args["release"] = {"version": "v2", "image": "shop:v2", "image_id": "sha256:2"}
    run_module("baton.docker.release_record", args)
    result, _run = run_module("baton.docker.release_record", {"path": path, "state": "read", "require_previous": True})
    assert result["previous"]["version"] == "v1" and result["changed"] is False

"""playbooks/build_push.yml end to end: real git checkout, real Docker engine, real registry.

The session's docker-registry with htpasswd (fixture `registry`) stands in for
ECR: the playbook logs in to it with registry_login, image_release builds the
checkout, runs its tests in a one-off container of the new image, and pushes
git_<sha> only when they pass. The registry's own API says what was pushed,
and a pull of the tag proves what it holds.
"""

import os
import subprocess
import uuid

import pytest
import requests

from tests.support.ansible import ROOT, run_playbook

PLAYBOOK = os.path.join(ROOT, "playbooks", "build_push.yml")
GIT = ["git", "-c", "user.name=baton test", "-c", "user.email=test@baton.invalid", "-c", "init.defaultBranch=main"]

DOCKERFILE = """FROM baton-base/busybox:latest
COPY . /app
CMD ["cat", "/app/VERSION"]
"""
TESTS = """#!/bin/sh
if [ "$(cat /app/RESULT)" = pass ]; then echo "3 passed"; else echo "1 failed: expected pass"; exit 1; fi
"""


def git(checkout, *args):
    return subprocess.run(GIT + list(args), cwd=str(checkout), check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True).stdout.strip()


@pytest.fixture
def release(tmp_path, registry, docker_client):
    """A git checkout to release, a repository name of its own, and cleanup of what the test built."""
    run_id = uuid.uuid4().hex[:10]
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "Dockerfile").write_text(DOCKERFILE)
    (checkout / ".dockerignore").write_text(".git\n")
    (checkout / "run_tests.sh").write_text(TESTS)
    (checkout / "RESULT").write_text("pass\n")
    (checkout / "VERSION").write_text("release %s\n" % run_id)
    git(checkout, "init", "-q")
    git(checkout, "add", "-A")
    git(checkout, "commit", "-q", "-m", "release")
    docker_config = tmp_path / "docker-config"
    docker_config.mkdir()
    state = dict(
        checkout=checkout,
        run_id=run_id,
        name="baton-test-%s/app" % run_id,
        repository="%s/baton-test-%s/app" % (registry.address, run_id),
        env={"DOCKER_CONFIG": str(docker_config)},
    )
    yield state
    for image in docker_client.images.list(filters={"label": "baton.test.run=%s" % run_id}):
        docker_client.images.remove(image.id, force=True)
    for container in docker_client.containers.list(all=True, filters={"label": "baton.test.run=%s" % run_id}):
        container.remove(force=True)


def extra(release, registry, **over):
    values = dict(
        build_push_source=str(release["checkout"]),
        build_push_repository=release["repository"],
        build_push_test_command=["sh", "/app/run_tests.sh"],
        build_push_registry_username=registry.username,
        build_push_registry_password=registry.password,
        build_push_labels={"baton.test": "1", "baton.test.run": release["run_id"]},
    )
    values.update(over)
    return values


def remote_tags(registry, name):
    answer = requests.get("http://%s/v2/%s/tags/list" % (registry.address, name),
                          auth=(registry.username, registry.password), timeout=10)
    if answer.status_code == 404:
        return []
    answer.raise_for_status()
    return answer.json().get("tags") or []


def test_tests_pass_then_git_sha_is_pushed(release, registry, docker_client):
    sha = git(release["checkout"], "rev-parse", "--short=7", "HEAD")
    run = run_playbook(PLAYBOOK, extra_vars=extra(release, registry), env=release["env"])
    assert run.rc == 0, run.output
    result = run.result("Build, test inside the image")
    assert result["tested"] is True and result["pushed"] is True
    assert result["test_output"] == ["3 passed"]
    assert remote_tags(registry, release["name"]) == ["git_%s" % sha]
    assert registry.password not in run.output

    # Same commit again: the build cache gives the same image, the registry already has it.
    run = run_playbook(PLAYBOOK, extra_vars=extra(release, registry), env=release["env"])
    assert run.rc == 0, run.output
    assert run.changed() == 0, run.changed_tasks()
    again = run.result("Build, test inside the image")
    assert again["image_id"] == result["image_id"] and again["digest"] == result["digest"]

    # What the registry holds is the image that was tested: pull it back and run it.
    ref = "%s:git_%s" % (release["repository"], sha)
    docker_client.images.remove(ref)
    docker_client.images.pull(release["repository"], tag="git_%s" % sha,
                              auth_config={"username": registry.username, "password": registry.password})
    output = docker_client.containers.run(ref, remove=True, labels={"baton.test": "1",
                                                                    "baton.test.run": release["run_id"]})
    assert output.decode().strip() == "release %s" % release["run_id"]
    assert docker_client.images.get(ref).id == result["image_id"]
    assert not docker_client.containers.list(all=True, filters={"label": "baton.test.run=%s" % release["run_id"]})


def test_failing_tests_push_nothing(release, registry, docker_client):
    (release["checkout"] / "RESULT").write_text("fail\n")
    git(release["checkout"], "commit", "-q", "-am", "break the tests")
    sha = git(release["checkout"], "rev-parse", "--short=7", "HEAD")
    run = run_playbook(PLAYBOOK, extra_vars=extra(release, registry), env=release["env"])
    assert run.rc != 0
    result = run.result("Build, test inside the image")
    assert result["msg"] == ("the test command sh /app/run_tests.sh failed with exit code 1; %s:git_%s was not "
                             "tagged or pushed" % (release["repository"], sha))
    assert result["test_output"] == ["1 failed: expected pass"]
    assert remote_tags(registry, release["name"]) == []
    assert not docker_client.images.list(name=release["repository"])
    assert not docker_client.containers.list(all=True, filters={"label": "baton.test.run=%s" % release["run_id"]})


def test_other_branch_is_refused(release, registry, docker_client):
    git(release["checkout"], "checkout", "-q", "-b", "feature/x")
    run = run_playbook(PLAYBOOK, extra_vars=extra(release, registry), env=release["env"])
    assert run.rc != 0
    assert "refusing to push %s:git_" % release["repository"] in run.output
    assert "is on branch 'feature/x', and releases are pushed from 'main' only (build_push_branch)" in run.output
    assert not run.results("Build, test inside the image")
    assert remote_tags(registry, release["name"]) == []


def test_other_branch_can_build_and_test_without_pushing(release, registry, docker_client):
    git(release["checkout"], "checkout", "-q", "-b", "feature/x")
    run = run_playbook(PLAYBOOK, extra_vars=extra(release, registry, build_push_push=False), env=release["env"])
    assert run.rc == 0, run.output
    result = run.result("Build, test inside the image")
    assert result["tested"] is True and result["pushed"] is False
    assert remote_tags(registry, release["name"]) == []


def test_release_branch_is_configurable(release, registry):
    git(release["checkout"], "checkout", "-q", "-b", "release")
    run = run_playbook(PLAYBOOK, extra_vars=extra(release, registry, build_push_branch="release"),
                       env=release["env"], check=True)
    assert run.rc == 0, run.output
    assert run.result("Build, test inside the image")["msg"].startswith("would build ")
    assert remote_tags(registry, release["name"]) == []

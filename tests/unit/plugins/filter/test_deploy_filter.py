"""The deploy role's migrations and notifications, from the stack spec, a host's containers and the rollout plan."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.baton.docker.plugins.filter.deploy import (
    FilterModule,
    stack_migration,
    stack_rollbar,
    stack_version,
)

ROLLBAR = {"access_token": "tok", "env_var": "RACK_ENV", "rev_var": "GIT_REVISION", "environment": None}


def entry(name, migration=None, rollbar=None):
    return {"name": name, "migration": migration, "rollbar": rollbar}


def container(name, entry_name, image="reg.example.com:5000/shop:v2", kind="auto", env=None, **settings):
    item = {"name": name, "entry": entry_name, "kind": kind, "image": image, "entrypoint": None,
            "env": env if env is not None else {"RAILS_ENV": "production"}, "volumes": [], "volumes_from": [],
            "links": [], "network": "", "secret_keys": []}
    item.update(settings)
    return item


SPEC = {"containers": [entry("app", migration="rake db:migrate", rollbar=ROLLBAR), entry("sidekiq"),
                       entry("haproxy")]}
CONTAINERS = [
    container("app0", "app", volumes=["static:/var/static"], volumes_from=["logs0"], links=["db:db"],
              entrypoint=["/bin/sh", "-c"], network="shop"),
    container("app1", "app", env={"OTHER": "1"}),
    container("sidekiq0", "sidekiq"),
    container("haproxy0", "haproxy", image="haproxy:2.6", kind="manual"),
]


def plan(*units):
    return {"units": [{"slot": slot, "action": action} for slot, action in units]}


def test_filters_are_registered():
    assert FilterModule().filters() == {"stack_migration": stack_migration, "stack_rollbar": stack_rollbar,
                                        "stack_version": stack_version}


@pytest.mark.parametrize("units, changing", [
    ((), False),
    ((("app0", "none"), ("app1", "none"), ("sidekiq0", "replace")), False),
    ((("app0", "none"), ("app1", "replace")), True),
    ((("app0", "create"),), True),
    ((("app0", "update"), ("app1", "start"), ("app2", "remove")), False),
    # a replica the host no longer runs (pruned) is no new container
    ((("app2", "replace"),), False),
])
def test_migration_runs_when_a_container_of_its_entry_is_new(units, changing):
    assert stack_migration(SPEC, "app", CONTAINERS, plan(*units))["changing"] is changing


def test_migration_runs_in_the_first_container_of_its_entry():
    assert stack_migration(SPEC, "app", CONTAINERS, plan()) == {
        "command": "rake db:migrate", "image": "reg.example.com:5000/shop:v2", "entrypoint": ["/bin/sh", "-c"],
        "env": {"RAILS_ENV": "production"}, "volumes": ["static:/var/static"], "volumes_from": ["logs0"],
        "links": ["db:db"], "network": "shop", "changing": False}


def test_migration_of_a_plan_without_units():
    assert stack_migration(SPEC, "app", CONTAINERS, {})["changing"] is False


@pytest.mark.parametrize("name, containers, message", [
    ("nope", CONTAINERS, "no container entry named 'nope'"),
    ("app", CONTAINERS[2:], "entry 'app' has no container on this host"),
])
def test_migration_of_an_unknown_entry_names_it(name, containers, message):
    with pytest.raises(AnsibleFilterError) as info:
        stack_migration(SPEC, name, containers, plan())
    assert message in str(info.value)


@pytest.mark.parametrize("rollbar, env, version, image, expected", [
    # defaults: production, the deploy's version
    (ROLLBAR, {}, "v7", "shop:v2", {"environment": "production", "revision": "v7"}),
    # the container's own variables win
    (ROLLBAR, {"RACK_ENV": "staging", "GIT_REVISION": "cf7edb2"}, "v7", "shop:v2",
     {"environment": "staging", "revision": "cf7edb2"}),
    # other variable names; empty values count as unset
    (dict(ROLLBAR, env_var="APP_ENV", rev_var="REV"), {"RACK_ENV": "x", "APP_ENV": "qa", "REV": ""}, "", "shop:v2",
     {"environment": "qa", "revision": "v2"}),
    # the rollbar environment when the container has none
    (dict(ROLLBAR, environment="eu-prod"), {"RACK_ENV": ""}, "v7", "shop:v2",
     {"environment": "eu-prod", "revision": "v7"}),
    # no version: the image's tag; a digest names none
    (ROLLBAR, {}, "", "reg.example.com:5000/shop:git_cf7edb2", {"environment": "production", "revision": "git_cf7edb2"}),
    (ROLLBAR, {}, "", "shop@sha256:" + "a" * 64, {"environment": "production", "revision": None}),
])
def test_rollbar_deploy(rollbar, env, version, image, expected):
    spec = {"containers": [entry("app", rollbar=rollbar)]}
    containers = [container("app0", "app", image=image, env=env), container("app1", "app", env={"RACK_ENV": "no"})]
    assert stack_rollbar(spec, "app", containers, version) == dict(expected, access_token="tok")


@pytest.mark.parametrize("containers, version, expected", [
    (CONTAINERS, "v9", "v9"),
    (CONTAINERS, "", "v2"),
    # manual entries (HAProxy, nginx...) do not name the release
    (CONTAINERS[3:] + [container("web0", "web", image="reg.example.com:5000/web:2024.1")], "", "2024.1"),
    (CONTAINERS[3:], "", ""),
    ([], "", ""),
    (None, "", ""),
    # what follows the last ':' (an image without one is reported whole)
    ([container("a0", "a", image="shop")], "", "shop"),
    ([container("a0", "a", image="shop@sha256:" + "b" * 64)], "", "b" * 64),
])
def test_version(containers, version, expected):
    assert stack_version(containers, version) == expected

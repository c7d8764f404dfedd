"""Every container setting of the settings table round-trips on the real engine: task parameters -> explicit config ->
the create call -> ``docker inspect`` -> the explicit config read back (and no difference in effective form).

One created (never started) container per setting, from baton-demo/app:v1 (scripts/build_images.sh: it has a CMD,
ENV values, a label and a HEALTHCHECK, so the image's defaults take part); all are removed in teardown. A setting
added to plugins/module_utils/_container_settings.py without a sample here, or without one of its parts, fails.
"""

import pytest

from ansible_collections.baton.docker.plugins.module_utils import _container_settings as cs
from ansible_collections.baton.docker.plugins.module_utils._containers import create_container
from ansible_collections.baton.docker.plugins.module_utils._docker_client import DockerClient

IMAGE = "baton-demo/app:v1"
PREFIX = "baton-it-settings-"


def assert_round_trip(docker_client, name, desired, image_config):
    """Creates ``name`` from ``desired`` with the collection's own create call, then reads it back: the explicit
    config read from inspect is ``desired``, and the effective config shows no difference."""
    labels = cs.create_labels(desired["labels"], name, IMAGE)
    container_id = create_container(DockerClient(api=docker_client.api), name, IMAGE, desired, labels)
    attrs = docker_client.api.inspect_container(container_id)
    assert cs.explicit_from_container(attrs, image_config) == desired
    wanted = cs.effective_config(desired, image_config, name)
    assert cs.config_differences(wanted, cs.effective_from_container(attrs)) == []


def samples(tmp_path, source, target):
    """Task parameters per setting, each giving a value other than the first deploy's default."""
    return dict(
        env=dict(env={"BATON_SETTING": "on", "APP_VERSION": "settings"}),
        labels=dict(labels={"baton.test": "1", "team": "settings"}),
        ports=dict(ports=["127.0.0.1::8000", "127.0.0.1::9000/udp"]),
        volumes=dict(volumes=["%s:/mnt/data:ro" % tmp_path, "%s/rw:/mnt/rw" % tmp_path]),
        restart_policy=dict(restart_policy="always"),
        restart_retries=dict(restart_policy="on-failure", restart_retries=3),
        command=dict(command="python3 -m http.server 8000"),
        entrypoint=dict(entrypoint=["/bin/sh", "-c", "sleep 300"]),
        network=dict(network="host"),
        stop_timeout=dict(stop_timeout=7),
        healthcheck=dict(healthcheck=dict(test=["CMD", "true"], interval=5, timeout=3, retries=2, start_period=1)),
        volumes_from=dict(volumes_from=["%s:ro" % source]),
        links=dict(links=["%s:peer" % target]),
        hostname=dict(hostname="baton-setting.example"),
    )


def task(**given):
    params = dict((option, None) for option in cs.setting_options())
    params.update(given)
    return params


@pytest.fixture(scope="module")
def image_config(docker_client):
    return docker_client.api.inspect_image(IMAGE)["Config"]


@pytest.fixture
def peers(docker_client, docker_names):
    """Two created containers the volumes_from and links samples refer to."""
    names = docker_names(PREFIX), docker_names(PREFIX)
    for name in names:
        docker_client.api.create_container(IMAGE, name=name, labels={"baton.test": "1"})
    return names


def test_every_setting_has_a_sample(tmp_path):
    assert sorted(samples(tmp_path, "a", "b")) == sorted(cs.RUN_KEYS)


@pytest.mark.parametrize("setting", [s.name for s in cs.SETTINGS])
def test_setting_round_trips_on_the_engine(setting, tmp_path, docker_client, docker_names, peers, image_config):
    (tmp_path / "rw").mkdir()
    given = samples(tmp_path, *peers)[setting]
    requested = cs.explicit_from_params(task(**given))
    assert setting in requested
    desired = cs.merge_config(requested, None)
    assert desired[setting] != cs.first_deploy_config()[setting]

    assert_round_trip(docker_client, docker_names(PREFIX), desired, image_config)


def test_the_first_deploy_defaults_round_trip(docker_client, docker_names, image_config):
    assert_round_trip(docker_client, docker_names(PREFIX), cs.merge_config({}, None), image_config)

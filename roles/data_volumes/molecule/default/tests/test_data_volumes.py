# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What baton.docker.data_volumes leaves on the Docker engine, checked from the instance.

Expected names, paths and labels come from the scenario's inventory
(data_volumes_list, data_volumes_labels); the container ID and mounts from
before the second run come from the state file the side effect wrote.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

STATE_FILE = "/var/lib/baton-molecule/data-volumes.json"


@pytest.fixture(scope="module")
def variables(host):
    return host.ansible.get_variables()


@pytest.fixture(scope="module")
def entries(variables):
    containers = [e for e in variables["data_volumes_list"] if e["volumes"]]
    volumes = [e for e in variables["data_volumes_list"] if not e["volumes"]]
    assert containers and volumes, "the scenario must have a data container and a named volume"
    return containers[0], volumes[0]


def inspect(host, *args):
    result = host.run("docker %s inspect %s", *args)
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)[0]


def state(host):
    state_file = host.file(STATE_FILE)
    if not state_file.exists:
        pytest.skip("the side effect (data written, second run) has not run")
    return json.loads(state_file.content_string)


def test_data_container_is_created_not_started(host, entries, variables):
    container, _volume = entries
    attrs = inspect(host, "container", container["name"])
    assert attrs["State"]["Status"] == "created"
    assert attrs["Config"]["Image"] == variables["data_volumes_image"]
    labels = attrs["Config"]["Labels"]
    assert labels["baton.kind"] == "data"
    assert labels["baton.managed"] == "true"
    for key, value in variables["data_volumes_labels"].items():
        assert labels[key] == value


def test_data_container_has_a_volume_per_path(host, entries):
    container, _volume = entries
    mounts = inspect(host, "container", container["name"])["Mounts"]
    assert sorted(m["Destination"] for m in mounts) == sorted(container["volumes"])
    assert all(m["Type"] == "volume" and m["Source"] for m in mounts)


def test_named_volume(host, entries, variables):
    _container, volume = entries
    attrs = inspect(host, "volume", volume["name"])
    assert attrs["Driver"] == "local"
    assert attrs["Labels"]["baton.kind"] == "data"
    for key, value in variables["data_volumes_labels"].items():
        assert attrs["Labels"][key] == value


def test_second_run_kept_the_container(host, entries):
    container, _volume = entries
    before = state(host)
    attrs = inspect(host, "container", container["name"])
    assert attrs["Id"] == before["id"]
    assert dict((m["Destination"], m["Source"]) for m in attrs["Mounts"]) == before["mounts"]


def test_second_run_kept_the_files(host, entries, variables):
    container, volume = entries
    state(host)
    paths = ["%s/baton-marker" % p for p in container["volumes"]] + ["/uploads/baton-marker"]
    command = ["docker", "run", "--rm", "--label", "baton.test=1", "--volumes-from", container["name"],
               "--volume", "%s:/uploads" % volume["name"], variables["data_volumes_image"], "cat"] + paths
    result = host.run(" ".join(["%s"] * len(command)), *command)
    assert result.rc == 0, result.stderr
    assert result.stdout.split() == ["kept"] * len(paths)

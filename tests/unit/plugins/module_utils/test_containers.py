"""Unit tests of the pure functions of module_utils/_containers.py, as tables. Listing and summaries are also
driven through main() in tests/unit/plugins/modules/test_container_info.py, malformed engine answers in
tests/unit/test_malformed_answers.py, and every call against the real engine in tests/integration."""

import pytest

from ansible_collections.baton.docker.plugins.module_utils._containers import (
    checked_container_attrs,
    container_summary,
    images_in_use,
    is_running,
    labels_match,
)
from ansible_collections.baton.docker.plugins.module_utils._docker_client import DockerClient, DockerClientError


@pytest.mark.parametrize("attrs, running", [
    (None, False),
    ({"Name": "/app", "State": {"Running": True, "Restarting": False}}, True),
    ({"Name": "/app", "State": {"Running": True, "Restarting": True}}, False),
    ({"Name": "/app", "State": {"Running": False}}, False),
    ({"Name": "/app", "State": {}}, False),
])
def test_is_running(attrs, running):
    assert is_running(attrs) is running


@pytest.mark.parametrize("attrs, error", [
    ({"Name": "/app"}, "inspect data of container /app: State: expected an object from the engine, got nothing"),
    ("app", "container inspect data: expected an object from the engine, got 'app'"),
])
def test_is_running_of_malformed_data(attrs, error):
    with pytest.raises(DockerClientError) as caught:
        is_running(attrs)
    assert str(caught.value) == error


@pytest.mark.parametrize("attrs", [
    {"Name": "/app"},
    {"Name": "/app", "Id": "c" * 64, "State": {"Health": {"Status": "healthy"}}, "Config": {}, "HostConfig": {},
     "NetworkSettings": {}, "Mounts": []},
    {"Name": "/app", "State": None, "Mounts": None},
])
def test_well_formed_inspect_data_passes_unchanged(attrs):
    assert checked_container_attrs(attrs, "app") is attrs


@pytest.mark.parametrize("labels, wanted, match", [
    ({"a": "1", "b": "2"}, {"a": "1"}, True),
    ({"a": "1"}, {"a": ""}, True),
    ({"a": "1"}, {"a": "2"}, False),
    ({"a": "1"}, {"b": ""}, False),
    (None, None, True),
    (None, {"a": ""}, False),
    ({"a": ""}, {"a": ""}, True),
])
def test_labels_match(labels, wanted, match):
    assert labels_match(labels, wanted) is match


def test_container_summary_of_a_container_without_mounts_or_labels():
    summary = container_summary({"Name": "/app", "Id": "c" * 64, "Image": "sha256:1", "Created": "t",
                                 "State": {"Status": "created"}, "Config": {"Image": "app:v1", "Labels": None}})
    assert summary == dict(name="app", id="c" * 64, image="app:v1", image_id="sha256:1", status="created",
                           running=False, labels={}, created="t", mounts=[])


class ContainersAPI:
    def __init__(self, rows):
        self.rows = rows
        self.asked = []

    def containers(self, all=False):
        self.asked.append(all)
        return self.rows


def test_images_in_use_counts_containers_of_every_state():
    api = ContainersAPI([{"Id": "a" * 64, "Names": ["/web"], "ImageID": "sha256:1", "State": "running"},
                         {"Id": "b" * 64, "Names": ["/old"], "ImageID": "sha256:1", "State": "exited"},
                         {"Id": "c" * 64, "Names": None, "ImageID": "sha256:2", "State": "created"}])
    assert images_in_use(DockerClient(api=api)) == {"sha256:1": ["web", "old"], "sha256:2": ["c" * 12]}
    assert api.asked == [True]


@pytest.mark.parametrize("rows, message", [
    ({"Id": "a"}, "container list: expected a list of objects"),
    ([{"Names": ["/web"], "ImageID": "sha256:1"}], "container list: an entry has no Id"),
    ([{"Id": "a" * 64, "Names": ["/web"]}], "container list: container aaaaaaaaaaaa has no ImageID"),
])
def test_images_in_use_refuses_malformed_answers(rows, message):
    with pytest.raises(DockerClientError) as info:
        images_in_use(DockerClient(api=ContainersAPI(rows)))
    assert message in str(info.value)

"""Unit tests of baton.docker.container_info: the pure label match and summary, the
listing of the shared Docker client against a scripted low-level client, and
main() driven with module args. The real engine runs in
tests/integration/test_container_info.py."""

import pytest

from ansible_collections.baton.docker.plugins.module_utils import _containers
from ansible_collections.baton.docker.plugins.module_utils import _docker_client
from ansible_collections.baton.docker.plugins.modules import container_info
from tests.support.module_harness import call_main, engine_factory


def attrs(name, status="running", labels=None, image="baton-demo/app:v1"):
    return {
        "Id": name * 4,
        "Name": "/" + name,
        "Image": "sha256:" + "12" * 32,
        "Created": "2026-11-22T10:45:01.123456789Z",
        "State": {"Status": status, "Running": status in ("running", "paused", "restarting")},
        "Config": {"Image": image, "Labels": labels},
    }


class FakeAPI:
    def __init__(self, containers, vanished=()):
        self.by_id = {c["Id"]: c for c in containers}
        self.by_name = {c["Name"].lstrip("/"): c for c in containers}
        self.vanished = set(vanished)
        self.listed = []

    def containers(self, all=False, filters=None):
        self.listed.append(dict(all=all, filters=filters))
        return [{"Id": c["Id"]} for c in self.by_id.values() if all or c["State"]["Running"]]

    def inspect_container(self, key):
        if key in self.vanished:
            raise _docker_client.docker_errors.NotFound("gone")
        if key in self.by_id:
            return self.by_id[key]
        # the engine also matches ID prefixes; get_container must not take those for names
        for container in self.by_id.values():
            if container["Id"].startswith(key) or container["Name"] == "/" + key:
                return container
        raise _docker_client.docker_errors.NotFound("no such container")


class FakeClient(_docker_client.DockerClient):
    """A DockerClient over FakeAPI."""

    def __init__(self, api):
        super().__init__(api=api)

    def close(self):
        pass


STACK = [
    attrs("app1", labels={"baton.stack": "shop", "baton.entry": "app", "baton.replica": "1"}),
    attrs("app0", labels={"baton.stack": "shop", "baton.entry": "app", "baton.replica": "0"}),
    attrs("sidekiq0", status="exited", labels={"baton.stack": "shop", "baton.entry": "sidekiq"}),
    attrs("other", labels={"baton.stack": "blog", "baton.entry": "app"}),
    attrs("plain", status="created", labels=None),
]


@pytest.mark.parametrize("labels, wanted, match", [
    ({"a": "1"}, None, True),
    ({"a": "1"}, {}, True),
    (None, {}, True),
    ({"a": "1"}, {"a": "1"}, True),
    ({"a": "1"}, {"a": "2"}, False),
    ({"a": "1"}, {"a": ""}, True),
    ({"a": ""}, {"a": ""}, True),
    ({"b": "1"}, {"a": ""}, False),
    (None, {"a": ""}, False),
    ({"a": "1", "b": "2"}, {"a": "1", "b": ""}, True),
    ({"a": "1", "b": "2"}, {"a": "1", "c": ""}, False),
])
def test_labels_match(labels, wanted, match):
    assert _containers.labels_match(labels, wanted) is match


def test_container_summary():
    assert _containers.container_summary(attrs("app0", labels={"k": "v"})) == dict(
        name="app0", id="app0" * 4, image="baton-demo/app:v1", image_id="sha256:" + "12" * 32, status="running",
        running=True, labels={"k": "v"}, created="2026-11-22T10:45:01.123456789Z", mounts=[])
    summary = _containers.container_summary(attrs("plain", status="exited"))
    assert summary["labels"] == {} and summary["running"] is False and summary["status"] == "exited"
    data = attrs("socks", status="created")
    data["Mounts"] = [{"Type": "volume", "Name": "abc", "Source": "/var/lib/docker/volumes/abc/_data",
                       "Destination": "/var/run", "RW": True},
                      {"Type": "bind", "Source": "/srv/static", "Destination": "/var/static", "RW": False}]
    assert _containers.container_summary(data)["mounts"] == [
        dict(type="volume", name="abc", source="/var/lib/docker/volumes/abc/_data", destination="/var/run",
             read_only=False),
        dict(type="bind", name=None, source="/srv/static", destination="/var/static", read_only=True)]


@pytest.mark.parametrize("labels, name, include_stopped, names", [
    ({"baton.stack": "shop"}, None, True, ["app0", "app1", "sidekiq0"]),
    ({"baton.stack": "shop"}, None, False, ["app0", "app1"]),
    ({"baton.stack": "shop", "baton.entry": "app"}, None, True, ["app0", "app1"]),
    ({"baton.entry": "app"}, None, True, ["app0", "app1", "other"]),
    ({"baton.stack": ""}, None, True, ["app0", "app1", "other", "sidekiq0"]),
    ({"baton.stack": "none"}, None, True, []),
    (None, None, True, ["app0", "app1", "other", "plain", "sidekiq0"]),
    (None, "app0", True, ["app0"]),
    (None, "app", True, []),  # exact names only: no prefix of app0 / app1
    (None, "sidekiq0", False, []),
    ({"baton.stack": "blog"}, "app0", True, []),
    ({"baton.stack": "shop"}, "app0", True, ["app0"]),
])
def test_list_containers(labels, name, include_stopped, names):
    api = FakeAPI(STACK)
    found = _containers.list_containers(FakeClient(api), labels=labels, name=name, include_stopped=include_stopped)
    assert [c["name"] for c in found] == names


def test_list_containers_filters_on_the_engine_and_skips_vanished():
    api = FakeAPI(STACK, vanished={"app1" * 4})
    found = _containers.list_containers(FakeClient(api), labels={"baton.stack": "shop", "baton.replica": ""})
    assert api.listed == [dict(all=True, filters={"label": ["baton.replica", "baton.stack=shop"]})]
    assert [c["name"] for c in found] == ["app0"]


def run_main(args, monkeypatch, api=None):
    def fake_client(*a, **kw):
        if api is None:
            raise AssertionError("main() reached the engine with invalid arguments")
        return FakeClient(api)

    monkeypatch.setattr(container_info, "DockerClient", engine_factory(fake_client))
    return call_main(container_info.main, args)


@pytest.mark.parametrize("args, fragment", [
    (dict(labels={"baton.managed": True}), "labels: the value of baton.managed is a boolean"),
    (dict(labels={"k": {"nested": 1}}), "labels: the value of k must be a string, not a dict"),
    (dict(name=""), "name: must not be empty"),
    (dict(all="maybe"), "argument 'all' is of type str"),
    (dict(colour="red"), "Unsupported parameters"),
])
def test_bad_values_fail_before_the_engine_is_contacted(args, fragment, monkeypatch):
    outcome = run_main(args, monkeypatch)
    assert outcome.kind == "fail"
    assert fragment in outcome.result["msg"], outcome.result["msg"]
    assert outcome.result.get("changed") in (None, False)


@pytest.mark.parametrize("check_mode", [False, True])
def test_main_lists_and_never_changes(check_mode, monkeypatch):
    outcome = run_main(dict(labels={"baton.stack": "shop"}, all=False, _ansible_check_mode=check_mode), monkeypatch,
                       FakeAPI(STACK))
    assert outcome.kind == "exit"
    assert outcome.result["changed"] is False
    assert [c["name"] for c in outcome.result["containers"]] == ["app0", "app1"]
    assert outcome.result["containers"][0]["labels"]["baton.replica"] == "0"


def test_unreachable_engine_is_a_clean_failure(monkeypatch):
    class Unreachable(_docker_client.DockerClient):
        def connect(self):
            raise _docker_client.DockerClientError("cannot reach the Docker engine at %s: refused" % self.docker_host)

    monkeypatch.setattr(container_info, "DockerClient", Unreachable)
    outcome = call_main(container_info.main, dict(docker_host="unix:///nowhere.sock"))
    assert outcome.kind == "fail"
    assert outcome.result["msg"].startswith("cannot reach the Docker engine at unix:///nowhere.sock")
    assert outcome.result["containers"] == [] and outcome.result["changed"] is False

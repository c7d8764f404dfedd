"""Unit tests of baton.docker.data_volume: its pure decisions and main() on bad input.

The decisions (paths, drift, which container may serve as a data container)
are the pure functions of module_utils/_data_volumes.py.
main() is driven with module args for the mistakes that must fail before the
engine is contacted; everything that needs the engine is in
tests/integration/test_data_volume.py.
"""

import pytest

from ansible_collections.baton.docker.plugins.module_utils import _data_volumes
from ansible_collections.baton.docker.plugins.module_utils import _docker_client
from ansible_collections.baton.docker.plugins.modules import data_volume
from tests.support.module_harness import call_main, engine_factory


@pytest.fixture(autouse=True)
def no_engine(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the Docker engine must not be contacted")
    monkeypatch.setattr(data_volume, "DockerClient", engine_factory(refuse))


def run(args):
    return call_main(data_volume.main, args)


# ---------------------------------------------------------------- pure decisions

@pytest.mark.parametrize("paths,expected", [
    (None, []),
    ([], []),
    (["/var/run"], ["/var/run"]),
    (["/var/run/", "/var/lib/haproxy/socks"], ["/var/run", "/var/lib/haproxy/socks"]),
    (["//data//x/./y"], ["/data/x/y"]),
    (["/b", "/a"], ["/b", "/a"]),
])
def test_normalize_data_paths(paths, expected):
    assert _data_volumes.normalize_data_paths(paths) == expected


@pytest.mark.parametrize("paths,needle", [
    (["var/run"], "'var/run' is not an absolute path"),
    (["/ok", "relative"], "'relative' is not an absolute path"),
    ([""], "'' is not an absolute path"),
    (["/srv/data:/data"], "'/srv/data:/data' holds a ':'"),
    (["/"], "'/' is the root directory"),
    (["/var/run", "/var/run/"], "/var/run is listed more than once"),
])
def test_normalize_data_paths_rejects(paths, needle):
    with pytest.raises(_docker_client.DockerClientError) as info:
        _data_volumes.normalize_data_paths(paths)
    assert str(info.value).startswith("volumes: ")
    assert needle in str(info.value)


@pytest.mark.parametrize("wanted,current,expected", [
    (["/a", "/b"], ["/b", "/a"], {}),
    (["/a", "/b"], ["/a"], {"missing": ["/b"]}),
    (["/a"], ["/a", "/c"], {"extra": ["/c"]}),
    (["/b", "/a"], ["/c"], {"missing": ["/a", "/b"], "extra": ["/c"]}),
])
def test_data_path_drift(wanted, current, expected):
    assert _data_volumes.data_path_drift(wanted, current) == expected


@pytest.mark.parametrize("attrs,driver,opts,expected", [
    ({"Driver": "local", "Options": None}, None, None, {}),
    ({"Driver": "local", "Options": None}, "local", {}, {}),
    ({"Driver": "local", "Options": {"type": "tmpfs"}}, None, {"type": "tmpfs"}, {}),
    ({"Driver": "local", "Options": {"type": "tmpfs"}}, None, None, {}),
    ({"Driver": "local", "Options": {}}, "other", None, {"driver": "local"}),
    ({"Driver": "local", "Options": {"type": "tmpfs"}}, None, {"type": "nfs"}, {"driver_opts": {"type": "tmpfs"}}),
    ({"Driver": "local", "Options": None}, None, {"size": 10}, {"driver_opts": {}}),
])
def test_volume_option_drift(attrs, driver, opts, expected):
    assert _data_volumes.volume_option_drift(attrs, driver, opts) == expected


def container(labels=None, running=False, mounts=()):
    return {
        "Config": {"Labels": labels},
        "State": {"Running": running, "Restarting": False},
        "Mounts": [{"Destination": path, "Source": "/var/lib/docker/volumes/%d/_data" % i, "Type": "volume"}
                   for i, path in enumerate(mounts)],
    }


@pytest.mark.parametrize("attrs,needle", [
    (container({"baton.kind": "data"}), None),
    (container({"baton.kind": "data"}, running=True), None),
    (container(None, mounts=["/var/run"]), None),
    (container({"other": "x"}, mounts=["/var/run"]), None),
    (container(None, running=True, mounts=["/var/run"]), "it is running and has no baton.kind=data label"),
    (container(None), "it has no volumes and no baton.kind=data label"),
    (container({"baton.kind": "http"}, mounts=["/var/run"]), "it is a baton.kind=http container, not a data container"),
])
def test_not_a_data_container(attrs, needle):
    assert _data_volumes.not_a_data_container(attrs) == needle


def test_data_container_mounts():
    attrs = container(mounts=["/var/run", "/var/lib/haproxy/socks"])
    assert _data_volumes.data_container_mounts(attrs) == {
        "/var/run": "/var/lib/docker/volumes/0/_data",
        "/var/lib/haproxy/socks": "/var/lib/docker/volumes/1/_data",
    }
    assert _data_volumes.data_container_mounts({"Mounts": None}) == {}


@pytest.mark.parametrize("spec,expected", [
    ("lbadmin:/var/lib/haproxy/admin/admin.sock", ("lbadmin", "/var/lib/haproxy/admin/admin.sock")),
    ("s-1.lb_x:/a//b/../c.sock", ("s-1.lb_x", "/a/c.sock")),
    ("/run/haproxy/admin.sock", None),
    ("127.0.0.1:9999", None),
    ("localhost:9999", None),
    ("ipv6@[::1]:9999", None),
    ("lbadmin:relative.sock", None),
    (":/x", None),
    ("", None),
])
def test_split_container_path(spec, expected):
    assert _data_volumes.split_container_path(spec) == expected


@pytest.mark.parametrize("path,expected", [
    ("/var/lib/haproxy/socks/app0.sock", "/var/lib/docker/volumes/1/_data/app0.sock"),
    ("/var/run/haproxy.sock", "/var/lib/docker/volumes/0/_data/haproxy.sock"),
    ("/var/lib/haproxy/socks", "/var/lib/docker/volumes/1/_data"),
    ("/var/lib/haproxy/socksx/a.sock", "/srv/lib/haproxy/socksx/a.sock"),
    ("/etc/haproxy.sock", None),
])
def test_host_path_of_a_path_in_a_container_deepest_mount_first(path, expected):
    attrs = container(mounts=["/var/run", "/var/lib/haproxy/socks", "/var/lib"])
    attrs["Mounts"][2]["Source"] = "/srv/lib"
    assert _data_volumes.host_path_of(attrs, path) == expected


def test_data_labels_cannot_be_overridden():
    labels = _data_volumes.data_labels({"baton.stack": "shop", "baton.kind": "http", "n": 1})
    assert labels == {"baton.stack": "shop", "baton.kind": "data", "baton.managed": "true", "n": "1"}


# ---------------------------------------------------------------- main() on bad input

@pytest.mark.parametrize("args,needle", [
    (dict(name="socks", volumes=["var/run"], image="busybox"), "volumes: 'var/run' is not an absolute path"),
    (dict(name="socks", volumes=["/var/run", "tmp"], image="busybox", state="absent"),
     "volumes: 'tmp' is not an absolute path"),
    (dict(name="socks", volumes=["/var/run"]), "image: required to create data container socks"),
    (dict(name="socks", volumes=["/var/run"], image="busybox", driver="local"),
     "parameters are mutually exclusive: volumes|driver"),
    (dict(name="socks", volumes=["/var/run"], image="busybox", driver_opts={"type": "tmpfs"}),
     "parameters are mutually exclusive: volumes|driver_opts"),
    (dict(name="socks", state="gone"), "value of state must be one of: present, absent"),
    (dict(volumes=["/var/run"], image="busybox"), "one of the following is required: name, data_volumes"),
    (dict(name="socks", data_volumes=[dict(name="x")]), "parameters are mutually exclusive: name|data_volumes"),
    (dict(data_volumes=[dict(name="socks", volumes=["/var/run"])], volumes=["/x"]),
     "parameters are mutually exclusive: data_volumes|volumes"),
    (dict(data_volumes=[dict(volumes=["/var/run"])]), "missing required arguments: name found in data_volumes"),
    (dict(data_volumes=[dict(name="socks", volumes=["/var/run"], colour="red")], image="busybox"), "colour"),
    (dict(data_volumes=[dict(name="socks", volumes=["var/run"])], image="busybox"),
     "data_volumes[0] (socks).volumes: 'var/run' is not an absolute path"),
    (dict(data_volumes=[dict(name="up"), dict(name="socks", volumes=["/var/run"])]),
     "data_volumes[1] (socks).image: required to create data container socks"),
    (dict(data_volumes=[dict(name="socks", volumes=["/var/run"], kind="volume")], image="busybox"),
     "data_volumes[0] (socks).kind: volume, but volumes lists container paths"),
    (dict(data_volumes=[dict(name="up", kind="container")]), "data_volumes[0] (up).kind: container, but volumes is empty"),
    (dict(data_volumes=[dict(name="up", volumes=["/a"], driver="local")], image="busybox"),
     "data_volumes[0] (up): volumes make a data container"),
    (dict(data_volumes=[dict(name="up"), dict(name="up")]), "data_volumes: up is listed more than once"),
    (dict(data_volumes=[dict(name="")]), "data_volumes[0].name: must not be empty"),
])
def test_bad_input_fails_before_the_engine(args, needle):
    result = run(args)
    assert result.kind == "fail"
    assert needle in result.result["msg"]


def test_absent_data_container_needs_no_image(monkeypatch):
    """state=absent with volumes gets past validation without an image (and then connects)."""
    reached = []

    class Unreachable(_docker_client.DockerClient):
        def connect(self):
            reached.append((self.docker_host, self.api_timeout))
            raise _docker_client.DockerClientError("cannot reach the Docker engine at test: refused")
    monkeypatch.setattr(data_volume, "DockerClient", Unreachable)
    result = run(dict(name="socks", volumes=["/var/run"], state="absent", docker_host="unix:///nonexistent.sock"))
    assert reached == [("unix:///nonexistent.sock", 60)]
    assert result.kind == "fail"
    assert result.result["msg"] == "cannot reach the Docker engine at test: refused"

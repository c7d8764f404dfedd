"""Unit tests of Dockerrun.aws.json validation, rendering and bundling.

The expected field names are those of the AWS Elastic Beanstalk documentation
(Dockerrun.aws.json v1 for the Docker platform, v2 for the ECS managed Docker
platform), listed in V1_FIELDS and V2_* below.
"""

import io
import json
import zipfile

import pytest

from ansible_collections.baton.docker.plugins.module_utils import _dockerrun as dr

V1_FIELDS = {"AWSEBDockerrunVersion", "Authentication", "Image", "Ports", "Volumes", "Logging", "Entrypoint", "Command"}
V2_FIELDS = {"AWSEBDockerrunVersion", "authentication", "volumes", "containerDefinitions"}
V2_CONTAINER_FIELDS = {"name", "image", "environment", "essential", "memory", "memoryReservation", "mountPoints",
                       "portMappings", "links", "volumesFrom", "entryPoint", "command"}


def v1(**over):
    params = dict(version=1, image=None, image_update=True, ports=None, volumes=None, logging=None,
                  entrypoint=None, command=None, authentication=None, containers=None)
    params.update(over)
    return params


def container(name, **over):
    entry = dict(name=name, image="repo/%s:1" % name, essential=True, memory=128, memory_reservation=None,
                 env=None, ports=None, links=None, volumes_from=None, mount_points=None, entrypoint=None,
                 command=None)
    entry.update(over)
    return entry


def v2(containers, **over):
    params = v1(version=2, image_update=True, containers=containers)
    params.update(over)
    return params


def test_v1_full_document_uses_the_documented_fields():
    params = v1(image="123456789012.dkr.ecr.us-east-1.amazonaws.com/app:git_cf7edb2", image_update=False,
                ports=[dict(container_port=8000, host_port=80)],
                volumes=[dict(name=None, host_path="/var/app/data", container_path="/data")],
                logging="/var/log/app", entrypoint="/app/bin/server", command="--port 8000",
                authentication=dict(bucket="my-bucket", key="docker/.dockercfg"))
    assert dr.validate(params) == []
    doc = dr.render(params)
    assert set(doc) == V1_FIELDS
    assert doc == {
        "AWSEBDockerrunVersion": "1",
        "Authentication": {"Bucket": "my-bucket", "Key": "docker/.dockercfg"},
        "Image": {"Name": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:git_cf7edb2", "Update": "false"},
        "Ports": [{"ContainerPort": "8000", "HostPort": "80"}],
        "Volumes": [{"HostDirectory": "/var/app/data", "ContainerDirectory": "/data"}],
        "Logging": "/var/log/app",
        "Entrypoint": "/app/bin/server",
        "Command": "--port 8000",
    }


def test_v1_minimal_document():
    doc = dr.render(v1(image="app:git_1", ports=[dict(container_port=8000, host_port=None)]))
    assert dr.dumps(doc) == (
        '{\n  "AWSEBDockerrunVersion": "1",\n  "Image": {\n    "Name": "app:git_1",\n    "Update": "true"\n  },\n'
        '  "Ports": [\n    {\n      "ContainerPort": "8000"\n    }\n  ]\n}\n')


def test_v1_without_image_builds_from_the_bundle():
    params = v1(ports=[dict(container_port=80, host_port=None)])
    assert dr.validate(params) == []
    assert "Image" not in dr.render(params)


def test_v2_document_uses_the_documented_fields():
    params = v2([
        container("app", memory=256, memory_reservation=128, env={"B_VAR": 2, "A_VAR": "x", "DEBUG": False},
                  mount_points=[dict(source_volume="static", container_path="/srv/static", read_only=False)],
                  entrypoint=["/app/run"], command=["--workers", "2"]),
        container("proxy", memory=64, essential=False, ports=[dict(container_port=80, host_port=80)],
                  links=["app:backend"], volumes_from=["app"],
                  mount_points=[dict(source_volume="awseb-logs-proxy", container_path="/var/log/nginx",
                                     read_only=True)]),
    ], volumes=[dict(name="static", host_path="/var/app/current/static", container_path=None)],
        authentication=dict(bucket="b", key="k"))
    assert dr.validate(params) == []
    doc = dr.render(params)
    assert set(doc) == V2_FIELDS
    assert doc["AWSEBDockerrunVersion"] == 2
    assert doc["authentication"] == {"bucket": "b", "key": "k"}
    assert doc["volumes"] == [{"name": "static", "host": {"sourcePath": "/var/app/current/static"}}]
    app, proxy = doc["containerDefinitions"]
    assert set(app) | set(proxy) <= V2_CONTAINER_FIELDS
    assert app == {
        "name": "app", "image": "repo/app:1", "essential": True, "memory": 256, "memoryReservation": 128,
        "entryPoint": ["/app/run"], "command": ["--workers", "2"],
        "environment": [{"name": "A_VAR", "value": "x"}, {"name": "B_VAR", "value": "2"},
                        {"name": "DEBUG", "value": "false"}],
        "mountPoints": [{"sourceVolume": "static", "containerPath": "/srv/static", "readOnly": False}],
    }
    assert proxy == {
        "name": "proxy", "image": "repo/proxy:1", "essential": False, "memory": 64,
        "portMappings": [{"hostPort": 80, "containerPort": 80}], "links": ["app:backend"],
        "volumesFrom": [{"sourceContainer": "app"}],
        "mountPoints": [{"sourceVolume": "awseb-logs-proxy", "containerPath": "/var/log/nginx", "readOnly": True}],
    }


def test_rendering_is_stable():
    params = v2([container("app", env={"Z": "1", "A": "2", "M": "3"})])
    assert dr.dumps(dr.render(params)) == dr.dumps(dr.render(params))
    names = [e["name"] for e in dr.render(params)["containerDefinitions"][0]["environment"]]
    assert names == ["A", "M", "Z"]
    assert json.loads(dr.dumps(dr.render(params)))["AWSEBDockerrunVersion"] == 2


@pytest.mark.parametrize("params,message", [
    (v1(image="app:1"), "ports: version 1 needs at least one port when image is set"),
    (v1(image=" ", ports=[dict(container_port=80, host_port=None)]), "image: must not be empty"),
    (v1(ports=[dict(container_port=0, host_port=None)]), "ports[0].container_port: 0 is not a port number"),
    (v1(ports=[dict(container_port=80, host_port=70000)]), "ports[0].host_port: 70000 is not a port number"),
    (v1(containers=[container("a")]), "containers: only used with version 2"),
    (v1(volumes=[dict(name="x", host_path="/a", container_path="/b")]), "volumes[0].name: only used with version 2"),
    (v1(volumes=[dict(name=None, host_path="/a", container_path=None)]),
     "volumes[0].container_path: version 1 volumes need host_path and container_path"),
    (v1(authentication=dict(bucket="", key="k")), "authentication.bucket: must not be empty"),
    (v2([container("a")], image="x"), "image: only used with version 1; set containers[].image instead"),
    (v2([container("a")], logging="/var/log"), "logging: only used with version 1"),
    (v2([]), "containers: version 2 needs at least one container"),
    (v2([container("web"), container("web")]), "containers[1].name: 'web' is already the name of containers[0]"),
    (v2([container("web"), container("app", links=["db"])]),
     "containers[1].links[0]: 'db' is not a container in this Dockerrun"),
    (v2([container("web", links=["web:self"])]), "containers[0].links[0]: a container cannot link to itself"),
    (v2([container("web", volumes_from=["data"])]),
     "containers[0].volumes_from[0]: 'data' is not a container in this Dockerrun"),
    (v2([container("web", mount_points=[dict(source_volume="data", container_path="/d", read_only=False)])]),
     "containers[0].mount_points[0].source_volume: 'data' is not declared in volumes"),
    (v2([container("web", memory=None)]), "containers[0]: set memory or memory_reservation"),
    (v2([container("web", memory=64, memory_reservation=128)]),
     "containers[0].memory_reservation: 128 is more than memory (64)"),
    (v2([container("web", memory=2)]), "containers[0].memory: 2 MiB is below the 4 MiB Docker allows"),
    (v2([container("web", image="")]), "containers[0].image: must not be empty"),
    (v2([container("web", env={"BAD NAME": "x"})]), "containers[0].env: 'BAD NAME' is not a valid environment"),
    (v2([container("a", ports=[dict(container_port=80, host_port=80)]),
         container("b", ports=[dict(container_port=81, host_port=80)])]),
     "containers[1].ports[0].host_port: 80 is already used by containers[0].ports[0]"),
    (v2([container("a")], volumes=[dict(name="v", host_path="/a", container_path=None),
                                   dict(name="v", host_path="/b", container_path=None)]),
     "volumes[1].name: 'v' is already the name of volumes[0]"),
    (v2([container("a")], volumes=[dict(name=None, host_path="/a", container_path=None)]),
     "volumes[0].name: version 2 volumes need a name"),
    (v2([container("a")], volumes=[dict(name="v", host_path="/a", container_path="/c")]),
     "volumes[0].container_path: only used with version 1"),
])
def test_invalid_options_name_the_field(params, message):
    errors = dr.validate(params)
    assert any(error.startswith(message) for error in errors), errors


def test_every_problem_is_reported_at_once():
    errors = dr.validate(v2([container("a", links=["x"], volumes_from=["y"]), container("a")]))
    assert len(errors) == 3


@pytest.mark.parametrize("mode,value", [("0600", 0o600), ("644", 0o644), ("0755", 0o755), (0o640, 0o640),
                                        ("2775", 0o2775)])
def test_parse_mode(mode, value):
    assert dr.parse_mode(mode) == value


@pytest.mark.parametrize("mode", ["rw-r--r--", "0999", "", "12", True, 0o17777])
def test_parse_mode_rejects(mode):
    with pytest.raises(ValueError, match="mode: "):
        dr.parse_mode(mode)


def test_bundle_is_deterministic_and_sorted():
    text = dr.dumps(dr.render(v1(image="a:1", ports=[dict(container_port=80, host_port=None)])))
    extra = [(".ebextensions/01.config", b"option_settings: {}\n", False), ("hooks/run.sh", b"#!/bin/sh\n", True)]
    first = dr.build_zip(dr.bundle_entries(text, extra))
    second = dr.build_zip(dr.bundle_entries(text, list(reversed(extra))))
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == [".ebextensions/01.config", "Dockerrun.aws.json", "hooks/run.sh"]
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
        assert (infos[2].external_attr >> 16) & 0o777 == 0o755
        assert (infos[1].external_attr >> 16) & 0o777 == 0o644
        assert archive.read("Dockerrun.aws.json").decode() == text
    assert dr.zip_member(first, "Dockerrun.aws.json") == text
    assert dr.zip_listing(first).splitlines()[1] == "Dockerrun.aws.json %s" % dr.sha256_hex(text)


def test_bundle_refuses_a_second_dockerrun_and_duplicates():
    with pytest.raises(ValueError, match="bundle_files: Dockerrun.aws.json is written by this module"):
        dr.bundle_entries("{}", [("Dockerrun.aws.json", b"{}", False)])
    with pytest.raises(ValueError, match="two files would be stored as 'a'"):
        dr.bundle_entries("{}", [("a", b"1", False), ("a", b"2", False)])


def test_zip_helpers_on_garbage():
    assert dr.zip_listing(b"not a zip") is None
    assert dr.zip_member(b"not a zip", "Dockerrun.aws.json") is None

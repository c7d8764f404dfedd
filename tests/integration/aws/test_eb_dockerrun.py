"""eb_dockerrun through the real ansible-playbook: files on disk, check mode, diff, idempotency, secrets.

No AWS stand-in is involved: the module only writes local files.
"""

import json
import os
import zipfile

from tests.integration.aws.conftest import failed, run_verbose
from tests.support.ansible import run_module
from tests.support import secrets

MODULE = "baton.docker.eb_dockerrun"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:git_cf7edb2"


def v1_args(tmp_path, **over):
    args = dict(dest=str(tmp_path / "Dockerrun.aws.json"), bundle=str(tmp_path / "bundle.zip"), image=IMAGE,
                ports=[dict(container_port=8000)], logging="/var/log/app")
    args.update(over)
    return args


def test_v1_check_apply_idempotent(tmp_path):
    args = v1_args(tmp_path)
    result, run = run_module(MODULE, args, check=True)
    assert result["changed"] is True
    assert sorted(os.listdir(tmp_path)) == []

    result, run = run_module(MODULE, args)
    assert not failed(run), run.output
    assert result["changed"] is True
    with open(tmp_path / "Dockerrun.aws.json") as handle:
        assert json.load(handle) == {
            "AWSEBDockerrunVersion": "1",
            "Image": {"Name": IMAGE, "Update": "true"},
            "Ports": [{"ContainerPort": "8000"}],
            "Logging": "/var/log/app",
        }
    with zipfile.ZipFile(tmp_path / "bundle.zip") as archive:
        assert archive.namelist() == ["Dockerrun.aws.json"]
        assert archive.read("Dockerrun.aws.json") == (tmp_path / "Dockerrun.aws.json").read_bytes()
    stamps = dict((name, os.stat(tmp_path / name).st_mtime_ns) for name in ("Dockerrun.aws.json", "bundle.zip"))

    result, run = run_module(MODULE, args)
    assert result["changed"] is False
    assert stamps == dict((name, os.stat(tmp_path / name).st_mtime_ns) for name in stamps)


def test_diff_shows_the_new_tag(tmp_path):
    run_module(MODULE, v1_args(tmp_path))
    result, run = run_module(MODULE, v1_args(tmp_path, image=IMAGE.replace("git_cf7edb2", "git_1a2b3c4")),
                             diff=True)
    assert result["changed"] is True
    assert '-    "Name": "%s",' % IMAGE in run.output
    assert '+    "Name": "%s",' % IMAGE.replace("git_cf7edb2", "git_1a2b3c4") in run.output


def test_v2_env_values_stay_out_of_the_output(tmp_path):
    secret = secrets.DB_PASSWORD
    containers = [
        dict(name="app", image=IMAGE, memory=256, env=dict(DATABASE_PASSWORD=secret, APP_PORT=8000)),
        dict(name="proxy", image="nginx:1.25", memory=64, ports=[dict(host_port=80, container_port=80)],
             links=["app"], mount_points=[dict(source_volume="static", container_path="/srv")]),
    ]
    args = dict(dest=str(tmp_path / "Dockerrun.aws.json"), version=2, mode="0640", containers=containers,
                volumes=[dict(name="static", host_path="/var/app/current/static")])
    result, run = run_verbose(MODULE, args)
    assert not failed(run), run.output
    everything = run.output + json.dumps(run.records)
    assert secret not in everything
    written = json.loads((tmp_path / "Dockerrun.aws.json").read_text())
    assert written["containerDefinitions"][0]["environment"] == [
        {"name": "APP_PORT", "value": "8000"}, {"name": "DATABASE_PASSWORD", "value": secret}]
    assert oct(os.stat(tmp_path / "Dockerrun.aws.json").st_mode & 0o777) == "0o640"


def test_invalid_input_names_the_field_and_writes_nothing(tmp_path):
    args = dict(dest=str(tmp_path / "Dockerrun.aws.json"), version=2, containers=[
        dict(name="web", image=IMAGE, memory=128),
        dict(name="worker", image=IMAGE, memory=128, links=["db"],
             mount_points=[dict(source_volume="data", container_path="/data")]),
    ])
    result, run = run_module(MODULE, args)
    assert failed(run)
    assert "containers[1].links[0]: 'db' is not a container in this Dockerrun" in result["msg"]
    assert "containers[1].mount_points[0].source_volume: 'data' is not declared in volumes" in result["msg"]
    assert os.listdir(tmp_path) == []


def test_same_content_gives_the_same_bundle_bytes(tmp_path):
    extra = tmp_path / "src" / ".ebextensions"
    extra.mkdir(parents=True)
    (extra / "01-env.config").write_text("option_settings:\n  - option_name: APP_ENV\n    value: dev\n")
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    for target in (first, second):
        result, run = run_module(MODULE, dict(bundle=str(target / "bundle.zip"), bundle_files=[str(extra)],
                                              image=IMAGE, ports=[dict(container_port=8000)]))
        assert result["bundle_members"] == [".ebextensions/01-env.config", "Dockerrun.aws.json"]
    assert (first / "bundle.zip").read_bytes() == (second / "bundle.zip").read_bytes()

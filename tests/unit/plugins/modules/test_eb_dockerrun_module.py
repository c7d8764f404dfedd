"""Unit tests of the eb_dockerrun module: main() driven with module args and patched exit/fail, on real files."""

import io
import os
import stat
import zipfile

import pytest


from ansible_collections.baton.docker.plugins.modules import eb_dockerrun
from tests.support.module_harness import call_main


def run(args):
    return call_main(eb_dockerrun.main, args)


def single(tmp_path, **over):
    args = dict(dest=str(tmp_path / "Dockerrun.aws.json"), image="app:git_1", ports=[dict(container_port=8000)])
    args.update(over)
    return args


def test_writes_then_reports_no_change(tmp_path):
    args = single(tmp_path)
    first = run(args)
    assert first.kind == "exit" and first.result["changed"] is True
    path = tmp_path / "Dockerrun.aws.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    mtime = os.stat(path).st_mtime_ns
    second = run(args)
    assert second.kind == "exit" and second.result["changed"] is False
    assert os.stat(path).st_mtime_ns == mtime
    assert first.result["sha256"] == second.result["sha256"]


def test_mode_change_alone_is_a_change(tmp_path):
    run(single(tmp_path))
    result = run(single(tmp_path, mode="0644"))
    assert result.result["changed"] is True
    assert stat.S_IMODE(os.stat(tmp_path / "Dockerrun.aws.json").st_mode) == 0o644


def test_check_mode_writes_nothing(tmp_path):
    result = run(dict(single(tmp_path, bundle=str(tmp_path / "b.zip")), _ansible_check_mode=True))
    assert result.result["changed"] is True
    assert os.listdir(tmp_path) == []


def test_diff_shows_before_and_after(tmp_path):
    run(single(tmp_path))
    result = run(dict(single(tmp_path, image="app:git_2"), _ansible_diff=True))
    diff = result.result["diff"][0]
    assert '"Name": "app:git_1"' in diff["before"] and '"Name": "app:git_2"' in diff["after"]


def test_bundle_with_a_directory(tmp_path):
    ext = tmp_path / "src" / ".ebextensions"
    ext.mkdir(parents=True)
    (ext / "01-logs.config").write_text("files: {}\n")
    bundle = tmp_path / "out" / "bundle.zip"
    bundle.parent.mkdir()
    args = dict(bundle=str(bundle), bundle_files=[str(ext)], image="app:git_1", ports=[dict(container_port=80)])
    first = run(args)
    assert first.result["bundle_members"] == [".ebextensions/01-logs.config", "Dockerrun.aws.json"]
    with zipfile.ZipFile(io.BytesIO(bundle.read_bytes())) as archive:
        assert archive.read(".ebextensions/01-logs.config") == b"files: {}\n"
    assert run(args).result["changed"] is False
    (ext / "01-logs.config").write_text("files: {a: 1}\n")
    assert run(args).result["changed"] is True


@pytest.mark.parametrize("over,message", [
    (dict(ports=None), "ports: version 1 needs at least one port"),
    (dict(mode="rw"), "mode: 'rw' is not an octal file mode"),
    (dict(version=2, image=None, ports=None, containers=[dict(name="a", image="x", memory=64, links=["db"])]),
     "containers[0].links[0]: 'db' is not a container in this Dockerrun"),
])
def test_invalid_options_fail_before_writing(tmp_path, over, message):
    result = run(single(tmp_path, **over))
    assert result.kind == "fail"
    assert message in result.result["msg"]
    assert os.listdir(tmp_path) == []


def test_spec_requires_containers_for_version_2(tmp_path):
    result = run(dict(dest=str(tmp_path / "d.json"), version=2))
    assert result.kind == "fail" and "containers" in result.result["msg"]


def test_bundle_files_need_a_bundle(tmp_path):
    result = run(single(tmp_path, bundle_files=[str(tmp_path)]))
    assert result.kind == "fail" and "bundle" in result.result["msg"]


def test_missing_bundle_file_is_named(tmp_path):
    result = run(dict(bundle=str(tmp_path / "b.zip"), bundle_files=[str(tmp_path / "nope")]))
    assert result.kind == "fail"
    assert result.result["msg"].startswith("bundle_files[0]: ")

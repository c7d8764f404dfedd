"""One atomic write, JSON state files and the per-app host lock."""

import json
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.baton.docker.plugins.module_utils._files import (
    HostLock,
    LockTimeout,
    atomic_write,
    read_json_object,
)


def test_atomic_write_creates_parents_sets_mode_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "a" / "b" / "state.json"
    atomic_write(str(path), "one\n", mode=0o600)
    assert path.read_text() == "one\n"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    atomic_write(str(path), b"two")
    assert path.read_bytes() == b"two"
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert os.listdir(str(path.parent)) == ["state.json"]


def test_atomic_write_exclusive_creates_and_never_replaces(tmp_path):
    path = tmp_path / "d" / "lock"
    atomic_write(str(path), "first\n", mode=0o600, dir_mode=0o700, exclusive=True)
    assert path.read_text() == "first\n"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    with pytest.raises(FileExistsError):
        atomic_write(str(path), "second\n", exclusive=True)
    assert path.read_text() == "first\n"
    assert os.listdir(str(path.parent)) == ["lock"]


def test_atomic_write_that_fails_leaves_no_temporary(tmp_path):
    path = tmp_path / "state"
    path.mkdir()
    (path / "inside").write_text("old")
    with pytest.raises(OSError):
        atomic_write(str(path), "new")  # the rename onto a directory fails
    assert sorted(os.listdir(str(tmp_path))) == ["state"]
    assert (path / "inside").read_text() == "old"


@pytest.mark.parametrize("content, message", [
    ("{", "the journal %s is not valid JSON"),
    ("[1]", "the journal %s does not hold a JSON object"),
])
def test_read_json_object_errors_name_the_file(tmp_path, content, message):
    path = tmp_path / "j.json"
    path.write_text(content)
    with pytest.raises(ValueError) as info:
        read_json_object(str(path), "journal")
    assert message % path in str(info.value)


def test_read_json_object_missing_is_none(tmp_path):
    assert read_json_object(str(tmp_path / "none.json"), "journal") is None
    (tmp_path / "ok.json").write_text(json.dumps({"out": []}))
    assert read_json_object(str(tmp_path / "ok.json"), "journal") == {"out": []}


HOLD = """
import sys, time
sys.path.insert(0, %r)
from ansible_collections.baton.docker.plugins.module_utils._files import HostLock
lock = HostLock(sys.argv[1], {"version": "v7"}).acquire()
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def holder(path, seconds):
    collections = os.path.join(os.path.dirname(__file__), *([os.pardir] * 4), "build", "collections")
    proc = subprocess.Popen([sys.executable, "-c", HOLD % os.path.abspath(collections), path, str(seconds)],
                            stdout=subprocess.PIPE, universal_newlines=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_holder_waits_then_fails_naming_the_holder(tmp_path):
    path = str(tmp_path / "state" / "app.lock")
    proc = holder(path, 30)
    try:
        started = time.monotonic()
        with pytest.raises(LockTimeout) as info:
            HostLock(path, {"version": "v8"}, timeout=0.6).acquire()
        assert time.monotonic() - started >= 0.6
        message = str(info.value)
        assert "pid %d" % proc.pid in message and "deploying v7" in message and "within 0.6s" in message
    finally:
        proc.kill()
        proc.wait()


def test_lock_of_a_killed_holder_is_taken_over_and_released_on_exit(tmp_path):
    path = str(tmp_path / "app.lock")
    proc = holder(path, 30)
    proc.kill()
    proc.wait()
    with HostLock(path, {"version": "v8"}, timeout=2) as lock:
        assert json.loads(open(path).read())["version"] == "v8"
        assert lock.waited < 2
    with HostLock(path, {"version": "v9"}, timeout=0.5):
        pass


def test_waiting_run_gets_the_lock_once_the_holder_ends(tmp_path):
    path = str(tmp_path / "app.lock")
    proc = holder(path, 0.8)
    with HostLock(path, {}, timeout=10) as lock:
        assert lock.waited > 0.1
    proc.wait()


def test_remove_file_says_whether_it_existed(tmp_path):
    from ansible_collections.baton.docker.plugins.module_utils._files import remove_file
    path = tmp_path / "journal.json"
    path.write_text("{}")
    assert remove_file(str(path)) is True
    assert not path.exists()
    assert remove_file(str(path)) is False

import json
import os

import pytest

from ansible_collections.baton.docker.plugins.module_utils._release import (
    ReleaseRecordError,
    next_record,
    read_record,
    release_config,
    same_release,
    write_record,
)

V1 = {"version": "v1", "image": "app:v1", "image_id": "sha256:1", "deployed_at": "2026-01-01T00:00:00Z"}
V2 = {"version": "v2", "image": "app:v2", "image_id": "sha256:2", "deployed_at": "2026-01-02T00:00:00Z"}


@pytest.mark.parametrize("a, b, same", [
    (V1, dict(V1, deployed_at="later"), True),
    (V1, V2, False),
    (V1, dict(V1, image_id="sha256:rebuilt"), False),
    (None, V1, False),
    ({}, V1, False),
    # A configuration change alone is a release; a record written before configurations were kept is not one.
    (dict(V1, config_digest="sha256:a"), dict(V1, config_digest="sha256:b"), False),
    (dict(V1, config_digest="sha256:a"), dict(V1, config_digest="sha256:a", release_id="r2"), True),
    (V1, dict(V1, config_digest="sha256:a"), True),
])
def test_same_release_ignores_deploy_time(a, b, same):
    assert same_release(a, b) is same


UNIT = {"name": "shop-master", "server": "s_master", "backend": None,
        "container": {"ports": ["8000:8000"], "health": {"url": "http://127.0.0.1:8000/health"}}, "secret_env": {}}


def config_of(container=None, secret_env=None, unit=None):
    return release_config({"container": container or {}, "secret_env": secret_env or {}, "units": [unit or UNIT]})


@pytest.mark.parametrize("a, b, same", [
    (config_of({"env": {"A": "1"}}), config_of({"env": {"A": "1"}}), True),
    (config_of({"env": {"A": "1"}}), config_of({"env": {"A": "2"}}), False),
    (config_of({"command": ["serve"]}), config_of({"command": ["serve", "-v"]}), False),
    # How the rollout probes and what it shows are not the container's configuration.
    (config_of({"health": {"retries": 5}, "log_lines": 40}), config_of({"health": {"retries": 9}}), True),
    (config_of(unit=UNIT), config_of(unit=dict(UNIT, container={"ports": ["8000:8000"]})), True),
    # A value left out (None) is the same as one never given.
    (config_of({"env": {"A": "1"}, "network": None}), config_of({"env": {"A": "1"}}), True),
    (config_of(unit=UNIT), config_of(unit=dict(UNIT, container={"ports": ["8001:8000"]})), False),
    # A new secret variable is a change; a new value of one is not seen (its value is never kept).
    (config_of(secret_env={"TOKEN": "a"}), config_of(secret_env={"TOKEN": "b"}), True),
    (config_of(secret_env={"TOKEN": "a"}), config_of(secret_env={"TOKEN": "a", "KEY": "k"}), False),
])
def test_config_digest_tells_configurations_apart(a, b, same):
    assert (a["config_digest"] == b["config_digest"]) is same


def test_release_config_keeps_secret_names_never_values():
    config = config_of({"env": {"LEVEL": "info"}, "health": {"retries": 3}}, secret_env={"TOKEN": "s3cr3t-value"})
    assert config["config"] == {"env": {"LEVEL": "info"}}
    assert config["secret_keys"] == ["TOKEN"]
    assert "s3cr3t-value" not in json.dumps(config)


def test_first_record_has_no_previous():
    record, changed = next_record(None, "shop", V1, [{"slot": "shop-master"}])
    assert changed
    assert record == {"app": "shop", "current": V1, "previous": None, "history": [V1],
                      "last_rollout": [{"slot": "shop-master"}]}


def test_new_release_pushes_current_to_previous_and_history():
    first = next_record(None, "shop", V1)[0]
    second, changed = next_record(first, "shop", V2)
    assert changed
    assert second["current"] == V2 and second["previous"] == V1
    assert second["history"] == [V2, V1]


def test_same_release_changes_nothing():
    first = next_record(None, "shop", V1)[0]
    again, changed = next_record(first, "shop", dict(V1, deployed_at="much later"))
    assert not changed
    assert again is first


def test_history_is_bounded():
    record = None
    for n in range(6):
        record = next_record(record, "shop", {"version": "v%d" % n, "image": "a", "image_id": str(n)}, history_size=3)[0]
    assert [r["version"] for r in record["history"]] == ["v5", "v4", "v3"]
    assert record["previous"]["version"] == "v4"


def test_write_then_read_roundtrip_is_atomic_and_mode_0644(tmp_path):
    path = str(tmp_path / "deep" / "shop.json")
    record = next_record(None, "shop", V1)[0]
    write_record(path, record)
    assert read_record(path) == record
    assert oct(os.stat(path).st_mode & 0o777) == "0o644"
    assert [p for p in os.listdir(os.path.dirname(path)) if p.startswith(".release.")] == []


def test_read_missing_record_is_none(tmp_path):
    assert read_record(str(tmp_path / "none.json")) is None


@pytest.mark.parametrize("content, message", [
    ("{not json", "is not valid JSON"),
    (json.dumps([1, 2]), "does not hold a JSON object"),
])
def test_read_bad_record_names_the_file(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ReleaseRecordError, match=message) as info:
        read_record(str(path))
    assert str(path) in str(info.value)


def test_write_into_unwritable_place_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ReleaseRecordError, match="cannot write the release record"):
        write_record(str(blocker / "shop.json"), {"app": "shop"})

"""The fleet release audit log: its decisions as tables, reading it backwards, appending to it."""

import json
import os

import pytest

from ansible_collections.baton.docker.plugins.module_utils import _release_audit as ra


@pytest.mark.parametrize("record, message", [
    ({}, "record must hold a release_id string, got None"),
    (dict(release_id=3), "record must hold a release_id string, got 3"),
    (dict(release_id=" "), "record must hold a release_id string"),
    (dict(release_id="r1", value=float("nan")), "record cannot be stored as JSON"),
    (dict(release_id="r1", value=object()), "record cannot be stored as JSON"),
    (dict(release_id="r1", output="x" * ra.MAX_RECORD_BYTES), "more than the 1 MiB an audit record may hold"),
    ("r1", "record must be a dictionary"),
])
def test_record_line_refuses(record, message):
    with pytest.raises(ra.AuditError) as info:
        ra.record_line(record)
    assert str(info.value).startswith("record")
    assert message in str(info.value)


def test_record_line_is_one_compact_line_with_the_time_recorded():
    stored, line = ra.record_line(dict(release_id="r1", outcome="ok", note="a\nb"), now=0)
    assert stored == dict(release_id="r1", outcome="ok", note="a\nb", recorded_at="1970-01-01T00:00:00Z")
    assert line == b'{"note":"a\\nb","outcome":"ok","recorded_at":"1970-01-01T00:00:00Z","release_id":"r1"}\n'
    assert line.count(b"\n") == 1
    stored, _line = ra.record_line(dict(release_id="r1", recorded_at="then"))
    assert stored["recorded_at"] == "then"


def test_record_line_just_under_the_limit_is_kept():
    overhead = len(ra.record_line(dict(release_id="r", output=""), now=0)[1])
    _stored, line = ra.record_line(dict(release_id="r", output="x" * (ra.MAX_RECORD_BYTES - overhead)), now=0)
    assert len(line) == ra.MAX_RECORD_BYTES


@pytest.mark.parametrize("last, record, repeated", [
    (None, dict(release_id="r1", outcome="ok"), False),
    (dict(release_id="r1", outcome="ok", recorded_at="a"), dict(release_id="r1", outcome="ok"), True),
    (dict(release_id="r1", outcome="started"), dict(release_id="r1", outcome="ok"), False),
    (dict(release_id="r0", outcome="ok"), dict(release_id="r1", outcome="ok"), False),
    (dict(release_id="r1"), dict(release_id="r1"), True),
    (dict(release_id="r1"), dict(release_id="r1", outcome="ok"), False),
])
def test_repeats(last, record, repeated):
    assert ra.repeats(last, record) is repeated


def _line(number):
    return (json.dumps(dict(release_id="r%d" % number)).encode(), True)


@pytest.mark.parametrize("lines, count, records, warnings", [
    ([], 10, [], []),
    ([_line(3), _line(2), _line(1)], 10, ["r1", "r2", "r3"], []),
    ([_line(3), _line(2), _line(1)], 2, ["r2", "r3"], []),
    ([(b'{"release_id": "r', False), _line(2), _line(1)], 10, ["r1", "r2"], ["unfinished last line"]),
    ([(b'{"release_id": "r', False), _line(2), _line(1)], 1, ["r2"], ["unfinished last line"]),
    ([_line(3), (b"garbage", True), _line(1)], 10, ["r1", "r3"], ["not a JSON object"]),
    ([_line(3), (b"[1]", True), (b"", True), _line(1)], 10, ["r1", "r3"], ["not a JSON object"]),
    ([_line(3), (b"\xff", True)], 10, ["r3"], ["not a JSON object"]),
])
def test_latest(lines, count, records, warnings):
    found, warned = ra.latest(iter(lines), count)
    assert [record["release_id"] for record in found] == records
    assert len(warned) == len(warnings)
    for text, expected in zip(warned, warnings):
        assert expected in text


@pytest.mark.parametrize("content", [
    b"",
    b"\n",
    b"one\n",
    b"one",
    b"one\ntwo\n",
    b"one\ntwo",
    b"one\n\ntwo\n",
    b"a-much-longer-line-than-a-block\nb\nanother-long-line-of-text\n",
    b"a-much-longer-line-than-a-block\nb\nanother-long-line-of-text",
])
@pytest.mark.parametrize("block", [1, 3, 7, 65536])
def test_reverse_lines_reads_every_line_back(tmp_path, content, block):
    path = tmp_path / "log"
    path.write_bytes(content)
    expected = []
    if content:
        pieces = content.split(b"\n")
        tail = pieces.pop()
        expected = [(piece, True) for piece in pieces]
        if tail:
            expected.append((tail, False))
        expected.reverse()
    assert list(ra.reverse_lines(str(path), block=block)) == expected


def test_reverse_lines_of_no_file_is_empty(tmp_path):
    assert list(ra.reverse_lines(str(tmp_path / "none"))) == []


def test_reverse_lines_of_a_directory_is_an_error(tmp_path):
    with pytest.raises(ra.AuditError, match="cannot read the audit log"):
        list(ra.reverse_lines(str(tmp_path)))


def test_append_record_creates_private_files_appends_and_skips_a_repeat(tmp_path):
    directory = tmp_path / "fleet"
    path = ra.audit_file(str(directory), "shop-production")
    for outcome, changed in (("started", True), ("started", False), ("ok", True), ("ok", False)):
        stored, line = ra.record_line(dict(release_id="r1", outcome=outcome))
        assert ra.append_record(path, line, stored)[0] is changed
    assert oct(os.stat(str(directory)).st_mode & 0o777) == "0o700"
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    records, warnings = ra.read_latest(path, 10)
    assert [r["outcome"] for r in records] == ["started", "ok"] and warnings == []


def test_append_after_a_torn_line_starts_a_new_line(tmp_path):
    path = str(tmp_path / "a.audit.jsonl")
    stored, line = ra.record_line(dict(release_id="r1", outcome="ok"))
    ra.append_record(path, line, stored)
    with open(path, "ab") as handle:
        handle.write(b'{"release_id": "r2", "outc')
    assert ra.last_record(path)[0]["release_id"] == "r1"
    stored, line = ra.record_line(dict(release_id="r1", outcome="ok"))
    assert ra.append_record(path, line, stored) == (False, ra.last_record(path)[0])  # the torn line is not a record
    stored, line = ra.record_line(dict(release_id="r3", outcome="ok"))
    changed, last = ra.append_record(path, line, stored)
    assert changed and last["release_id"] == "r1"
    records, warnings = ra.read_latest(path, 10)
    assert [r["release_id"] for r in records] == ["r1", "r3"]
    assert len(warnings) == 1 and "not a JSON object" in warnings[0]
    with open(path, "rb") as handle:
        assert handle.read().count(b"\n") == 3

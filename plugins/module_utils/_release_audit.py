# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The fleet release audit log: one JSON object per line in ``<directory>/<name>.audit.jsonl`` on the lock host.

Pure decisions (the line a record becomes, whether it repeats the last one, the records a tail of the file holds)
come first; then the file effects. A line is appended with one ``write`` to a descriptor opened with ``O_APPEND``,
then synced; appends are serialized by an ``flock`` on the log itself, so that the check against the last line and
the append are one step. A line torn by a crash is skipped by readers and never glued to the next one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import json
import os
import time

from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError
from ansible_collections.baton.docker.plugins.module_utils._files import sync_directory

DIR_MODE = 0o700
FILE_MODE = 0o600
MAX_RECORD_BYTES = 1024 * 1024
BLOCK = 65536


class AuditError(BatonError):
    """A record that cannot be stored, or a log that cannot be read or written."""


# -- pure decisions --

def audit_file(directory, name):
    return os.path.join(directory, name + ".audit.jsonl")


def record_line(record, now=None):
    """The line (bytes, newline included) that stores ``record``, with ``recorded_at`` (UTC) added when it has none.
    Raises AuditError naming ``record`` when it has no release_id string, is not plain JSON or is over 1 MiB."""
    if not isinstance(record, dict):
        raise AuditError("record must be a dictionary")
    release_id = record.get("release_id")
    if not isinstance(release_id, str) or not release_id.strip():
        raise AuditError("record must hold a release_id string, got %r" % (release_id,))
    stored = dict(record)
    stored.setdefault("recorded_at", time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                   time.gmtime(time.time() if now is None else now)))
    try:
        text = json.dumps(stored, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise AuditError("record cannot be stored as JSON: %s" % exc)
    line = (text + "\n").encode("utf-8")
    if len(line) > MAX_RECORD_BYTES:
        raise AuditError("record is %d bytes as JSON, more than the 1 MiB an audit record may hold: keep large "
                         "output out of it" % len(line))
    return stored, line


def repeats(last, record):
    """Whether ``record`` repeats ``last`` (the log's last record): same release_id and same outcome."""
    return (isinstance(last, dict) and last.get("release_id") == record.get("release_id")
            and last.get("outcome") == record.get("outcome"))


def latest(lines, count, where="the audit log"):
    """The last ``count`` records among ``lines``: (bytes of one line without its newline, whether a newline ended
    it), newest first, as reverse_lines gives them. Returns (records oldest first, warnings). An unfinished line
    (no newline: a write that did not complete) and a line that is not a JSON object are skipped with a warning."""
    records, warnings = [], []
    for line, complete in lines:
        if len(records) >= count:
            break
        if not line.strip() and complete:
            continue
        if not complete:
            warnings.append("skipped the unfinished last line of %s (%d bytes; a write that did not complete)"
                            % (where, len(line)))
            continue
        try:
            record = json.loads(line.decode("utf-8"))
        except ValueError:
            record = None
        if not isinstance(record, dict):
            warnings.append("skipped a line of %s that is not a JSON object (%d bytes)" % (where, len(line)))
            continue
        records.append(record)
    records.reverse()
    warnings.reverse()
    return records, warnings


# -- file effects --

def reverse_lines(path, block=BLOCK):
    """The lines of ``path`` from the last one back, as (bytes without the newline, whether a newline ended it);
    nothing when there is no file. Reads the file backwards ``block`` bytes at a time."""
    try:
        handle = open(path, "rb")
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return
        raise AuditError("cannot read the audit log %s: %s" % (path, exc.strerror or exc))
    with handle:
        try:
            size = os.fstat(handle.fileno()).st_size
            if size == 0:
                return
            handle.seek(size - 1)
            complete = handle.read(1) == b"\n"
            position = size - 1 if complete else size
            buffer = b""
            while True:
                cut = buffer.rfind(b"\n")
                while cut < 0 and position > 0:
                    start = max(0, position - block)
                    handle.seek(start)
                    buffer = handle.read(position - start) + buffer
                    position = start
                    cut = buffer.rfind(b"\n")
                if cut < 0:
                    yield buffer, complete
                    return
                line, buffer = buffer[cut + 1:], buffer[:cut]
                yield line, complete
                complete = True
        except (IOError, OSError) as exc:
            raise AuditError("cannot read the audit log %s: %s" % (path, exc.strerror or exc))


def read_latest(path, count):
    return latest(reverse_lines(path), count, path)


def last_record(path):
    """The log's last record (None when it has none) and the warnings of reading it."""
    records, warnings = read_latest(path, 1)
    return (records[-1] if records else None), warnings


def append_record(path, line, record):
    """Append ``line`` (the stored form of ``record``) unless the log's last record repeats it. Returns (changed,
    last record before)."""
    directory = os.path.dirname(path)
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, DIR_MODE, exist_ok=True)  # a racing run may create it too
        created = not os.path.exists(path)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    except OSError as exc:
        raise AuditError("cannot open the audit log %s: %s" % (path, exc.strerror or exc))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        last = last_record(path)[0]
        if repeats(last, record):
            return False, last
        if not _ends_with_newline(path):
            line = b"\n" + line  # a torn last line stays a line of its own
        written = os.write(fd, line)
        if written != len(line):
            raise AuditError("wrote %d of the %d bytes of the record to %s" % (written, len(line), path))
        os.fsync(fd)
    except OSError as exc:
        raise AuditError("cannot append to the audit log %s: %s" % (path, exc.strerror or exc))
    finally:
        os.close(fd)
    if created:
        sync_directory(directory)
    return True, last


def _ends_with_newline(path):
    """Whether the file is empty or ends with a newline."""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return True
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"

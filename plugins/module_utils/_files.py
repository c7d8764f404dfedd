# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Files the collection writes on a host: one atomic write, JSON state files and the per-app host lock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import json
import os
import socket
import tempfile
import time

from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError


def atomic_write(path, data, mode=0o644, dir_mode=0o755, exclusive=False):
    """Replace ``path`` with ``data`` (str or bytes) so that a reader sees the old or the new content, never a
    part: a temporary file in the same directory, flushed to disk, then renamed over ``path``. Missing parent
    directories are created with ``dir_mode``. Raises OSError/IOError; the temporary file never stays behind.

    With ``exclusive`` the file is only created, never replaced: the complete temporary file is hard-linked to
    ``path``, which fails with FileExistsError when ``path`` exists. Of two processes creating the same path, exactly
    one succeeds, and a reader never sees an empty or partial file."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory, dir_mode, exist_ok=True)  # another process may create it meanwhile
    if not isinstance(data, bytes):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if exclusive:
            os.link(tmp, path)
            os.unlink(tmp)
        else:
            os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    sync_directory(directory)


def remove_file(path):
    """Remove ``path`` if it exists, durably (its directory is synced). Returns whether it existed."""
    try:
        os.unlink(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return False
        raise
    sync_directory(os.path.dirname(os.path.abspath(path)))
    return True


def sync_directory(directory):
    """Flush a directory's entries (a rename or unlink in it) to disk, where the filesystem supports it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def json_text(data):
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def read_json_object(path, what):
    """The JSON object stored at ``path``, None when there is no file. Raises ValueError naming ``what``."""
    try:
        with open(path) as handle:
            text = handle.read()
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise ValueError("cannot read the %s %s: %s" % (what, path, exc))
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError("the %s %s is not valid JSON: %s" % (what, path, exc))
    if not isinstance(data, dict):
        raise ValueError("the %s %s does not hold a JSON object" % (what, path))
    return data


class LockTimeout(BatonError):
    """Another run holds the lock."""


class HostLock(object):
    """An exclusive lock per app on one host (``flock`` on ``<state_dir>/<app>.lock``).

    The kernel releases it when its holder exits for any reason, so the lock of a killed run is taken over at
    once. The holder writes who it is into the file (pid, start time, what it deploys) for the error another
    run reports when it gives up waiting.
    """

    def __init__(self, path, holder, timeout=600.0, interval=0.2):
        self.path = path
        self.holder = dict(holder)
        self.timeout = timeout
        self.interval = interval
        self.fd = None
        self.waited = 0.0

    def acquire(self):
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        started = time.monotonic()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
            if time.monotonic() - started >= self.timeout:
                other = self.read_holder(fd)
                os.close(fd)
                raise LockTimeout("another run holds the lock %s (%s) and did not release it within %gs"
                                  % (self.path, describe_holder(other), self.timeout))
            time.sleep(self.interval)
        self.waited = time.monotonic() - started
        holder = dict(self.holder, pid=os.getpid(), host=socket.gethostname(),
                      started=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, json.dumps(holder, sort_keys=True).encode("utf-8"))
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        return self

    @staticmethod
    def read_holder(fd):
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            return json.loads(os.read(fd, 65536).decode("utf-8") or "{}")
        except (OSError, ValueError):
            return {}

    def release(self):
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)  # closing the only descriptor releases the flock

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()
        return False


def describe_holder(holder):
    if not holder:
        return "holder unknown"
    parts = ["pid %s" % holder.get("pid", "?")]
    if holder.get("host"):
        parts.append("on %s" % holder["host"])
    if holder.get("started"):
        parts.append("since %s" % holder["started"])
    if holder.get("version"):
        parts.append("deploying %s" % holder["version"])
    return ", ".join(parts)

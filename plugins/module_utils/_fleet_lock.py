# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The fleet release lock: one JSON file per application and destination, ``<directory>/<name>.lock``, on the lock
host every controller reaches. It says which release runs, for whom and since when.

Pure decisions (the lock a release writes, what each state does with the lock found, the message naming a holder)
come first; then the file effects. A lock is created whole or not at all (``atomic_write(exclusive=True)``: of two
processes, exactly one creates it, and no reader ever sees a partial file). Every change is made under a guard
``flock`` on ``<directory>/.<name>.lock.guard``, so that reading a lock and removing it is one step for the other
runs on the host: a run never removes a lock that another one took between its read and its removal."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import fcntl
import os
import time

from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError
from ansible_collections.baton.docker.plugins.module_utils._files import (
    atomic_write,
    json_text,
    read_json_object,
    remove_file,
)

DIR_MODE = 0o700
FILE_MODE = 0o600
BREAK_HINT = "Wait, or break it with playbooks/lock.yml -e lock_action=break if its run is gone."
STATES = ("acquired", "released", "broken", "query")

# What each state does with the lock it finds (decide()).
CREATE = "create"      # no lock: take it
KEEP = "keep"          # our release holds it already
WAIT = "wait"          # another release holds it: wait for it, then fail
REMOVE = "remove"      # release ours, or break whatever is there
REFUSE = "refuse"      # another release holds it: never release it for them
NOTHING = "nothing"    # no lock to release or break, or only a query


class FleetLockError(BatonError):
    """The lock is held by another release, or its file cannot be read or written."""


# -- pure decisions --

def utc_now(now=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if now is None else now))


def lock_file(directory, name):
    return os.path.join(directory, name + ".lock")


def guard_file(directory, name):
    return os.path.join(directory, "." + name + ".lock.guard")


def new_lock(release_id, holder, version=None, digest=None, note=None, since=None):
    """The lock a release writes."""
    return dict(holder=holder, release_id=release_id, version=version, digest=digest, note=note,
                since=since or utc_now())


def is_ours(lock, release_id):
    return isinstance(lock, dict) and bool(release_id) and lock.get("release_id") == release_id


def decide(state, lock, release_id=None):
    """What ``state`` does with ``lock`` (the lock found, None when there is none) for release ``release_id``."""
    if state == "acquired":
        if lock is None:
            return CREATE
        return KEEP if is_ours(lock, release_id) else WAIT
    if state == "released":
        if lock is None:
            return NOTHING
        return REMOVE if is_ours(lock, release_id) else REFUSE
    if state == "broken":
        return NOTHING if lock is None else REMOVE
    if state == "query":
        return NOTHING
    raise ValueError("state: unknown state %r (one of %s)" % (state, ", ".join(STATES)))


def describe(name, lock):
    """``the release lock <name> is held by <holder> since <since> for release <id> (version v2, digest d): msg``."""
    lock = lock or {}
    text = "the release lock %s is held by %s since %s for release %s" % (
        name, lock.get("holder") or "an unknown holder", lock.get("since") or "an unknown time",
        lock.get("release_id") or "(unknown)")
    what = ["%s %s" % (key, lock[key]) for key in ("version", "digest") if lock.get(key)]
    if what:
        text += " (%s)" % ", ".join(what)
    if lock.get("unreadable"):
        text += " (its file cannot be read: %s)" % lock["unreadable"]
    if lock.get("note"):
        text += ": %s" % lock["note"]
    return text


def held_message(name, lock):
    """Why a release cannot take the lock: who holds it, and what to do."""
    return "%s. %s" % (describe(name, lock), BREAK_HINT)


def refuse_message(name, lock, release_id):
    return ("%s, not by release %s: a release never releases another release's lock (break it with "
            "playbooks/lock.yml -e lock_action=break if that run is gone)" % (describe(name, lock), release_id))


# -- file effects --

def read_lock(path):
    """The lock at ``path``, None when there is none. A file that is not a JSON object is reported as a lock held by
    an unknown release (``{"unreadable": why}``), so that it blocks every release until it is broken."""
    try:
        return read_json_object(path, "release lock")
    except ValueError as exc:
        return dict(unreadable=str(exc))


@contextlib.contextmanager
def guarded(directory, name):
    """Hold the guard of lock ``name`` (an exclusive flock; the kernel drops it if the process dies). Creates the
    directory (mode 0700) when it is missing."""
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, DIR_MODE, exist_ok=True)  # a racing run may create it too
        fd = os.open(guard_file(directory, name), os.O_RDWR | os.O_CREAT, FILE_MODE)
    except OSError as exc:
        raise FleetLockError("cannot use the lock directory %s: %s" % (directory, exc.strerror or exc))
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                break
            except OSError as exc:
                if exc.errno != errno.EINTR:
                    raise
        yield
    finally:
        os.close(fd)


def create_lock(path, lock):
    """Create the lock file holding ``lock``. Returns False, changing nothing, when a lock file exists."""
    try:
        atomic_write(path, json_text(lock), mode=FILE_MODE, dir_mode=DIR_MODE, exclusive=True)
    except FileExistsError:
        return False
    except OSError as exc:
        raise FleetLockError("cannot write the release lock %s: %s" % (path, exc.strerror or exc))
    return True


def delete_lock(path):
    try:
        return remove_file(path)
    except OSError as exc:
        raise FleetLockError("cannot remove the release lock %s: %s" % (path, exc.strerror or exc))


class FleetLock(object):
    """Lock ``name`` in ``directory``. ``check_mode``: read and decide only. ``clock`` and ``sleep`` are those of
    the time module unless a test gives its own."""

    def __init__(self, directory, name, check_mode=False, clock=time.monotonic, sleep=time.sleep):
        self.directory = directory
        self.name = name
        self.path = lock_file(directory, name)
        self.check_mode = check_mode
        self.clock = clock
        self.sleep = sleep

    def _step(self, state, release_id, wanted=None):
        """One read-decide-act step under the guard (no guard and no write in check mode). Returns
        (action, lock found, lock held after the step)."""
        if self.check_mode:
            found = read_lock(self.path)
            action = decide(state, found, release_id)
            return action, found, self._after(action, found, wanted)
        with guarded(self.directory, self.name):
            found = read_lock(self.path)
            action = decide(state, found, release_id)
            if action == CREATE and not create_lock(self.path, wanted):
                return WAIT, read_lock(self.path), None  # only a writer ignoring the guard gets here
            if action == REMOVE:
                delete_lock(self.path)
        return action, found, self._after(action, found, wanted)

    @staticmethod
    def _after(action, found, wanted):
        if action == CREATE:
            return wanted
        if action == REMOVE:
            return None
        return found

    def acquire(self, lock, wait=0.0, poll_interval=1.0):
        """Take the lock for ``lock["release_id"]``, waiting up to ``wait`` seconds for another release to let it
        go. Returns (changed, lock before, lock held now, seconds waited); raises FleetLockError naming the holder."""
        started = self.clock()
        while True:
            action, found, held = self._step("acquired", lock["release_id"], lock)
            waited = max(0.0, self.clock() - started)
            if action != WAIT:
                return action == CREATE, found, held, waited
            if waited >= wait:
                raise FleetLockError(held_message(self.name, found),
                                     details=dict(lock=found, waited=round(waited, 3)))
            self.sleep(max(0.0, min(poll_interval, wait - waited)))

    def release(self, release_id):
        """Remove the lock of ``release_id``. Returns (changed, lock before); raises FleetLockError, touching
        nothing, when another release holds it."""
        action, found, _held = self._step("released", release_id)
        if action == REFUSE:
            raise FleetLockError(refuse_message(self.name, found, release_id), details=dict(lock=found))
        return action == REMOVE, found

    def break_(self):
        """Remove whatever lock is there. Returns (changed, lock removed or None)."""
        action, found, _held = self._step("broken", None)
        return action == REMOVE, found

    def query(self):
        return read_lock(self.path)

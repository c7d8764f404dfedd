"""The fleet release lock: its decisions as tables, its file effects on a temporary directory, and processes racing
for it."""

import json
import multiprocessing
import os

import pytest

from ansible_collections.baton.docker.plugins.module_utils import _fleet_lock as fl
from ansible_collections.baton.docker.plugins.module_utils._files import atomic_write

OURS = dict(holder="alice@laptop", release_id="r1", version="v1", digest=None, note=None,
            since="2026-12-07T09:00:00Z")
THEIRS = dict(holder="bob@ci", release_id="r2", version="v2", digest="sha256:abc", note="hotfix",
              since="2026-12-07T10:00:00Z")
UNREADABLE = dict(unreadable="the release lock /x is not valid JSON")


@pytest.mark.parametrize("state, lock, release_id, action", [
    ("acquired", None, "r1", fl.CREATE),
    ("acquired", OURS, "r1", fl.KEEP),
    ("acquired", THEIRS, "r1", fl.WAIT),
    ("acquired", UNREADABLE, "r1", fl.WAIT),
    ("acquired", dict(holder="x"), "r1", fl.WAIT),
    ("released", None, "r1", fl.NOTHING),
    ("released", OURS, "r1", fl.REMOVE),
    ("released", THEIRS, "r1", fl.REFUSE),
    ("released", UNREADABLE, "r1", fl.REFUSE),
    ("released", dict(holder="x"), None, fl.REFUSE),
    ("broken", None, None, fl.NOTHING),
    ("broken", OURS, None, fl.REMOVE),
    ("broken", THEIRS, "r1", fl.REMOVE),
    ("broken", UNREADABLE, None, fl.REMOVE),
    ("query", None, None, fl.NOTHING),
    ("query", THEIRS, "r1", fl.NOTHING),
])
def test_decide(state, lock, release_id, action):
    assert fl.decide(state, lock, release_id) == action


def test_decide_refuses_an_unknown_state():
    with pytest.raises(ValueError, match="state"):
        fl.decide("taken", None, "r1")


@pytest.mark.parametrize("lock, text", [
    (THEIRS, "the release lock shop-production is held by bob@ci since 2026-12-07T10:00:00Z for release r2 "
             "(version v2, digest sha256:abc): hotfix"),
    (OURS, "the release lock shop-production is held by alice@laptop since 2026-12-07T09:00:00Z for release r1 "
           "(version v1)"),
    (dict(holder="carol", release_id="r3", since="2026-12-07T11:00:00Z"),
     "the release lock shop-production is held by carol since 2026-12-07T11:00:00Z for release r3"),
    (UNREADABLE, "the release lock shop-production is held by an unknown holder since an unknown time for release "
                 "(unknown) (its file cannot be read: the release lock /x is not valid JSON)"),
    ({}, "the release lock shop-production is held by an unknown holder since an unknown time for release (unknown)"),
])
def test_describe(lock, text):
    assert fl.describe("shop-production", lock) == text


def test_held_message_says_what_to_do():
    assert fl.held_message("shop-production", THEIRS) == (
        "the release lock shop-production is held by bob@ci since 2026-12-07T10:00:00Z for release r2 (version v2, "
        "digest sha256:abc): hotfix. Wait, or break it with playbooks/lock.yml -e lock_action=break if its run is "
        "gone.")


def test_new_lock_holds_the_release_and_a_utc_time():
    lock = fl.new_lock("r1", "alice@laptop", version="v1", since=None)
    assert set(lock) == {"holder", "release_id", "version", "digest", "note", "since"}
    assert lock["since"].endswith("Z") and lock["since"][10] == "T"
    assert fl.utc_now(0) == "1970-01-01T00:00:00Z"


# -- file effects --

def test_create_lock_creates_once_with_private_modes(tmp_path):
    directory = str(tmp_path / "fleet")
    path = fl.lock_file(directory, "shop-production")
    assert fl.create_lock(path, OURS) is True
    assert fl.create_lock(path, THEIRS) is False
    assert fl.read_lock(path) == OURS
    assert oct(os.stat(directory).st_mode & 0o777) == "0o700"
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert os.listdir(directory) == ["shop-production.lock"]  # no temporary file left behind


def test_read_lock_reports_a_file_that_is_not_a_lock(tmp_path):
    path = str(tmp_path / "a.lock")
    assert fl.read_lock(path) is None
    (tmp_path / "a.lock").write_text("{\"holder\": ")
    assert "not valid JSON" in fl.read_lock(path)["unreadable"]
    (tmp_path / "a.lock").write_text("[]")
    assert "does not hold a JSON object" in fl.read_lock(path)["unreadable"]


class Clock:
    """A clock that sleeps by moving forward."""

    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def lock_in(tmp_path, check_mode=False, clock=None):
    clock = clock or Clock()
    return fl.FleetLock(str(tmp_path / "fleet"), "shop-production", check_mode=check_mode, clock=clock,
                        sleep=clock.sleep)


def test_acquire_create_keep_and_release(tmp_path):
    lock = lock_in(tmp_path)
    assert lock.acquire(OURS) == (True, None, OURS, 0.0)
    assert lock.acquire(dict(OURS, holder="alice@ci", since="later")) == (False, OURS, OURS, 0.0)
    assert lock.release("r1") == (True, OURS)
    assert lock.query() is None
    assert lock.release("r1") == (False, None)


def test_acquire_waits_polling_then_fails_naming_the_holder(tmp_path):
    clock = Clock()
    lock = lock_in(tmp_path, clock=clock)
    fl.create_lock(lock.path, THEIRS)
    with pytest.raises(fl.FleetLockError) as info:
        lock.acquire(OURS, wait=2.5, poll_interval=1.0)
    assert str(info.value).startswith("the release lock shop-production is held by bob@ci")
    assert info.value.details == dict(lock=THEIRS, waited=2.5)
    assert clock.sleeps == [1.0, 1.0, 0.5]
    assert lock.query() == THEIRS


def test_acquire_without_wait_fails_at_once(tmp_path):
    clock = Clock()
    lock = lock_in(tmp_path, clock=clock)
    fl.create_lock(lock.path, THEIRS)
    with pytest.raises(fl.FleetLockError):
        lock.acquire(OURS)
    assert clock.sleeps == []


def test_acquire_takes_the_lock_once_the_holder_lets_it_go(tmp_path):
    clock = Clock()
    lock = lock_in(tmp_path, clock=clock)
    fl.create_lock(lock.path, THEIRS)
    released = []

    def sleep(seconds):
        clock.sleep(seconds)
        if len(clock.sleeps) == 2:
            released.append(fl.FleetLock(lock.directory, lock.name).release("r2"))
    lock.sleep = sleep
    changed, before, held, waited = lock.acquire(OURS, wait=60, poll_interval=1)
    assert released == [(True, THEIRS)]
    assert (changed, before, held, waited) == (True, None, OURS, 2.0)
    assert lock.query() == OURS


def test_release_of_another_release_is_refused_and_leaves_it(tmp_path):
    lock = lock_in(tmp_path)
    fl.create_lock(lock.path, THEIRS)
    with pytest.raises(fl.FleetLockError, match="not by release r1: a release never releases"):
        lock.release("r1")
    assert lock.query() == THEIRS


def test_break_removes_any_lock_even_an_unreadable_one(tmp_path):
    lock = lock_in(tmp_path)
    assert lock.break_() == (False, None)
    fl.create_lock(lock.path, THEIRS)
    assert lock.break_() == (True, THEIRS)
    atomic_write(lock.path, "garbage")
    changed, broken = lock.break_()
    assert changed and "unreadable" in broken
    assert lock.query() is None


def test_check_mode_decides_and_writes_nothing(tmp_path):
    lock = lock_in(tmp_path, check_mode=True)
    assert lock.acquire(OURS) == (True, None, OURS, 0.0)
    assert not os.path.exists(lock.directory)
    assert lock.release("r1") == (False, None)
    assert lock.break_() == (False, None)
    fl.create_lock(lock.path, THEIRS)
    assert lock.break_() == (True, THEIRS)
    with pytest.raises(fl.FleetLockError):
        lock.release("r1")
    assert lock.query() == THEIRS
    assert sorted(os.listdir(lock.directory)) == ["shop-production.lock"]


def _race(directory, release_id, start, queue):
    start.wait()
    lock = fl.FleetLock(directory, "shop-production")
    try:
        lock.acquire(dict(OURS, release_id=release_id))
        queue.put((release_id, "won"))
    except fl.FleetLockError as exc:
        queue.put((release_id, str(exc)))


@pytest.mark.parametrize("round_", range(5))
def test_processes_racing_for_the_lock_exactly_one_wins(tmp_path, round_):
    directory = str(tmp_path / "fleet")
    context = multiprocessing.get_context("fork")
    start, queue = context.Event(), context.Queue()
    ids = ["r%d" % number for number in range(4)]
    processes = [context.Process(target=_race, args=(directory, release_id, start, queue)) for release_id in ids]
    for process in processes:
        process.start()
    start.set()
    outcomes = dict(queue.get(timeout=30) for _process in processes)
    for process in processes:
        process.join(30)
    winners = [release_id for release_id, outcome in outcomes.items() if outcome == "won"]
    assert len(winners) == 1, outcomes
    with open(fl.lock_file(directory, "shop-production")) as handle:
        assert json.load(handle)["release_id"] == winners[0]
    for release_id, outcome in outcomes.items():
        if release_id != winners[0]:
            assert "for release %s" % winners[0] in outcome


def _create(path, release_id, start, queue):
    start.wait()
    queue.put((release_id, fl.create_lock(path, dict(OURS, release_id=release_id, note="x" * 200000))))


def test_exclusive_create_without_the_guard_one_wins_and_readers_never_see_a_partial_lock(tmp_path):
    """create_lock alone (no guard): of processes creating the lock at once exactly one succeeds, and a reader
    looking meanwhile finds no lock or a whole one (the content is large enough to take several writes)."""
    path = fl.lock_file(str(tmp_path / "fleet"), "shop-production")
    os.makedirs(os.path.dirname(path))
    context = multiprocessing.get_context("fork")
    start, queue = context.Event(), context.Queue()
    processes = [context.Process(target=_create, args=(path, "r%d" % number, start, queue)) for number in range(4)]
    for process in processes:
        process.start()
    start.set()
    seen = set()
    for _look in range(2000):
        lock = fl.read_lock(path)
        seen.add("none" if lock is None else "unreadable" if "unreadable" in lock else "whole")
        if "whole" in seen:
            break
    outcomes = dict(queue.get(timeout=30) for _process in processes)
    for process in processes:
        process.join(30)
    assert sorted(outcomes.values()) == [False, False, False, True]
    assert "unreadable" not in seen
    assert fl.read_lock(path)["release_id"] == [r for r, won in outcomes.items() if won][0]

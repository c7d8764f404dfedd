"""The secret audit's argv sampler (tests/support/argv_sampler.py): the kernel's process events it reads."""

import struct

from tests.support.argv_sampler import NLMSG_DONE, PROC_EVENT_EXEC, exec_pids

FORK = 0x00000001


def message(what, *ids):
    event = struct.pack("=IIQ", what, 0, 123) + struct.pack("=%dI" % len(ids), *ids)
    body = struct.pack("=IIIIHH", 1, 1, 7, 0, len(event), 0) + event
    raw = struct.pack("=IHHII", 16 + len(body), NLMSG_DONE, 0, 7, 0) + body
    return raw + b"\0" * (-len(raw) % 4)


def test_exec_events_give_the_new_programs_process_ids():
    assert exec_pids(message(PROC_EVENT_EXEC, 4321, 4320)) == [4320]


def test_other_events_and_several_messages_in_one_datagram():
    datagram = message(FORK, 1, 1, 2, 2) + message(PROC_EVENT_EXEC, 11, 10) + message(PROC_EVENT_EXEC, 21, 21)
    assert exec_pids(datagram) == [10, 21]


def test_truncated_or_empty_datagrams_give_nothing():
    assert exec_pids(b"") == []
    assert exec_pids(message(PROC_EVENT_EXEC, 11, 10)[:40]) == []
    assert exec_pids(struct.pack("=IHHII", 0, NLMSG_DONE, 0, 0, 0)) == []

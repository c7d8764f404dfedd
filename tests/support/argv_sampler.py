"""The secret audit's argv sampler: it reads the argv (/proc/PID/cmdline, never the environ) of every process the
machine starts during the session and records each planted value seen there.

Two sources, in one thread:
- the kernel's process events (the proc connector, over netlink): each exec is announced, and the new program's argv
  is read at once, so a process that lives a few milliseconds is seen too;
- a sweep of every process every ``interval`` seconds, for what the events cannot show (a process that rewrites its own
  argv without an exec, events the kernel dropped when the socket's buffer was full).
Where the proc connector cannot be used, the sweep alone runs, every ``fallback_interval`` seconds."""

import os
import select
import socket
import struct
import threading
import time

from tests.support import secrets

NETLINK_CONNECTOR = 11
CN_IDX_PROC = 1
CN_VAL_PROC = 1
PROC_CN_MCAST_LISTEN = 1
PROC_EVENT_EXEC = 0x00000002
NLMSG_DONE = 3
_NLMSG_HEADER = struct.Struct("=IHHII")  # length, type, flags, sequence, port
_CN_MSG = struct.Struct("=IIIIHH")  # index, value, sequence, ack, length, flags
_PROC_EVENT = struct.Struct("=IIQ")  # what, cpu, timestamp
_EXEC_EVENT = struct.Struct("=II")  # pid, tgid


def proc_events_socket():
    """A netlink socket subscribed to the kernel's process events, or None where that is not possible."""
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_CONNECTOR)
    except (OSError, AttributeError):
        return None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        sock.bind((0, CN_IDX_PROC))
        operation = struct.pack("=I", PROC_CN_MCAST_LISTEN)
        message = _CN_MSG.pack(CN_IDX_PROC, CN_VAL_PROC, 0, 0, len(operation), 0) + operation
        sock.send(_NLMSG_HEADER.pack(_NLMSG_HEADER.size + len(message), NLMSG_DONE, 0, 0, 0) + message)
    except OSError:
        sock.close()
        return None
    sock.setblocking(False)
    return sock


def exec_pids(datagram):
    """The process ids (thread group ids) of the exec events in one netlink datagram."""
    pids = []
    offset = 0
    while offset + _NLMSG_HEADER.size <= len(datagram):
        length = _NLMSG_HEADER.unpack_from(datagram, offset)[0]
        if length < _NLMSG_HEADER.size or offset + length > len(datagram):
            break
        event = offset + _NLMSG_HEADER.size + _CN_MSG.size
        if event + _PROC_EVENT.size + _EXEC_EVENT.size <= offset + length:
            if _PROC_EVENT.unpack_from(datagram, event)[0] == PROC_EVENT_EXEC:
                pids.append(_EXEC_EVENT.unpack_from(datagram, event + _PROC_EVENT.size)[1])
        offset += (length + 3) & ~3
    return pids


class ArgvSampler(threading.Thread):
    """Records each planted value seen in a process's argv: its name, the pid, the command name, whether the process
    descends from this pytest process (values not unique to the session only count there) and how it was seen (exec
    or sweep) - never the value."""

    def __init__(self, interval=1.0, fallback_interval=0.05):
        super().__init__(name="argv-sampler", daemon=True)
        self.events = proc_events_socket()
        self.interval = interval if self.events else fallback_interval
        self.stopping = threading.Event()
        self.sweeps = 0
        self.execs = 0
        self.overflows = 0
        self.processes_read = 0
        self.busy = 0.0
        self.hits = []
        self.started = time.time()
        self._seen = set()
        self._known = None
        self.matcher = None

    @property
    def mode(self):
        return "exec events and sweeps" if self.events else "sweeps"

    def summary(self):
        return dict(started=self.started, stopped=time.time(), mode=self.mode, interval=self.interval,
                    sweeps=self.sweeps, execs=self.execs, overflows=self.overflows,
                    processes_read=self.processes_read, busy=self.busy, hits=self.hits)

    def run(self):
        next_sweep = 0.0
        while not self.stopping.is_set():
            started = time.thread_time()
            pids, dropped = self._pending_execs() if self.events else ([], False)
            # a dropped event is an exec not read: a sweep now sees what is still running
            sweep = dropped or time.monotonic() >= next_sweep
            if pids or sweep:
                self._refresh_matcher()
            for pid in pids:
                self._read(str(pid), "exec")
            if sweep:
                self.sweep()
                next_sweep = time.monotonic() + self.interval
            self.busy += time.thread_time() - started  # CPU seconds of this thread
            wait = max(0.0, next_sweep - time.monotonic())
            if self.events:
                select.select([self.events], [], [], wait)
            else:
                self.stopping.wait(wait)
        if self.events:
            self.events.close()

    def _refresh_matcher(self):
        current = secrets.values_signature()  # values registered by any process of the session, workers included
        if current != self._known:
            self._known, self.matcher = current, secrets.Matcher()

    def _pending_execs(self):
        """The process ids of the exec events waiting on the socket, and whether the kernel dropped some (ENOBUFS)."""
        pids, dropped = [], False
        while True:
            try:
                datagram = self.events.recv(65536)
            except BlockingIOError:
                return pids, dropped
            except OSError:
                self.overflows += 1
                dropped = True
                continue
            found = exec_pids(datagram)
            self.execs += len(found)
            pids.extend(found)

    def _read(self, pid, how):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                argv = handle.read()
        except OSError:
            return
        self.processes_read += 1
        for name in self.matcher.find(argv):
            key = (int(pid), name)
            if key not in self._seen:
                self._seen.add(key)
                self.hits.append(dict(name=name, pid=int(pid), command=_comm(pid), how=how,
                                      ours=_descends_from(int(pid), os.getpid()), at=time.time()))

    def sweep(self):
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                self._read(entry, "sweep")
        self.sweeps += 1

    def stop(self):
        self.stopping.set()
        self.join(timeout=5)


def _comm(pid):
    try:
        with open("/proc/%s/comm" % pid) as handle:
            return handle.read().strip()
    except OSError:
        return "?"


def _descends_from(pid, ancestor):
    for _attempt in range(64):
        if pid == ancestor:
            return True
        if pid <= 1:
            return False
        try:
            with open("/proc/%d/stat" % pid) as handle:
                pid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return False

"""logforwarder: sends the output of this host's containers to a syslog server.

Usage: python3 logforwarder.py syslog://HOST:PORT

It talks to the Docker API over the unix socket mounted at /tmp/docker.sock
(LOGFORWARDER_DOCKER_SOCKET overrides it), follows the logs of every running
container except its own and those labelled baton.logforwarder=ignore (or
with LOGSPOUT=ignore in their environment), and sends each line as one UDP
datagram in RFC 5424 form:

  <PRI>1 TIMESTAMP HOSTNAME CONTAINER-NAME SHORT-ID - - LINE

PRI is facility user with severity info for stdout and err for stderr;
HOSTNAME is SYSLOG_HOSTNAME or this container's host name.

Bounded on purpose: lines wait in a queue of LOGFORWARDER_QUEUE (default 2000)
and are dropped when it is full, a line is cut at 2048 bytes, the container
list is read every LOGFORWARDER_POLL seconds (default 1). An unreachable or
unresolvable target only costs dropped datagrams and a warning now and then.
On SIGTERM or SIGINT it exits 0.
"""

import datetime
import http.client
import json
import os
import queue
import re
import signal
import socket
import struct
import sys
import threading
import time
from urllib.parse import quote, urlsplit

DOCKER_SOCKET = os.environ.get("LOGFORWARDER_DOCKER_SOCKET", "/tmp/docker.sock")
POLL_S = float(os.environ.get("LOGFORWARDER_POLL", "1"))
QUEUE_MAX = int(os.environ.get("LOGFORWARDER_QUEUE", "2000"))
MAX_LINE = 2048
WARN_EVERY_S = 30.0

stopping = threading.Event()


def log(msg):
    print("logforwarder: %s" % msg, file=sys.stderr, flush=True)


class DockerConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=None):
        http.client.HTTPConnection.__init__(self, "localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.timeout is not None:
            sock.settimeout(self.timeout)
        try:
            sock.connect(self.unix_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def api_get_json(path):
    conn = DockerConnection(DOCKER_SOCKET, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise OSError("Docker API GET %s: HTTP %d %s" % (path, resp.status, body[:200].decode(errors="replace")))
        return json.loads(body.decode())
    finally:
        conn.close()


def own_container_id():
    """The id of the container this runs in, read from its mounts (or None)."""
    pattern = re.compile(r"/containers/([0-9a-f]{64})/")
    for name in ("/proc/self/mountinfo", "/proc/self/cgroup"):
        try:
            with open(name, encoding="utf-8") as f:
                found = pattern.search(f.read())
        except OSError:
            continue
        if found:
            return found.group(1)
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as f:
            found = re.search(r"docker[-/]([0-9a-f]{64})", f.read())
        if found:
            return found.group(1)
    except OSError:
        pass
    return None


class Sender:
    """One thread that sends queued lines to the syslog target over UDP."""

    def __init__(self, host, port, hostname):
        self.host, self.port, self.hostname = host, port, hostname
        self.lines = queue.Queue(maxsize=QUEUE_MAX)
        self.dropped = 0
        self._addr = None
        self._addr_at = 0.0
        self._retry_at = 0.0
        self._warned_at = 0.0
        self._sock = None

    def put(self, name, short_id, stream, text):
        try:
            self.lines.put_nowait((name, short_id, stream, text))
        except queue.Full:
            self.dropped += 1

    def _warn(self, msg):
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_S:
            self._warned_at = now
            log("%s (%d line(s) dropped so far)" % (msg, self.dropped))

    def _target(self):
        now = time.monotonic()
        if self._addr is None and now < self._retry_at:
            raise OSError("target unresolved, next try in %.0fs" % (self._retry_at - now))
        if self._addr is None or now - self._addr_at > 30:
            self._addr_at = now
            self._retry_at = now + 5  # a failing lookup is tried again at most every 5 s
            infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)
            family, addr = infos[0][0], infos[0][4]
            if self._sock is None or self._sock.family != family:
                if self._sock is not None:
                    self._sock.close()
                self._sock = socket.socket(family, socket.SOCK_DGRAM)
            self._addr = addr
        return self._addr

    def format(self, name, short_id, stream, text):
        severity = 3 if stream == 2 else 6
        stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        head = "<%d>1 %s %s %s %s - - " % (8 + severity, stamp, self.hostname or "-", name or "-", short_id or "-")
        return (head + text).encode("utf-8", errors="replace")[:MAX_LINE]

    def run(self):
        while not stopping.is_set():
            try:
                item = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                addr = self._target()
                self._sock.sendto(self.format(*item), addr)
            except socket.gaierror as exc:
                self._addr = None
                self.dropped += 1
                self._warn("cannot resolve %s: %s" % (self.host, exc))
            except (OSError, UnicodeError) as exc:
                self.dropped += 1
                self._warn("cannot send to %s:%d: %s" % (self.host, self.port, exc))


def follow(cid, name, tty, since, sender, followed, lock):
    """Stream one container's log lines into the sender until the stream ends."""
    short_id = cid[:12]
    path = "/containers/%s/logs?follow=1&stdout=1&stderr=1&timestamps=1&since=%s" % (quote(cid), since)
    conn = DockerConnection(DOCKER_SOCKET, timeout=None)
    last = None
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        if resp.status != 200:
            # No readable log (a logging driver without read support): do not ask again.
            resp.read()
            with lock:
                remember(unreadable, cid, True)
            return
        pending = {1: b"", 2: b""}
        while not stopping.is_set():
            if tty:
                chunk, stream = resp.read1(65536), 1
            else:
                header = resp.read(8)
                if len(header) < 8:
                    break
                stream, size = header[0], struct.unpack(">I", header[4:])[0]
                chunk = resp.read(size)
                stream = 2 if stream == 2 else 1
            if not chunk:
                break
            data = pending[stream] + chunk
            *lines, pending[stream] = data.split(b"\n")
            if len(pending[stream]) > MAX_LINE * 4:  # a very long line: send what we have
                lines.append(pending[stream])
                pending[stream] = b""
            for raw in lines:
                text = raw.decode("utf-8", errors="replace").rstrip("\r")
                stamp, _sep, text = text.partition(" ")
                if stamp[:1].isdigit():
                    last = stamp
                sender.put(name, short_id, stream, text)
    except (OSError, http.client.HTTPException):
        pass
    finally:
        conn.close()
        with lock:
            followed.pop(cid, None)
            if last:
                # Docker's `since` takes seconds.nanoseconds: resume right after the last line.
                remember(resumed, cid, rfc3339_to_since(last))


# Where to resume a container's log when it runs again, and containers whose
# log cannot be read; both keep at most MEMORY entries (oldest go first).
MEMORY = 1000
resumed = {}
unreadable = {}


def remember(table, key, value):
    table.pop(key, None)
    table[key] = value
    while len(table) > MEMORY:
        del table[next(iter(table))]


def rfc3339_to_since(stamp):
    """2024-01-02T03:04:05.123456789Z -> '1704164645.123456790' (one nanosecond later)."""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$", stamp)
    if not match:
        return "%.9f" % time.time()
    whole = datetime.datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    nanos = int((match.group(2) or "0").ljust(9, "0")[:9]) + 1
    seconds = int(whole.timestamp()) + nanos // 1000000000
    return "%d.%09d" % (seconds, nanos % 1000000000)


def wanted(summary, me):
    cid = summary.get("Id", "")
    if me and cid == me:
        return False
    labels = summary.get("Labels") or {}
    return labels.get("baton.logforwarder") != "ignore"


def parse_target(arg):
    parts = urlsplit(arg)
    if parts.scheme not in ("syslog", "udp") or not parts.hostname or not parts.port:
        raise ValueError("expected syslog://HOST:PORT, got %r" % arg)
    return parts.hostname, parts.port


def main(argv):
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    try:
        host, port = parse_target(argv[0])
    except ValueError as exc:
        log(str(exc))
        return 2

    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())

    me = own_container_id()
    hostname = os.environ.get("SYSLOG_HOSTNAME") or socket.gethostname()
    sender = Sender(host, port, hostname)
    threading.Thread(target=sender.run, name="sender", daemon=True).start()
    started = "%.9f" % time.time()
    followed, lock = {}, threading.Lock()
    log("forwarding container logs to syslog %s:%d over UDP (own id %s)" % (host, port, (me or "unknown")[:12]))

    api_warned = 0.0
    while not stopping.is_set():
        try:
            running = api_get_json("/containers/json")
        except (OSError, ValueError, http.client.HTTPException) as exc:
            if time.monotonic() - api_warned >= WARN_EVERY_S:
                api_warned = time.monotonic()
                log("Docker API at %s: %s" % (DOCKER_SOCKET, exc))
            stopping.wait(max(POLL_S, 2.0))
            continue
        for summary in running:
            cid = summary.get("Id", "")
            with lock:
                if not cid or cid in followed or cid in unreadable or not wanted(summary, me):
                    continue
            try:
                info = api_get_json("/containers/%s/json" % quote(cid))
            except (OSError, ValueError, http.client.HTTPException):
                continue
            env = (info.get("Config") or {}).get("Env") or []
            if "LOGSPOUT=ignore" in env:
                continue
            name = (info.get("Name") or cid[:12]).lstrip("/")
            tty = bool((info.get("Config") or {}).get("Tty"))
            with lock:
                # Containers seen at start: new lines only. Later ones: everything since we started.
                since = resumed.pop(cid, started)
                thread = threading.Thread(target=follow, args=(cid, name, tty, since, sender, followed, lock),
                                          name="follow-" + cid[:12], daemon=True)
                followed[cid] = thread
            thread.start()
        stopping.wait(POLL_S)
    log("stopping (%d line(s) dropped)" % sender.dropped)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

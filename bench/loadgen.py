"""Bounded, paced HTTP load for rollout measurements.

Each of N connections sends one request every `period` seconds (keep-alive,
reconnecting after errors) until stopped, `max_seconds` pass, or
`max_requests` are sent in all. Every request is recorded with its start time,
latency and outcome, so callers can compare windows (at rest, during a
rollout). Only loopback targets are accepted.
"""

import http.client
import threading
import time
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def percentile(values, pct):
    if not values:
        return None
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, int(round(pct / 100.0 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


class LoadGenerator:
    def __init__(self, url, connections=8, period=0.02, max_seconds=300.0, max_requests=200000,
                 timeout=5.0):
        parts = urlsplit(url)
        if parts.hostname not in LOOPBACK:
            raise ValueError("load is only sent to loopback addresses, not %s" % parts.hostname)
        self.host = parts.hostname
        self.port = parts.port or 80
        self.path = parts.path or "/"
        self.connections = connections
        self.period = period
        self.max_seconds = max_seconds
        self.max_requests = max_requests
        self.timeout = timeout
        self.records = []  # (start, latency_s, ok, detail)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self._sent = 0
        self.bodies = {}

    def _take_slot(self):
        with self._lock:
            if self._sent >= self.max_requests:
                return False
            self._sent += 1
            return True

    def _worker(self, deadline):
        conn = None
        next_at = time.monotonic()
        while not self._stop.is_set() and time.monotonic() < deadline and self._take_slot():
            start = time.monotonic()
            ok, detail = False, ""
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                conn.request("GET", self.path)
                resp = conn.getresponse()
                body = resp.read()
                ok = resp.status == 200
                detail = str(resp.status)
                if ok:
                    key = body.split()[1].decode() if len(body.split()) > 1 else body.decode()
                    with self._lock:
                        self.bodies[key] = self.bodies.get(key, 0) + 1
                if resp.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                detail = type(exc).__name__
                if conn is not None:
                    conn.close()
                conn = None
            latency = time.monotonic() - start
            with self._lock:
                self.records.append((start, latency, ok, detail))
            next_at += self.period
            pause = next_at - time.monotonic()
            if pause > 0:
                self._stop.wait(pause)
            else:
                next_at = time.monotonic()
        if conn is not None:
            conn.close()

    def start(self):
        deadline = time.monotonic() + self.max_seconds
        for _conn in range(self.connections):
            thread = threading.Thread(target=self._worker, args=(deadline,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 1)

    def window(self, start=None, end=None):
        with self._lock:
            return [r for r in self.records
                    if (start is None or r[0] >= start) and (end is None or r[0] < end)]

    @staticmethod
    def summary(records):
        lat = [r[1] * 1000.0 for r in records if r[2]]
        failures = {}
        for r in records:
            if not r[2]:
                failures[r[3]] = failures.get(r[3], 0) + 1
        return {
            "total": len(records),
            "failed": sum(failures.values()),
            "failures": failures,
            "p50_ms": round(percentile(lat, 50), 2) if lat else None,
            "p99_ms": round(percentile(lat, 99), 2) if lat else None,
        }


def run_with(loads, action, settle=1.0, after=0.5):
    """Start ``loads``, let them run ``settle`` seconds, run ``action()``, let them run ``after`` seconds more, stop
    them; return what ``action`` returned. Their records stay in the loads."""
    for load in loads:
        load.start()
    time.sleep(settle)
    try:
        return action()
    finally:
        time.sleep(after)
        for load in loads:
            load.stop()


def under_load(urls, action, connections=4, settle=1.0, after=0.5):
    """Run ``action()`` under paced load spread over ``urls`` (``connections`` per URL), ``settle`` seconds of load
    before it and ``after`` seconds after. Returns (what action returned, summary of every request: total, failed,
    failures, p50_ms, p99_ms, and bodies, the count of answers per version)."""
    loads = [LoadGenerator(url, connections=connections, period=0.02, max_seconds=240, max_requests=100000)
             for url in urls]
    outcome = run_with(loads, action, settle, after)
    summary = LoadGenerator.summary([r for load in loads for r in load.window()])
    summary["bodies"] = {}
    for load in loads:
        for version, count in load.bodies.items():
            summary["bodies"][version] = summary["bodies"].get(version, 0) + count
    return outcome, summary

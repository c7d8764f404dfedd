"""baton demo application: a tiny HTTP server for rollout demos and tests.

Endpoints
  GET /health  200 "ok" once started (500 in the broken variant)
  GET /        200 "<app> <version> <hostname>"
  GET /slow    like / but waits APP_SLOW_MS first (in-flight request on shutdown)
  GET /stream  a long-lived response: one line every 0.2 s for ?seconds=N (default 30)

Environment
  APP_NAME, APP_VERSION      shown in every response
  APP_PORT                   port to listen on (default 8000)
  APP_STARTUP_DELAY          seconds to wait before listening (default 0)
  APP_BROKEN                 "1": never healthy, every request answers 500
  APP_SLOW_MS                delay of /slow in milliseconds (default 500)
  APP_IGNORE_SIGTERM         "1": SIGTERM is ignored (only the engine's SIGKILL stops it)
  APP_CRASH_AFTER            seconds after listening at which the process exits 3
  APP_UNHEALTHY_AFTER        seconds after listening from which /health answers 500
  APP_ERROR_PERCENT          0-100: that share of requests to / (and /slow) answers 500 "injected error"
                             while /health stays 200; deterministic: request n (counted from 0 per process)
                             fails when n % 100 < APP_ERROR_PERCENT, so every 100 requests carry exactly
                             that many errors (default 0)

On SIGTERM the server stops accepting connections, finishes the requests in
flight and exits 0.
"""

import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME = os.environ.get("APP_NAME", "demo")
VERSION = os.environ.get("APP_VERSION", "dev")
PORT = int(os.environ.get("APP_PORT", "8000"))
BROKEN = os.environ.get("APP_BROKEN", "") == "1"
SLOW_MS = int(os.environ.get("APP_SLOW_MS", "500"))
IGNORE_SIGTERM = os.environ.get("APP_IGNORE_SIGTERM", "") == "1"
CRASH_AFTER = float(os.environ.get("APP_CRASH_AFTER") or 0)
UNHEALTHY_AFTER = float(os.environ.get("APP_UNHEALTHY_AFTER") or 0)
ERROR_PERCENT = min(100, max(0, int(os.environ.get("APP_ERROR_PERCENT") or 0)))
REQUESTS = [0]
REQUESTS_LOCK = threading.Lock()
LISTENING_SINCE = [None]
HOST = socket.gethostname()


def _injected_error():
    """Whether this request is one of the APP_ERROR_PERCENT share that answers 500."""
    if not ERROR_PERCENT:
        return False
    with REQUESTS_LOCK:
        number = REQUESTS[0]
        REQUESTS[0] += 1
    return number % 100 < ERROR_PERCENT


class Handler(BaseHTTPRequestHandler):
    # One write per response: without it headers and body leave in two
    # segments and every response stalls behind delayed ACKs.
    wbufsize = -1
    protocol_version = "HTTP/1.0"
    server_version = "baton-demo"

    def log_message(self, fmt, *args):  # keep container logs for real events
        pass

    def _send(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-App-Version", VERSION)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if BROKEN:
            self._send(500, "broken build %s\n" % VERSION)
            return
        path, _sep, query = self.path.partition("?")
        if path == "/health":
            since = LISTENING_SINCE[0]
            if UNHEALTHY_AFTER and since is not None and time.monotonic() - since >= UNHEALTHY_AFTER:
                self._send(500, "failing since %.1fs after start\n" % UNHEALTHY_AFTER)
            else:
                self._send(200, "ok\n")
        elif path == "/stream":
            self._stream(query)
        elif path in ("/", "/slow"):
            if _injected_error():
                self._send(500, "injected error %s %s\n" % (NAME, VERSION))
                return
            if path == "/slow":
                time.sleep(SLOW_MS / 1000.0)
            self._send(200, "%s %s %s\n" % (NAME, VERSION, HOST))
        else:
            self._send(404, "not found\n")

    do_HEAD = do_GET

    def _stream(self, query):
        """A long-lived response (no Content-Length, ends when the connection closes)."""
        seconds = 30.0
        for part in query.split("&"):
            key, _sep, value = part.partition("=")
            if key == "seconds" and value:
                seconds = min(float(value), 300.0)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("X-App-Version", VERSION)
        self.end_headers()
        self.wfile.flush()
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                self.wfile.write(("%s %s tick\n" % (NAME, VERSION)).encode())
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass  # the client (or a load balancer) closed the connection


class Server(ThreadingHTTPServer):
    daemon_threads = False      # server_close() joins requests in flight
    block_on_close = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    delay = float(os.environ.get("APP_STARTUP_DELAY", "0"))
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, signal.SIG_IGN if IGNORE_SIGTERM else lambda *_: stopping.set())
    if delay:
        print("starting in %.1fs" % delay, flush=True)
        if stopping.wait(delay):
            return 0
    server = Server(("0.0.0.0", PORT), Handler)
    print("%s %s listening on :%d%s" % (NAME, VERSION, PORT, " (broken)" if BROKEN else ""), flush=True)
    if BROKEN:
        print("error: configuration invalid, health check will fail", flush=True)

    def stop(*_):
        stopping.set()
        # shutdown() blocks until serve_forever returns: call it off the main thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, signal.SIG_IGN if IGNORE_SIGTERM else stop)
    signal.signal(signal.SIGINT, stop)
    LISTENING_SINCE[0] = time.monotonic()
    if CRASH_AFTER:
        def crash():
            print("crashing %.1fs after start" % CRASH_AFTER, flush=True)
            os._exit(3)
        threading.Timer(CRASH_AFTER, crash).start()
    server.serve_forever(poll_interval=0.1)
    print("SIGTERM: stopped accepting, finishing requests in flight", flush=True)
    server.server_close()
    print("bye", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""stack-app: the application image of the example stack (demo/stack/README.md).

One program, several roles, chosen by the first argument:

  app serve [--listen ADDR]   HTTP/1.1 server (web replica, app0 / app1)
  app ping [--listen ADDR]    health probe used by the image's HEALTHCHECK
  app migrate [--fail MSG]    one-off migration run before replica 0 is replaced
  app worker                  background job loop (the sidekiq entry)
  app cron-run                one cron job run (the cron entry)

ADDR is `unix:/path/to.sock` (a bare absolute path works too), `:PORT` (all
interfaces) or `HOST:PORT`.

HTTP endpoints of `serve`
  GET /ping   200 "pong"
  GET /       200 "stack-app <version> <replica>"
  GET /slow   like / after APP_SLOW_MS milliseconds (a request in flight)
The broken build answers 500 on every path, /ping included.

Environment
  APP_VERSION          version shown everywhere (set by the image build)
  APP_BROKEN           "1": the broken build
  APP_NAME             replica name (default: the socket file's stem, else the host name)
  APP_SLOW_MS          delay of /slow (default 500)
  APP_STARTUP_DELAY    seconds `serve` waits before it listens (default 0)
  APP_STOP_TIMEOUT     seconds `serve` waits for requests in flight on SIGTERM (default 10)
  APP_MIGRATIONS_FILE  file `migrate` appends to (default /var/static/migrations.log)
  APP_WORKER_FILE      heartbeat file `worker` rewrites every 0.5 s (unset: none)
  APP_JOB_MS           duration of one worker job (default 200)
  APP_CRON_FILE        file `cron-run` appends to (default /var/static/cron.log)

Health rule of `app ping`: `serve` writes its address to /tmp/app-listen once
it listens and removes it when it stops. With that file, ping GETs /ping there
and exits 0 only on a 200. Without it, the container counts as a server when a
word of PID 1's command line is `serve` (the server has not bound yet, or has
stopped): exit 1. Otherwise the container runs a worker, a cron job or a
migration and is not judged by HTTP: exit 0.
"""

import argparse
import datetime
import http.client
import os
import signal
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

VERSION = os.environ.get("APP_VERSION", "dev")
BROKEN = os.environ.get("APP_BROKEN", "") == "1"
LISTEN_FILE = "/tmp/app-listen"


def log(msg, stream=None):
    print(msg, file=stream or sys.stdout, flush=True)


def parse_listen(value):
    """Return ("unix", path) or ("tcp", (host, port)) for a --listen value."""
    if value.startswith("unix:"):
        path = value[len("unix:"):]
        if path.startswith("//"):  # unix:///path
            path = path[2:]
        if not path.startswith("/"):
            raise ValueError("--listen %r: a unix socket needs an absolute path" % value)
        return "unix", path
    if value.startswith("/"):
        return "unix", value
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("--listen %r: expected unix:/path, :PORT or HOST:PORT" % value)
    return "tcp", (host.strip("[]"), int(port))


def format_listen(kind, where):
    if kind == "unix":
        return "unix:" + where
    host, port = where
    return "%s:%d" % (host or "0.0.0.0", port)


# --------------------------------------------------------------------------- serve

class Handler(BaseHTTPRequestHandler):
    # One write per response: without it headers and body leave in separate
    # segments and every response stalls ~40 ms behind HAProxy's delayed ACK.
    wbufsize = -1
    protocol_version = "HTTP/1.1"
    server_version = "stack-app"
    timeout = 60  # idle keep-alive connections are closed after a minute

    def log_message(self, fmt, *args):  # request logs would drown real events
        pass

    def parse_request(self):
        # A request line has arrived: from here to the end of the response the
        # request counts as in flight.
        self.server.enter()
        self._counted = True
        return BaseHTTPRequestHandler.parse_request(self)

    def handle_one_request(self):
        self._counted = False
        try:
            BaseHTTPRequestHandler.handle_one_request(self)
        finally:
            if self._counted:
                self.server.leave()
        if self.server.stopping.is_set():
            self.close_connection = True

    def _send(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-App-Version", VERSION)
        self.send_header("X-App-Replica", self.server.replica)
        if self.server.stopping.is_set():
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if BROKEN:
            self._send(500, "stack-app %s: broken build\n" % VERSION)
        elif path == "/ping":
            self._send(200, "pong\n")
        elif path in ("/", "/slow"):
            if path == "/slow":
                time.sleep(int(os.environ.get("APP_SLOW_MS", "500")) / 1000.0)
            self._send(200, "stack-app %s %s\n" % (VERSION, self.server.replica))
        else:
            self._send(404, "not found\n")

    do_HEAD = do_GET


class _Tracking:
    """Counts requests in flight so a stop can wait for them."""

    daemon_threads = True        # idle keep-alive connections do not hold the exit
    block_on_close = False
    request_queue_size = 128

    def setup_tracking(self, replica):
        self.replica = replica
        self.stopping = threading.Event()
        self._busy = 0
        self._cond = threading.Condition()

    def enter(self):
        with self._cond:
            self._busy += 1

    def leave(self):
        with self._cond:
            self._busy -= 1
            self._cond.notify_all()

    def wait_idle(self, timeout):
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._busy > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return self._busy
                self._cond.wait(left)
        return 0


class TCPServer(_Tracking, socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True


class UnixServer(_Tracking, socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    pass


def bind(kind, where):
    if kind == "tcp":
        return TCPServer(where, Handler)
    parent = os.path.dirname(where)
    if parent:
        os.makedirs(parent, exist_ok=True)
    try:
        os.unlink(where)  # stale file of a previous run
        log("removed stale socket %s" % where)
    except FileNotFoundError:
        pass
    server = UnixServer(where, Handler)
    os.chmod(where, 0o666)
    return server


def cmd_serve(args):
    kind, where = parse_listen(args.listen)
    if kind == "unix":
        default_name = os.path.splitext(os.path.basename(where))[0]
    else:
        default_name = socket.gethostname()
    replica = os.environ.get("APP_NAME") or default_name

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    delay = float(os.environ.get("APP_STARTUP_DELAY", "0") or 0)
    if delay > 0:
        log("stack-app %s %s: starting in %.1fs" % (VERSION, replica, delay))
        if stop.wait(delay):
            return 0

    server = bind(kind, where)
    server.setup_tracking(replica)
    address = format_listen(kind, where)
    with open(LISTEN_FILE + ".new", "w", encoding="utf-8") as f:
        f.write(address + "\n")
    os.replace(LISTEN_FILE + ".new", LISTEN_FILE)
    log("stack-app %s %s listening on %s%s" % (VERSION, replica, address, " (broken build)" if BROKEN else ""))
    if BROKEN:
        log("error: configuration invalid, every request will fail", sys.stderr)

    def on_signal(signum, _frame):
        if not server.stopping.is_set():
            server.stopping.set()
            # shutdown() waits for serve_forever to return: not from its own thread.
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if stop.is_set():
        on_signal(signal.SIGTERM, None)
    server.serve_forever(poll_interval=0.1)

    log("stack-app %s %s: stopping, no new connections" % (VERSION, replica))
    server.socket.close()
    left = server.wait_idle(float(os.environ.get("APP_STOP_TIMEOUT", "10")))
    if left:
        log("stack-app %s %s: %d request(s) still running after the stop timeout" % (VERSION, replica, left), sys.stderr)
    for path in ([where] if kind == "unix" else []) + [LISTEN_FILE]:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    log("stack-app %s %s: stopped" % (VERSION, replica))
    return 0


# --------------------------------------------------------------------------- ping

class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        http.client.HTTPConnection.__init__(self, "localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.unix_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def pid1_serves():
    try:
        with open("/proc/1/cmdline", "rb") as f:
            argv = f.read().decode(errors="replace").split("\0")
    except OSError:
        return False
    return any(word == "serve" for arg in argv for word in arg.split())


def cmd_ping(args):
    address = args.listen
    if not address:
        try:
            with open(LISTEN_FILE, encoding="utf-8") as f:
                address = f.read().strip()
        except FileNotFoundError:
            if pid1_serves():
                log("ping: the server is not listening", sys.stderr)
                return 1
            log("ping: not a server container, nothing to check")
            return 0
    try:
        kind, where = parse_listen(address)
        if kind == "unix":
            conn = UnixHTTPConnection(where, args.timeout)
        else:
            host = where[0] if where[0] not in ("", "0.0.0.0", "::") else "127.0.0.1"
            conn = http.client.HTTPConnection(host, where[1], timeout=args.timeout)
        try:
            conn.request("GET", "/ping", headers={"Connection": "close"})
            resp = conn.getresponse()
            resp.read()
        finally:
            conn.close()
    except (OSError, ValueError, http.client.HTTPException) as exc:
        log("ping %s: %s" % (address, exc), sys.stderr)
        return 1
    if resp.status != 200:
        log("ping %s: HTTP %d" % (address, resp.status), sys.stderr)
        return 1
    return 0


# --------------------------------------------------------------------------- one-offs

def append_line(path, line):
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def cmd_migrate(args):
    if args.fail is not None:
        log(args.fail, sys.stderr)
        return 3
    log("migrating to %s" % VERSION)
    append_line(os.environ.get("APP_MIGRATIONS_FILE") or "/var/static/migrations.log", VERSION)
    return 0


def cmd_cron_run(_args):
    name = os.environ.get("APP_NAME") or socket.gethostname()
    line = "%s %s %s" % (VERSION, now_iso(), name)
    append_line(os.environ.get("APP_CRON_FILE") or "/var/static/cron.log", line)
    log("cron-run: " + line)
    return 0


def cmd_worker(_args):
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    beat_file = os.environ.get("APP_WORKER_FILE")
    job_s = int(os.environ.get("APP_JOB_MS", "200")) / 1000.0
    log("worker %s started" % VERSION)
    jobs = 0
    while not stop.is_set():
        started = time.monotonic()
        time.sleep(job_s)  # one job; a signal during it does not cut it short
        jobs += 1
        if beat_file:
            tmp = beat_file + ".new"
            with open(tmp, "w", encoding="utf-8") as f:
                f.write("%s %s\n" % (VERSION, now_iso()))
            os.replace(tmp, beat_file)
        stop.wait(max(0.0, 0.5 - (time.monotonic() - started)))
    log("worker stopping gracefully")
    log("worker %s stopped after %d job(s)" % (VERSION, jobs))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="app", description="stack-app %s" % VERSION)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser("serve", help="run the HTTP server")
    p.add_argument("--listen", default=":8000", help="unix:/path/to.sock, :PORT or HOST:PORT (default :8000)")
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("ping", help="health probe: GET /ping on the server's address")
    p.add_argument("--listen", help="address to probe (default: the one in %s)" % LISTEN_FILE)
    p.add_argument("--timeout", type=float, default=2.0)
    p.set_defaults(func=cmd_ping)
    p = sub.add_parser("migrate", help="record a migration to this version")
    p.add_argument("--fail", metavar="MESSAGE", help="fail with MESSAGE on stderr and exit 3")
    p.set_defaults(func=cmd_migrate)
    p = sub.add_parser("worker", help="background job loop")
    p.set_defaults(func=cmd_worker)
    p = sub.add_parser("cron-run", help="one cron job run")
    p.set_defaults(func=cmd_cron_run)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:
        log("app: %s" % exc, sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

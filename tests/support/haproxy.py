"""A real HAProxy for tests, and small HTTP servers for it to balance to.

HAProxyProcess runs /usr/sbin/haproxy in master-worker mode (-W -db) with a
config it writes, waits until its runtime socket answers, reloads it (SIGUSR2
to the master, then waits for a new worker) and stops it by PID. It refuses to
start when something already listens on one of the TCP ports its config binds:
HAProxy binds with SO_REUSEPORT, so a stale instance would silently share them.

    backends = [HTTPBackend("app1").start(), HTTPBackend("app2").start()]
    cfg = render_config(frontend_port=free_port(), admin_socket=path, tcp_socket_port=free_port(),
                        servers=[(b.name, b.port) for b in backends])
    with HAProxyProcess(workdir, cfg) as haproxy:
        haproxy.command("show stat")
        haproxy.server_stat("app", "app1")["status"]

Runtime commands go through the collection's own client (HAProxyRuntime),
the one runtime API client of the tests too; the tables it answers are read
here with csv, so tests check the collection's results against a reading of
their own.
"""

import csv
import os
import re
import signal
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ansible_collections.baton.docker.plugins.module_utils._haproxy_client import HAProxyError, HAProxyRuntime

HAPROXY_BIN = "/usr/sbin/haproxy"


# ---------------------------------------------------------------------------
# Backend HTTP servers
# ---------------------------------------------------------------------------

class _QuietHTTPServer(ThreadingHTTPServer):
    """Health checks and stopped clients drop connections; that is no error worth a traceback."""

    def handle_error(self, request, client_address):
        pass


class HTTPBackend:
    """A threaded HTTP server on 127.0.0.1 playing an application server.

    GET /health -> 200, or 503 while ``healthy`` is False.
    GET /hold   -> waits until ``release()`` is called (at most ``hold_limit`` seconds), then 200.
    GET /slow   -> waits ``slow_seconds``, then 200.
    GET anything else -> 200 with the body "<name>\\n"; 500 for every ``fail_every``-th of them when it is set.
    ``requests`` counts the non-health requests served.
    """

    def __init__(self, name, port=0, slow_seconds=1.5, hold_limit=60.0):
        self.name = name
        self.healthy = True
        self.slow_seconds = slow_seconds
        self.hold_limit = hold_limit
        self.requests = 0
        self.fail_every = 0
        self.held = 0
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._wanted_port = port
        self._httpd = None
        self._thread = None

    @property
    def port(self):
        return self._httpd.server_address[1]

    def start(self):
        backend = self

        class Handler(BaseHTTPRequestHandler):
            wbufsize = -1  # one write per response; see the environment notes
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                if self.path.startswith("/health"):
                    code = 200 if backend.healthy else 503
                    return self._reply(code, "%s %s\n" % (backend.name, "ok" if code == 200 else "unhealthy"))
                with backend._lock:
                    backend.requests += 1
                    number = backend.requests
                if backend.fail_every and number % backend.fail_every == 0:
                    return self._reply(500, "%s failed\n" % backend.name)
                if self.path.startswith("/hold"):
                    with backend._lock:
                        backend.held += 1
                    backend._released.wait(backend.hold_limit)
                elif self.path.startswith("/slow"):
                    time.sleep(backend.slow_seconds)
                return self._reply(200, "%s\n" % backend.name)

            def _reply(self, code, body):
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._httpd = _QuietHTTPServer(("127.0.0.1", self._wanted_port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="http-%s" % self.name, daemon=True)
        self._thread.start()
        return self

    def release(self):
        """Let every /hold request (current and future) finish."""
        self._released.set()

    def rearm(self):
        """Make /hold requests wait again."""
        self._released.clear()

    def stop(self):
        self.release()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(5)
            self._httpd = None


# ---------------------------------------------------------------------------
# Config
# ---------------------------------------------------------------------------

def render_config(frontend_port, servers, admin_socket, tcp_socket_port=None, backend="app",
                  extra_sockets=(), check_inter="500ms", health_path="/health", extra=""):
    """A minimal HAProxy config: one HTTP frontend on 127.0.0.1:<frontend_port>, one backend.

    ``servers``: (name, port) pairs, or dicts {name, port, check=True, options=""}; every
    server is on 127.0.0.1. ``admin_socket``: unix stats socket, mode 600 level admin.
    ``tcp_socket_port``: also a level admin stats socket on 127.0.0.1:<port>.
    ``extra_sockets``: more "stats socket" arguments, verbatim (e.g. "/x.sock mode 600 level user").
    ``extra``: text appended at the end (more backends, ...).
    """
    lines = [
        "global",
        "    stats socket %s mode 600 level admin" % admin_socket,
    ]
    if tcp_socket_port:
        lines.append("    stats socket ipv4@127.0.0.1:%d level admin" % tcp_socket_port)
    for spec in extra_sockets:
        lines.append("    stats socket %s" % spec)
    lines += [
        "    stats timeout 30s",
        "",
        "defaults",
        "    mode http",
        "    timeout connect 2s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    timeout queue 10s",
        # A health check may take longer than its interval on a busy host before it counts as failed.
        "    timeout check 2s",
        "",
        "frontend fe",
        "    bind 127.0.0.1:%d" % frontend_port,
        "    default_backend %s" % backend,
        "",
        "backend %s" % backend,
        "    option httpchk GET %s" % health_path,
    ]
    for server in servers:
        if not isinstance(server, dict):
            server = {"name": server[0], "port": server[1]}
        line = "    server %s 127.0.0.1:%d" % (server["name"], server["port"])
        if server.get("check", True):
            line += " check inter %s rise 1 fall 2" % check_inter
        if server.get("options"):
            line += " " + server["options"]
        lines.append(line)
    text = "\n".join(lines) + "\n"
    if extra:
        text += "\n" + extra.strip("\n") + "\n"
    return text


def config_tcp_ports(config_text):
    """TCP ports bound by a config: 'bind' lines and 'stats socket' TCP addresses."""
    ports = set()
    for line in config_text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("bind ") or line.startswith("stats socket "):
            for match in re.finditer(r"(?:^|[\s@])(?:\[[^\]]*\]|[0-9A-Za-z_.*-]*):(\d+)\b", line):
                ports.add(int(match.group(1)))
    return sorted(ports)


def listening_ports():
    """TCP ports with a listener on this machine, read from /proc/net/tcp{,6}."""
    found = set()
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as handle:
                next(handle)
                for line in handle:
                    fields = line.split()
                    if len(fields) > 3 and fields[3] == "0A":  # TCP_LISTEN
                        found.add(int(fields[1].rsplit(":", 1)[1], 16))
        except OSError:
            continue
    return found


def ensure_ports_free(ports):
    busy = sorted(set(ports) & listening_ports())
    if busy:
        raise RuntimeError("something already listens on port(s) %s; refusing to start HAProxy "
                           "(SO_REUSEPORT would share them silently)" % ", ".join(map(str, busy)))


# ---------------------------------------------------------------------------
# Runtime socket
# ---------------------------------------------------------------------------

def runtime_command(address, command, timeout=5.0):
    """One command to a runtime socket (unix path, "host:port" or (host, port)) through HAProxyRuntime; the answer
    text. A socket that cannot be reached or does not answer raises HAProxyError."""
    if isinstance(address, tuple):
        address = "%s:%d" % address
    return HAProxyRuntime(address, timeout=timeout).command(command)


# ---------------------------------------------------------------------------
# HAProxy
# ---------------------------------------------------------------------------

class HAProxyProcess:
    """One HAProxy master-worker process with its config in ``workdir``.

    ``config_text``: the config (see render_config). ``socket_path``: a unix
    stats socket with level admin; by default the first unix ``stats socket``
    of the config. Attributes: config_path, pid_file, log_path, pid (the
    master's PID while running), worker_pid.
    """

    def __init__(self, workdir, config_text, socket_path=None, binary=HAPROXY_BIN):
        self.workdir = str(workdir)
        self.config_text = config_text
        self.binary = binary
        self.config_path = os.path.join(self.workdir, "haproxy.cfg")
        self.pid_file = os.path.join(self.workdir, "haproxy.pid")
        self.log_path = os.path.join(self.workdir, "haproxy.log")
        self.socket_path = socket_path or self._first_unix_socket(config_text)
        self.proc = None
        self.worker_pid = None
        self._log = None

    @staticmethod
    def _first_unix_socket(config_text):
        for line in config_text.splitlines():
            match = re.match(r"\s*stats socket\s+(?:unix@)?(/\S+)", line)
            if match:
                return match.group(1)
        raise ValueError("the config has no unix 'stats socket' line; pass socket_path")

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None else None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _write_config(self, text):
        os.makedirs(self.workdir, exist_ok=True)
        with open(self.config_path, "w") as handle:
            handle.write(text)
        check = subprocess.run([self.binary, "-c", "-q", "-f", self.config_path], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, universal_newlines=True, timeout=30, check=False)
        if check.returncode != 0:
            raise RuntimeError("HAProxy rejects %s:\n%s" % (self.config_path, check.stdout))

    def start(self, timeout=15.0):
        """Write the config, start HAProxy, wait until its socket answers. Returns self."""
        if self.proc is not None:
            raise RuntimeError("HAProxy already started (PID %d)" % self.proc.pid)
        ensure_ports_free(config_tcp_ports(self.config_text))
        self._write_config(self.config_text)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.binary, "-W", "-db", "-f", self.config_path, "-p", self.pid_file],
                                     stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        try:
            self.worker_pid = self._wait_for_worker(None, timeout)
        except Exception:
            self.stop()
            raise
        return self

    def reload(self, config_text=None, timeout=15.0):
        """Optionally rewrite the config, reload (SIGUSR2 to the master), wait for the new worker."""
        if self.proc is None:
            raise RuntimeError("HAProxy is not running")
        if config_text is not None:
            old_ports = set(config_tcp_ports(self.config_text))
            ensure_ports_free(set(config_tcp_ports(config_text)) - old_ports)
            self._write_config(config_text)
            self.config_text = config_text
        old = self.worker_pid
        os.kill(self.proc.pid, signal.SIGUSR2)
        self.worker_pid = self._wait_for_worker(old, timeout)
        return self

    def _wait_for_worker(self, old_pid, timeout):
        deadline = time.monotonic() + timeout
        last_error = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("HAProxy exited with %s:\n%s" % (self.proc.returncode, self.log()))
            try:
                info = self.command("show info", timeout=1.0)
                match = re.search(r"^Pid: (\d+)$", info, re.M)
                if match and int(match.group(1)) != old_pid:
                    return int(match.group(1))
            except HAProxyError as exc:
                last_error = exc
            time.sleep(0.05)
        raise RuntimeError("HAProxy's socket %s did not answer with a new worker within %.0fs (%s):\n%s"
                           % (self.socket_path, timeout, last_error, self.log()))

    def stop(self, timeout=10.0):
        """Stop the master by its PID (SIGTERM, then SIGKILL), and the worker by its PID if it lingers."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout)
            if self.worker_pid:
                if not self._wait_gone(self.worker_pid, 2.0):
                    self._kill(self.worker_pid)
            self.proc = None
            self.worker_pid = None
        if self._log is not None:
            self._log.close()
            self._log = None

    @staticmethod
    def _wait_gone(pid, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                return True
            time.sleep(0.05)
        return False

    @staticmethod
    def _kill(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass

    def log(self):
        try:
            with open(self.log_path, errors="replace") as handle:
                return handle.read()[-4000:]
        except OSError:
            return ""

    # -- runtime API --------------------------------------------------------

    def command(self, command, timeout=5.0):
        """One runtime command over the admin unix socket; the answer text."""
        return runtime_command(self.socket_path, command, timeout)

    def stats(self):
        text = self.command("show stat")
        lines = [line for line in text.splitlines() if line.strip()]
        header = lines[0].lstrip("# ").split(",")
        return [dict(zip(header, row)) for row in csv.reader(lines[1:])]

    def server_stat(self, backend, server):
        """The show stat row of backend/server, as strings."""
        for row in self.stats():
            if row["pxname"] == backend and row["svname"] == server:
                return row
        raise KeyError("%s/%s" % (backend, server))

    def admin_bits(self, backend, server):
        """srv_admin_state of backend/server from show servers state, as an int."""
        lines = self.command("show servers state %s" % backend).splitlines()
        header = lines[1].lstrip("# ").split()
        for line in lines[2:]:
            row = dict(zip(header, line.split()))
            if row.get("srv_name") == server:
                return int(row["srv_admin_state"])
        raise KeyError("%s/%s" % (backend, server))

    def wait_for(self, predicate, timeout=15.0, what="condition"):
        """Poll predicate() every 50 ms until true; AssertionError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError("%s not reached within %.0fs" % (what, timeout))


# ---------------------------------------------------------------------------
# A scripted stand-in for a runtime socket (unit tests of the client)
# ---------------------------------------------------------------------------

class FakeRuntimeSocket:
    """A unix socket server that answers runtime commands from a script, like HAProxy's CLI.

    ``answers`` maps a command to its answer, or to a list of answers given in
    turn (the last one repeats). A command missing from the map gets HAProxy's
    "Unknown command" text. ``silent=True`` accepts connections and never
    answers (to test timeouts). ``received`` lists every command received.
    Stands in for HAProxy where a unit test needs exact answers; the
    integration tests use the real HAProxyProcess.
    """

    def __init__(self, path, answers=None, silent=False):
        self.path = str(path)
        self.answers = dict(answers or {})
        self.silent = silent
        self.received = []
        self._sock = None
        self._thread = None
        self._stop = threading.Event()

    def start(self):
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(self.path)
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._serve, name="fake-runtime", daemon=True)
        self._thread.start()
        return self

    def _answer(self, command):
        answer = self.answers.get(command)
        if answer is None:
            return "Unknown command, but maybe one of the following ones is a better match:\n  help\n\n"
        if isinstance(answer, list):
            return answer.pop(0) if len(answer) > 1 else answer[0]
        return answer

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn = self._sock.accept()[0]
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2.0)
                data = b""
                try:
                    while not data.endswith(b"\n"):
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                except OSError:
                    continue
                command = data.decode().strip()
                self.received.append(command)
                if self.silent:
                    self._stop.wait(30)
                    continue
                try:
                    conn.sendall(self._answer(command).encode())
                except OSError:
                    pass

    def stop(self):
        self._stop.set()
        if self._sock is not None:
            self._sock.close()
        if self._thread is not None:
            self._thread.join(5)
        if os.path.exists(self.path):
            os.unlink(self.path)


# ---------------------------------------------------------------------------
# Faults between a client and a server, and an independent observer of server states
# ---------------------------------------------------------------------------

class FaultProxy:
    """A TCP forwarder on 127.0.0.1:<port> in front of ``target`` (host, port), whose behaviour can be switched at
    any moment with ``set_mode``:

    ``forward``  bytes go both ways (the normal case);
    ``reset``    every connection is accepted, then closed at once (a TLS handshake or a command gets EOF);
    ``stall``    every connection is accepted and read, and never answered (a server that hangs);
    ``refuse``   the listener is closed: connections are refused; leaving this mode listens on the same port again.

    Switching mode also cuts the connections already open (so a stall or a refusal takes effect at once).
    ``cut``: in forward mode, a predicate on the first bytes a client sends; when it holds, the connection is closed
    without an answer instead of forwarded (a command lost on its way). ``accepted`` counts the connections
    accepted, per mode, and ``cut_count`` the connections cut.
    """

    MODES = ("forward", "reset", "stall", "refuse")

    def __init__(self, target, port=None, cut=None):
        from .net import free_port
        self.target = tuple(target)
        self.port = port or free_port()
        self.address = "127.0.0.1:%d" % self.port
        self.mode = "forward"
        self.accepted = dict((mode, 0) for mode in self.MODES)
        self.cut = cut
        self.cut_count = 0
        self._listener = None
        self._thread = None
        self._open = []
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def start(self):
        self._listen()
        return self

    def _listen(self):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)
        self._listener = listener
        self._thread = threading.Thread(target=self._accept_loop, args=(listener,), name="fault-proxy", daemon=True)
        self._thread.start()

    def _close_listener(self):
        if self._listener is not None:
            self._listener.close()
            self._thread.join(5)
            self._listener = None

    def set_mode(self, mode):
        if mode not in self.MODES:
            raise ValueError("unknown mode %r" % (mode,))
        if mode == "refuse":
            self._close_listener()
        elif self._listener is None:
            self._listen()
        self.mode = mode
        self._cut()

    def _cut(self):
        with self._lock:
            conns, self._open = self._open, []
        for conn in conns:
            try:
                conn.close()
            except OSError:
                pass

    def _track(self, *conns):
        with self._lock:
            self._open.extend(conns)

    def _accept_loop(self, listener):
        while not self._stop.is_set():
            try:
                conn = listener.accept()[0]
            except socket.timeout:
                continue
            except OSError:
                return
            mode = self.mode
            self.accepted[mode] += 1
            if mode == "reset":
                conn.close()
            elif mode == "stall":
                self._track(conn)
                threading.Thread(target=self._swallow, args=(conn,), daemon=True).start()
            else:
                self._track(conn)
                threading.Thread(target=self._forward, args=(conn,), daemon=True).start()

    def _forward(self, conn):
        first = b""
        if self.cut is not None:
            conn.settimeout(5)
            try:
                first = conn.recv(65536)
            except OSError:
                first = b""
            conn.settimeout(None)
            if self.cut(first):
                self.cut_count += 1
                conn.close()
                return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
            upstream.settimeout(None)
            if first:
                upstream.sendall(first)
        except OSError:
            conn.close()
            return
        self._track(upstream)
        threading.Thread(target=self._pump, args=(upstream, conn), daemon=True).start()
        self._pump(conn, upstream)

    def _swallow(self, conn):
        conn.settimeout(1.0)
        deadline = time.monotonic() + 300
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                if not conn.recv(65536):
                    return
            except socket.timeout:
                continue
            except OSError:
                return

    @staticmethod
    def _pump(source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        self._stop.set()
        self._close_listener()
        self._cut()


def in_rotation(status):
    """Whether a show stat server status takes traffic: UP (also while going down, "UP 1/2") or no check."""
    return status == "no check" or status.split(" ")[0] == "UP"


class StateSampler:
    """Reads, every ``period`` seconds in a thread, the show stat status of ``servers`` of ``backend`` on each
    runtime socket of ``sockets`` (unix paths or (host, port)), through runtime_command. ``samples`` holds
    (monotonic time, socket index, {server: status}), the dict None when the socket did not answer.
    Bounded by ``max_seconds``."""

    def __init__(self, sockets, backend, servers, period=0.05, max_seconds=120):
        self.sockets = list(sockets)
        self.backend = backend
        self.servers = tuple(servers)
        self.period = period
        self.max_seconds = max_seconds
        self.samples = []
        self._stop = threading.Event()
        self._thread = None

    def read(self, index):
        rows = {}
        text = runtime_command(self.sockets[index], "show stat", timeout=2.0)
        for line in text.splitlines():
            fields = line.split(",")
            if len(fields) > 17 and fields[0] == self.backend and fields[1] in self.servers:
                rows[fields[1]] = fields[17]
        return rows

    def _run(self):
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            for index in range(len(self.sockets)):
                try:
                    rows = self.read(index)
                except HAProxyError:
                    rows = None
                self.samples.append((time.monotonic(), index, rows))
            self._stop.wait(self.period)

    def start(self):
        self._thread = threading.Thread(target=self._run, name="state-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def none_in_rotation(self):
        """The samples where a load balancer answered and none of the servers was in rotation."""
        return [s for s in self.samples if s[2] is not None and not any(in_rotation(v) for v in s[2].values())]

    def seen(self, index, server):
        """Every status seen for ``server`` on socket ``index``, in order, repeats folded."""
        found = []
        for _t, where, rows in self.samples:
            if where == index and rows is not None and rows.get(server) and (not found or found[-1] != rows[server]):
                found.append(rows[server])
        return found

# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one HAProxy runtime API client of the collection.

Every call to an HAProxy runtime API ("stats socket") made by baton.docker goes
through ``HAProxyRuntime``: the haproxy modules, the rollout engine and the
benchmark scripts use it. It talks to one socket (a unix path or ``host:port``,
optionally over TLS): one connection per command, ``command\\n`` sent, the
answer read until HAProxy closes the connection, every connect and read
bounded by a timeout. The answers are read by _haproxy_stat.

Every failure is raised as ``HAProxyError`` (or its subclasses
``HAProxyTimeout`` and ``HAProxyServerMissing``) with a message that names the socket, backend or server
concerned and what to do about it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re
import socket
import ssl
import stat
import time

from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError
from ansible_collections.baton.docker.plugins.module_utils._haproxy_stat import (
    ADMIN_STATES,
    HAProxyAnswerError,
    ServerState,
    parse_servers_state,
    parse_show_stat,
    shorten,
)

DEFAULT_SOCKET = "/run/haproxy/admin.sock"
DEFAULT_SOCKET_TIMEOUT = 5.0

# Shared argument spec for the runtime API connection; documented by the
# baton.docker.haproxy doc fragment.
HAPROXY_COMMON_ARGS = dict(
    socket=dict(type="str", default=DEFAULT_SOCKET),
    socket_timeout=dict(type="float", default=DEFAULT_SOCKET_TIMEOUT),
)

# One entry of a ``load_balancers`` list (baton.docker.rollout, baton.docker.release_canary): a runtime API endpoint
# as HAProxyRuntime takes it (``socket``, ``socket_timeout``, ``tls``), the backend there and whether it may be absent.
LOAD_BALANCER_OPTIONS = dict(
    socket=dict(type="str", required=True),
    backend=dict(type="str"),
    socket_timeout=dict(type="float", default=DEFAULT_SOCKET_TIMEOUT, aliases=["timeout"]),
    optional=dict(type="bool", default=False),
    tls=dict(type="dict", options=dict(
        ca_file=dict(type="path", required=True),
        cert_file=dict(type="path"),
        key_file=dict(type="path", no_log=False),
        server_name=dict(type="str"),
    )),
)

_NAME_RE = re.compile(r"^[A-Za-z0-9_.:-]+$")
_MAX_ANSWER = 64 * 1024 * 1024


class HAProxyError(BatonError):
    """A runtime API failure, worded for the user."""


class HAProxyTimeout(HAProxyError):
    """A bounded wait ran out. ``elapsed`` (seconds) and ``last`` (the last observed value) are kept."""

    def __init__(self, message, elapsed=None, last=None):
        super(HAProxyTimeout, self).__init__(message)
        self.elapsed = elapsed
        self.last = last


class HAProxyServerMissing(HAProxyError):
    """The backend exists but has no server of that name."""


def parse_socket_spec(spec):
    """Tell a unix socket path from a TCP address.

    Returns ``("unix", path)`` or ``("tcp", (host, port))``. Accepted forms:
    ``/run/haproxy/admin.sock``, ``./relative.sock``, ``unix@/path``,
    ``127.0.0.1:9999``, ``localhost:9999``, ``[::1]:9999``, ``ipv4@127.0.0.1:9999``
    and ``ipv6@[::1]:9999``. Anything else with a colon is rejected.
    """
    if spec is None or not str(spec).strip():
        raise HAProxyError("socket is empty: give a unix socket path or host:port")
    text = str(spec).strip()
    if text.startswith("unix@"):
        return "unix", text[len("unix@"):]
    for prefix in ("ipv4@", "ipv6@", "tcp@"):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    else:
        if text.startswith("/") or text.startswith(".") or ":" not in text:
            return "unix", text
    match = re.match(r"^\[([0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?)\]:(\d{1,5})$", text)
    if not match:
        match = re.match(r"^([A-Za-z0-9_.-]+):(\d{1,5})$", text)
    if not match:
        raise HAProxyError(
            "socket %r is neither a unix socket path (starting with '/') nor host:port "
            "(like 127.0.0.1:9999 or [::1]:9999)" % (spec,))
    port = int(match.group(2))
    if not 0 < port < 65536:
        raise HAProxyError("socket %r: port %d is out of range 1-65535" % (spec, port))
    return "tcp", (match.group(1), port)


def check_name(kind, name):
    """Raise unless ``name`` is a valid HAProxy proxy or server name.

    HAProxy names only use letters, digits, '-', '_', '.' and ':'; refusing
    anything else also keeps a name from smuggling a second command (';' or a
    newline) into the runtime API.
    """
    if not name or not _NAME_RE.match(name):
        raise HAProxyError("%s %r is not a valid HAProxy name (letters, digits, '-', '_', '.', ':' only)" % (kind, name))
    return name


def _error_answer(answer):
    """The answer text, or None when HAProxy answered nothing (its way to say OK)."""
    text = answer.strip()
    return text or None


def _seconds(value):
    return "%gs" % round(value, 1)


def tls_context(spec, family, tls):
    """The client TLS context of a runtime API endpoint; HAProxyError naming the file or setting that is wrong."""
    if family != "tcp":
        raise HAProxyError("socket %s: TLS applies to a TCP runtime API (host:port), not to a unix socket" % spec)
    if not tls.get("ca_file"):
        raise HAProxyError("socket %s: tls.ca_file is needed to verify HAProxy's certificate" % spec)
    if bool(tls.get("cert_file")) != bool(tls.get("key_file")):
        raise HAProxyError("socket %s: tls.cert_file and tls.key_file go together" % spec)
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    try:
        context.load_verify_locations(cafile=tls["ca_file"])
    except (OSError, ssl.SSLError) as exc:
        raise HAProxyError("socket %s: cannot load tls.ca_file %s: %s" % (spec, tls["ca_file"], _tls_reason(exc)))
    if tls.get("cert_file"):
        try:
            context.load_cert_chain(tls["cert_file"], tls["key_file"])
        except (OSError, ssl.SSLError) as exc:
            raise HAProxyError("socket %s: cannot load the client certificate %s / key %s: %s"
                               % (spec, tls["cert_file"], tls["key_file"], _tls_reason(exc)))
    return context


def _tls_reason(exc):
    return getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


class HAProxyRuntime(object):
    """A client for one HAProxy runtime API socket.

    ``HAProxyRuntime(socket, timeout=5.0, tls=None)``: ``socket`` is a unix
    socket path or ``host:port`` (see parse_socket_spec); ``timeout`` bounds
    the connect and every read of one command, in seconds. Each command opens
    its own connection, so one instance can be used for as long as needed,
    including across HAProxy reloads. ``tls`` (TCP only): a dict ``ca_file``
    (the CA that signed HAProxy's certificate, required), ``cert_file`` and
    ``key_file`` (our client certificate, for a socket that verifies clients),
    ``server_name`` (the name HAProxy's certificate must carry; default: the
    host of ``socket``).
    """

    def __init__(self, socket_spec=DEFAULT_SOCKET, timeout=DEFAULT_SOCKET_TIMEOUT, tls=None):
        self.spec = socket_spec
        self.family, self.address = parse_socket_spec(socket_spec)
        if timeout is None or timeout <= 0:
            raise HAProxyError("socket_timeout must be a positive number of seconds, got %r" % (timeout,))
        self.timeout = float(timeout)
        self.tls = None
        if tls:
            self.tls = tls_context(socket_spec, self.family, tls)
            self.server_name = tls.get("server_name") or self.address[0]

    # -- transport ---------------------------------------------------------

    def describe(self):
        if self.family == "unix":
            return "HAProxy runtime socket %s" % self.address
        host, port = self.address
        where = ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)
        return "HAProxy runtime API at %s%s" % (where, " (TLS)" if self.tls else "")

    def _connect(self):
        if self.family == "unix":
            return self._connect_unix(self.address)
        return self._connect_tcp(*self.address)

    def _connect_unix(self, path):
        try:
            info = os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                raise HAProxyError("HAProxy runtime socket %s does not exist (is HAProxy running, and does its "
                                   "'stats socket' line use this path?)" % path)
            if exc.errno == errno.EACCES:
                raise HAProxyError("permission denied while looking up HAProxy runtime socket %s: a directory on the "
                                   "path is not searchable by uid %d" % (path, os.geteuid()))
            raise HAProxyError("cannot stat HAProxy runtime socket %s: %s" % (path, exc.strerror or exc))
        if not stat.S_ISSOCK(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "a regular file" if stat.S_ISREG(info.st_mode) else "not a socket"
            raise HAProxyError("%s exists but is not a unix socket (it is %s)" % (path, kind))
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(path)
        except socket.timeout:
            sock.close()
            raise HAProxyError("HAProxy runtime socket %s did not accept a connection within %s"
                               % (path, _seconds(self.timeout)))
        except OSError as exc:
            sock.close()
            if exc.errno in (errno.EACCES, errno.EPERM):
                raise HAProxyError("permission denied on HAProxy runtime socket %s: uid %d may not write to it "
                                   "(run the task with become, or widen the socket's mode/user/group in the "
                                   "'stats socket' line)" % (path, os.geteuid()))
            if exc.errno == errno.ECONNREFUSED:
                raise HAProxyError("connection refused by HAProxy runtime socket %s: the file is there but no HAProxy "
                                   "listens on it (stale socket from a stopped HAProxy?)" % path)
            raise HAProxyError("cannot connect to HAProxy runtime socket %s: %s" % (path, exc.strerror or exc))
        return sock

    def _connect_tcp(self, host, port):
        where = self.describe()
        try:
            sock = socket.create_connection((host, port), timeout=self.timeout)
        except socket.timeout:
            raise HAProxyError("%s is unreachable: no answer to the connection within %s" % (where, _seconds(self.timeout)))
        except socket.gaierror as exc:
            raise HAProxyError("%s: cannot resolve host %r: %s" % (where, host, exc.strerror or exc))
        except OSError as exc:
            if exc.errno == errno.ECONNREFUSED:
                raise HAProxyError("connection refused by %s: nothing listens there (is HAProxy running, with a "
                                   "'stats socket ipv4@%s:%d' line?)" % (where, host, port))
            raise HAProxyError("%s is unreachable: %s" % (where, exc.strerror or exc))
        if self.tls is None:
            return sock
        try:
            tls_sock = self.tls.wrap_socket(sock, server_hostname=self.server_name)
            # TLS 1.3: a server that refuses our certificate says so with the first read, not the handshake.
            return tls_sock
        except (ssl.SSLError, socket.timeout, OSError) as exc:
            sock.close()
            raise HAProxyError("TLS handshake with %s failed: %s" % (where, _tls_reason(exc)))

    def command(self, cmd):
        """Send one command and return HAProxy's whole answer as text (trailing blank lines removed).

        The answer is not interpreted: an error message from HAProxy comes back
        as text. Raises HAProxyError when the socket cannot be reached or does
        not answer within the timeout.
        """
        if "\n" in cmd or "\r" in cmd:
            raise HAProxyError("a runtime API command must be one line: %r" % (cmd,))
        sock = self._connect()
        chunks = []
        size = 0
        deadline = time.monotonic() + self.timeout
        try:
            try:
                sock.sendall(cmd.encode("utf-8") + b"\n")
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise socket.timeout()
                    sock.settimeout(remaining)
                    data = sock.recv(65536)
                    if not data:
                        break
                    chunks.append(data)
                    size += len(data)
                    if size > _MAX_ANSWER:
                        raise HAProxyError("%s: the answer to %r is larger than %d bytes" % (self.describe(), cmd, _MAX_ANSWER))
            except socket.timeout:
                raise HAProxyError("%s did not finish answering %r within %s" % (self.describe(), cmd, _seconds(self.timeout)))
            except ssl.SSLError as exc:
                raise HAProxyError("%s refused the TLS session during %r: %s" % (self.describe(), cmd, _tls_reason(exc)))
            except OSError as exc:
                raise HAProxyError("%s: connection lost during %r: %s" % (self.describe(), cmd, exc.strerror or exc))
        finally:
            sock.close()
        if not size:
            # HAProxy answers every command, with at least an empty line: no byte at all means the connection was
            # closed before an answer (HAProxy stopping, or something in between cutting it), not "done".
            raise HAProxyError("%s closed the connection without answering %r (HAProxy answers every command, at "
                               "least with an empty line): it may be stopping or restarting, or something between "
                               "us and it cut the connection; the command may or may not have been applied"
                               % (self.describe(), cmd))
        return b"".join(chunks).decode("utf-8", "replace").rstrip("\n")

    def _write(self, cmd):
        """Run a command that answers nothing on success; raise HAProxyError with its answer otherwise."""
        text = _error_answer(self.command(cmd))
        if text is None:
            return
        hint = ""
        if text.lower().startswith("permission denied"):
            hint = " (the 'stats socket' line needs 'level admin' for this)"
        raise HAProxyError("%s refused %r: %s%s" % (self.describe(), cmd, shorten(text), hint))

    # -- reads -------------------------------------------------------------

    def cli_level(self):
        """The level of this socket (``admin``, ``operator`` or ``user``); None when HAProxy cannot tell."""
        answer = _error_answer(self.command("show cli level"))
        if answer in ("admin", "operator", "user"):
            return answer
        return None

    def backends(self):
        """Names of every backend (``show backend``)."""
        answer = self.command("show backend")
        lines = [line.strip() for line in answer.splitlines() if line.strip()]
        if not lines or not lines[0].startswith("#"):
            raise HAProxyError("%s: unexpected answer to 'show backend': %s" % (self.describe(), shorten(answer)))
        return lines[1:]

    def show_stat(self, backend=None):
        """``show stat`` as a list of dicts; with ``backend``, only the server lines of that backend.

        The whole table is read and filtered here: ``show stat <name> ...``
        picks the first proxy with that name, which is the frontend when a
        frontend and a backend share the name (a common layout).
        """
        rows = self._parse(parse_show_stat, self._show("show stat"))
        if backend is None:
            return rows
        check_name("backend", backend)
        mine = [r for r in rows if r.get("pxname") == backend or r.get("iid") == backend]
        if not mine:
            raise self._unknown_backend(backend)
        return [r for r in mine if r.get("svname") not in ("FRONTEND", "BACKEND")]

    def servers_state_text(self):
        """The raw answer of ``show servers state``, as HAProxy's server-state-file holds it."""
        text = self._show("show servers state")
        self._parse(parse_servers_state, text)  # refuse to hand on anything that is not a state dump
        return text

    def servers_state(self, backend=None):
        """``show servers state [backend]`` as a list of dicts."""
        if backend is None:
            return self._parse(parse_servers_state, self._show("show servers state"))
        answer = self.command("show servers state %s" % check_name("backend", backend))
        if _error_answer(answer) == "Can't find backend.":
            raise self._unknown_backend(backend)
        return self._parse(parse_servers_state, self._checked(answer, "show servers state"))

    def server(self, backend, server):
        """The current ServerState of ``backend/server``.

        Raises HAProxyError naming the known backends when the backend does not
        exist, and the servers of the backend when the server does not.
        """
        check_name("backend", backend)
        check_name("server", server)
        rows = self.servers_state(backend)
        state_row = None
        for row in rows:
            if row.get("srv_name") == server:
                state_row = row
                break
        if state_row is None:
            names = [row.get("srv_name") for row in rows]
            raise HAProxyServerMissing("HAProxy backend %r has no server %r; its servers: %s"
                                       % (backend, server, ", ".join(names) or "(none)"))
        stat_row = None
        for row in self.show_stat(backend):
            if row.get("svname") == server:
                stat_row = row
                break
        if stat_row is None:
            raise HAProxyError("%s: 'show servers state' lists %s/%s but 'show stat' has no line for it"
                               % (self.describe(), backend, server))
        return ServerState(backend, server, state_row, stat_row)

    def _parse(self, parser, text):
        """``parser(text)``; an answer it cannot read is an HAProxyError naming this endpoint."""
        try:
            return parser(text)
        except HAProxyAnswerError as exc:
            raise HAProxyError("%s: %s" % (self.describe(), exc))

    def _show(self, cmd):
        return self._checked(self.command(cmd), cmd)

    def _checked(self, answer, cmd):
        text = _error_answer(answer) or ""
        if text.lower().startswith("permission denied"):
            raise HAProxyError("%s refused %r: Permission denied" % (self.describe(), cmd))
        if text.startswith("Unknown command"):
            raise HAProxyError("%s does not know %r: %s" % (self.describe(), cmd, shorten(text.splitlines()[0])))
        return answer

    def _unknown_backend(self, backend):
        try:
            known = ", ".join(self.backends()) or "(none)"
        except HAProxyError:
            known = "(could not be listed)"
        return HAProxyError("HAProxy has no backend %r; known backends: %s" % (backend, known))

    # -- writes ------------------------------------------------------------

    def require_level(self, level="admin"):
        """Raise unless the socket has ``level`` (only ``admin`` is checked strictly)."""
        found = self.cli_level()
        if found is not None and found != level:
            raise HAProxyError("%s has level '%s'; changing servers needs 'level %s' on its 'stats socket' line"
                               % (self.describe(), found, level))

    def set_state(self, backend, server, state):
        """``set server B/S state ready|drain|maint``."""
        if state not in ADMIN_STATES:
            raise HAProxyError("state must be one of %s, got %r" % (", ".join(ADMIN_STATES), state))
        self._write("set server %s/%s state %s" % (check_name("backend", backend), check_name("server", server), state))

    def set_weight(self, backend, server, weight, percent=False):
        """``set server B/S weight N`` (N in 0-256); with ``percent``, ``N%`` of the server's configured weight
        (N in 0-100)."""
        try:
            weight = int(weight)
        except (TypeError, ValueError):
            raise HAProxyError("weight must be an integer between 0 and 256, got %r" % (weight,))
        top = 100 if percent else 256
        if not 0 <= weight <= top:
            raise HAProxyError("weight must be between 0 and %d%s, got %d" % (top, "%" if percent else "", weight))
        self._write("set server %s/%s weight %d%s" % (check_name("backend", backend), check_name("server", server), weight,
                                                      "%" if percent else ""))

    # -- waits -------------------------------------------------------------

    def poll(self, probe, timeout=30.0, interval=0.2):
        """Call ``probe()`` until it reports done; return ``(elapsed_seconds, last_value)``.

        ``probe`` returns a tuple ``(done, value)``; it is called at once, then
        every ``interval`` seconds, and once more at the deadline. After
        ``timeout`` seconds HAProxyTimeout is raised, carrying ``elapsed`` and
        the last ``value``. Errors raised by the probe propagate.
        """
        start = time.monotonic()
        deadline = start + max(0.0, float(timeout))
        interval = max(0.01, float(interval))
        while True:
            done, value = probe()
            now = time.monotonic()
            if done:
                return now - start, value
            if now >= deadline:
                raise HAProxyTimeout("condition not met after %s" % _seconds(now - start), elapsed=now - start, last=value)
            time.sleep(min(interval, deadline - now))

    def wait_until(self, predicate, backend, server, timeout=30.0, interval=0.2, what="the awaited state"):
        """Poll ``backend/server`` until ``predicate(ServerState)`` is true.

        Returns ``(elapsed_seconds, ServerState)``: how long it took and the
        state that satisfied the predicate. Returns at once when it already
        holds. After ``timeout`` seconds raises HAProxyTimeout naming the server,
        ``what`` and the last state seen (``.last`` is that ServerState).
        """
        def probe():
            current = self.server(backend, server)
            return bool(predicate(current)), current
        try:
            return self.poll(probe, timeout, interval)
        except HAProxyTimeout as exc:
            last = exc.last
            raise HAProxyTimeout("server %s did not reach %s after %s: admin state %s, status %s, %d sessions"
                                 % (last.name, what, _seconds(timeout), last.admin_state, last.status or "unknown", last.sessions),
                                 elapsed=exc.elapsed, last=last)

    def wait_for_drained(self, backend, server, timeout=30.0, interval=0.2):
        """Wait until ``backend/server`` has no session and no queued request.

        Returns ``(elapsed_seconds, ServerState)``; raises HAProxyTimeout such as
        "server app/app1 still has 3 sessions after 30s".
        """
        try:
            return self.wait_until(lambda current: current.is_drained, backend, server, timeout, interval)
        except HAProxyTimeout as exc:
            last = exc.last
            queued = " and %d queued requests" % last.queued if last.queued else ""
            raise HAProxyTimeout("server %s still has %d sessions%s after %s" % (last.name, last.sessions, queued, _seconds(timeout)),
                                 elapsed=exc.elapsed, last=last)

    def wait_for_up(self, backend, server, timeout=30.0, interval=0.2):
        """Wait until ``backend/server`` is ready and HAProxy reports it UP ("no check" counts as UP).

        A transitional status such as "UP 1/3" (just out of maint, no check
        passed yet) does not count. Returns ``(elapsed_seconds, ServerState)``;
        raises HAProxyTimeout naming the last status and check result.
        """
        try:
            return self.wait_until(lambda current: current.is_up, backend, server, timeout, interval)
        except HAProxyTimeout as exc:
            last = exc.last
            admin = "" if last.admin_state == "ready" else ", admin state %s (%s)" % (last.admin_state, ", ".join(last.admin_flags))
            raise HAProxyTimeout("server %s is not UP after %s: status %s%s%s"
                                 % (last.name, _seconds(timeout), last.status or "unknown", admin, last.describe_check()),
                                 elapsed=exc.elapsed, last=last)

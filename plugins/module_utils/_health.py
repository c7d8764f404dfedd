# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Whether a started container is healthy: an HTTP probe from this host, the engine's own health status, or
"it keeps running"; then a settle period in which it must stay so. Raises UnhealthyError with the reason."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import ssl
import time
from http import client as http_client
from urllib.parse import urlsplit

from ansible_collections.baton.docker.plugins.module_utils._containers import container_state
from ansible_collections.baton.docker.plugins.module_utils._docker_client import DockerClientError, expect_object, shown


class UnhealthyError(DockerClientError):
    """A container did not prove healthy within its bound."""


def http_probe(url, timeout=2.0, validate_certs=True):
    """GET url from this host; return the HTTP status. Raises DockerClientError with the reason otherwise."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        if parts.scheme == "https":
            context = ssl.create_default_context()
            if not validate_certs:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            conn = http_client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=timeout, context=context)
        else:
            conn = http_client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
        try:
            conn.request("GET", path, headers={"User-Agent": "baton.docker health probe", "Connection": "close"})
            response = conn.getresponse()
            response.read(65536)
            return response.status
        finally:
            conn.close()
    except socket.timeout:
        raise DockerClientError("no answer within %ss" % timeout)
    except (OSError, http_client.HTTPException) as exc:  # ssl.SSLError is an OSError
        raise DockerClientError(getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__)


def _check_still_running(state, first):
    """Raise UnhealthyError when the container stopped or restarted since ``first``."""
    status = state.get("Status")
    started_again = first and state.get("StartedAt") != first.get("StartedAt")
    # the engine sets ExitCode back to 0 when it starts the container again: a 0 then says nothing
    if state.get("Restarting") or (started_again and state.get("ExitCode")):
        raise UnhealthyError("it restarted (last exit code %s)" % state.get("ExitCode"))
    if started_again:
        raise UnhealthyError("it exited and the engine started it again at %s" % state.get("StartedAt"))
    if not state.get("Running"):
        reason = "it is %s" % (status or "not running")
        if status in ("exited", "dead"):
            reason = "it exited with code %s" % state.get("ExitCode")
        if state.get("Error"):
            reason += " (%s)" % state["Error"]
        raise UnhealthyError(reason)


def wait_until_healthy(client, container_id, mode, url=None, status=200, interval=1.0, timeout=2.0,
                       retries=30, validate_certs=True, settle=0, clock=time.monotonic, sleep=time.sleep):
    """Wait until a started container proves healthy; return the seconds it took, the settle period included.

    mode ``http``: GET url from this host every ``interval`` seconds until it
    answers ``status``; unhealthy after ``retries`` probes that did not.
    mode ``docker``: wait for the engine's health status ``healthy``; unhealthy
    when the engine says ``unhealthy`` or after retries x interval seconds.
    mode ``running``: the container runs, and still runs (not restarted)
    ``interval`` seconds later.
    In every mode a container that exits or restarts is unhealthy at once.
    ``settle``: after the first pass, the container is checked again every
    ``interval`` seconds for that many seconds, and counts as healthy only if it
    keeps running (no exit, no restart) and keeps passing.
    Raises UnhealthyError with the reason.
    """
    started = clock()
    _first_pass(client, container_id, mode, url, status, interval, timeout, retries, validate_certs, clock, sleep)
    if settle and settle > 0:
        _settle(client, container_id, mode, url, status, interval, timeout, validate_certs, settle, clock, sleep)
    return clock() - started


def _first_pass(client, container_id, mode, url, status, interval, timeout, retries, validate_certs, clock, sleep):
    started = clock()
    first = container_state(client, container_id)
    _check_still_running(first, None)
    if mode == "running":
        sleep(interval)
        _check_still_running(container_state(client, container_id), first)
        return clock() - started
    if mode == "http":
        last = None
        for attempt in range(1, max(1, retries) + 1):
            _check_still_running(container_state(client, container_id), first)
            try:
                code = http_probe(url, timeout, validate_certs)
            except DockerClientError as exc:
                last = str(exc)
            else:
                if code == status:
                    return clock() - started
                last = "HTTP %d" % code
            if attempt < retries:
                sleep(interval)
        raise UnhealthyError("%s did not answer HTTP %d in %d probe(s) %ss apart (last: %s)"
                             % (url, status, retries, interval, last))
    deadline = started + max(1, retries) * interval
    # The engine updates the status at its own check times; reading it is one inspect call, so read it often.
    poll = min(0.1, interval)
    health = {}
    while True:
        state = container_state(client, container_id)
        _check_still_running(state, first)
        health = expect_object(state.get("Health"), "inspect data of container %s: State.Health" % container_id[:12])
        if health.get("Status") == "healthy":
            return clock() - started
        if health.get("Status") == "unhealthy":
            raise UnhealthyError("Docker reports it unhealthy (last check: %s)" % _last_check(health))
        if not health:
            raise UnhealthyError("it has no Docker health check to wait for")
        remaining = deadline - clock()
        if remaining <= 1e-6:
            break
        sleep(min(poll, remaining))
    raise UnhealthyError("Docker still reports it %s after %ss (last check: %s)"
                         % (health.get("Status"), round(clock() - started, 1), _last_check(health)))


def _settle(client, container_id, mode, url, status, interval, timeout, validate_certs, period, clock, sleep):
    """The settle period of wait_until_healthy: one that crashes or starts failing a few seconds after its first pass
    is caught here, before it serves."""
    began = clock()
    first = container_state(client, container_id)
    while clock() - began < period:
        sleep(min(interval, period - (clock() - began)))
        state = container_state(client, container_id)
        try:
            _check_still_running(state, first)
            if mode == "http":
                try:
                    code = http_probe(url, timeout, validate_certs)
                except DockerClientError as exc:
                    raise UnhealthyError("%s stopped answering (%s)" % (url, exc))
                if code != status:
                    raise UnhealthyError("%s answered HTTP %d" % (url, code))
            elif mode == "docker":
                health = expect_object(state.get("Health"), "inspect data of container %s: State.Health" % container_id[:12])
                if health.get("Status") == "unhealthy":
                    raise UnhealthyError("Docker reports it unhealthy")
        except UnhealthyError as exc:
            raise UnhealthyError("it passed its health check, then %s %.1f s later, within the settle period of %ss"
                                 % (exc, clock() - began, period))


def _last_check(health):
    log = health.get("Log") or []
    if not log:
        return "none ran yet"
    if not isinstance(log, list) or not isinstance(log[-1], dict):
        return "unreadable (%s)" % shown(log)
    entry = log[-1]
    output = entry.get("Output")
    output = (output if isinstance(output, str) else "").strip().splitlines()
    return "exit code %s%s" % (entry.get("ExitCode"), ", " + output[-1][:300] if output else "")

# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Plans one slot's swap (pure: no I/O here): what to do with the slot's container and with one kept aside by an
interrupted swap, whether the configuration differs, what the result and the diff show.

_swap_engine.py executes these decisions against the engine."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import hmac
import os
from urllib.parse import urlsplit

from ansible_collections.baton.docker.plugins.module_utils._container_settings import RUN_KEYS
from ansible_collections.baton.docker.plugins.module_utils._params import (
    DEFAULT_RESTART_POLICY,
    HEALTHCHECK_DURATIONS,
    NS_PER_SECOND,
    PREVIOUS_SUFFIX,
    ParamError,
    parse_port,
)

LOCAL_HOSTS = ("localhost", "0.0.0.0", "::1", "::", "ip6-localhost")

# Masks are keyed with a salt drawn once per run: within one diff, equal values
# show equal masks and a changed value a different one, but a mask can never be
# checked against guessed values, nor compared across runs.
_MASK_SALT = os.urandom(16)


def check_references(desired, slot):
    """volumes_from and links must name other containers than the slot itself."""
    own = (slot, slot + PREVIOUS_SUFFIX)
    for option, entries in (("volumes_from", desired["volumes_from"]), ("links", desired["links"])):
        for entry in entries:
            if entry.split(":", 1)[0] in own:
                raise ParamError("%s: %r names the slot's own container" % (option, entry))
    if desired["hostname"] and desired["network"] == "host":
        raise ParamError("hostname: cannot be set with network=host (the container uses the Docker host's name)")


def referenced_containers(desired):
    """(option, container name) of every container the desired config needs, in a stable order."""
    return ([("volumes_from", entry.split(":", 1)[0]) for entry in desired["volumes_from"]]
            + [("links", entry.split(":", 1)[0]) for entry in desired["links"]])


def first_restart_policy(state):
    """Restart policy of a first deploy: a created template container must not restart after it ran."""
    return "no" if state == "created" else DEFAULT_RESTART_POLICY


def recovery_action(slot, previous, state="started"):
    """What to do with a container left aside by an interrupted swap.

    slot / previous: None when absent, else a dict with ``running``.
    Returns None, ``restore`` (no container in the slot: put the previous one
    back, and start it when ``state`` is started), ``discard`` (the slot's
    container runs, or ``state`` is created where not running is normal: the
    previous one is stale, remove it) or ``replace`` (the slot's container does
    not run: remove it, then restore the previous one).
    """
    if previous is None:
        return None
    if slot is None:
        return "restore"
    if slot.get("running") or state == "created":
        return "discard"
    return "replace"


def slot_action(state, update, exists, running, outdated):
    """What to do with the slot's container (after any recovery).

    exists / running: about the container that is (or is put back) in the slot;
    outdated: its image or configuration is not the wanted one. Returns
    ``none``, ``create`` (the slot is empty), ``replace`` (a new container takes
    its place), ``start`` (start it as it is) or ``remove``.
    """
    if state == "absent":
        return "remove" if exists else "none"
    if not exists:
        return "create"
    if state == "started":
        if update and (outdated or not running):  # a stopped slot gets a fresh, health-checked container
            return "replace"
        return "start" if not running else "none"
    return "replace" if update and outdated else "none"


def reported_action(action, recovery):
    """The ``action`` return value: a change of the slot's container first, then a recovery."""
    if action in ("create", "replace", "remove"):
        return action
    if recovery:
        return "recover"
    return action


def health_mode(url, healthcheck):
    """How a new container proves itself: http, docker or running."""
    if url:
        return "http"
    if healthcheck and healthcheck.get("test") and healthcheck["test"][0] != "NONE":
        return "docker"
    return "running"


def parse_health_url(url):
    """(scheme, host, port, path) of health.url, or ParamError."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ParamError("health.url: %r cannot be parsed: %s" % (url, exc))
    if parts.scheme not in ("http", "https"):
        raise ParamError("health.url: %r must start with http:// or https://" % (url,))
    if not parts.hostname:
        raise ParamError("health.url: %r has no host" % (url,))
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port, path


def is_local_host(host):
    return host.lower() in LOCAL_HOSTS or host.startswith("127.")


def check_health_url_port(url, host, port, ports):
    """A probe of localhost must target a host port the slot publishes."""
    if not is_local_host(host):
        return
    published = sorted(set(p["host"] for p in (parse_port(s) for s in ports)
                           if p["host"] is not None and p["proto"] == "tcp"))
    if port not in published:
        raise ParamError(
            "health.url: %s targets port %d on %s, but the slot publishes %s. The probe runs on the "
            "Docker host, so it must use one of the slot's published host ports (the container's own "
            "port is not reachable there)" % (url, port, host,
                                              "no TCP host port" if not published
                                              else "host port(s) %s" % ", ".join(str(p) for p in published)))


def host_ports(ports):
    """(ip, host port, proto) of every port spec that names a host port."""
    result = []
    for spec in ports:
        port = parse_port(spec)
        if port["host"] is not None:
            result.append((port["ip"], port["host"], port["proto"]))
    return result


def ports_to_check(wanted, held_by_slot):
    """Host ports to probe before a swap: those the slot does not already publish."""
    held = set((p, proto) for _ip, p, proto in host_ports(held_by_slot))
    return [entry for entry in host_ports(wanted) if (entry[1], entry[2]) not in held]


def mask_value(value, salt=None):
    digest = hmac.new(salt or _MASK_SALT, value.encode("utf-8"), hashlib.sha256).hexdigest()
    return "sha256:%s" % digest[:10]


def mask_env(env):
    """Env for diffs and results: each value replaced by a short salted sha256 prefix."""
    return dict((k, mask_value(v)) for k, v in (env or {}).items())


def display_config(explicit):
    """An explicit config as shown in diff: env masked, durations in seconds."""
    shown = dict((k, explicit[k]) for k in RUN_KEYS)
    shown["env"] = mask_env(explicit["env"])
    if explicit.get("healthcheck"):
        check = dict(explicit["healthcheck"])
        for key in HEALTHCHECK_DURATIONS:
            check[key] = check[key] / float(NS_PER_SECOND) if check.get(key) else None
        check["retries"] = check.get("retries") or None
        shown["healthcheck"] = check
    return shown


def repo_digest(repo_digests, repository):
    """The RepoDigests entry for repository, else the first one, else None."""
    digests = list(repo_digests or [])
    for entry in digests:
        if entry.split("@", 1)[0] == repository:
            return entry
    return digests[0] if digests else None


def tail_text(lines, limit=4000):
    """Log lines joined for an error message, cut from the front past ``limit`` chars."""
    text = "\n".join(lines)
    if len(text) > limit:
        text = "...\n" + text[-limit:]
    return text

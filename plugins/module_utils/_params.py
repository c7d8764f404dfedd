# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The parameter rules every module shares (no I/O here): the baton labels, container and slot names, ports,
volumes, volumes_from, links, hostnames, env/label mappings, commands and healthchecks, number checks.

Each parser returns one canonical form or raises ParamError naming the parameter."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shlex

from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError

LABEL_MANAGED = "baton.managed"
LABEL_SLOT = "baton.slot"
LABEL_IMAGE = "baton.image"
# Labels of the containers a stack deploy makes (module_utils/_stack.py).
LABEL_STACK = "baton.stack"
LABEL_ENTRY = "baton.entry"
LABEL_REPLICA = "baton.replica"
LABEL_KIND = "baton.kind"
LABEL_BACKEND = "baton.haproxy-backend"
LABEL_SERVER = "baton.haproxy-server"
OWN_LABELS = (LABEL_MANAGED, LABEL_SLOT, LABEL_IMAGE)

PREVIOUS_SUFFIX = ".baton-previous"
DEFAULT_RESTART_POLICY = "unless-stopped"
RESTART_POLICIES = ("no", "always", "on-failure", "unless-stopped")
# Seconds between the stop signal and SIGKILL when nothing says otherwise (Docker's own default), for every
# container the collection stops.
DEFAULT_STOP_TIMEOUT = 10
HEALTHCHECK_KINDS = ("NONE", "CMD", "CMD-SHELL")
HEALTHCHECK_DURATIONS = ("interval", "timeout", "start_period")
NS_PER_SECOND = 1000000000

_VOLUME_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_CONTAINER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_HOSTNAME_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# A name that becomes a file name in a state directory: no separator, no dot file, no "." or "..".
_STATE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


class ParamError(BatonError, ValueError):
    """A parameter value that cannot work; the message names the parameter."""


def check_slot_name(name):
    if not _CONTAINER_NAME.match(name or ""):
        raise ParamError("name: %r is not a valid container name (letters, digits, '_', '.', '-'; "
                         "starting with a letter or digit)" % (name,))
    if name.endswith(PREVIOUS_SUFFIX):
        raise ParamError("name: %r ends with %s, which is reserved for the container kept aside "
                         "during a swap" % (name, PREVIOUS_SUFFIX))
    return name


def state_name_error(option, value):
    """An error message naming ``option`` when ``value`` cannot name a file of a state directory, else None."""
    if isinstance(value, str) and _STATE_NAME.fullmatch(value):
        return None
    return ("%s: %r is not a valid name (1 to 128 letters, digits, '_', '.' or '-', starting with a letter or digit)"
            % (option, value))


def _port_number(value, spec, what):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ParamError("ports: %r: %s port %r is not a number" % (spec, what, value))
    if not 1 <= number <= 65535:
        raise ParamError("ports: %r: %s port %d is outside 1-65535" % (spec, what, number))
    return number


def parse_port(spec):
    """Parse ``[ip:]host:container[/proto]`` (or ``container[/proto]``).

    Returns a dict ip ('' for all addresses), host (int, or None for a port
    the engine picks), container (int) and proto (tcp/udp/sctp).
    """
    text = str(spec).strip()
    proto = "tcp"
    if "/" in text:
        text, proto = text.rsplit("/", 1)
        proto = proto.lower()
        if proto not in ("tcp", "udp", "sctp"):
            raise ParamError("ports: %r: protocol must be tcp, udp or sctp" % (spec,))
    ip = ""
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or text[end + 1:end + 2] != ":":
            raise ParamError("ports: %r: expected [ipv6]:host:container" % (spec,))
        ip, text = text[1:end], text[end + 2:]
        parts = text.split(":")
        if len(parts) != 2:
            raise ParamError("ports: %r: expected [ipv6]:host:container" % (spec,))
    else:
        parts = text.split(":")
        if len(parts) == 3:
            ip = parts.pop(0)
            if not ip:
                raise ParamError("ports: %r: empty IP address before the host port" % (spec,))
        elif len(parts) > 3:
            raise ParamError("ports: %r: expected host:container, ip:host:container or container" % (spec,))
    if ip in ("0.0.0.0",):
        ip = ""
    container = _port_number(parts[-1], spec, "container")
    host = None
    if len(parts) == 2:
        if parts[0] == "":
            host = None
        else:
            host = _port_number(parts[0], spec, "host")
    return dict(ip=ip, host=host, container=container, proto=proto)


def format_port(port):
    ip = port["ip"]
    if ip and ":" in ip:
        ip = "[%s]" % ip
    if port["host"] is None:
        left = "%s::" % ip if ip else ""
    else:
        left = "%s:%d:" % (ip, port["host"]) if ip else "%d:" % port["host"]
    return "%s%d/%s" % (left, port["container"], port["proto"])


def parse_ports(specs):
    """Canonical, sorted port strings; refuses one host port published twice."""
    canonical = sorted(set(format_port(parse_port(s)) for s in specs))
    parsed = [parse_port(s) for s in canonical]
    seen = {}
    for port in parsed:
        if port["host"] is None:
            continue
        key = (port["host"], port["proto"])
        for other_ip in seen.get(key, []):
            if other_ip == port["ip"] or "" in (other_ip, port["ip"]):
                raise ParamError("ports: host port %d/%s is published twice" % key)
        seen.setdefault(key, []).append(port["ip"])
    return canonical


def parse_volume(spec):
    """Parse ``src:dst[:ro|rw]``; src is an absolute host path or a volume name."""
    text = str(spec).strip()
    parts = text.split(":")
    mode = "rw"
    if len(parts) == 3:
        mode = parts.pop()
        if mode not in ("ro", "rw"):
            raise ParamError("volumes: %r: mode must be ro or rw, not %r" % (spec, mode))
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise ParamError("volumes: %r: expected source:destination[:ro]" % (spec,))
    src, dst = parts
    if not src.startswith("/") and not _VOLUME_NAME.match(src):
        raise ParamError("volumes: %r: the source %r is a relative path; use an absolute host path "
                         "(the module runs on the Docker host, not in the playbook directory) or a "
                         "volume name" % (spec, src))
    if not dst.startswith("/"):
        raise ParamError("volumes: %r: the destination %r must be an absolute path in the container"
                         % (spec, dst))
    if src.startswith("/") and len(src) > 1:
        src = src.rstrip("/")
    if len(dst) > 1:
        dst = dst.rstrip("/")
    return "%s:%s:ro" % (src, dst) if mode == "ro" else "%s:%s" % (src, dst)


def parse_volumes(specs):
    volumes = [parse_volume(s) for s in specs]
    targets = [v.split(":")[1] for v in volumes]
    dup = sorted(set(t for t in targets if targets.count(t) > 1))
    if dup:
        raise ParamError("volumes: %s is mounted more than once" % ", ".join(dup))
    return sorted(set(volumes))


def format_volumes_from(name, mode):
    return "%s:ro" % name if mode == "ro" else name


def parse_volumes_from(specs):
    """``container[:ro|rw]`` entries -> sorted canonical list (``name`` or ``name:ro``)."""
    result = {}
    for spec in specs:
        text = str(spec).strip()
        name, sep, mode = text.partition(":")
        name = name.lstrip("/")
        mode = mode if sep else "rw"
        if mode not in ("ro", "rw"):
            raise ParamError("volumes_from: %r: mode must be ro or rw, not %r" % (spec, mode))
        if not _CONTAINER_NAME.match(name):
            raise ParamError("volumes_from: %r: %r is not a valid container name" % (spec, name))
        if name in result:
            raise ParamError("volumes_from: container %s is given more than once" % name)
        result[name] = format_volumes_from(name, mode)
    return sorted(result.values())


def parse_links(specs):
    """``container`` or ``container:alias`` entries -> sorted canonical ``container:alias`` list."""
    result = {}
    for spec in specs:
        text = str(spec).strip()
        parts = text.split(":")
        if len(parts) > 2:
            raise ParamError("links: %r: expected container or container:alias" % (spec,))
        name = parts[0].lstrip("/")
        alias = parts[1] if len(parts) == 2 else name
        if not _CONTAINER_NAME.match(name):
            raise ParamError("links: %r: %r is not a valid container name" % (spec, name))
        if not _CONTAINER_NAME.match(alias):
            raise ParamError("links: %r: %r is not a valid alias (letters, digits, '_', '.', '-'; starting "
                             "with a letter or digit)" % (spec, alias))
        if alias in result:
            raise ParamError("links: alias %s is used more than once" % alias)
        result[alias] = "%s:%s" % (name, alias)
    return sorted(result.values())


def normalize_hostname(value):
    """A hostname (RFC 1123), or None for the engine's default (an empty string)."""
    if value is None or value == "":
        return None
    text = str(value)
    labels = text.split(".")
    if len(text) > 253 or not all(_HOSTNAME_LABEL.match(label) for label in labels):
        raise ParamError("hostname: %r is not a valid hostname (RFC 1123: dot-separated labels of 1-63 lowercase "
                         "letters, digits and '-', not starting or ending with '-', 253 characters in all)"
                         % (value,))
    return text


def _string_value(param, key, value):
    if isinstance(value, bool):
        raise ParamError("%s: the value of %s is a boolean; quote it (for example '%s') so the "
                         "container gets exactly the string you mean" % (param, key, str(value).lower()))
    if value is None:
        raise ParamError("%s: %s has no value; use an empty string for an empty value" % (param, key))
    if isinstance(value, (dict, list)):
        raise ParamError("%s: the value of %s must be a string, not a %s" % (param, key, type(value).__name__))
    return str(value)


def normalize_mapping(param, mapping, env=False):
    """A str -> str dict; refuses booleans, nulls and nested values."""
    result = {}
    for key, value in (mapping or {}).items():
        key = str(key)
        if not key or (env and "=" in key):
            raise ParamError("%s: %r is not a valid %s name" % (param, key, "variable" if env else "label"))
        result[key] = _string_value(param, key, value)
    return result


def normalize_command(param, value):
    """A list of arguments, or None (use the image's). A string is split like a shell would, without one."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        args = [_string_value(param, "item %d" % i, v) for i, v in enumerate(value)]
    else:
        try:
            args = shlex.split(str(value))
        except ValueError as exc:
            raise ParamError("%s: %r cannot be split into arguments: %s" % (param, value, exc))
    return args or None


def _duration_ns(param, value):
    if value is None:
        return 0
    if value < 0:
        raise ParamError("%s must not be negative (got %s)" % (param, value))
    return int(round(value * NS_PER_SECOND))


def normalize_healthcheck(params):
    """Module healthcheck option (seconds) -> engine form (nanoseconds), or None for the image's."""
    if params is None:
        return None
    test = params.get("test")
    if isinstance(test, str):
        test = ["CMD-SHELL", test] if test.strip() else []
    test = list(test or [])
    if test and test[0] not in HEALTHCHECK_KINDS:
        test = ["CMD"] + test
    if test == ["NONE"]:
        return dict(test=["NONE"], interval=0, timeout=0, retries=0, start_period=0)
    retries = params.get("retries")
    if retries is not None and retries < 0:
        raise ParamError("healthcheck.retries must not be negative (got %s)" % retries)
    result = dict(test=test, retries=retries or 0)
    for key in HEALTHCHECK_DURATIONS:
        result[key] = _duration_ns("healthcheck.%s" % key, params.get(key))
    if not any(result.values()):
        return None  # nothing set: the image's healthcheck
    return result


def check_non_negative(values):
    """values: {parameter name: number or None}."""
    for name in sorted(values):
        value = values[name]
        if value is not None and value < 0:
            raise ParamError("%s must not be negative (got %g)" % (name, value))


def check_positive(values):
    for name in sorted(values):
        value = values[name]
        if value is not None and value <= 0:
            raise ParamError("%s must be greater than 0 (got %g)" % (name, value))

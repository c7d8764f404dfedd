# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure decisions of baton.docker.container_swap (no I/O here).

A slot's run configuration is handled in two forms:

explicit config
    What the slot asks for on top of its image: env and labels the image does
    not provide, published ports, volumes, restart policy, command and
    entrypoint when they differ from the image's, network, stop timeout and a
    Docker healthcheck when it differs from the image's. It is what gets carried
    from the old container to the new one and what is passed to the engine when
    a container is created.

effective config
    What a container actually shows in ``docker inspect``: the explicit config
    merged with the image defaults the way the engine merges them. Two
    effective configs are compared to decide whether the slot must be replaced.

Keys of both forms: env, labels, ports, volumes, restart_policy,
restart_retries, command, entrypoint, network, stop_timeout, healthcheck,
volumes_from, links, hostname.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import hmac
import os
import re
import shlex

CONFIG_KEYS = ("image", "env", "labels", "ports", "volumes", "restart_policy", "restart_retries",
               "command", "entrypoint", "network", "stop_timeout", "healthcheck", "volumes_from", "links",
               "hostname")
RUN_KEYS = CONFIG_KEYS[1:]

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
# Seconds between the stop signal and SIGKILL when nothing says otherwise (Docker's own default), for every
# container the collection stops.
DEFAULT_STOP_TIMEOUT = 10
RESTART_POLICIES = ("no", "always", "on-failure", "unless-stopped")
HEALTHCHECK_KINDS = ("NONE", "CMD", "CMD-SHELL")
HEALTHCHECK_DURATIONS = ("interval", "timeout", "start_period")
LOCAL_HOSTS = ("localhost", "0.0.0.0", "::1", "::", "ip6-localhost")
STATES = ("started", "created", "absent")

_VOLUME_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_CONTAINER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# Docker's reference grammar: an optional registry (a host name or address, with an optional port), then path
# components of lowercase letters and digits joined by single separators (".", "_", "__", runs of "-").
_REGISTRY = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
                       r"|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?$")
_PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_HOSTNAME_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_NS = 1000000000


class ParamError(ValueError):
    """A parameter value that cannot work; the message names the parameter."""


# ---------------------------------------------------------------- parameters

def check_slot_name(name):
    if not _CONTAINER_NAME.match(name or ""):
        raise ParamError("name: %r is not a valid container name (letters, digits, '_', '.', '-'; "
                         "starting with a letter or digit)" % (name,))
    if name.endswith(PREVIOUS_SUFFIX):
        raise ParamError("name: %r ends with %s, which is reserved for the container kept aside "
                         "during a swap" % (name, PREVIOUS_SUFFIX))
    return name


def parse_image_ref(ref):
    """Split an image reference into (repository, tag, digest).

    ``repo`` alone means ``repo:latest`` as with ``docker pull``. The registry
    part may carry a port (``127.0.0.1:5000/demo/app:v1``).
    """
    repository, tag, digest = split_image_ref(ref)
    if tag is None and digest is None:
        tag = "latest"
    return repository, tag, digest


def registry_of(repository):
    """The registry part of a repository (``docker.io`` when it names none)."""
    first = repository.split("/", 1)[0]
    if "/" in repository and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        return first
    return "docker.io"


def image_tag(ref):
    """The tag an image reference deploys (``latest`` when it names neither tag nor digest; None for a digest only)."""
    return parse_image_ref(ref)[1]


def split_image_ref(ref):
    """The one image-reference parser: (repository, tag or None, digest or None), as written; ParamError naming what
    is wrong. Repository path components follow Docker's grammar (lowercase)."""
    text = (ref or "").strip()
    if not text or any(c.isspace() for c in text):
        raise ParamError("image: %r is not an image reference (expected repository:tag or "
                         "repository@sha256:...)" % (ref,))
    digest = None
    if "@" in text:
        text, digest = text.split("@", 1)
        if not _DIGEST.match(digest):
            raise ParamError("image: %r has an invalid digest %r" % (ref, digest))
    tag = None
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > slash:
        text, tag = text[:colon], text[colon + 1:]
        if not _TAG.match(tag):
            raise ParamError("image: %r has an invalid tag %r" % (ref, tag))
    if not text or text.endswith("/") or text.startswith("/") or "//" in text:
        raise ParamError("image: %r has no valid repository name" % (ref,))
    parts = text.split("/")
    registry = registry_of(text)
    if registry != "docker.io" or parts[0] == "docker.io":
        if not _REGISTRY.match(parts[0]):
            raise ParamError("image: %r has an invalid registry %r" % (ref, parts[0]))
        parts = parts[1:]
    for part in parts:
        if not _PATH_COMPONENT.match(part):
            raise ParamError("image: %r: the repository name part %r must be lowercase letters and digits, "
                             "separated by '.', '_', '__' or '-'" % (ref, part))
    return text, tag, digest


def image_ref(repository, tag, digest):
    """The canonical reference for parse_image_ref's parts."""
    if digest:
        return "%s@%s" % (repository if not tag else "%s:%s" % (repository, tag), digest)
    return "%s:%s" % (repository, tag)


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


def _format_volumes_from(name, mode):
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
        result[name] = _format_volumes_from(name, mode)
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
    return int(round(value * _NS))


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
            raise ParamError("%s must not be negative (got %s)" % (name, value))


def check_positive(values):
    for name in sorted(values):
        value = values[name]
        if value is not None and value <= 0:
            raise ParamError("%s must be greater than 0 (got %s)" % (name, value))


def explicit_from_params(params):
    """The explicit config keys the task sets; None for every key it leaves to the slot."""
    env = None
    if params.get("env") is not None or params.get("secret_env") is not None:
        plain = normalize_mapping("env", params.get("env"), env=True)
        secret = normalize_mapping("secret_env", params.get("secret_env"), env=True)
        both = sorted(set(plain) & set(secret))
        if both:
            raise ParamError("env and secret_env both set %s; set each variable in one of them"
                             % ", ".join(both))
        env = dict(plain)
        env.update(secret)
    labels = None
    if params.get("labels") is not None:
        labels = normalize_mapping("labels", params["labels"])
        own = sorted(k for k in labels if k in OWN_LABELS)
        if own:
            raise ParamError("labels: %s is set by the module itself" % ", ".join(own))
    network = params.get("network")
    if network is not None and not network.strip():
        raise ParamError("network: must not be empty")
    return dict(
        env=env,
        labels=labels,
        ports=None if params.get("ports") is None else parse_ports(params["ports"]),
        volumes=None if params.get("volumes") is None else parse_volumes(params["volumes"]),
        restart_policy=params.get("restart_policy"),
        restart_retries=params.get("restart_retries"),
        command=normalize_command("command", params.get("command")),
        command_set=params.get("command") is not None,
        entrypoint=normalize_command("entrypoint", params.get("entrypoint")),
        entrypoint_set=params.get("entrypoint") is not None,
        network=network,
        stop_timeout=params.get("stop_timeout"),
        healthcheck=normalize_healthcheck(params.get("healthcheck")),
        healthcheck_set=params.get("healthcheck") is not None,
        volumes_from=None if params.get("volumes_from") is None else parse_volumes_from(params["volumes_from"]),
        links=None if params.get("links") is None else parse_links(params["links"]),
        hostname=normalize_hostname(params.get("hostname")),
        hostname_set=params.get("hostname") is not None,
    )


def first_restart_policy(state):
    """Restart policy of a first deploy: a created template container must not restart after it ran."""
    return "no" if state == "created" else DEFAULT_RESTART_POLICY


def merge_config(requested, carried, restart_policy=DEFAULT_RESTART_POLICY):
    """Desired explicit config: what the task sets wins, the rest comes from the slot.

    ``carried`` is the explicit config of the container now in the slot, or None
    on the first deploy (then unset keys take their defaults: nothing extra,
    restart policy ``restart_policy``). A list or dict option given in the task
    replaces the slot's whole setting (env: {} drops every carried variable);
    command or entrypoint given as an empty list go back to the image's.
    """
    base = carried or dict(env={}, labels={}, ports=[], volumes=[], restart_policy=restart_policy,
                           restart_retries=0, command=None, entrypoint=None, network=None,
                           stop_timeout=None, healthcheck=None, volumes_from=[], links=[], hostname=None)
    desired = {}
    for key in ("env", "labels", "ports", "volumes", "restart_policy", "network", "stop_timeout",
                "volumes_from", "links"):
        desired[key] = requested[key] if requested.get(key) is not None else base[key]
    for key in ("command", "entrypoint", "healthcheck", "hostname"):
        desired[key] = requested[key] if requested.get(key + "_set") else base[key]
    if requested.get("restart_retries") is not None:
        if desired["restart_policy"] != "on-failure":
            raise ParamError("restart_retries only applies with restart_policy=on-failure (the slot's "
                             "restart policy is %s)" % desired["restart_policy"])
        desired["restart_retries"] = requested["restart_retries"]
    elif desired["restart_policy"] == "on-failure":
        desired["restart_retries"] = base["restart_retries"]
    else:
        desired["restart_retries"] = 0
    desired["env"] = dict(desired["env"])
    desired["labels"] = dict(desired["labels"])
    desired["ports"] = list(desired["ports"])
    desired["volumes"] = list(desired["volumes"])
    desired["volumes_from"] = list(desired["volumes_from"])
    desired["links"] = list(desired["links"])
    return desired


# ------------------------------------------------------ engine data read-back

def env_dict(entries):
    result = {}
    for entry in entries or []:
        key, sep, value = entry.partition("=")
        result[key] = value if sep else ""
    return result


def ports_from_bindings(bindings):
    """HostConfig.PortBindings -> canonical port strings."""
    result = set()
    for key, hosts in (bindings or {}).items():
        number, proto = (key.split("/", 1) + ["tcp"])[:2]
        for host in hosts or [{}]:
            host = host or {}
            ip = host.get("HostIp") or ""
            if ip == "0.0.0.0":
                ip = ""
            host_port = host.get("HostPort") or None
            result.add(format_port(dict(ip=ip, host=int(host_port) if host_port else None,
                                        container=int(number), proto=proto or "tcp")))
    return sorted(result)


def volumes_from_host_config(host_config):
    """HostConfig.Binds and Mounts (bind/volume) -> canonical volume strings."""
    result = set()
    for bind in host_config.get("Binds") or []:
        parts = bind.split(":")
        if len(parts) < 2:
            continue
        options = parts[2].split(",") if len(parts) > 2 else []
        src, dst = parts[0], parts[1]
        result.add("%s:%s:ro" % (src, dst) if "ro" in options else "%s:%s" % (src, dst))
    for mount in host_config.get("Mounts") or []:
        if mount.get("Type") not in ("bind", "volume") or not mount.get("Source"):
            continue
        src, dst = mount["Source"], mount.get("Target")
        result.add("%s:%s:ro" % (src, dst) if mount.get("ReadOnly") else "%s:%s" % (src, dst))
    return sorted(result)


def volumes_from_engine(entries):
    """HostConfig.VolumesFrom -> canonical sorted list (``name`` or ``name:ro``)."""
    result = set()
    for entry in entries or []:
        name, _sep, mode = entry.partition(":")
        result.add(_format_volumes_from(name.lstrip("/"), "ro" if "ro" in mode.split(",") else "rw"))
    return sorted(result)


def links_from_engine(entries):
    """Link entries -> canonical sorted ``target:alias`` list.

    HostConfig.Links (default bridge) holds ``/target:/self/alias``; an endpoint's
    Links (user-defined network) holds ``target:alias``.
    """
    result = set()
    for entry in entries or []:
        target, sep, alias = entry.partition(":")
        target = target.lstrip("/")
        alias = alias.rstrip("/").rsplit("/", 1)[-1] if sep else target
        result.add("%s:%s" % (target, alias or target))
    return sorted(result)


def hostname_from_engine(attrs):
    """Config.Hostname, or None when it is the engine's default (the ID's first 12 characters)."""
    config = attrs.get("Config") or {}
    mode = (attrs.get("HostConfig") or {}).get("NetworkMode") or ""
    hostname = config.get("Hostname") or None
    if hostname and config.get("Domainname"):
        hostname = "%s.%s" % (hostname, config["Domainname"])
    if hostname is None or mode == "host" or mode.startswith("container:"):
        return None
    if hostname == (attrs.get("Id") or "")[:12]:
        return None
    return hostname


def healthcheck_from_engine(data):
    """Config.Healthcheck -> normalized form (nanoseconds), or None."""
    if not data or not data.get("Test"):
        return None
    if data["Test"][0] == "NONE":
        return dict(test=["NONE"], interval=0, timeout=0, retries=0, start_period=0)
    return dict(test=list(data["Test"]), interval=int(data.get("Interval") or 0),
                timeout=int(data.get("Timeout") or 0), retries=int(data.get("Retries") or 0),
                start_period=int(data.get("StartPeriod") or 0))


def merge_healthcheck(explicit, image):
    """The healthcheck the engine stores: unset fields come from the image's."""
    if explicit is None:
        return image
    if explicit["test"] == ["NONE"] or image is None:
        return dict(explicit)
    merged = dict(explicit)
    for key in ("test",) + HEALTHCHECK_DURATIONS + ("retries",):
        if not merged.get(key):
            merged[key] = image.get(key)
    return merged


def restart_from_engine(policy):
    policy = policy or {}
    name = policy.get("Name") or "no"
    retries = int(policy.get("MaximumRetryCount") or 0) if name == "on-failure" else 0
    return name, retries


def network_from_engine(mode):
    if not mode or mode == "default":
        return "bridge"
    return mode


def image_defaults(image_config):
    """The parts of an image's Config a container inherits."""
    config = image_config or {}
    return dict(env=env_dict(config.get("Env")), labels=dict(config.get("Labels") or {}),
                command=list(config["Cmd"]) if config.get("Cmd") else None,
                entrypoint=list(config["Entrypoint"]) if config.get("Entrypoint") else None,
                healthcheck=healthcheck_from_engine(config.get("Healthcheck")))


def effective_from_container(attrs):
    """What an existing container runs with, in effective form."""
    config = attrs.get("Config") or {}
    host = attrs.get("HostConfig") or {}
    labels = dict(config.get("Labels") or {})
    labels.pop(LABEL_IMAGE, None)
    policy, retries = restart_from_engine(host.get("RestartPolicy"))
    return dict(
        env=env_dict(config.get("Env")),
        labels=labels,
        ports=ports_from_bindings(host.get("PortBindings")),
        volumes=volumes_from_host_config(host),
        restart_policy=policy,
        restart_retries=retries,
        command=list(config["Cmd"]) if config.get("Cmd") else None,
        entrypoint=list(config["Entrypoint"]) if config.get("Entrypoint") else None,
        network=network_from_engine(host.get("NetworkMode")),
        stop_timeout=config.get("StopTimeout"),
        healthcheck=healthcheck_from_engine(config.get("Healthcheck")),
        volumes_from=volumes_from_engine(host.get("VolumesFrom")),
        links=links_from_engine(list(host.get("Links") or []) + [
            link for endpoint in ((attrs.get("NetworkSettings") or {}).get("Networks") or {}).values()
            for link in (endpoint or {}).get("Links") or []]),
        hostname=hostname_from_engine(attrs),
    )


def explicit_from_container(attrs, image_config):
    """The slot's own config: the container's settings minus what its image provides.

    ``image_config`` is the Config of the image the container was created from.
    Only env variables and labels whose value differs from that image's are
    kept, and command/entrypoint/healthcheck only when they differ from the
    image's, so the next image's defaults (a new ENV value, a new CMD) apply.
    """
    current = effective_from_container(attrs)
    image = image_defaults(image_config)
    env = dict((k, v) for k, v in current["env"].items() if image["env"].get(k) != v)
    labels = dict((k, v) for k, v in current["labels"].items()
                  if k not in OWN_LABELS and image["labels"].get(k) != v)
    entrypoint = current["entrypoint"] if current["entrypoint"] != image["entrypoint"] else None
    if entrypoint is not None:
        command = current["command"]
    else:
        command = current["command"] if current["command"] != image["command"] else None
    healthcheck = current["healthcheck"] if current["healthcheck"] != image["healthcheck"] else None
    network = current["network"]
    return dict(
        env=env, labels=labels, ports=current["ports"], volumes=current["volumes"],
        restart_policy=current["restart_policy"], restart_retries=current["restart_retries"],
        command=command, entrypoint=entrypoint,
        network=None if network == "bridge" else network,
        stop_timeout=current["stop_timeout"], healthcheck=healthcheck,
        volumes_from=current["volumes_from"], links=current["links"], hostname=current["hostname"],
    )


def effective_config(explicit, image_config, slot):
    """What a container created from ``explicit`` on this image would show."""
    image = image_defaults(image_config)
    env = dict(image["env"])
    env.update(explicit["env"])
    labels = dict(image["labels"])
    labels.update(explicit["labels"])
    labels[LABEL_MANAGED] = "true"
    labels[LABEL_SLOT] = slot
    if explicit["entrypoint"] is not None:
        entrypoint, command = explicit["entrypoint"], explicit["command"]
    else:
        entrypoint, command = image["entrypoint"], explicit["command"] or image["command"]
    return dict(
        env=env, labels=labels, ports=sorted(explicit["ports"]), volumes=sorted(explicit["volumes"]),
        restart_policy=explicit["restart_policy"], restart_retries=explicit["restart_retries"],
        command=command, entrypoint=entrypoint,
        network=explicit["network"] or "bridge", stop_timeout=explicit["stop_timeout"],
        healthcheck=merge_healthcheck(explicit["healthcheck"], image["healthcheck"]),
        volumes_from=sorted(explicit["volumes_from"]), links=sorted(explicit["links"]),
        hostname=explicit["hostname"],
    )


def config_differences(desired, current):
    """Names of the settings whose effective values differ."""
    return [key for key in RUN_KEYS if desired.get(key) != current.get(key)]


def create_labels(explicit_labels, slot, ref):
    labels = dict(explicit_labels)
    labels.update({LABEL_MANAGED: "true", LABEL_SLOT: slot, LABEL_IMAGE: ref})
    return labels


# ---------------------------------------------------------------- decisions

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
        from urllib.parse import urlsplit
    except ImportError:  # pragma: no cover - Python 2
        from urlparse import urlsplit
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


# Masks are keyed with a salt drawn once per run: within one diff, equal values
# show equal masks and a changed value a different one, but a mask can never be
# checked against guessed values, nor compared across runs.
_MASK_SALT = os.urandom(16)


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
            check[key] = check[key] / float(_NS) if check.get(key) else None
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

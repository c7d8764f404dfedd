# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The container settings a slot carries, declared once (no I/O here).

``SETTINGS`` holds one ``Setting`` per setting, with every part the collection needs of it: its module options
(argument spec), how the task's value is normalised, its first-deploy default, how it is read from ``docker
inspect``, whether (and how) the image's default applies, how it is written at create, how two values are
compared. Every function below walks that table; a setting is added by adding its entry.

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
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.baton.docker.plugins.module_utils._params import (
    DEFAULT_RESTART_POLICY,
    HEALTHCHECK_DURATIONS,
    LABEL_IMAGE,
    LABEL_MANAGED,
    LABEL_SLOT,
    OWN_LABELS,
    RESTART_POLICIES,
    ParamError,
    format_port,
    format_volumes_from,
    normalize_command,
    normalize_healthcheck,
    normalize_hostname,
    normalize_mapping,
    parse_links,
    parse_port,
    parse_ports,
    parse_volumes,
    parse_volumes_from,
)

# Networks whose containers take links in HostConfig; on any other (user-defined) network they go to its endpoint.
_BUILTIN_NETWORKS = ("bridge", "host", "none", "default")


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
        result.add(format_volumes_from(name.lstrip("/"), "ro" if "ro" in mode.split(",") else "rw"))
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


def _config(attrs):
    return attrs.get("Config") or {}


def _host(attrs):
    return attrs.get("HostConfig") or {}


def _argv(value):
    return list(value) if value else None


def _endpoint_links(attrs):
    return [link for endpoint in ((attrs.get("NetworkSettings") or {}).get("Networks") or {}).values()
            for link in (endpoint or {}).get("Links") or []]


def _user_network(explicit):
    network = explicit.get("network")
    return bool(network) and network not in _BUILTIN_NETWORKS


# ------------------------------------------------------ comparisons

def same_value(wanted, current):
    return wanted == current


def same_items(wanted, current):
    """Lists compared as collections: the order of entries does not matter."""
    return sorted(wanted or []) == sorted(current or [])


# ------------------------------------------------------ how each setting is read from the task

def _env_from_params(params):
    plain = normalize_mapping("env", params.get("env"), env=True)
    secret = normalize_mapping("secret_env", params.get("secret_env"), env=True)
    both = sorted(set(plain) & set(secret))
    if both:
        raise ParamError("env and secret_env both set %s; set each variable in one of them" % ", ".join(both))
    env = dict(plain)
    env.update(secret)
    return env


def _labels_from_params(params):
    labels = normalize_mapping("labels", params["labels"])
    own = sorted(k for k in labels if k in OWN_LABELS)
    if own:
        raise ParamError("labels: %s is set by the module itself" % ", ".join(own))
    return labels


def _network_from_params(params):
    network = params["network"]
    if not network.strip():
        raise ParamError("network: must not be empty")
    return network


# ------------------------------------------------------ how the image's defaults apply

def _explicit_env(current, image):
    return dict((k, v) for k, v in current["env"].items() if image["env"].get(k) != v)


def _effective_env(explicit, image, slot):
    env = dict(image["env"])
    env.update(explicit["env"])
    return env


def _explicit_labels(current, image):
    return dict((k, v) for k, v in current["labels"].items() if k not in OWN_LABELS and image["labels"].get(k) != v)


def _effective_labels(explicit, image, slot):
    labels = dict(image["labels"])
    labels.update(explicit["labels"])
    labels[LABEL_MANAGED] = "true"
    labels[LABEL_SLOT] = slot
    return labels


def _explicit_entrypoint(current, image):
    return current["entrypoint"] if current["entrypoint"] != image["entrypoint"] else None


def _effective_entrypoint(explicit, image, slot):
    return explicit["entrypoint"] if explicit["entrypoint"] is not None else image["entrypoint"]


def _explicit_command(current, image):
    """An entrypoint of the slot's own takes its command with it; else the command counts only when it is not the
    image's."""
    if _explicit_entrypoint(current, image) is not None:
        return current["command"]
    return current["command"] if current["command"] != image["command"] else None


def _effective_command(explicit, image, slot):
    if explicit["entrypoint"] is not None:
        return explicit["command"]
    return explicit["command"] or image["command"]


def _explicit_healthcheck(current, image):
    return current["healthcheck"] if current["healthcheck"] != image["healthcheck"] else None


def _effective_healthcheck(explicit, image, slot):
    return merge_healthcheck(explicit["healthcheck"], image["healthcheck"])


# ------------------------------------------------------ how each setting is written at create

def _write_env(value, explicit, create):
    create["container"]["environment"] = ["%s=%s" % (k, v) for k, v in sorted(value.items())] or None


def _write_labels(value, explicit, create):
    create["container"]["labels"] = value


def _write_ports(value, explicit, create):
    bindings = {}
    exposed = []
    for spec in value:
        port = parse_port(spec)
        key = "%d/%s" % (port["container"], port["proto"])
        if key not in bindings:
            exposed.append((port["container"], port["proto"]))
        bindings.setdefault(key, []).append({"HostIp": port["ip"],
                                             "HostPort": str(port["host"]) if port["host"] else ""})
    create["host"]["port_bindings"] = bindings or None
    create["container"]["ports"] = exposed or None


def _write_volumes(value, explicit, create):
    create["host"]["binds"] = list(value) or None


def _write_restart_policy(value, explicit, create):
    create["host"]["restart_policy"] = {"Name": value if value != "no" else ""}


def _write_restart_retries(value, explicit, create):
    if explicit["restart_policy"] == "on-failure":
        create["host"]["restart_policy"]["MaximumRetryCount"] = value or 0


def _write_network(value, explicit, create):
    create["host"]["network_mode"] = value or None
    create["network"] = value if _user_network(explicit) else None


def _write_links(value, explicit, create):
    links = [tuple(link.split(":", 1)) for link in value or []]
    if _user_network(explicit):  # the engine ignores HostConfig.Links on a user-defined network
        create["host"]["links"] = None
        create["endpoint_links"] = links or None
    else:
        create["host"]["links"] = links or None


def _write_healthcheck(value, explicit, create):
    create["container"]["healthcheck"] = None if not value else {
        "Test": value["test"], "Interval": value["interval"], "Timeout": value["timeout"],
        "Retries": value["retries"], "StartPeriod": value["start_period"]}


def _write_volumes_from(value, explicit, create):
    create["host"]["volumes_from"] = list(value or []) or None


def _write_hostname(value, explicit, create):
    create["container"]["hostname"] = value or None  # none: the engine's default (the ID's first 12 characters)


def _container_kwarg(key):
    def write(value, explicit, create):
        create["container"][key] = value
    return write


# ------------------------------------------------------ the table

def _copied(value):
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    return value


def _merge(setting, requested, base, desired):
    """What the task sets wins, the rest comes from the slot (a list or dict replaces the slot's whole setting)."""
    return _copied(requested[setting.name] if setting.name in requested else base[setting.name])


def _merge_restart_retries(setting, requested, base, desired):
    if requested.get("restart_retries") is not None:
        if desired["restart_policy"] != "on-failure":
            raise ParamError("restart_retries only applies with restart_policy=on-failure (the slot's "
                             "restart policy is %s)" % desired["restart_policy"])
        return requested["restart_retries"]
    if desired["restart_policy"] == "on-failure":
        return base["restart_retries"]
    return 0


def _from_option(name):
    def read(params):
        return params[name]
    return read


class Setting(object):
    """One container setting and every part of it.

    options: its module options (name -> argument spec); from_params(params): the normalised value of a task that
    gives any of those options; default: its value on a first deploy; read(attrs): its effective value in ``docker
    inspect`` data; from_image(image Config): the image's default, or None when the image has no say in it;
    explicit(current, image) / effective(explicit, image, slot): from an effective to an explicit value and back,
    given the image defaults; write(value, explicit, create): its part of the create call; compare(wanted,
    current): whether two effective values are the same; merge(setting, requested, carried, desired): its desired
    explicit value.
    """

    PARTS = ("options", "from_params", "default", "read", "from_image", "explicit", "effective", "write", "compare",
             "merge")

    def __init__(self, name, options, from_params, default, read, write, from_image=None, explicit=None,
                 effective=None, compare=same_value, merge=_merge):
        self.name = name
        self.options = options
        self.from_params = from_params
        self.default = default
        self.read = read
        self.write = write
        self.from_image = from_image
        self.explicit = explicit or (lambda current, image: current[name])
        self.effective = effective or (lambda explicit_config, image, slot: explicit_config[name])
        self.compare = compare
        self.merge = merge

    @property
    def image_default_applies(self):
        return self.from_image is not None

    def given(self, params):
        return any(params.get(option) is not None for option in self.options)


HEALTHCHECK_OPTIONS = dict(
    test=dict(type="raw"),
    interval=dict(type="float"),
    timeout=dict(type="float"),
    retries=dict(type="int"),
    start_period=dict(type="float"),
)


def _list_setting(name, parse, read, write):
    """A setting given as one list option of strings, parsed into a canonical list; its order does not count."""
    return Setting(name, {name: dict(type="list", elements="str")}, from_params=lambda params: parse(params[name]),
                   default=[], read=read, write=write, compare=same_items)


SETTINGS = (
    Setting("env", dict(env=dict(type="dict"), secret_env=dict(type="dict", no_log=True)),
            from_params=_env_from_params, default={},
            read=lambda attrs: env_dict(_config(attrs).get("Env")),
            from_image=lambda config: env_dict(config.get("Env")),
            explicit=_explicit_env, effective=_effective_env, write=_write_env),
    Setting("labels", dict(labels=dict(type="dict")),
            from_params=_labels_from_params, default={},
            read=lambda attrs: dict((k, v) for k, v in (_config(attrs).get("Labels") or {}).items()
                                    if k != LABEL_IMAGE),
            from_image=lambda config: dict(config.get("Labels") or {}),
            explicit=_explicit_labels, effective=_effective_labels, write=_write_labels),
    _list_setting("ports", parse_ports, lambda attrs: ports_from_bindings(_host(attrs).get("PortBindings")),
                  _write_ports),
    _list_setting("volumes", parse_volumes, lambda attrs: volumes_from_host_config(_host(attrs)), _write_volumes),
    Setting("restart_policy", dict(restart_policy=dict(type="str", choices=list(RESTART_POLICIES))),
            from_params=_from_option("restart_policy"), default=DEFAULT_RESTART_POLICY,
            read=lambda attrs: restart_from_engine(_host(attrs).get("RestartPolicy"))[0],
            write=_write_restart_policy),
    Setting("restart_retries", dict(restart_retries=dict(type="int")),
            from_params=_from_option("restart_retries"), default=0,
            read=lambda attrs: restart_from_engine(_host(attrs).get("RestartPolicy"))[1],
            write=_write_restart_retries, merge=_merge_restart_retries),
    Setting("command", dict(command=dict(type="raw")),
            from_params=lambda params: normalize_command("command", params["command"]), default=None,
            read=lambda attrs: _argv(_config(attrs).get("Cmd")),
            from_image=lambda config: _argv(config.get("Cmd")),
            explicit=_explicit_command, effective=_effective_command, write=_container_kwarg("command")),
    Setting("entrypoint", dict(entrypoint=dict(type="raw")),
            from_params=lambda params: normalize_command("entrypoint", params["entrypoint"]), default=None,
            read=lambda attrs: _argv(_config(attrs).get("Entrypoint")),
            from_image=lambda config: _argv(config.get("Entrypoint")),
            explicit=_explicit_entrypoint, effective=_effective_entrypoint, write=_container_kwarg("entrypoint")),
    Setting("network", dict(network=dict(type="str")),
            from_params=_network_from_params, default=None,
            read=lambda attrs: network_from_engine(_host(attrs).get("NetworkMode")),
            explicit=lambda current, image: None if current["network"] == "bridge" else current["network"],
            effective=lambda explicit, image, slot: explicit["network"] or "bridge",
            write=_write_network),
    Setting("stop_timeout", dict(stop_timeout=dict(type="int")),
            from_params=_from_option("stop_timeout"), default=None,
            read=lambda attrs: _config(attrs).get("StopTimeout"),
            write=_container_kwarg("stop_timeout")),
    Setting("healthcheck", dict(healthcheck=dict(type="dict", options=HEALTHCHECK_OPTIONS)),
            from_params=lambda params: normalize_healthcheck(params["healthcheck"]), default=None,
            read=lambda attrs: healthcheck_from_engine(_config(attrs).get("Healthcheck")),
            from_image=lambda config: healthcheck_from_engine(config.get("Healthcheck")),
            explicit=_explicit_healthcheck, effective=_effective_healthcheck, write=_write_healthcheck),
    _list_setting("volumes_from", parse_volumes_from,
                  lambda attrs: volumes_from_engine(_host(attrs).get("VolumesFrom")), _write_volumes_from),
    _list_setting("links", parse_links,
                  lambda attrs: links_from_engine(list(_host(attrs).get("Links") or []) + _endpoint_links(attrs)),
                  _write_links),
    Setting("hostname", dict(hostname=dict(type="str")),
            from_params=lambda params: normalize_hostname(params["hostname"]), default=None,
            read=hostname_from_engine,
            write=_write_hostname),
)
RUN_KEYS = tuple(setting.name for setting in SETTINGS)


def setting_options():
    """The module options of every setting (a fresh argument spec each call)."""
    options = {}
    for setting in SETTINGS:
        options.update(copy.deepcopy(setting.options))
    return options


# ------------------------------------------------------ the forms, each one walk over the table

def explicit_from_params(params):
    """The settings the task gives, normalised: {setting: value}; a setting the task leaves to the slot is absent
    (an option given as an empty string or list counts as given)."""
    return dict((s.name, s.from_params(params)) for s in SETTINGS if s.given(params))


def first_deploy_config(restart_policy=DEFAULT_RESTART_POLICY):
    """The explicit config of a slot that has no container yet."""
    config = dict((s.name, copy.deepcopy(s.default)) for s in SETTINGS)
    config["restart_policy"] = restart_policy
    return config


def merge_config(requested, carried, restart_policy=DEFAULT_RESTART_POLICY):
    """Desired explicit config: what the task sets wins, the rest comes from the slot.

    ``carried`` is the explicit config of the container now in the slot, or None
    on the first deploy (then unset keys take their defaults: nothing extra,
    restart policy ``restart_policy``). A list or dict option given in the task
    replaces the slot's whole setting (env: {} drops every carried variable);
    command or entrypoint given as an empty list go back to the image's.
    """
    base = carried or first_deploy_config(restart_policy)
    desired = {}
    for setting in SETTINGS:
        desired[setting.name] = setting.merge(setting, requested, base, desired)
    return desired


def effective_from_container(attrs):
    """What an existing container runs with, in effective form."""
    return dict((s.name, s.read(attrs)) for s in SETTINGS)


def image_defaults(image_config):
    """The settings a container inherits from its image's Config (None for those the image has no say in)."""
    config = image_config or {}
    return dict((s.name, s.from_image(config) if s.image_default_applies else None) for s in SETTINGS)


def explicit_from_container(attrs, image_config):
    """The slot's own config: the container's settings minus what its image provides.

    ``image_config`` is the Config of the image the container was created from.
    Only env variables and labels whose value differs from that image's are
    kept, and command/entrypoint/healthcheck only when they differ from the
    image's, so the next image's defaults (a new ENV value, a new CMD) apply.
    """
    current = effective_from_container(attrs)
    image = image_defaults(image_config)
    return dict((s.name, s.explicit(current, image)) for s in SETTINGS)


def effective_config(explicit, image_config, slot):
    """What a container created from ``explicit`` on this image would show."""
    image = image_defaults(image_config)
    return dict((s.name, s.effective(explicit, image, slot)) for s in SETTINGS)


def config_differences(desired, current):
    """Names of the settings whose effective values differ."""
    return [s.name for s in SETTINGS if not s.compare(desired.get(s.name), current.get(s.name))]


def create_labels(explicit_labels, slot, ref):
    labels = dict(explicit_labels)
    labels.update({LABEL_MANAGED: "true", LABEL_SLOT: slot, LABEL_IMAGE: ref})
    return labels


def create_arguments(explicit):
    """The create call for an explicit config (labels included as they are to be set): ``container`` (keyword
    arguments of the create call), ``host`` (of the host config), ``network`` (a user-defined network to join,
    or None) and ``endpoint_links`` (the links on that network's endpoint)."""
    create = dict(container={}, host={}, network=None, endpoint_links=None)
    for setting in SETTINGS:
        setting.write(explicit.get(setting.name), explicit, create)
    return create

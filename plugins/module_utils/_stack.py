# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The stack spec: parsing, validation, interpolation and expansion (no I/O here).

A stack document is either the OpsWorks-style stack JSON::

    {"logrotate": {"forwarder": "logspout0"},
     "deploy": {"my app": {"data_volumes": [...], "containers": [...]}},
     "docker": {"registries": {"quay.io": {"username": ..., "password": ...}}}}

or one application's part of it (a mapping with ``containers`` and optionally
``data_volumes``). ``data_volumes`` and ``containers`` are lists of one-key
mappings (a list item may hold several keys, taken in order) or plain
mappings (taken in order).

``normalize_stack`` validates everything and returns one plain form; every
error names the path of the bad value, e.g.
``containers[2].sidekiq.env_from: 'app2' is not a container in this stack``.
``expand_containers`` turns the normalised entries into the containers one
host runs (replicas, interpolated command and hostname, merged env).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError
from ansible_collections.baton.docker.plugins.module_utils._image_ref import ImageRef
from ansible_collections.baton.docker.plugins.module_utils._params import (
    DEFAULT_RESTART_POLICY,
    DEFAULT_STOP_TIMEOUT,
    LABEL_BACKEND,
    LABEL_ENTRY,
    LABEL_KIND,
    LABEL_REPLICA,
    LABEL_SERVER,
    LABEL_STACK,
    RESTART_POLICIES,
    ParamError,
)

DEPLOY_MODES = ("auto", "manual", "cron")
ENTRY_KEYS = (
    "deploy", "image", "tag", "containers", "startup_time", "database", "env", "env_from", "volumes",
    "volumes_from", "links", "ports", "entrypoint", "command", "hostname", "migration", "notifications",
    "cron", "haproxy", "secret_env", "stop_timeout", "healthcheck", "restart", "labels", "network",
)
CRON_FIELDS = ("minute", "hour", "day", "month", "weekday")
CRON_RANGES = {"minute": (0, 59), "hour": (0, 23), "day": (1, 31), "month": (1, 12), "weekday": (0, 7)}
CRON_NAMES = {
    "month": ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    "weekday": ("sun", "mon", "tue", "wed", "thu", "fri", "sat"),
}
DB_KEYS = ("adapter", "database", "host", "password", "port", "reconnect", "username")
DEFAULT_STARTUP_TIME = 60
INTERPOLATIONS = ("app_name", "opsworks", "public_ip")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ENV_KEY = re.compile(r"^[^=\s]+$")
_PLACEHOLDER = re.compile(r"%\{([^}]*)\}")
_HOST_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_CRON_ITEM = re.compile(r"^(\*|[0-9a-z]+(-[0-9a-z]+)?)(/[0-9]+)?$")


class StackError(BatonError, ValueError):
    """A stack spec that cannot be deployed; the message starts with the path of the bad value."""


def _fail(path, message):
    raise StackError("%s: %s" % (path, message) if path else message)


def _type_name(value):
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if value is None:
        return "null"
    return "a %s" % type(value).__name__


def _mapping(path, value):
    if not isinstance(value, dict):
        _fail(path, "must be a mapping, not %s" % _type_name(value))
    for key in value:
        if not isinstance(key, str):
            _fail(path, "keys must be strings, not %s (%r)" % (_type_name(key), key))
    return value


def _string(path, value, allow_empty=False):
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        _fail(path, "must be a string, not %s" % _type_name(value))
    text = value if isinstance(value, str) else str(value)
    if not allow_empty and not text.strip():
        _fail(path, "must not be empty")
    return text


def _strings(path, value):
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        _fail(path, "must be a list of strings, not %s" % _type_name(value))
    return [_string("%s[%d]" % (path, i), item) for i, item in enumerate(value)]


def _number(path, value, minimum, integer=False):
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        _fail(path, "must be a number, not %s" % _type_name(value))
    try:
        number = int(value) if integer else float(value)
    except ValueError:
        _fail(path, "must be %s, not %r" % ("a whole number" if integer else "a number", value))
    if integer and isinstance(value, float) and value != int(value):
        _fail(path, "must be a whole number, not %r" % value)
    if number < minimum:
        _fail(path, "must be at least %s (got %s)" % (minimum, value))
    return number


def _bool(path, value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "false", "no"):
        return value.lower() in ("true", "yes")
    _fail(path, "must be true or false, not %r" % (value,))


def env_value(value):
    """How a scalar becomes an environment value (booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def _env(path, value):
    result = {}
    for key, item in _mapping(path, value).items():
        if not _ENV_KEY.match(key):
            _fail("%s.%s" % (path, key), "is not a valid environment variable name")
        if isinstance(item, (dict, list, tuple)):
            _fail("%s.%s" % (path, key), "must be a scalar value, not %s" % _type_name(item))
        result[key] = env_value(item)
    return result


def _command(path, value):
    if isinstance(value, str):
        if not value.strip():
            _fail(path, "must not be empty")
        return value
    return _strings(path, value)


def slugify(name):
    """A stack name as used in labels and file names: lowercase, runs of other characters as '-'."""
    slug = re.sub(r"[^a-z0-9_.]+", "-", name.lower()).strip("-.")
    return slug or "stack"


def _ordered_items(path, value, what):
    """Items of a list of (one-key) mappings or of a mapping, in order, with their paths."""
    items = []
    if isinstance(value, dict):
        for index, (key, item) in enumerate(_mapping(path, value).items()):
            items.append(("%s[%d].%s" % (path, index, key), key, item))
        return items
    if not isinstance(value, (list, tuple)):
        _fail(path, "must be a list of one-key mappings or a mapping of %s, not %s" % (what, _type_name(value)))
    position = 0
    for index, element in enumerate(value):
        element_path = "%s[%d]" % (path, index)
        if not isinstance(element, dict) or not element:
            _fail(element_path, "must be a mapping of a %s name to its settings, not %s"
                  % (what, "an empty mapping" if isinstance(element, dict) else _type_name(element)))
        for key, item in _mapping(element_path, element).items():
            items.append(("%s[%d].%s" % (path, position, key), key, item))
            position += 1
    return items


def _name(path, name, what):
    if not _NAME.match(name):
        _fail(path, "%r is not a valid %s name (letters, digits, '_', '.', '-'; starting with a letter or digit)"
              % (name, what))
    return name


# ------------------------------------------------------------------ parsing

def select_app(document, app=None):
    """(app name, app spec, document) from a whole stack document or one application's part."""
    document = _mapping("stack", document)
    if "deploy" not in document:
        if "containers" not in document:
            _fail("stack", "has neither 'deploy' (a stack document) nor 'containers' (one application)")
        return app or "stack", document, {}
    apps = _mapping("deploy", document["deploy"])
    if not apps:
        _fail("deploy", "names no application")
    if app is None:
        if len(apps) > 1:
            _fail("deploy", "holds several applications (%s); choose one" % ", ".join(sorted(apps)))
        app = next(iter(apps))
    elif app not in apps:
        _fail("deploy", "has no application %r (it has %s)" % (app, ", ".join(sorted(apps))))
    return app, _mapping("deploy.%s" % app, apps[app]), document


def _data_volumes(value):
    volumes = []
    seen = set()
    for path, name, item in _ordered_items("data_volumes", value, "data volume"):
        _name(path, name, "data volume")
        if name in seen:
            _fail(path, "data volume %r is defined twice" % name)
        seen.add(name)
        item = {} if item is None else _mapping(path, item)
        unknown = sorted(set(item) - {"volumes", "image"})
        if unknown:
            _fail(path, "unknown key(s) %s (a data volume has volumes and image)" % ", ".join(unknown))
        paths = _strings(path + ".volumes", item.get("volumes", []))
        for i, mount in enumerate(paths):
            if not mount.startswith("/"):
                _fail("%s.volumes[%d]" % (path, i), "%r is not an absolute container path" % mount)
        if len(set(paths)) != len(paths):
            _fail(path + ".volumes", "lists a path twice")
        entry = dict(name=name, volumes=paths, kind="container" if paths else "volume")
        if "image" in item:
            entry["image"] = _string(path + ".image", item["image"])
        volumes.append(entry)
    return volumes


def _cron(path, value):
    value = _mapping(path, value)
    unknown = sorted(set(value) - set(CRON_FIELDS))
    if unknown:
        _fail(path, "unknown key(s) %s (a schedule has %s)" % (", ".join(unknown), ", ".join(CRON_FIELDS)))
    schedule = {}
    for field in CRON_FIELDS:
        text = _string("%s.%s" % (path, field), value.get(field, "*")).strip().lower()
        for part in text.split(","):
            _cron_part("%s.%s" % (path, field), field, part, text)
        schedule[field] = text
    return schedule


def _cron_part(path, field, part, text):
    match = _CRON_ITEM.match(part)
    if not match:
        _fail(path, "%r is not a cron field (numbers, ranges a-b, lists a,b, steps */n)" % text)
    low, high = CRON_RANGES[field]
    names = CRON_NAMES.get(field, ())
    base = match.group(1)
    if base == "*":
        return
    for bound in base.split("-"):
        if bound.isdigit():
            if not low <= int(bound) <= high:
                _fail(path, "%s is out of range %d-%d in %r" % (bound, low, high, text))
        elif bound not in names:
            _fail(path, "%r is not a valid %s in %r" % (bound, field, text))


def _haproxy(path, value):
    value = _mapping(path, value)
    unknown = sorted(set(value) - {"backend", "server"})
    if unknown:
        _fail(path, "unknown key(s) %s (haproxy has backend and server)" % ", ".join(unknown))
    if "backend" not in value:
        _fail(path, "needs a backend (the HAProxy backend that balances this entry's containers)")
    return dict(backend=_string(path + ".backend", value["backend"]),
                server=_string(path + ".server", value.get("server", "%{app_name}")))


def _rollbar(path, value):
    value = _mapping(path, value)
    unknown = sorted(set(value) - {"access_token", "env_var", "rev_var", "environment"})
    if unknown:
        _fail(path, "unknown key(s) %s" % ", ".join(unknown))
    return dict(access_token=_string(path + ".access_token", value.get("access_token", ""), allow_empty=True),
                env_var=_string(path + ".env_var", value.get("env_var", "RACK_ENV")),
                rev_var=_string(path + ".rev_var", value.get("rev_var", "GIT_REVISION")),
                environment=_string(path + ".environment", value["environment"]) if "environment" in value else None)


def _healthcheck(path, value):
    value = _mapping(path, value)
    unknown = sorted(set(value) - {"test", "interval", "timeout", "retries", "start_period"})
    if unknown:
        _fail(path, "unknown key(s) %s" % ", ".join(unknown))
    check = {}
    if "test" in value:
        check["test"] = _command(path + ".test", value["test"])
    for key in ("interval", "timeout", "start_period"):
        if key in value:
            check[key] = _number("%s.%s" % (path, key), value[key], 0)
    if "retries" in value:
        check["retries"] = _number(path + ".retries", value["retries"], 1, integer=True)
    return check


def _entry(path, name, spec):
    _name(path, name, "container")
    spec = _mapping(path, spec)
    unknown = sorted(set(spec) - set(ENTRY_KEYS))
    if unknown:
        _fail(path, "unknown key(s) %s" % ", ".join(unknown))

    def at(key):
        return "%s.%s" % (path, key)

    deploy = spec.get("deploy")
    if deploy is not None and deploy not in DEPLOY_MODES:
        _fail(at("deploy"), "unknown deploy mode %r (expected %s)" % (deploy, ", ".join(DEPLOY_MODES)))
    if "image" not in spec:
        _fail(path, "needs an image")
    image = _string(at("image"), spec["image"]).strip()
    if any(c.isspace() for c in image):
        _fail(at("image"), "%r contains white space" % image)
    tag = _string(at("tag"), spec["tag"]).strip() if spec.get("tag") is not None else None
    entry = dict(
        name=name,
        deploy=deploy,
        image=image_with_tag(at("image"), image, tag),
        count=_number(at("containers"), spec.get("containers", 1), 1, integer=True),
        startup_time=_number(at("startup_time"), spec.get("startup_time", DEFAULT_STARTUP_TIME), 1),
        database=_bool(at("database"), spec.get("database", False)),
        env=_env(at("env"), spec.get("env") or {}),
        secret_env=_env(at("secret_env"), spec.get("secret_env") or {}),
        env_from=_string(at("env_from"), spec["env_from"]) if spec.get("env_from") is not None else None,
        volumes=_strings(at("volumes"), spec.get("volumes") or []),
        volumes_from=_strings(at("volumes_from"), spec.get("volumes_from") or []),
        links=_strings(at("links"), spec.get("links") or []),
        ports=_strings(at("ports"), spec.get("ports") or []),
        entrypoint=_command(at("entrypoint"), spec["entrypoint"]) if spec.get("entrypoint") is not None else None,
        command=_command(at("command"), spec["command"]) if spec.get("command") is not None else None,
        hostname=_string(at("hostname"), spec["hostname"]) if spec.get("hostname") is not None else None,
        migration=_command(at("migration"), spec["migration"]) if spec.get("migration") is not None else None,
        rollbar=None,
        cron=None,
        haproxy=_haproxy(at("haproxy"), spec["haproxy"]) if spec.get("haproxy") is not None else None,
        stop_timeout=_number(at("stop_timeout"), spec.get("stop_timeout", DEFAULT_STOP_TIMEOUT), 0, integer=True),
        healthcheck=_healthcheck(at("healthcheck"), spec["healthcheck"]) if spec.get("healthcheck") is not None else None,
        restart=_string(at("restart"), spec.get("restart", DEFAULT_RESTART_POLICY)),
        labels=_env(at("labels"), spec.get("labels") or {}),
        network=_string(at("network"), spec["network"]) if spec.get("network") is not None else None,
    )
    both = sorted(set(entry["env"]) & set(entry["secret_env"]))
    if both:
        _fail(at("secret_env"), "%s also set in env; set each variable once" % ", ".join(both))
    if entry["restart"] not in RESTART_POLICIES:
        _fail(at("restart"), "%r is not a restart policy (%s)" % (entry["restart"], ", ".join(RESTART_POLICIES)))
    if any(key.startswith("baton.") for key in entry["labels"]):
        _fail(at("labels"), "labels starting with 'baton.' are set by the deploy itself")
    notifications = spec.get("notifications")
    if notifications is not None:
        notifications = _mapping(at("notifications"), notifications)
        unknown = sorted(set(notifications) - {"rollbar"})
        if unknown:
            _fail(at("notifications"), "unknown notification(s) %s (rollbar is supported; "
                                       "use the deploy role's webhook for others)" % ", ".join(unknown))
        if notifications.get("rollbar") is not None:
            entry["rollbar"] = _rollbar(at("notifications.rollbar"), notifications["rollbar"])
    if deploy == "cron":
        if spec.get("cron") is None:
            _fail(at("cron"), "a deploy: cron entry needs a schedule (minute, hour, day, month, weekday)")
        entry["cron"] = _cron(at("cron"), spec["cron"])
        if entry["count"] != 1:
            _fail(at("containers"), "a cron entry runs one container per schedule; containers must be 1")
        for key in ("ports", "haproxy", "migration"):
            if spec.get(key):
                _fail(at(key), "does not apply to a deploy: cron entry")
    elif spec.get("cron") is not None:
        _fail(at("cron"), "a schedule needs deploy: cron")
    if entry["haproxy"] and deploy == "manual":
        _fail(at("haproxy"), "a manual entry is never replaced by a deploy; drop haproxy or use deploy: auto")
    if entry["migration"] is not None and deploy not in (None, "auto"):
        _fail(at("migration"), "only an auto entry runs a migration (deploy is %s)" % deploy)
    for key in ("command", "hostname"):
        _check_placeholders(at(key), entry[key])
    if entry["haproxy"]:
        _check_placeholders(at("haproxy.server"), entry["haproxy"]["server"])
    return entry


def image_with_tag(path, image, tag):
    """``image:tag``; the tag defaults to latest unless the image already names a tag or digest."""
    try:
        written = ImageRef.parse(image, default_tag=None)
    except ParamError as exc:
        _fail(path, str(exc).split(": ", 1)[1])
    has_tag = written.tag is not None or written.digest is not None
    if tag is not None:
        if has_tag:
            _fail(path, "%r already names a tag or digest and tag is %r; set one of them" % (image, tag))
        return "%s:%s" % (image, tag)
    return image if has_tag else image + ":latest"


def _check_placeholders(path, value):
    texts = value if isinstance(value, list) else [value] if value is not None else []
    for text in texts:
        for name in _PLACEHOLDER.findall(text):
            if name not in INTERPOLATIONS:
                _fail(path, "unknown placeholder %%{%s} (known: %s)"
                      % (name, ", ".join("%%{%s}" % n for n in INTERPOLATIONS)))


def normalize_stack(document, app=None):
    """Validate a stack document (or one application's part) and return its plain form."""
    name, spec, whole = select_app(document, app)
    unknown = sorted(set(spec) - {"data_volumes", "containers"})
    if unknown:
        _fail("stack", "unknown key(s) %s (an application has data_volumes and containers)" % ", ".join(unknown))
    data_volumes = _data_volumes(spec.get("data_volumes") or [])
    entries = []
    seen = {}
    if not spec.get("containers"):
        _fail("containers", "lists no container")
    for path, entry_name, item in _ordered_items("containers", spec["containers"], "container"):
        if entry_name in seen:
            _fail(path, "container %r is defined twice (first at %s)" % (entry_name, seen[entry_name]))
        seen[entry_name] = path
        entry = _entry(path, entry_name, item)
        entry["path"] = path
        entries.append(entry)
    _check_references(data_volumes, entries)
    registries = _registries(whole.get("docker"))
    logrotate = _mapping("logrotate", whole.get("logrotate") or {})
    forwarder = logrotate.get("forwarder") or ""
    if forwarder:
        _name("logrotate.forwarder", _string("logrotate.forwarder", forwarder), "container")
    return dict(name=name, slug=slugify(name), data_volumes=data_volumes, containers=entries,
                registries=registries, logrotate=dict(forwarder=forwarder))


def _registries(docker):
    if docker is None:
        return {}
    docker = _mapping("docker", docker)
    registries = _mapping("docker.registries", docker.get("registries") or {})
    for registry, creds in registries.items():
        _mapping("docker.registries.%s" % registry, creds if creds is not None else {})
    return dict(registries)


def replica_names(entry):
    return ["%s%d" % (entry["name"], index) for index in range(entry["count"])]


def _check_references(data_volumes, entries):
    by_name = dict((entry["name"], entry) for entry in entries)
    volume_kinds = dict((volume["name"], volume["kind"]) for volume in data_volumes)
    containers = {}
    for entry in entries:
        for replica in replica_names(entry):
            containers[replica] = entry["name"]
    for name in volume_kinds:
        if name in containers:
            _fail("data_volumes", "%r is both a data volume and a container of entry %s" % (name, containers[name]))
    for entry in entries:
        path = entry["path"]
        if entry["env_from"] is not None and entry["env_from"] not in by_name:
            _fail(path + ".env_from", "%r is not a container in this stack" % entry["env_from"])
        for i, source in enumerate(entry["volumes_from"]):
            target = source.rsplit(":", 1)[0] if source.endswith((":ro", ":rw")) else source
            where = "%s.volumes_from[%d]" % (path, i)
            if volume_kinds.get(target) == "volume":
                _fail(where, "%r is a named volume; mount it with volumes: ['%s:/path']" % (target, target))
            if target in by_name and target not in containers:
                _fail(where, "%r is an entry; name one of its containers (%s)"
                      % (target, ", ".join(replica_names(by_name[target]))))
            if target not in volume_kinds and target not in containers:
                _fail(where, "%r is not a data volume or container in this stack (data volumes: %s)"
                      % (target, ", ".join(sorted(volume_kinds)) or "none"))
            if containers.get(target) == entry["name"]:
                _fail(where, "%r is a container of this same entry" % target)
        for i, link in enumerate(entry["links"]):
            target = link.split(":", 1)[0]
            if target in by_name and target not in containers:
                _fail("%s.links[%d]" % (path, i), "%r is an entry; link one of its containers (%s)"
                      % (target, ", ".join(replica_names(by_name[target]))))
    for entry in entries:
        _env_chain(entry, by_name)


def _env_chain(entry, by_name):
    chain = [entry["name"]]
    current = entry
    while current["env_from"] is not None:
        nxt = current["env_from"]
        if nxt in chain:
            _fail(entry["path"] + ".env_from", "env_from cycle: %s" % " -> ".join(chain + [nxt]))
        chain.append(nxt)
        current = by_name[nxt]
    return chain


def merged_env(entry, entries, key="env"):
    """An entry's env (or secret_env) with env_from applied along the chain; own keys win."""
    by_name = dict((e["name"], e) for e in entries)
    chain = _env_chain(entry, by_name)
    env = {}
    for name in reversed(chain):
        env.update(by_name[name][key])
    return env


def database_env(database):
    """DB_* variables from the application's data source."""
    database = _mapping("database", database or {})
    unknown = sorted(set(database) - set(DB_KEYS))
    if unknown:
        _fail("database", "unknown key(s) %s (known: %s)" % (", ".join(unknown), ", ".join(DB_KEYS)))
    env = dict(("DB_%s" % key.upper(), env_value(database[key])) for key in DB_KEYS if key in database)
    env.setdefault("DB_RECONNECT", "true")
    return env


# ------------------------------------------------------------------ expansion

def interpolate(path, text, values):
    def replace(match):
        name = match.group(1)
        if name not in values:
            _fail(path, "unknown placeholder %%{%s}" % name)
        if values[name] is None:
            _fail(path, "%%{%s} has no value on this host" % name)
        return values[name]
    return _PLACEHOLDER.sub(replace, text)


def opsworks_name(stack_name, host):
    """The %{opsworks} hostname: stack name and host name, lowercased, spaces as '-'."""
    return ("%s-%s" % (stack_name, host)).lower().replace(" ", "-")


def check_hostname(path, hostname):
    if len(hostname) > 253:
        _fail(path, "%r is longer than 253 characters" % hostname)
    for label in hostname.split("."):
        if not _HOST_LABEL.match(label):
            _fail(path, "%r is not a valid hostname (labels of a-z, 0-9 and '-', 1-63 characters)" % hostname)


def kind_of(entry, redeploy=()):
    """What a deploy does with an entry: http, worker, manual, service or cron."""
    deploy = entry["deploy"]
    if deploy == "manual" and entry["name"] in redeploy:
        deploy = "auto"
    if deploy == "cron":
        return "cron"
    if deploy == "manual":
        return "manual"
    if entry["haproxy"]:
        return "http"
    return "service" if deploy is None else "worker"


def check_redeploy(stack, redeploy):
    """The deploy-time list of manual entries to redeploy as auto."""
    names = _strings("redeploy", redeploy or [])
    by_name = dict((e["name"], e) for e in stack["containers"])
    for i, name in enumerate(names):
        if name not in by_name:
            _fail("redeploy[%d]" % i, "%r is not a container in this stack" % name)
        if by_name[name]["deploy"] != "manual":
            _fail("redeploy[%d]" % i, "%r is not a manual entry (its deploy is %s); it is deployed anyway"
                  % (name, by_name[name]["deploy"] or "unset"))
    return names


def expand_containers(stack, host, public_ip=None, stack_name=None, database=None, redeploy=None, prefix=""):
    """The containers one host runs, in order, with their final names and settings.

    Secret values (secret_env, the DB_* variables) are not included: each item
    says where they come from (``database``, ``secret_keys``), so lists of
    containers can be shown without leaking them; see ``secret_envs``.
    """
    redeploy = check_redeploy(stack, redeploy)
    _string("host", host)
    entries = stack["containers"]
    db_keys = sorted(database_env(database)) if database else []
    result = []
    for entry in entries:
        kind = kind_of(entry, redeploy)
        if entry["database"] and not database:
            _fail(entry["path"] + ".database", "is true but no database is configured for the stack")
        for index, replica in enumerate(replica_names(entry)):
            name = prefix + replica
            values = dict(app_name=name, opsworks=opsworks_name(stack_name or stack["name"], host),
                          public_ip=public_ip)
            command = entry["command"]
            if isinstance(command, list):
                command = [interpolate(entry["path"] + ".command", part, values) for part in command]
            elif command is not None:
                command = interpolate(entry["path"] + ".command", command, values)
            if entry["hostname"] is not None:
                hostname = interpolate(entry["path"] + ".hostname", entry["hostname"], values)
            else:
                hostname = "%s.%s" % (name, host.lower().replace(" ", "-"))
            check_hostname(entry["path"] + ".hostname", hostname)
            env = merged_env(entry, entries)
            secret_keys = sorted(set(merged_env(entry, entries, "secret_env")) | set(db_keys if entry["database"] else []))
            labels = dict(entry["labels"])
            labels.update({LABEL_STACK: stack["slug"], LABEL_ENTRY: entry["name"], LABEL_REPLICA: str(index),
                           LABEL_KIND: kind_of(entry)})
            server = None
            if entry["haproxy"]:
                server = interpolate(entry["path"] + ".haproxy.server", entry["haproxy"]["server"], values)
                labels.update({LABEL_BACKEND: entry["haproxy"]["backend"], LABEL_SERVER: server})
            item = dict(
                name=name, entry=entry["name"], index=index, kind=kind, image=entry["image"],
                env=dict((k, v) for k, v in env.items() if k not in secret_keys),
                secret_keys=secret_keys, database=entry["database"],
                volumes=list(entry["volumes"]),
                volumes_from=[prefix + v if _is_stack_container(v, stack) else v for v in entry["volumes_from"]],
                links=[prefix + v if _is_stack_container(v.split(":", 1)[0], stack) else v for v in entry["links"]],
                ports=list(entry["ports"]), entrypoint=entry["entrypoint"], command=command, hostname=hostname,
                stop_timeout=entry["stop_timeout"], startup_time=entry["startup_time"],
                healthcheck=entry["healthcheck"], restart="no" if kind == "cron" else entry["restart"],
                labels=labels, network=entry["network"],
                haproxy=None if server is None else dict(backend=entry["haproxy"]["backend"], server=server),
                cron=entry["cron"],
            )
            result.append(item)
    return result


def rollout_units(containers, secret_env=None, health_interval=0.5):
    """baton.docker.rollout's units for the containers of ``expand_containers``, in order: the stack's rules per kind.

    Replicas behind HAProxy are units with a server (drained, swapped, back UP); workers, cron templates (created,
    never started) and manual or service entries (never updated once they exist) are units without one. A unit's
    health wait is bounded by its entry's startup_time. ``secret_env``: per entry name, as ``secret_envs`` gives it.
    """
    if not health_interval or health_interval <= 0:
        _fail("health_interval", "must be a positive number of seconds, got %r" % (health_interval,))
    units = []
    for item in containers:
        kind = item["kind"]
        container = dict(
            image=item["image"], state="created" if kind == "cron" else "started",
            update=kind not in ("manual", "service"), env=item["env"], volumes=item["volumes"],
            volumes_from=item["volumes_from"], links=item["links"], ports=item["ports"],
            entrypoint=item["entrypoint"] if item["entrypoint"] is not None else [],
            command=item["command"] if item["command"] is not None else [],
            hostname=item["hostname"], labels=item["labels"], restart_policy=item["restart"],
            stop_timeout=item["stop_timeout"], healthcheck=item["healthcheck"] or {},
            health=dict(interval=health_interval,
                        retries=max(1, int(-(-float(item["startup_time"]) // health_interval)))),
        )
        if item["network"]:
            container["network"] = item["network"]
        unit = dict(name=item["name"], container=container, secret_env=dict((secret_env or {}).get(item["entry"]) or {}))
        if item["haproxy"]:
            unit.update(server=item["haproxy"]["server"], backend=item["haproxy"]["backend"])
        units.append(unit)
    return units


def _is_stack_container(name, stack):
    name = name.rsplit(":", 1)[0] if name.endswith((":ro", ":rw")) else name
    for entry in stack["containers"]:
        if name in replica_names(entry):
            return True
    return False


def secret_envs(stack, database=None):
    """Secret env per entry name: its secret_env (with env_from) and, with database: true, the DB_* set."""
    db = database_env(database) if database else {}
    result = {}
    for entry in stack["containers"]:
        env = merged_env(entry, stack["containers"], "secret_env")
        if entry["database"]:
            env.update(db)
        result[entry["name"]] = env
    return result


def _field_values(field, text):
    """Every value a cron field matches, sorted (names as numbers; weekday 7 as 0)."""
    low, high = CRON_RANGES[field]
    names = CRON_NAMES.get(field, ())
    offset = 1 if field == "month" else 0

    def number(token):
        return int(token) if token.isdigit() else names.index(token) + offset

    values = set()
    for part in text.split(","):
        base, _slash, step = part.partition("/")
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first, last = [number(t) for t in base.split("-", 1)]
        else:
            first = number(base)
            last = high if step else first
        values.update(range(first, last + 1, int(step) if step else 1))
    if field == "weekday" and 7 in values:
        values.discard(7)
        values.add(0)
    return sorted(values)


def systemd_calendar(schedule):
    """OnCalendar= expressions (one or two) of a cron schedule, matching the same minutes.

    When both day and weekday are restricted cron runs on either, so that gives
    two expressions (a timer runs on the union of its OnCalendar= lines).
    """
    parts = {}
    for field in CRON_FIELDS:
        text = schedule[field]
        parts[field] = "*" if text == "*" else _field_values(field, text)
    days = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")

    def join(values, width=2):
        return "*" if values == "*" else ",".join("%0*d" % (width, v) for v in values)

    def expression(weekday, day):
        when = "*-%s-%s %s:%s:00" % (join(parts["month"]), join(day), join(parts["hour"]), join(parts["minute"]))
        return when if weekday == "*" else "%s %s" % (",".join(days[v] for v in weekday), when)

    if parts["weekday"] != "*" and parts["day"] != "*":
        return [expression(parts["weekday"], "*"), expression("*", parts["day"])]
    return [expression(parts["weekday"], parts["day"])]


# ---------------------------------------------------------------- the schedule of cron entries (files, pure)

MANAGED = "# Managed by baton.docker (stack_cron): changes made here are overwritten by the next deploy."


def cron_runs(containers):
    """The cron templates among a host's containers (``expand_containers``), in order."""
    return [item for item in containers if item.get("kind") == "cron"]


def runner_command(python, runner, timeout, name):
    return "%s %s --timeout %d %s" % (python, runner, int(timeout), name)


def cron_file_text(title, slug, crons, python, runner, timeout, log_dir):
    """The /etc/cron.d file of a stack: one line per cron template, run as root, output appended to its log."""
    lines = [MANAGED,
             "# Cron entries of the stack %s: each runs a fresh container from its template container (%s), which"
             % (title, runner),
             "# is removed after the run.",
             "SHELL=/bin/sh",
             "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    for cron in crons:
        schedule = cron["cron"]
        lines.append("# %s (%s)" % (cron["entry"], cron["image"]))
        lines.append("%s root %s >>%s/%s-%s.log 2>&1" % (
            " ".join(str(schedule[field]) for field in CRON_FIELDS), runner_command(python, runner, timeout, cron["name"]),
            log_dir.rstrip("/"), slug, cron["name"]))
    return "\n".join(lines) + "\n"


def systemd_unit_name(slug, cron):
    return "baton-%s-%s" % (slug, cron["name"])


def cron_service_text(title, cron, python, runner, timeout):
    return "\n".join([
        MANAGED, "[Unit]",
        "Description=Cron entry %s of the stack %s (%s)" % (cron["entry"], title, cron["image"]),
        "Requires=docker.service", "After=docker.service", "",
        "[Service]", "Type=oneshot", "ExecStart=%s" % runner_command(python, runner, timeout, cron["name"]), ""])


def cron_timer_text(title, cron):
    return "\n".join(
        [MANAGED, "[Unit]", "Description=Schedule of the cron entry %s of the stack %s" % (cron["entry"], title), "",
         "[Timer]"] + ["OnCalendar=%s" % calendar for calendar in systemd_calendar(cron["cron"])]
        + ["", "[Install]", "WantedBy=timers.target", ""])

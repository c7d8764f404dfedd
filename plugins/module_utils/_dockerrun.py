# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Dockerrun.aws.json for Elastic Beanstalk: validation, rendering, source bundle.

Everything here is pure: it takes the options of the eb_dockerrun module (a
dict, unset options None) or bytes, and returns data. Reading and writing
files is the module's business.

Field names follow the AWS Elastic Beanstalk documentation:

- version 1 (single container, Docker platform): AWSEBDockerrunVersion "1",
  Authentication {Bucket, Key}, Image {Name, Update}, Ports [{ContainerPort,
  HostPort}], Volumes [{HostDirectory, ContainerDirectory}], Logging,
  Entrypoint, Command.
- version 2 (multi-container, ECS managed Docker platform):
  AWSEBDockerrunVersion 2, authentication {bucket, key}, volumes [{name, host
  {sourcePath}}], containerDefinitions [{name, image, essential, memory,
  memoryReservation, entryPoint, command, environment [{name, value}],
  portMappings [{hostPort, containerPort}], links, volumesFrom
  [{sourceContainer}], mountPoints [{sourceVolume, containerPath,
  readOnly}]}].
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import io
import json
import re
import zipfile
from collections import OrderedDict

DOCKERRUN_NAME = "Dockerrun.aws.json"
# Elastic Beanstalk adds one log volume per container on the ECS platform,
# named after the container; mount points may use them without declaring them.
EB_LOG_VOLUME_PREFIX = "awseb-logs-"
# Zip entries get this timestamp, so the same content always gives the same bytes.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)

V1_ONLY = ("image", "ports", "logging", "entrypoint", "command")
V2_ONLY = ("containers",)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def _given(value):
    return value is not None and value != [] and value != {}


def _port_errors(where, port):
    errors = []
    for key in ("container_port", "host_port"):
        value = port.get(key)
        if value is not None and not 1 <= int(value) <= 65535:
            errors.append("%s.%s: %s is not a port number (1-65535)" % (where, key, value))
    return errors


def validate(params):
    """Every problem with the options, each naming the field; [] when valid."""
    version = int(params.get("version") or 1)
    errors = []
    if version == 1:
        errors += _validate_v1(params)
    else:
        errors += _validate_v2(params)
    auth = params.get("authentication")
    if auth is not None:
        for key in ("bucket", "key"):
            if not auth.get(key):
                errors.append("authentication.%s: must not be empty" % key)
    return errors


def _validate_v1(params):
    errors = []
    for name in V2_ONLY:
        if _given(params.get(name)):
            errors.append("%s: only used with version 2 (version 1 describes one container)" % name)
    image = params.get("image")
    ports = params.get("ports") or []
    if image is not None and not image.strip():
        errors.append("image: must not be empty")
    if image and not ports:
        errors.append("ports: version 1 needs at least one port when image is set "
                      "(Elastic Beanstalk proxies traffic to the first container port)")
    for index, port in enumerate(ports):
        errors += _port_errors("ports[%d]" % index, port)
    for index, volume in enumerate(params.get("volumes") or []):
        where = "volumes[%d]" % index
        if volume.get("name"):
            errors.append("%s.name: only used with version 2" % where)
        for key in ("host_path", "container_path"):
            if not volume.get(key):
                errors.append("%s.%s: version 1 volumes need host_path and container_path" % (where, key))
    return errors


def _check_container_references(errors, where, targets, names, own, itself):
    """Appends to ``errors`` for each of ``targets`` (container names, at ``where[index]``) that is not a container
    of this Dockerrun (``names``) or is the container ``own`` itself (a container cannot ``itself``)."""
    for index, target in enumerate(targets):
        at = "%s[%d]" % (where, index)
        if target not in names:
            errors.append("%s: %r is not a container in this Dockerrun" % (at, target))
        elif target == own:
            errors.append("%s: a container cannot %s" % (at, itself))


def _check_unique_name(errors, kind, index, name, seen, when_empty):
    """Appends to ``errors`` when ``kind[index]`` has no name or the name of an earlier entry (``seen``: name ->
    index, updated)."""
    where = "%s[%d].name" % (kind, index)
    if not name:
        errors.append("%s: %s" % (where, when_empty))
    elif name in seen:
        errors.append("%s: %r is already the name of %s[%d]" % (where, name, kind, seen[name]))
    else:
        seen[name] = index


def _validate_v2(params):
    errors = []
    for name in V1_ONLY:
        if _given(params.get(name)):
            hint = "; set containers[].%s instead" % name if name in ("image", "ports", "command", "entrypoint") else ""
            errors.append("%s: only used with version 1%s" % (name, hint))
    volumes = {}
    for index, volume in enumerate(params.get("volumes") or []):
        where = "volumes[%d]" % index
        if volume.get("container_path"):
            errors.append("%s.container_path: only used with version 1; mount the volume with "
                          "containers[].mount_points" % where)
        _check_unique_name(errors, "volumes", index, volume.get("name"), volumes, "version 2 volumes need a name")
        if not volume.get("host_path"):
            errors.append("%s.host_path: version 2 volumes need host_path" % where)

    containers = params.get("containers") or []
    if not containers:
        errors.append("containers: version 2 needs at least one container")
    names = {}
    for index, container in enumerate(containers):
        _check_unique_name(errors, "containers", index, container.get("name"), names, "must not be empty")

    host_ports = {}
    for index, container in enumerate(containers):
        where = "containers[%d]" % index
        own = container.get("name")
        if not (container.get("image") or "").strip():
            errors.append("%s.image: must not be empty" % where)
        memory, reservation = container.get("memory"), container.get("memory_reservation")
        if not memory and not reservation:
            errors.append("%s: set memory or memory_reservation (MiB); Elastic Beanstalk needs one of them" % where)
        for key, value in (("memory", memory), ("memory_reservation", reservation)):
            if value is not None and int(value) < 4:
                errors.append("%s.%s: %s MiB is below the 4 MiB Docker allows" % (where, key, value))
        if memory and reservation and int(reservation) > int(memory):
            errors.append("%s.memory_reservation: %s is more than memory (%s)" % (where, reservation, memory))
        for key in (container.get("env") or {}):
            if not _ENV_NAME.match(str(key)):
                errors.append("%s.env: %r is not a valid environment variable name" % (where, key))
        for pindex, port in enumerate(container.get("ports") or []):
            pwhere = "%s.ports[%d]" % (where, pindex)
            errors += _port_errors(pwhere, port)
            host = port.get("host_port")
            if host is not None:
                if host in host_ports:
                    errors.append("%s.host_port: %s is already used by %s" % (pwhere, host, host_ports[host]))
                else:
                    host_ports[host] = pwhere
        links = [str(link).split(":", 1)[0] for link in container.get("links") or []]
        _check_container_references(errors, "%s.links" % where, links, names, own, "link to itself")
        _check_container_references(errors, "%s.volumes_from" % where, container.get("volumes_from") or [], names,
                                    own, "take volumes from itself")
        for mindex, mount in enumerate(container.get("mount_points") or []):
            mwhere = "%s.mount_points[%d]" % (where, mindex)
            volume = mount.get("source_volume")
            if not volume:
                errors.append("%s.source_volume: must not be empty" % mwhere)
            elif volume not in volumes and not volume.startswith(EB_LOG_VOLUME_PREFIX):
                errors.append("%s.source_volume: %r is not declared in volumes" % (mwhere, volume))
            if not mount.get("container_path"):
                errors.append("%s.container_path: must not be empty" % mwhere)
    return errors


def env_value(value):
    """Environment values are strings; YAML booleans become true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "%s" % (value,)


def render(params):
    """The Dockerrun document (an OrderedDict in the documented field order)."""
    if int(params.get("version") or 1) == 1:
        return _render_v1(params)
    return _render_v2(params)


def _render_v1(params):
    doc = OrderedDict()
    doc["AWSEBDockerrunVersion"] = "1"
    auth = params.get("authentication")
    if auth:
        doc["Authentication"] = OrderedDict([("Bucket", auth["bucket"]), ("Key", auth["key"])])
    if params.get("image"):
        update = params.get("image_update")
        doc["Image"] = OrderedDict([("Name", params["image"]),
                                    ("Update", "false" if update is False else "true")])
    if params.get("ports"):
        ports = []
        for port in params["ports"]:
            entry = OrderedDict([("ContainerPort", "%d" % int(port["container_port"]))])
            if port.get("host_port") is not None:
                entry["HostPort"] = "%d" % int(port["host_port"])
            ports.append(entry)
        doc["Ports"] = ports
    if params.get("volumes"):
        doc["Volumes"] = [OrderedDict([("HostDirectory", vol["host_path"]),
                                       ("ContainerDirectory", vol["container_path"])])
                          for vol in params["volumes"]]
    for key, field in (("logging", "Logging"), ("entrypoint", "Entrypoint"), ("command", "Command")):
        if params.get(key):
            doc[field] = params[key]
    return doc


def _render_v2(params):
    doc = OrderedDict()
    doc["AWSEBDockerrunVersion"] = 2
    auth = params.get("authentication")
    if auth:
        doc["authentication"] = OrderedDict([("bucket", auth["bucket"]), ("key", auth["key"])])
    if params.get("volumes"):
        doc["volumes"] = [OrderedDict([("name", vol["name"]),
                                       ("host", OrderedDict([("sourcePath", vol["host_path"])]))])
                          for vol in params["volumes"]]
    doc["containerDefinitions"] = [_container(c) for c in params.get("containers") or []]
    return doc


def _container(container):
    entry = OrderedDict()
    entry["name"] = container["name"]
    entry["image"] = container["image"]
    entry["essential"] = container.get("essential") is not False
    if container.get("memory"):
        entry["memory"] = int(container["memory"])
    if container.get("memory_reservation"):
        entry["memoryReservation"] = int(container["memory_reservation"])
    if container.get("entrypoint"):
        entry["entryPoint"] = list(container["entrypoint"])
    if container.get("command"):
        entry["command"] = list(container["command"])
    env = container.get("env") or {}
    if env:
        # Sorted by name: the same variables always give the same file.
        entry["environment"] = [OrderedDict([("name", "%s" % name), ("value", env_value(env[name]))])
                                for name in sorted(env, key=str)]
    if container.get("ports"):
        mappings = []
        for port in container["ports"]:
            mapping = OrderedDict()
            if port.get("host_port") is not None:
                mapping["hostPort"] = int(port["host_port"])
            mapping["containerPort"] = int(port["container_port"])
            mappings.append(mapping)
        entry["portMappings"] = mappings
    if container.get("links"):
        entry["links"] = list(container["links"])
    if container.get("volumes_from"):
        entry["volumesFrom"] = [OrderedDict([("sourceContainer", name)]) for name in container["volumes_from"]]
    if container.get("mount_points"):
        entry["mountPoints"] = [OrderedDict([("sourceVolume", mount["source_volume"]),
                                             ("containerPath", mount["container_path"]),
                                             ("readOnly", bool(mount.get("read_only")))])
                                for mount in container["mount_points"]]
    return entry


def dumps(doc):
    """The file's text: 2-space JSON in the document's own order, newline at the end."""
    return json.dumps(doc, indent=2, separators=(",", ": ")) + "\n"


def sha256_hex(data):
    if not isinstance(data, bytes):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def parse_mode(mode):
    """A file mode as an int: '0640' and 0o640 both work. ValueError otherwise."""
    if isinstance(mode, bool):
        raise ValueError("mode: %r is not an octal file mode such as '0600'" % (mode,))
    if isinstance(mode, int):
        value = mode
    else:
        text = ("%s" % (mode,)).strip()
        if not re.match(r"^0?[0-7]{3,4}$", text):
            raise ValueError("mode: %r is not an octal file mode such as '0600'" % (mode,))
        value = int(text, 8)
    if not 0 <= value <= 0o7777:
        raise ValueError("mode: %r is not an octal file mode such as '0600'" % (mode,))
    return value


def bundle_entries(dockerrun_text, extra):
    """Sorted, checked zip entries: [(arcname, bytes, executable)].

    `extra` lists (arcname, bytes, executable) of the additional files. Raises
    ValueError on a clash with Dockerrun.aws.json or a duplicate name.
    """
    entries = {DOCKERRUN_NAME: (dockerrun_text.encode("utf-8"), False)}
    for arcname, data, executable in extra:
        if arcname == DOCKERRUN_NAME:
            raise ValueError("bundle_files: %s is written by this module and cannot come from bundle_files"
                             % DOCKERRUN_NAME)
        if arcname in entries:
            raise ValueError("bundle_files: two files would be stored as %r in the bundle" % arcname)
        entries[arcname] = (data, bool(executable))
    return [(name, entries[name][0], entries[name][1]) for name in sorted(entries)]


def build_zip(entries):
    """Zip bytes with fixed timestamps and modes: same entries, same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for arcname, data, executable in entries:
            info = zipfile.ZipInfo(arcname, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = ((0o100755 if executable else 0o100644) & 0xFFFF) << 16
            archive.writestr(info, data)
    return buf.getvalue()


def zip_listing(data):
    """'name sha256' lines of a zip's members (for diffs), or None if unreadable."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "".join("%s %s\n" % (info.filename, sha256_hex(archive.read(info.filename)))
                           for info in sorted(archive.infolist(), key=lambda i: i.filename))
    except (zipfile.BadZipfile, KeyError, ValueError, OSError):
        return None


def zip_member(data, name):
    """Text of one member of a zip, or None."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.read(name).decode("utf-8")
    except (zipfile.BadZipfile, KeyError, ValueError, OSError, UnicodeDecodeError):
        return None

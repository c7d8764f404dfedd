# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Data volumes of a stack: a data container (created, never started, with an anonymous volume at each path,
mounted by others with volumes_from) or a named Docker volume. Neither is ever recreated or emptied. The pure
functions decide; the ones taking a DockerClient talk to the engine."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import posixpath
import re

from ansible_collections.baton.docker.plugins.module_utils._containers import inspect_container, is_running
from ansible_collections.baton.docker.plugins.module_utils._docker_client import (
    DockerClientError,
    docker_errors,
    expect_object,
    expect_object_list,
)

DATA_LABELS = {"baton.managed": "true", "baton.kind": "data"}
DATA_CONTAINER_COMMAND = ["true"]


def data_labels(labels):
    """The user's labels with baton.managed=true and baton.kind=data on top."""
    result = dict((str(k), str(v)) for k, v in (labels or {}).items())
    result.update(DATA_LABELS)
    return result


def normalize_data_paths(paths):
    """Check and normalise the container paths of a data container.

    Every path must be absolute and listed once. Raises DockerClientError
    naming the offending path; returns the normalised paths in their order.
    """
    result = []
    for path in paths or []:
        text = "%s" % (path,)
        if not text.startswith("/"):
            raise DockerClientError("volumes: %r is not an absolute path (container paths start with /)" % text)
        if ":" in text:
            raise DockerClientError("volumes: %r holds a ':'; give container paths only, a data container has "
                                    "no host bind mounts" % text)
        norm = os.path.normpath(text)
        if norm.startswith("//"):
            norm = "/" + norm.lstrip("/")
        if norm == "/":
            raise DockerClientError("volumes: %r is the root directory; a volume must be a directory below /" % text)
        if norm in result:
            raise DockerClientError("volumes: %s is listed more than once" % norm)
        result.append(norm)
    return result


def data_container_mounts(attrs):
    """{container path: host source path} of a container's inspect data."""
    mounts = expect_object_list(expect_object(attrs, "container inspect data").get("Mounts"), "container inspect data: Mounts")
    return dict((m.get("Destination"), m.get("Source") or "") for m in mounts if m.get("Destination"))


_CONTAINER_PATH = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*):(/.*)$")


def split_container_path(spec):
    """``(container, absolute path)`` of ``<container>:<absolute path in it>``, or None for anything else (a host
    path, ``host:port``)."""
    match = _CONTAINER_PATH.match(spec or "")
    return (match.group(1), posixpath.normpath(match.group(2))) if match else None


def host_path_of(attrs, path):
    """The host path of ``path`` inside a container (its inspect data), through the deepest mount that holds it;
    None when no mount does."""
    mounts = data_container_mounts(attrs)
    for destination in sorted(mounts, key=len, reverse=True):
        base = destination.rstrip("/")
        if (path == base or path.startswith(base + "/")) and mounts[destination]:
            return mounts[destination] + path[len(base):]
    return None


def data_path_drift(wanted, current):
    """What differs between the wanted and the mounted container paths: {missing, extra}, or {} when nothing."""
    wanted_set = set(wanted)
    current_set = set(current)
    drift = {}
    missing = sorted(wanted_set - current_set)
    extra = sorted(current_set - wanted_set)
    if missing:
        drift["missing"] = missing
    if extra:
        drift["extra"] = extra
    return drift


def volume_option_drift(attrs, driver, driver_opts):
    """What differs between an existing named volume and the wanted driver and options, or {}."""
    drift = {}
    current_driver = (attrs or {}).get("Driver") or "local"
    if driver and driver != current_driver:
        drift["driver"] = current_driver
    current_opts = (attrs or {}).get("Options") or {}
    wanted_opts = dict((str(k), str(v)) for k, v in (driver_opts or {}).items())
    if wanted_opts and wanted_opts != current_opts:
        drift["driver_opts"] = current_opts
    return drift


def not_a_data_container(attrs):
    """Why the container in ``attrs`` cannot be used as a data container, or None when it can.

    A container labelled baton.kind=data is one. An unlabelled container is
    accepted when it is not running and has volumes (a data container made by
    hand, the way ``docker run --name socks -v /var/run busybox`` leaves one).
    """
    labels = ((attrs or {}).get("Config") or {}).get("Labels") or {}
    if labels.get("baton.kind") == "data":
        return None
    if labels.get("baton.kind"):
        return "it is a baton.kind=%s container, not a data container" % labels["baton.kind"]
    if is_running(attrs):
        return "it is running and has no baton.kind=data label"
    if not data_container_mounts(attrs):
        return "it has no volumes and no baton.kind=data label"
    return None


def get_volume(client, name):
    """The inspect data of the named volume ``name``, or None."""
    try:
        return client.api.inspect_volume(name)
    except docker_errors.NotFound:
        return None
    except Exception as exc:
        raise DockerClientError("cannot inspect volume %s: %s" % (name, client.explain(exc)))


def containers_using_volumes(client, volume_names, exclude=None):
    """Names of the containers (any state) that mount one of ``volume_names``, except ``exclude`` (an ID)."""
    names = set()
    for volume in volume_names:
        found = client.call("cannot list the containers using volume %s" % volume[:24], client.api.containers,
                            all=True, filters={"volume": volume})
        for item in found:
            if exclude and item.get("Id") == exclude:
                continue
            names.add((item.get("Names") or ["/" + item["Id"][:12]])[0].lstrip("/"))
    return sorted(names)


def create_data_container(client, name, image, paths, labels):
    """Create (never start) a data container with an anonymous volume at each path; return its inspect data."""
    try:
        result = client.api.create_container(
            image, name=name, command=list(DATA_CONTAINER_COMMAND), volumes=list(paths), labels=labels,
            host_config=client.api.create_host_config(), use_config_proxy=False, detach=True)
    except Exception as exc:
        raise DockerClientError("cannot create data container %s from %s: %s" % (name, image, client.explain(exc)))
    return inspect_container(client, result["Id"])


def remove_data_container(client, container_id, remove_volumes=False):
    """Remove a stopped data container; its anonymous volumes too only with ``remove_volumes``."""
    try:
        client.api.remove_container(container_id, v=bool(remove_volumes), force=False)
    except docker_errors.NotFound:
        return
    except Exception as exc:
        raise DockerClientError("cannot remove data container %s: %s" % (container_id[:12], client.explain(exc)))


def create_named_volume(client, name, driver, driver_opts, labels):
    """Create a named volume; return its inspect data."""
    try:
        return client.api.create_volume(name=name, driver=driver or "local",
                                        driver_opts=dict((str(k), str(v)) for k, v in (driver_opts or {}).items())
                                        or None, labels=labels)
    except Exception as exc:
        raise DockerClientError("cannot create volume %s: %s" % (name, client.explain(exc)))


def remove_named_volume(client, name):
    try:
        client.api.remove_volume(name)
    except docker_errors.NotFound:
        return
    except Exception as exc:
        raise DockerClientError("cannot remove volume %s: %s" % (name, client.explain(exc)))

# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Containers on a Docker engine: find and read them, create, start, stop, rename and remove them, their logs,
the host ports they publish, the networks they join.

The functions taking a client take a DockerClient; container arguments are names or IDs. They raise
DockerClientError and never call fail_json. The others read inspect data and touch no engine."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

from ansible_collections.baton.docker.plugins.module_utils._docker_client import (
    DockerClientError,
    docker_errors,
    expect_object,
    expect_object_list,
    shown,
)
from ansible_collections.baton.docker.plugins.module_utils._container_settings import create_arguments
from ansible_collections.baton.docker.plugins.module_utils._params import DEFAULT_STOP_TIMEOUT

# How many of a container's last log lines a failure shows, in every module and role (log_lines).
DEFAULT_LOG_LINES = 50


def checked_container_attrs(attrs, name):
    """Inspect data of a container, checked for the shape of the parts callers read: Name a string, Id a string,
    State (with Health), Config, HostConfig and NetworkSettings objects, Mounts a list of objects."""
    what = "inspect data of container %s" % name
    attrs = expect_object(attrs, what, required=True)
    if not isinstance(attrs.get("Name"), str):
        raise DockerClientError("%s: expected a string Name, got %s" % (what, shown(attrs.get("Name"))))
    if "Id" in attrs and not isinstance(attrs["Id"], str):
        raise DockerClientError("%s: expected a string Id, got %s" % (what, shown(attrs["Id"])))
    for key in ("State", "Config", "HostConfig", "NetworkSettings"):
        expect_object(attrs.get(key), "%s: %s" % (what, key))
    expect_object((attrs.get("State") or {}).get("Health"), "%s: State.Health" % what)
    expect_object_list(attrs.get("Mounts"), "%s: Mounts" % what)
    return attrs


def get_container(client, name):
    """The inspect data of the container called exactly ``name``, or None."""
    try:
        attrs = client.api.inspect_container(name)
    except docker_errors.NotFound:
        return None
    except Exception as exc:
        raise DockerClientError("cannot inspect container %s: %s" % (name, client.explain(exc)))
    attrs = checked_container_attrs(attrs, name)
    # The engine also matches ID prefixes: only a container with exactly this name counts.
    if attrs["Name"].lstrip("/") != name:
        return None
    return attrs


def referenced_container(client, option, name, check_mode=False, warn=None):
    """Inspect data of a container that another refers to (volumes_from, links), or None.

    A missing one is an error, except in check mode, where an earlier task of the
    same run may be what creates it: then ``warn`` gets a message.
    """
    attrs = get_container(client, name)
    if attrs is None:
        if not check_mode:
            raise DockerClientError("%s: there is no container called %s" % (option, name))
        if warn is not None:
            warn("%s: there is no container called %s yet; a real run fails here unless an earlier task creates it"
                 % (option, name))
    return attrs


def inspect_container(client, container_id):
    """The inspect data of a container that must exist (by ID)."""
    return client.call("cannot inspect container %s" % container_id[:12], client.api.inspect_container, container_id)


def container_state(client, container_id):
    """The State block of a container's inspect data."""
    attrs = expect_object(inspect_container(client, container_id), "inspect data of container %s" % container_id[:12],
                          required=True)
    state = expect_object(attrs.get("State"), "inspect data of container %s: State" % container_id[:12], required=True)
    expect_object(state.get("Health"), "inspect data of container %s: State.Health" % container_id[:12])
    return state


def is_running(attrs):
    if attrs is None:
        return False
    state = expect_object(expect_object(attrs, "container inspect data", required=True).get("State"),
                          "inspect data of container %s: State" % attrs.get("Name"), required=True)
    return bool(state.get("Running")) and not state.get("Restarting")


def network_exists(client, name):
    try:
        client.api.inspect_network(name)
    except docker_errors.NotFound:
        return False
    except Exception as exc:
        raise DockerClientError("cannot inspect network %s: %s" % (name, client.explain(exc)))
    return True


def published_host_ports(client):
    """Host ports published by running containers: list of dicts id, name, ip, port, proto."""
    containers = client.call("cannot list containers", client.api.containers)
    result = []
    for item in expect_object_list(containers, "container list"):
        if not isinstance(item.get("Id"), str):
            raise DockerClientError("container list: an entry has no Id: %s" % shown(item))
        names = item.get("Names") or ["/" + item["Id"][:12]]
        name = (names[0] if isinstance(names, list) and isinstance(names[0], str) else item["Id"][:12]).lstrip("/")
        for port in expect_object_list(item.get("Ports"), "container list: Ports of %s" % name):
            if port.get("PublicPort"):
                result.append(dict(id=item["Id"], name=name, ip=port.get("IP") or "",
                                   port=int(port["PublicPort"]), proto=port.get("Type") or "tcp"))
    return result


def host_port_in_use(ip, port, proto):
    """Why ip:port/proto cannot be bound on this host, or None when it can.

    A trial bind with SO_REUSEADDR, as the engine's port proxy binds: it fails
    when any process (a container's proxy or a plain one) listens there.
    """
    if proto not in ("tcp", "udp"):
        return None
    family = socket.AF_INET6 if ip and ":" in ip else socket.AF_INET
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    sock = socket.socket(family, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((ip or ("::" if family == socket.AF_INET6 else "0.0.0.0"), port))
    except OSError as exc:
        return getattr(exc, "strerror", None) or str(exc)
    finally:
        sock.close()
    return None


def resolve_host(host):
    """None when host resolves, else the resolver's message."""
    try:
        socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError) as exc:
        return str(exc)
    return None


def create_container(client, name, image, explicit, labels):
    """Create (not start) a container from an explicit run config (see _container_settings); return its ID.

    Every setting of ``explicit`` is written as its entry in _container_settings.SETTINGS says; ``labels`` are the
    labels to set. Environment values are passed as API data, never through a shell. Links go to the endpoint of a
    user-defined network (the engine ignores HostConfig.Links there), else to HostConfig.Links.
    """
    api = client.api
    try:
        create = create_arguments(dict(explicit, labels=labels))
        host_config = api.create_host_config(**create["host"])
        networking = None
        if create["network"]:
            endpoint = api.create_endpoint_config(links=create["endpoint_links"])
            networking = api.create_networking_config({create["network"]: endpoint})
        result = api.create_container(image, name=name, host_config=host_config, networking_config=networking,
                                      use_config_proxy=False, detach=True, **create["container"])
    except Exception as exc:
        raise DockerClientError("cannot create container %s from %s: %s" % (name, image, client.explain(exc)))
    return result["Id"]


def rename_container(client, container_id, new_name):
    client.call("cannot rename container %s to %s" % (container_id[:12], new_name),
                client.api.rename, container_id, new_name)


def start_container(client, container_id):
    client.call("cannot start container %s" % container_id[:12], client.api.start, container_id)


def stop_container(client, container_id, timeout=None):
    """Graceful stop: the container's stop signal, then SIGKILL after ``timeout`` seconds."""
    timeout = DEFAULT_STOP_TIMEOUT if timeout is None else timeout
    client.call("cannot stop container %s" % container_id[:12], client.api.stop, container_id, timeout=timeout)


def remove_container(client, container_id):
    """Remove a container (stopping it if needed) and its anonymous volumes."""
    try:
        client.api.remove_container(container_id, v=True, force=True)
    except docker_errors.NotFound:
        return
    except Exception as exc:
        raise DockerClientError("cannot remove container %s: %s" % (container_id[:12], client.explain(exc)))


def container_logs(client, container_id, lines=50):
    """The last ``lines`` lines of stdout and stderr, as a list of str."""
    if lines <= 0:
        return []
    data = client.call("cannot read the logs of %s" % container_id[:12], client.api.logs, container_id,
                       stdout=True, stderr=True, tail=lines, stream=False)
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    return data.splitlines()[-lines:]


def labels_match(labels, wanted):
    """Whether ``labels`` holds every pair of ``wanted``; an empty wanted value matches any value."""
    labels = labels or {}
    for key, value in (wanted or {}).items():
        if key not in labels:
            return False
        if value != "" and labels[key] != value:
            return False
    return True


def container_summary(attrs):
    """What container_info returns about one container, from its inspect data."""
    attrs = expect_object(attrs, "container inspect data", required=True)
    state = expect_object(attrs.get("State"), "inspect data of container %s: State" % attrs.get("Name"))
    config = expect_object(attrs.get("Config"), "inspect data of container %s: Config" % attrs.get("Name"))
    return dict(
        name=(attrs.get("Name") or "").lstrip("/"),
        id=attrs.get("Id"),
        image=config.get("Image"),
        image_id=attrs.get("Image"),
        status=state.get("Status"),
        running=bool(state.get("Running")),
        labels=dict(config.get("Labels") or {}),
        created=attrs.get("Created"),
        mounts=[dict(type=m.get("Type"), name=m.get("Name"), source=m.get("Source"), destination=m.get("Destination"),
                     read_only=not m.get("RW", True))
                for m in expect_object_list(attrs.get("Mounts"), "inspect data of container %s: Mounts" % attrs.get("Name"))],
    )


def list_containers(client, labels=None, name=None, include_stopped=True):
    """Summaries (see container_summary) of the containers matching, sorted by name.

    ``labels``: every pair must match, an empty value meaning "present with any
    value". ``name``: the exact container name. ``include_stopped``: also
    created, exited and dead containers.
    """
    if name is not None:
        attrs = get_container(client, name)
        found = [attrs] if attrs is not None else []
    else:
        filters = {}
        if labels:
            filters["label"] = [key if value == "" else "%s=%s" % (key, value) for key, value in sorted(labels.items())]
        rows = client.call("cannot list containers", client.api.containers, all=include_stopped, filters=filters or None)
        found = []
        for row in expect_object_list(rows, "container list"):
            if not isinstance(row.get("Id"), str):
                raise DockerClientError("container list: an entry has no Id: %s" % shown(row))
            try:
                found.append(client.api.inspect_container(row["Id"]))
            except docker_errors.NotFound:  # removed since it was listed
                continue
            except Exception as exc:
                raise DockerClientError("cannot inspect container %s: %s" % (row["Id"][:12], client.explain(exc)))
    result = []
    for attrs in found:
        summary = container_summary(attrs)
        if not include_stopped and not summary["running"]:
            continue
        if labels_match(summary["labels"], labels):
            result.append(summary)
    return sorted(result, key=lambda item: item["name"])


def images_in_use(client):
    """{image ID: [container names]} of every container on the engine, running or not."""
    rows = client.call("cannot list containers", client.api.containers, all=True)
    used = {}
    for row in expect_object_list(rows, "container list"):
        if not isinstance(row.get("Id"), str):
            raise DockerClientError("container list: an entry has no Id: %s" % shown(row))
        image_id = row.get("ImageID")
        if not isinstance(image_id, str) or not image_id:
            raise DockerClientError("container list: container %s has no ImageID: %s" % (row["Id"][:12], shown(row)))
        names = row.get("Names")
        name = (names[0] if isinstance(names, list) and names and isinstance(names[0], str) else row["Id"][:12])
        used.setdefault(image_id, []).append(name.lstrip("/"))
    return used

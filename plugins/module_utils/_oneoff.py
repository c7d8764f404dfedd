# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""One-off containers: a container that runs one command to completion (a database migration, a maintenance
command, a test suite) and is removed afterwards whatever happens. container_run and image_release (through
_image_build.run_tests) use it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import time

from ansible_collections.baton.docker.plugins.module_utils._containers import inspect_container
from ansible_collections.baton.docker.plugins.module_utils._docker_client import DockerClientError, docker_errors

LABEL_ONEOFF = "baton.oneoff"
ONEOFF_NAME_PREFIX = "baton-run-"
ONEOFF_OWN_LABELS = ("baton.managed", LABEL_ONEOFF)


class OneOffFailed(DockerClientError):
    """A one-off container could not be created, started or waited for, or did not finish in time.

    ``stage`` is ``create``, ``start``, ``wait`` or ``timeout``; ``reason`` the
    engine's explanation; ``output`` the last log lines (when it ran);
    ``seconds`` how long it ran; ``remove_error`` why it could not be removed.
    """

    def __init__(self, message, stage, reason=None, name=None, output=None, seconds=None):
        super().__init__(message)
        self.stage = stage
        self.reason = reason
        self.name = name
        self.output = output or []
        self.seconds = seconds
        self.remove_error = None


def oneoff_name():
    """A fresh default name for a one-off container: baton-run-<8 hex digits>."""
    return "%s%s" % (ONEOFF_NAME_PREFIX, base64.b16encode(os.urandom(4)).decode("ascii").lower())


def oneoff_labels(labels):
    """The labels of a one-off container: the task's plus baton.managed=true and baton.oneoff=true."""
    result = dict(labels or {})
    result.update({"baton.managed": "true", LABEL_ONEOFF: "true"})
    return result


def effective_argv(image_config, entrypoint=None, command=None):
    """The argv a container runs, merged the way the engine merges it with the image's defaults.

    ``entrypoint`` and ``command`` are lists or None (the image's). Giving an
    entrypoint drops the image's CMD, as the engine does.
    """
    config = image_config or {}
    if entrypoint is not None:
        return list(entrypoint) + list(command or [])
    return list(config.get("Entrypoint") or []) + list(command if command is not None else (config.get("Cmd") or []))


def _oneoff_tail(client, container_id, lines):
    if lines <= 0:
        return []
    try:
        data = client.api.logs(container_id, stdout=True, stderr=True, tail=lines)
    except Exception as exc:  # the output is a help, never the reason to fail
        return ["(output unavailable: %s)" % client.explain(exc)]
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    return data.splitlines()[-lines:]


def _oneoff_create(client, image, name, command, entrypoint, environment, labels, volumes, volumes_from, links,
                   network, working_dir, user):
    api = client.api
    env = ["%s=%s" % (key, value) for key, value in sorted((environment or {}).items())]
    user_network = network and network not in ("bridge", "host", "none", "default")
    link_map = dict(links or [])
    host_config = api.create_host_config(
        binds=list(volumes or []) or None,
        volumes_from=["%s:%s" % (c, m) if m else c for c, m in (volumes_from or [])] or None,
        links=None if user_network else (link_map or None),
        network_mode=network or None)
    networking = None
    if user_network:
        networking = api.create_networking_config({network: api.create_endpoint_config(links=link_map or None)})
    return api.create_container(image, name=name, command=command, entrypoint=entrypoint, environment=env or None,
                                labels=labels or None, host_config=host_config, networking_config=networking,
                                working_dir=working_dir or None, user=user or None, detach=True,
                                use_config_proxy=False)["Id"]


def run_oneoff(client, image, command=None, entrypoint=None, environment=None, labels=None, name=None,
               volumes=None, volumes_from=None, links=None, network=None, working_dir=None, user=None,
               timeout=600, log_lines=100, clock=time.monotonic):
    """Run a one-off container of ``image`` to completion and remove it, whatever happens.

    ``command`` / ``entrypoint``: argv lists, or None for the image's.
    ``environment``: dict, passed to the engine as data (no shell sees it).
    ``volumes``: ``source:dest[:ro]`` binds; ``volumes_from``: (container,
    mode or None) pairs; ``links``: (container, alias) pairs; ``name``: None
    lets the engine pick one. Returns dict(name, id, rc, output, seconds,
    remove_error): ``rc`` is the exit code (a non-zero one is the caller's
    business), ``output`` the last ``log_lines`` lines of stdout and stderr.
    Raises OneOffFailed when the container cannot be created or started, or
    when it does not finish within ``timeout`` seconds (it is killed then).
    """
    try:
        container_id = _oneoff_create(client, image, name, command, entrypoint, environment, labels, volumes,
                                      volumes_from, links, network, working_dir, user)
    except Exception as exc:
        reason = client.explain(exc)
        raise OneOffFailed("cannot create a one-off container%s from %s: %s"
                           % (" " + name if name else "", image, reason), "create", reason, name)
    if not name:
        name = (inspect_container(client, container_id).get("Name") or "").lstrip("/") or container_id[:12]
    result = dict(name=name, id=container_id, rc=None, output=[], seconds=0.0, remove_error=None)
    failure = None
    try:
        started = clock()
        try:
            client.api.start(container_id)
        except Exception as exc:
            reason = client.explain(exc)
            raise OneOffFailed("the one-off container %s could not start: %s" % (name, reason), "start", reason, name,
                               output=_oneoff_tail(client, container_id, log_lines))
        try:
            status = client.api.wait(container_id, timeout=timeout)
        except Exception as exc:  # the read times out (requests raises one of several types), or the engine went away
            seconds = round(clock() - started, 2)
            try:
                client.api.kill(container_id)
            except Exception:  # it may have ended meanwhile; removal below forces it anyway
                pass
            output = _oneoff_tail(client, container_id, log_lines)
            if seconds >= timeout * 0.99:
                raise OneOffFailed("the one-off container %s did not finish within %d s and was killed"
                                   % (name, timeout), "timeout", None, name, output, seconds)
            reason = client.explain(exc)
            raise OneOffFailed("lost track of the one-off container %s after %s s: %s" % (name, seconds, reason),
                               "wait", reason, name, output, seconds)
        result["seconds"] = round(clock() - started, 2)
        result["rc"] = status.get("StatusCode")
        error = (status.get("Error") or {}).get("Message")
        result["output"] = _oneoff_tail(client, container_id, log_lines)
        if error:
            result["output"].append("(engine: %s)" % error)
        return result
    except OneOffFailed as exc:
        failure = exc
        raise
    finally:
        try:
            client.api.remove_container(container_id, force=True, v=True)
        except docker_errors.NotFound:
            pass
        except Exception as exc:
            text = "cannot remove the one-off container %s: %s" % (name, client.explain(exc))
            result["remove_error"] = text
            if failure is not None:
                failure.remove_error = text

# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one Docker client of the collection.

Every call to the Docker engine made by a baton.docker module goes through this
file. Engine and SDK errors are turned into DockerClientError with a message a
user can act on; modules catch it and call fail_json.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import tempfile
import traceback

try:
    import docker
    from docker import errors as docker_errors
    HAS_DOCKER = True
    DOCKER_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by require_docker()
    docker = None
    docker_errors = None
    HAS_DOCKER = False
    DOCKER_IMPORT_ERROR = traceback.format_exc()

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"

# Shared argument spec for the engine connection; documented by the
# baton.docker.docker doc fragment.
DOCKER_COMMON_ARGS = dict(
    docker_host=dict(type="str", default=DEFAULT_DOCKER_HOST, aliases=["docker_url"],
                     fallback=(lambda: os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST, [])),
    api_timeout=dict(type="int", default=60),
)


class DockerClientError(Exception):
    """An engine error, worded for the user."""


def require_docker(module):
    """Fail the module clearly when the Docker SDK is missing."""
    if not HAS_DOCKER:
        from ansible.module_utils.basic import missing_required_lib
        module.fail_json(msg=missing_required_lib("docker (the Docker SDK for Python)"),
                         exception=DOCKER_IMPORT_ERROR)


def connect(docker_host=DEFAULT_DOCKER_HOST, api_timeout=60):
    """Return a docker.DockerClient that has answered a ping."""
    try:
        client = docker.DockerClient(base_url=docker_host, timeout=api_timeout)
        client.ping()
    except Exception as exc:  # the SDK raises several unrelated types here
        raise DockerClientError("cannot reach the Docker engine at %s: %s" % (docker_host, exc))
    return client


def docker_config_path():
    """Path of the Docker CLI config that holds registry credentials."""
    base = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(base, "config.json")


def _read_config(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except IOError:
        return {}
    except ValueError as exc:
        raise DockerClientError("%s is not valid JSON: %s" % (path, exc))


def stored_login(registry, config_path=None):
    """The username stored for registry in the Docker config, or None."""
    config = _read_config(config_path or docker_config_path())
    entry = config.get("auths", {}).get(registry) or {}
    if not entry.get("auth"):
        return None
    try:
        return base64.b64decode(entry["auth"]).decode("utf-8").split(":", 1)[0]
    except (ValueError, TypeError):
        return None


def stored_auth_matches(registry, username, password, config_path=None):
    config = _read_config(config_path or docker_config_path())
    entry = config.get("auths", {}).get(registry) or {}
    want = base64.b64encode(("%s:%s" % (username, password)).encode("utf-8")).decode("ascii")
    return entry.get("auth") == want


def login(client, registry, username, password, config_path=None):
    """Check the credentials against the registry, then store them.

    The credentials go to the registry over the engine API and are written to
    the Docker config file (mode 0600, atomic replace), the same place
    ``docker login`` keeps them, so later pulls by the SDK or CLI use them.
    They never appear on a command line.
    """
    try:
        client.login(username=username, password=password, registry=registry, reauth=True)
    except docker_errors.APIError as exc:
        # The engine reports a registry's 401 as a 500 with the reason in the text.
        raise DockerClientError("login to %s as %s failed: %s"
                                % (registry, username, exc.explanation or exc))
    path = config_path or docker_config_path()
    config = _read_config(path)
    auth = base64.b64encode(("%s:%s" % (username, password)).encode("utf-8")).decode("ascii")
    config.setdefault("auths", {})[registry] = {"auth": auth}
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".config.json.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(config, handle, indent=2, sort_keys=True)
        os.rename(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise

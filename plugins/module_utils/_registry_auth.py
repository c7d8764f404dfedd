# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Registry credentials: checked against the registry by the engine, and kept in the Docker CLI config, where
``docker login`` keeps them, for later pulls by the SDK or the CLI."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os

from ansible_collections.baton.docker.plugins.module_utils._docker_client import DockerClientError, docker_errors
from ansible_collections.baton.docker.plugins.module_utils._files import atomic_write, json_text


def docker_config_path():
    """Path of the Docker CLI config that holds registry credentials."""
    base = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(base, "config.json")


def _read_config(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except OSError:
        return {}
    except ValueError as exc:
        raise DockerClientError("%s is not valid JSON: %s" % (path, exc))


def _encoded_auth(username, password):
    """The ``auth`` value of a Docker config entry: base64 of ``username:password``."""
    return base64.b64encode(("%s:%s" % (username, password)).encode("utf-8")).decode("ascii")


def stored_auth_matches(registry, username, password, config_path=None):
    """Whether the Docker config already holds exactly these credentials for ``registry``."""
    config = _read_config(config_path or docker_config_path())
    entry = config.get("auths", {}).get(registry) or {}
    return entry.get("auth") == _encoded_auth(username, password)


def login(client, registry, username, password, config_path=None):
    """Check the credentials against the registry, then store them.

    The credentials go to the registry over the engine API and are written to
    the Docker config file (mode 0600, atomic replace), the same place
    ``docker login`` keeps them, so later pulls by the SDK or CLI use them.
    They never appear on a command line.
    """
    try:
        client.api.login(username=username, password=password, registry=registry, reauth=True)
    except docker_errors.APIError as exc:
        # The engine reports a registry's 401 as a 500 with the reason in the text.
        raise DockerClientError("login to %s as %s failed: %s"
                                % (registry, username, exc.explanation or exc))
    path = config_path or docker_config_path()
    config = _read_config(path)
    config.setdefault("auths", {})[registry] = {"auth": _encoded_auth(username, password)}
    atomic_write(path, json_text(config), mode=0o600, dir_mode=0o700)

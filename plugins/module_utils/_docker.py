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
import shlex
import os
import posixpath
import re
import socket
import ssl
import threading
import time
import traceback

try:
    from http import client as http_client
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2
    import httplib as http_client
    from urlparse import urlsplit

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

from ansible_collections.baton.docker.plugins.module_utils._files import atomic_write, json_text
from ansible_collections.baton.docker.plugins.module_utils._container_settings import create_arguments
from ansible_collections.baton.docker.plugins.module_utils._image_ref import ImageRef, registry_of
from ansible_collections.baton.docker.plugins.module_utils._params import DEFAULT_STOP_TIMEOUT, ParamError

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"

# Shared argument spec for the engine connection; documented by the
# baton.docker.docker doc fragment.
DOCKER_COMMON_ARGS = dict(
    docker_host=dict(type="str", default=DEFAULT_DOCKER_HOST, aliases=["docker_url"],
                     fallback=(lambda: os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST, [])),
    api_timeout=dict(type="int", default=60),
)


# Shared argument spec of the image pull options; documented by the
# baton.docker.pull doc fragment.
PULL_ARGS = dict(
    pull=dict(type="str", default="missing", choices=["missing", "always", "never"]),
    pull_auth=dict(type="dict", options=dict(
        username=dict(type="str", required=True),
        password=dict(type="str", required=True, no_log=True),
        registry=dict(type="str"),
    )),
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
        raise DockerClientError("docker_host: cannot reach the Docker engine at %s: %s" % (docker_host, exc))
    _CONNECTED["host"] = docker_host
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
    atomic_write(path, json_text(config), mode=0o600, dir_mode=0o700)


# ------------------------------------------------------------------ containers
#
# The functions below take the client returned by connect(). Container and
# image arguments are names or IDs. They raise DockerClientError (or one of
# its subclasses below) and never call fail_json.


class UnhealthyError(DockerClientError):
    """A container did not prove healthy within its bound."""


# The engine this process talks to (a module execution connects to one), named when it stops answering.
_CONNECTED = {"host": None}


def _engine_unreachable(exc):
    """True for the errors of an engine that stopped answering (socket gone, refused, connection cut)."""
    if isinstance(exc, (ConnectionError, FileNotFoundError)):
        return True
    if type(exc).__name__ == "ConnectionError" and type(exc).__module__.startswith("requests"):
        return True
    return any(_engine_unreachable(arg) for arg in getattr(exc, "args", ()) if isinstance(arg, BaseException))


def _explain(exc):
    if _engine_unreachable(exc):
        return "the Docker engine at %s does not answer (%s)" % (_CONNECTED["host"] or "its address", str(exc).strip()
                                                                 or exc.__class__.__name__)
    explanation = getattr(exc, "explanation", None)
    if explanation:
        if isinstance(explanation, bytes):
            explanation = explanation.decode("utf-8", "replace")
        return str(explanation).strip()
    return str(exc).strip() or exc.__class__.__name__


def _shown(value, limit=120):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _mapping(value, what, required=False):
    """``value`` when it is an object of the engine's answer (None -> {} unless ``required``); DockerClientError
    saying what was expected and what came otherwise, never a TypeError further on."""
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        got = "nothing" if value is None else _shown(value)
        raise DockerClientError("%s: expected an object from the engine, got %s" % (what, got))
    return value


def _mapping_list(value, what):
    """A list of objects of the engine's answer (None -> [])."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise DockerClientError("%s: expected a list of objects from the engine, got %s" % (what, _shown(value)))
    return value


def _container_attrs(attrs, name):
    """Inspect data of a container, checked for the shape of the parts callers read: Name a string, Id a string,
    State (with Health), Config, HostConfig and NetworkSettings objects, Mounts a list of objects."""
    what = "inspect data of container %s" % name
    attrs = _mapping(attrs, what, required=True)
    if not isinstance(attrs.get("Name"), str):
        raise DockerClientError("%s: expected a string Name, got %s" % (what, _shown(attrs.get("Name"))))
    if "Id" in attrs and not isinstance(attrs["Id"], str):
        raise DockerClientError("%s: expected a string Id, got %s" % (what, _shown(attrs["Id"])))
    for key in ("State", "Config", "HostConfig", "NetworkSettings"):
        _mapping(attrs.get(key), "%s: %s" % (what, key))
    _mapping((attrs.get("State") or {}).get("Health"), "%s: State.Health" % what)
    _mapping_list(attrs.get("Mounts"), "%s: Mounts" % what)
    return attrs


def _call(what, func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except DockerClientError:
        raise
    except Exception as exc:  # APIError, requests errors, socket timeouts
        raise DockerClientError("%s: %s" % (what, _explain(exc)))


def get_container(client, name):
    """The inspect data of the container called exactly ``name``, or None."""
    try:
        attrs = client.api.inspect_container(name)
    except docker_errors.NotFound:
        return None
    except Exception as exc:
        raise DockerClientError("cannot inspect container %s: %s" % (name, _explain(exc)))
    attrs = _container_attrs(attrs, name)
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
    return _call("cannot inspect container %s" % container_id[:12], client.api.inspect_container, container_id)


def container_state(client, container_id):
    """The State block of a container's inspect data."""
    attrs = _mapping(inspect_container(client, container_id), "inspect data of container %s" % container_id[:12],
                     required=True)
    state = _mapping(attrs.get("State"), "inspect data of container %s: State" % container_id[:12], required=True)
    _mapping(state.get("Health"), "inspect data of container %s: State.Health" % container_id[:12])
    return state


def is_running(attrs):
    if attrs is None:
        return False
    state = _mapping(_mapping(attrs, "container inspect data", required=True).get("State"),
                     "inspect data of container %s: State" % attrs.get("Name"), required=True)
    return bool(state.get("Running")) and not state.get("Restarting")


def image_attrs(client, ref):
    """The inspect data of a local image (name, name:tag, name@digest or ID), or None."""
    try:
        return client.api.inspect_image(ref)
    except docker_errors.NotFound:
        return None
    except docker_errors.APIError as exc:
        if exc.status_code in (400, 404):  # an unparsable name cannot be a local image either
            return None
        raise DockerClientError("cannot inspect image %s: %s" % (ref, _explain(exc)))
    except Exception as exc:
        raise DockerClientError("cannot inspect image %s: %s" % (ref, _explain(exc)))


def image_id_of(client, ref):
    attrs = image_attrs(client, ref)
    if attrs is None:
        return None
    image_id = _mapping(attrs, "inspect data of image %s" % ref, required=True).get("Id")
    if not isinstance(image_id, str) or not image_id:
        raise DockerClientError("inspect data of image %s: expected a string Id, got %s" % (ref, _shown(image_id)))
    return image_id


def image_present(client, ref):
    return image_attrs(client, ref) is not None


def _auth_config(auth):
    """pull_auth option -> SDK auth_config; None lets the SDK use the Docker config."""
    if not auth or not auth.get("username"):
        return None
    config = {"username": auth["username"], "password": auth.get("password") or ""}
    if auth.get("registry"):
        config["serveraddress"] = auth["registry"]
    return config


def pull_image(client, repository, tag=None, digest=None, auth=None):
    """Pull repository:tag or repository@digest; return the image's inspect data.

    With ``auth`` (username, password, registry) the credentials go to the
    engine in the X-Registry-Auth header for this pull only; without it the
    SDK sends the credentials stored in the Docker config for that registry.
    """
    ref = "%s@%s" % (repository, digest) if digest else "%s:%s" % (repository, tag)
    _stream_pull(client, repository, digest or tag, ref, _auth_config(auth))
    attrs = image_attrs(client, ref)
    if attrs is None:
        raise DockerClientError("the engine reported success but %s is not present afterwards" % ref)
    return attrs


def _stream_pull(client, repository, tag, ref, auth_config):
    """Pull with the engine's progress stream read in a thread: an error in the stream is raised, and so is a stall.

    The SDK sends a pull without any timeout, so a registry that accepts and never answers would hold the run as
    long as the engine waits; here the pull fails once the engine reports nothing for the client's timeout (the
    modules' api_timeout). A slow pull that progresses is not cut.
    """
    state = dict(last=time.monotonic(), error=None)
    done = threading.Event()

    def read():
        try:
            for chunk in client.api.pull(repository, tag=tag, auth_config=auth_config, stream=True, decode=True):
                state["last"] = time.monotonic()
                if isinstance(chunk, dict) and chunk.get("error"):
                    detail = chunk.get("errorDetail")
                    state["error"] = str((detail.get("message") if isinstance(detail, dict) else None) or chunk["error"])
                    return
        except Exception as exc:  # APIError, requests errors, socket errors
            state["error"] = _explain(exc)
        finally:
            done.set()

    thread = threading.Thread(target=read, name="baton-pull", daemon=True)
    thread.start()
    idle_limit = getattr(client.api, "timeout", None) or 60
    while not done.wait(0.1):
        idle = time.monotonic() - state["last"]
        if idle >= idle_limit:
            # The thread is left to the engine's own timeouts; the module's process ends with this error.
            raise DockerClientError("the engine reported no progress for %ss (api_timeout) pulling %s: the registry %s "
                                    "does not answer" % (round(idle, 1), ref, registry_of(repository)))
    if state["error"]:
        raise DockerClientError(state["error"].strip())


def image_for_run(client, ref, repository, tag, digest, pull, auth=None, check_mode=False):
    """Inspect data of the image a container is to run from, pulled as ``pull`` says; and whether it was pulled.

    ``pull``: never, missing or always. In check mode nothing is pulled: the tag
    is looked up in its registry instead (so a tag that does not exist fails
    there too), and the data is None when a pull would bring a new image. Error
    messages start with the reference (callers put the option's name first).
    """
    local = image_attrs(client, ref)
    if pull == "never":
        if local is None:
            raise DockerClientError("%s is not present locally and pull is never" % ref)
        return local, False
    if pull == "missing" and local is not None:
        return local, False
    if check_mode:
        try:
            remote = distribution_digest(client, ref, auth)
        except DockerClientError as exc:
            raise DockerClientError("%s %s could not be found in its registry: %s"
                                    % (ref, "is not present locally and" if local is None else "is present locally but",
                                       exc))
        if local is not None and remote and any(d.endswith("@" + remote) for d in local.get("RepoDigests") or []):
            return local, False
        return None, False
    try:
        return pull_image(client, repository, tag, digest, auth), True
    except DockerClientError as exc:
        raise DockerClientError("%s %scould not be pulled: %s"
                                % (ref, "is not present locally and " if local is None else "", exc))


def distribution_digest(client, ref, auth=None):
    """The manifest digest of ref in its registry, without pulling (distribution inspect)."""
    try:
        data = client.api.inspect_distribution(ref, auth_config=_auth_config(auth))
    except Exception as exc:
        raise DockerClientError(_explain(exc))
    return (data.get("Descriptor") or {}).get("digest")


def network_exists(client, name):
    try:
        client.api.inspect_network(name)
    except docker_errors.NotFound:
        return False
    except Exception as exc:
        raise DockerClientError("cannot inspect network %s: %s" % (name, _explain(exc)))
    return True


def published_host_ports(client):
    """Host ports published by running containers: list of dicts id, name, ip, port, proto."""
    containers = _call("cannot list containers", client.api.containers)
    result = []
    for item in _mapping_list(containers, "container list"):
        if not isinstance(item.get("Id"), str):
            raise DockerClientError("container list: an entry has no Id: %s" % _shown(item))
        names = item.get("Names") or ["/" + item["Id"][:12]]
        name = (names[0] if isinstance(names, list) and isinstance(names[0], str) else item["Id"][:12]).lstrip("/")
        for port in _mapping_list(item.get("Ports"), "container list: Ports of %s" % name):
            if port.get("PublicPort"):
                result.append(dict(id=item["Id"], name=name, ip=port.get("IP") or "",
                                   port=int(port["PublicPort"]), proto=port.get("Type") or "tcp"))
    return result


def is_local_engine(docker_host):
    return docker_host.startswith("unix://") or docker_host.startswith("/")


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
    except (OSError, socket.error) as exc:
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
        raise DockerClientError("cannot create container %s from %s: %s" % (name, image, _explain(exc)))
    return result["Id"]


def rename_container(client, container_id, new_name):
    _call("cannot rename container %s to %s" % (container_id[:12], new_name),
          client.api.rename, container_id, new_name)


def start_container(client, container_id):
    _call("cannot start container %s" % container_id[:12], client.api.start, container_id)


def stop_container(client, container_id, timeout=None):
    """Graceful stop: the container's stop signal, then SIGKILL after ``timeout`` seconds."""
    timeout = DEFAULT_STOP_TIMEOUT if timeout is None else timeout
    _call("cannot stop container %s" % container_id[:12], client.api.stop, container_id, timeout=timeout)


def remove_container(client, container_id):
    """Remove a container (stopping it if needed) and its anonymous volumes."""
    try:
        client.api.remove_container(container_id, v=True, force=True)
    except docker_errors.NotFound:
        return
    except Exception as exc:
        raise DockerClientError("cannot remove container %s: %s" % (container_id[:12], _explain(exc)))


def container_logs(client, container_id, lines=50):
    """The last ``lines`` lines of stdout and stderr, as a list of str."""
    if lines <= 0:
        return []
    data = _call("cannot read the logs of %s" % container_id[:12], client.api.logs, container_id,
                 stdout=True, stderr=True, tail=lines, stream=False)
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    return data.splitlines()[-lines:]


# ------------------------------------------------------------------ health

def http_probe(url, timeout=2.0, validate_certs=True):
    """GET url from this host; return the HTTP status. Raises DockerClientError with the reason otherwise."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        if parts.scheme == "https":
            context = ssl.create_default_context()
            if not validate_certs:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            conn = http_client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=timeout, context=context)
        else:
            conn = http_client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
        try:
            conn.request("GET", path, headers={"User-Agent": "baton.docker health probe", "Connection": "close"})
            response = conn.getresponse()
            response.read(65536)
            return response.status
        finally:
            conn.close()
    except socket.timeout:
        raise DockerClientError("no answer within %ss" % timeout)
    except (OSError, socket.error, http_client.HTTPException, ssl.SSLError) as exc:
        raise DockerClientError(getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__)


def _check_still_running(state, first):
    """Raise UnhealthyError when the container stopped or restarted since ``first``."""
    status = state.get("Status")
    if state.get("Restarting") or (first and state.get("StartedAt") != first.get("StartedAt")):
        raise UnhealthyError("it restarted (last exit code %s)" % state.get("ExitCode"))
    if not state.get("Running"):
        reason = "it is %s" % (status or "not running")
        if status in ("exited", "dead"):
            reason = "it exited with code %s" % state.get("ExitCode")
        if state.get("Error"):
            reason += " (%s)" % state["Error"]
        raise UnhealthyError(reason)


def wait_until_healthy(client, container_id, mode, url=None, status=200, interval=1.0, timeout=2.0,
                       retries=30, validate_certs=True, settle=0, clock=time.monotonic, sleep=time.sleep):
    """Wait until a started container proves healthy; return the seconds it took, the settle period included.

    mode ``http``: GET url from this host every ``interval`` seconds until it
    answers ``status``; unhealthy after ``retries`` probes that did not.
    mode ``docker``: wait for the engine's health status ``healthy``; unhealthy
    when the engine says ``unhealthy`` or after retries x interval seconds.
    mode ``running``: the container runs, and still runs (not restarted)
    ``interval`` seconds later.
    In every mode a container that exits or restarts is unhealthy at once.
    ``settle``: after the first pass, the container is checked again every
    ``interval`` seconds for that many seconds, and counts as healthy only if it
    keeps running (no exit, no restart) and keeps passing.
    Raises UnhealthyError with the reason.
    """
    started = clock()
    _first_pass(client, container_id, mode, url, status, interval, timeout, retries, validate_certs, clock, sleep)
    if settle and settle > 0:
        _settle(client, container_id, mode, url, status, interval, timeout, validate_certs, settle, clock, sleep)
    return clock() - started


def _first_pass(client, container_id, mode, url, status, interval, timeout, retries, validate_certs, clock, sleep):
    started = clock()
    first = container_state(client, container_id)
    _check_still_running(first, None)
    if mode == "running":
        sleep(interval)
        _check_still_running(container_state(client, container_id), first)
        return clock() - started
    if mode == "http":
        last = None
        for attempt in range(1, max(1, retries) + 1):
            _check_still_running(container_state(client, container_id), first)
            try:
                code = http_probe(url, timeout, validate_certs)
            except DockerClientError as exc:
                last = str(exc)
            else:
                if code == status:
                    return clock() - started
                last = "HTTP %d" % code
            if attempt < retries:
                sleep(interval)
        raise UnhealthyError("%s did not answer HTTP %d in %d probe(s) %ss apart (last: %s)"
                             % (url, status, retries, interval, last))
    deadline = started + max(1, retries) * interval
    # The engine updates the status at its own check times; reading it is one inspect call, so read it often.
    poll = min(0.1, interval)
    health = {}
    while True:
        state = container_state(client, container_id)
        _check_still_running(state, first)
        health = _mapping(state.get("Health"), "inspect data of container %s: State.Health" % container_id[:12])
        if health.get("Status") == "healthy":
            return clock() - started
        if health.get("Status") == "unhealthy":
            raise UnhealthyError("Docker reports it unhealthy (last check: %s)" % _last_check(health))
        if not health:
            raise UnhealthyError("it has no Docker health check to wait for")
        remaining = deadline - clock()
        if remaining <= 1e-6:
            break
        sleep(min(poll, remaining))
    raise UnhealthyError("Docker still reports it %s after %ss (last check: %s)"
                         % (health.get("Status"), round(clock() - started, 1), _last_check(health)))


def _settle(client, container_id, mode, url, status, interval, timeout, validate_certs, period, clock, sleep):
    """The settle period of wait_until_healthy: one that crashes or starts failing a few seconds after its first pass
    is caught here, before it serves."""
    began = clock()
    first = container_state(client, container_id)
    while clock() - began < period:
        sleep(min(interval, period - (clock() - began)))
        state = container_state(client, container_id)
        try:
            _check_still_running(state, first)
            if mode == "http":
                try:
                    code = http_probe(url, timeout, validate_certs)
                except DockerClientError as exc:
                    raise UnhealthyError("%s stopped answering (%s)" % (url, exc))
                if code != status:
                    raise UnhealthyError("%s answered HTTP %d" % (url, code))
            elif mode == "docker":
                health = _mapping(state.get("Health"), "inspect data of container %s: State.Health" % container_id[:12])
                if health.get("Status") == "unhealthy":
                    raise UnhealthyError("Docker reports it unhealthy")
        except UnhealthyError as exc:
            raise UnhealthyError("it passed its health check, then %s %.1f s later, within the settle period of %ss"
                                 % (exc, clock() - began, period))


def _last_check(health):
    log = health.get("Log") or []
    if not log:
        return "none ran yet"
    if not isinstance(log, list) or not isinstance(log[-1], dict):
        return "unreadable (%s)" % _shown(log)
    entry = log[-1]
    output = entry.get("Output")
    output = (output if isinstance(output, str) else "").strip().splitlines()
    return "exit code %s%s" % (entry.get("ExitCode"), ", " + output[-1][:300] if output else "")


# ---------------------------------------------------------------- build-once releases: build, test, tag, push

TEST_OUTPUT_LINES = 60


class TestsFailed(DockerClientError):
    """The test command ran and failed (or did not finish)."""

    def __init__(self, message, exit_code=None, output=None):
        super(TestsFailed, self).__init__(message)
        self.exit_code = exit_code
        self.output = output or []


def command_argv(command):
    """A command given as a string (split like a shell would, no shell runs) or a list -> argv list."""
    if command is None:
        return None
    if isinstance(command, (list, tuple)):
        argv = ["%s" % (arg,) for arg in command]
    else:
        try:
            argv = shlex.split("%s" % (command,))
        except ValueError as exc:
            raise DockerClientError("test_command: cannot split %r into arguments: %s" % (command, exc))
    if not argv:
        raise DockerClientError("test_command: must not be empty")
    return argv


def build_image(client, source, dockerfile="Dockerfile", buildargs=None, labels=None, nocache=False):
    """Build the context directory `source`; return (image ID, last lines of the build output)."""
    lines = []
    image_id = None
    try:
        stream = client.api.build(path=source, dockerfile=dockerfile, buildargs=buildargs or None,
                                  labels=labels or None, rm=True, forcerm=True, nocache=nocache,
                                  pull=False, decode=True)
        for chunk in stream:
            if "error" in chunk:
                detail = (chunk.get("errorDetail") or {}).get("message") or chunk["error"]
                raise DockerClientError("building %s failed: %s%s" % (
                    source, detail.strip(), (" (last output: %s)" % " / ".join(lines[-5:])) if lines else ""))
            if chunk.get("stream"):
                lines.extend(line for line in chunk["stream"].splitlines() if line.strip())
            aux = chunk.get("aux") or {}
            if aux.get("ID"):
                image_id = aux["ID"]
    except DockerClientError:
        raise
    except Exception as exc:  # APIError (bad Dockerfile path...), requests errors
        raise DockerClientError("building %s failed: %s" % (source, _explain(exc)))
    if not image_id:
        raise DockerClientError("building %s produced no image ID (last output: %s)" % (source, " / ".join(lines[-5:])))
    return image_id, lines[-TEST_OUTPUT_LINES:]


def run_tests(client, image, command, environment=None, labels=None, timeout=600):
    """Run `command` in a one-off container of `image`; return its output lines.

    The container is removed afterwards whatever happens (see run_oneoff). A
    non-zero exit, or no exit within `timeout` seconds, raises TestsFailed with
    the output.
    """
    shown = " ".join(command)
    try:
        run = run_oneoff(client, image, command=command, environment=environment, labels=labels, timeout=timeout,
                         log_lines=TEST_OUTPUT_LINES)
    except OneOffFailed as exc:
        if exc.stage == "create":
            raise DockerClientError("cannot create the test container from %s: %s" % (image[:19], exc.reason))
        if exc.stage == "start":
            raise TestsFailed("the test command %s could not start in %s: %s" % (shown, image[:19], exc.reason),
                              output=exc.output)
        raise TestsFailed("the test command %s did not finish within %d s" % (shown, timeout), output=exc.output)
    if run["rc"] != 0:
        raise TestsFailed("the test command %s failed with exit code %s" % (shown, run["rc"]),
                          exit_code=run["rc"], output=run["output"])
    return run["output"]


def tag_image(client, image, repository, tag):
    try:
        client.api.tag(image, repository, tag, force=True)
    except Exception as exc:
        raise DockerClientError("cannot tag %s as %s:%s: %s" % (image[:19], repository, tag, _explain(exc)))


def push_image(client, repository, tag):
    """Push repository:tag with the credentials of the Docker config; return the manifest digest."""
    digest = None
    try:
        for chunk in client.api.push(repository, tag=tag, stream=True, decode=True):
            if "error" in chunk:
                detail = (chunk.get("errorDetail") or {}).get("message") or chunk["error"]
                raise DockerClientError("pushing %s:%s failed: %s" % (repository, tag, detail.strip()))
            aux = chunk.get("aux") or {}
            if aux.get("Digest"):
                digest = aux["Digest"]
    except DockerClientError:
        raise
    except Exception as exc:
        raise DockerClientError("pushing %s:%s failed: %s" % (repository, tag, _explain(exc)))
    return digest


def remote_digest(client, repository, tag):
    """Manifest digest of repository:tag in its registry, or None when it cannot be read (absent)."""
    try:
        return distribution_digest(client, "%s:%s" % (repository, tag))
    except DockerClientError:  # unknown tag, unknown repository, or not allowed: all mean "not there for us"
        return None


# ---- one-off containers and listings
#
# A one-off container runs one command to completion (a database migration, a
# maintenance command, a test suite) and is removed afterwards whatever
# happens. container_run and image_release (through run_tests) use it;
# container_info lists containers by label.

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
        super(OneOffFailed, self).__init__(message)
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
    attrs = _mapping(attrs, "container inspect data", required=True)
    state = _mapping(attrs.get("State"), "inspect data of container %s: State" % attrs.get("Name"))
    config = _mapping(attrs.get("Config"), "inspect data of container %s: Config" % attrs.get("Name"))
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
                for m in _mapping_list(attrs.get("Mounts"), "inspect data of container %s: Mounts" % attrs.get("Name"))],
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
        rows = _call("cannot list containers", client.api.containers, all=include_stopped, filters=filters or None)
        found = []
        for row in _mapping_list(rows, "container list"):
            if not isinstance(row.get("Id"), str):
                raise DockerClientError("container list: an entry has no Id: %s" % _shown(row))
            try:
                found.append(client.api.inspect_container(row["Id"]))
            except docker_errors.NotFound:  # removed since it was listed
                continue
            except Exception as exc:
                raise DockerClientError("cannot inspect container %s: %s" % (row["Id"][:12], _explain(exc)))
    result = []
    for attrs in found:
        summary = container_summary(attrs)
        if not include_stopped and not summary["running"]:
            continue
        if labels_match(summary["labels"], labels):
            result.append(summary)
    return sorted(result, key=lambda item: item["name"])


def _oneoff_tail(client, container_id, lines):
    if lines <= 0:
        return []
    try:
        data = client.api.logs(container_id, stdout=True, stderr=True, tail=lines)
    except Exception as exc:  # the output is a help, never the reason to fail
        return ["(output unavailable: %s)" % _explain(exc)]
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
        reason = _explain(exc)
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
            reason = _explain(exc)
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
            reason = _explain(exc)
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
            text = "cannot remove the one-off container %s: %s" % (name, _explain(exc))
            result["remove_error"] = text
            if failure is not None:
                failure.remove_error = text


# ---- data volumes
#
# A stack's data volume is either a data container (created, never started,
# with an anonymous volume at each path, mounted by others with volumes_from)
# or a named Docker volume. Neither is ever recreated or emptied. The pure
# functions decide; the ones taking a client talk to the engine.

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
    mounts = _mapping_list(_mapping(attrs, "container inspect data").get("Mounts"), "container inspect data: Mounts")
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
        raise DockerClientError("cannot inspect volume %s: %s" % (name, _explain(exc)))


def containers_using_volumes(client, volume_names, exclude=None):
    """Names of the containers (any state) that mount one of ``volume_names``, except ``exclude`` (an ID)."""
    names = set()
    for volume in volume_names:
        found = _call("cannot list the containers using volume %s" % volume[:24], client.api.containers,
                      all=True, filters={"volume": volume})
        for item in found:
            if exclude and item.get("Id") == exclude:
                continue
            names.add((item.get("Names") or ["/" + item["Id"][:12]])[0].lstrip("/"))
    return sorted(names)


def ensure_image(client, image):
    """Make sure ``image`` is present locally, pulling it when it is not."""
    if image_present(client, image):
        return
    try:
        ref = ImageRef.parse(image)
    except ParamError as exc:
        raise DockerClientError(str(exc))
    try:
        pull_image(client, ref.repository, tag=None if ref.digest else ref.tag, digest=ref.digest)
    except DockerClientError as exc:
        raise DockerClientError("image %s is not present and cannot be pulled: %s" % (image, exc))


def create_data_container(client, name, image, paths, labels):
    """Create (never start) a data container with an anonymous volume at each path; return its inspect data."""
    try:
        result = client.api.create_container(
            image, name=name, command=list(DATA_CONTAINER_COMMAND), volumes=list(paths), labels=labels,
            host_config=client.api.create_host_config(), use_config_proxy=False, detach=True)
    except Exception as exc:
        raise DockerClientError("cannot create data container %s from %s: %s" % (name, image, _explain(exc)))
    return inspect_container(client, result["Id"])


def remove_data_container(client, container_id, remove_volumes=False):
    """Remove a stopped data container; its anonymous volumes too only with ``remove_volumes``."""
    try:
        client.api.remove_container(container_id, v=bool(remove_volumes), force=False)
    except docker_errors.NotFound:
        return
    except Exception as exc:
        raise DockerClientError("cannot remove data container %s: %s" % (container_id[:12], _explain(exc)))


def create_named_volume(client, name, driver, driver_opts, labels):
    """Create a named volume; return its inspect data."""
    try:
        return client.api.create_volume(name=name, driver=driver or "local",
                                        driver_opts=dict((str(k), str(v)) for k, v in (driver_opts or {}).items())
                                        or None, labels=labels)
    except Exception as exc:
        raise DockerClientError("cannot create volume %s: %s" % (name, _explain(exc)))


def remove_named_volume(client, name):
    try:
        client.api.remove_volume(name)
    except docker_errors.NotFound:
        return
    except Exception as exc:
        raise DockerClientError("cannot remove volume %s: %s" % (name, _explain(exc)))

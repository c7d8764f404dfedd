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
import socket
import ssl
import tempfile
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


# ------------------------------------------------------------------ containers
#
# The functions below take the client returned by connect(). Container and
# image arguments are names or IDs. They raise DockerClientError (or one of
# its subclasses below) and never call fail_json.

DEFAULT_STOP_TIMEOUT = 10


class UnhealthyError(DockerClientError):
    """A container did not prove healthy within its bound."""


def _explain(exc):
    explanation = getattr(exc, "explanation", None)
    if explanation:
        if isinstance(explanation, bytes):
            explanation = explanation.decode("utf-8", "replace")
        return str(explanation).strip()
    return str(exc).strip() or exc.__class__.__name__


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
    # The engine also matches ID prefixes: only a container with exactly this name counts.
    if attrs.get("Name", "").lstrip("/") != name:
        return None
    return attrs


def inspect_container(client, container_id):
    """The inspect data of a container that must exist (by ID)."""
    return _call("cannot inspect container %s" % container_id[:12], client.api.inspect_container, container_id)


def container_state(client, container_id):
    """The State block of a container's inspect data."""
    return inspect_container(client, container_id).get("State") or {}


def is_running(attrs):
    state = (attrs or {}).get("State") or {}
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
    return attrs["Id"] if attrs else None


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
    try:
        client.api.pull(repository, tag=digest or tag, auth_config=_auth_config(auth))
    except Exception as exc:
        raise DockerClientError(_explain(exc))
    attrs = image_attrs(client, ref)
    if attrs is None:
        raise DockerClientError("the engine reported success but %s is not present afterwards" % ref)
    return attrs


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
    for item in containers:
        name = (item.get("Names") or ["/" + item["Id"][:12]])[0].lstrip("/")
        for port in item.get("Ports") or []:
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
    """Create (not start) a container from an explicit run config (see _swap); return its ID.

    ``explicit`` has env, ports, volumes, restart_policy, restart_retries,
    command, entrypoint, network, stop_timeout and healthcheck (nanoseconds).
    Environment values are passed as API data, never through a shell.
    """
    api = client.api
    bindings = {}
    exposed = []
    for spec in explicit["ports"]:
        ip, host_port, container, proto = _split_port(spec)
        key = "%d/%s" % (container, proto)
        if key not in bindings:
            exposed.append((container, proto))
        bindings.setdefault(key, []).append({"HostIp": ip, "HostPort": str(host_port) if host_port else ""})
    restart = {"Name": explicit["restart_policy"] if explicit["restart_policy"] != "no" else ""}
    if explicit["restart_policy"] == "on-failure":
        restart["MaximumRetryCount"] = explicit["restart_retries"] or 0
    network = explicit.get("network")
    try:
        host_config = api.create_host_config(
            port_bindings=bindings or None, binds=list(explicit["volumes"]) or None,
            restart_policy=restart, network_mode=network or None)
        networking = None
        if network and network not in ("bridge", "host", "none", "default"):
            networking = api.create_networking_config({network: api.create_endpoint_config()})
        healthcheck = None
        if explicit.get("healthcheck"):
            check = explicit["healthcheck"]
            healthcheck = {"Test": check["test"], "Interval": check["interval"], "Timeout": check["timeout"],
                           "Retries": check["retries"], "StartPeriod": check["start_period"]}
        env = ["%s=%s" % (k, v) for k, v in sorted(explicit["env"].items())]
        result = api.create_container(
            image, name=name, command=explicit["command"], entrypoint=explicit["entrypoint"],
            environment=env or None, ports=exposed or None, labels=labels, host_config=host_config,
            networking_config=networking, healthcheck=healthcheck,
            stop_timeout=explicit.get("stop_timeout"), use_config_proxy=False, detach=True)
    except Exception as exc:
        raise DockerClientError("cannot create container %s from %s: %s" % (name, image, _explain(exc)))
    return result["Id"]


def _split_port(spec):
    """Canonical port string (see _swap.format_port) -> ip, host port, container port, proto."""
    text, proto = spec.rsplit("/", 1)
    ip = ""
    if text.startswith("["):
        end = text.index("]")
        ip, text = text[1:end], text[end + 2:]
        host, container = text.split(":")
    else:
        parts = text.split(":")
        if len(parts) == 3:
            ip, host, container = parts
        elif len(parts) == 2:
            host, container = parts
        else:
            host, container = "", parts[0]
    return ip, int(host) if host else None, int(container), proto


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
                       retries=30, validate_certs=True, clock=time.monotonic, sleep=time.sleep):
    """Wait until a started container proves healthy; return the seconds it took.

    mode ``http``: GET url from this host every ``interval`` seconds until it
    answers ``status``; unhealthy after ``retries`` probes that did not.
    mode ``docker``: wait for the engine's health status ``healthy``; unhealthy
    when the engine says ``unhealthy`` or after retries x interval seconds.
    mode ``running``: the container runs, and still runs (not restarted)
    ``interval`` seconds later.
    In every mode a container that exits or restarts is unhealthy at once.
    Raises UnhealthyError with the reason.
    """
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
    poll = min(0.5, interval)
    health = {}
    while True:
        state = container_state(client, container_id)
        _check_still_running(state, first)
        health = state.get("Health") or {}
        if health.get("Status") == "healthy":
            return clock() - started
        if health.get("Status") == "unhealthy":
            raise UnhealthyError("Docker reports it unhealthy (last check: %s)" % _last_check(health))
        if not health:
            raise UnhealthyError("it has no Docker health check to wait for")
        if clock() >= deadline:
            break
        sleep(poll)
    raise UnhealthyError("Docker still reports it %s after %ss (last check: %s)"
                         % (health.get("Status"), round(clock() - started, 1), _last_check(health)))


def _last_check(health):
    log = health.get("Log") or []
    if not log:
        return "none ran yet"
    entry = log[-1]
    output = (entry.get("Output") or "").strip().splitlines()
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

    The container is removed afterwards whatever happens. A non-zero exit, or
    no exit within `timeout` seconds, raises TestsFailed with the output.
    """
    env = ["%s=%s" % (key, value) for key, value in sorted((environment or {}).items())]
    try:
        container = client.api.create_container(image, command=command, environment=env or None,
                                                labels=labels or None, detach=True, use_config_proxy=False)
    except Exception as exc:
        raise DockerClientError("cannot create the test container from %s: %s" % (image[:19], _explain(exc)))
    container_id = container["Id"]
    try:
        try:
            client.api.start(container_id)
        except Exception as exc:
            raise TestsFailed("the test command %s could not start in %s: %s"
                              % (" ".join(command), image[:19], _explain(exc)))
        exit_code = None
        try:
            exit_code = client.api.wait(container_id, timeout=timeout).get("StatusCode")
        except Exception:  # requests' ReadTimeout / ConnectionError when the time is up
            exit_code = None
        output = _logs(client, container_id)
        if exit_code is None:
            raise TestsFailed("the test command %s did not finish within %d s" % (" ".join(command), timeout),
                              output=output)
        if exit_code != 0:
            raise TestsFailed("the test command %s failed with exit code %s" % (" ".join(command), exit_code),
                              exit_code=exit_code, output=output)
        return output
    finally:
        try:
            client.api.remove_container(container_id, force=True, v=True)
        except Exception:  # already gone; nothing more to clean up
            pass


def _logs(client, container_id):
    try:
        data = client.api.logs(container_id, stdout=True, stderr=True, tail=TEST_OUTPUT_LINES)
    except Exception:
        return []
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    return data.splitlines()[-TEST_OUTPUT_LINES:]


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

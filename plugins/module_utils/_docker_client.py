# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The connection to one Docker engine: DockerClient.

Every call a baton.docker module makes to a Docker engine goes through a DockerClient: it knows the engine it talks
to (``docker_host``, ``api_timeout``), connects to it, guards each call, and turns engine and SDK errors into a
DockerClientError with a message a user can act on. It also pulls images (a pull is a long stream that needs its own
bound). What the collection does with containers, images and volumes lives in the feature files
(_containers, _health, _images, _image_build, _oneoff, _data_volumes, _registry_auth), each taking a DockerClient.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import threading
import time
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

from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError
from ansible_collections.baton.docker.plugins.module_utils._image_ref import registry_of

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
DEFAULT_API_TIMEOUT = 60.0


def _from_env(name):
    """An option's fallback: environment variable ``name`` of the managed host, when it is set and not empty."""
    value = os.environ.get(name)
    if not value:
        from ansible.module_utils.basic import AnsibleFallbackNotFound
        raise AnsibleFallbackNotFound
    return value


def _from_cert_path(filename):
    """An option's fallback: ``filename`` in the directory E(DOCKER_CERT_PATH) names, as the Docker CLI reads it."""
    return os.path.join(_from_env("DOCKER_CERT_PATH"), filename)


# Shared argument spec for the engine connection, with community.docker's names; documented by the
# baton.docker.docker doc fragment.
DOCKER_COMMON_ARGS = dict(
    docker_host=dict(type="str", default=DEFAULT_DOCKER_HOST, aliases=["docker_url"],
                     fallback=(_from_env, ["DOCKER_HOST"])),
    api_timeout=dict(type="float", default=DEFAULT_API_TIMEOUT),
    api_version=dict(type="str", default="auto", aliases=["docker_api_version"],
                     fallback=(_from_env, ["DOCKER_API_VERSION"])),
    tls=dict(type="bool", default=False, fallback=(_from_env, ["DOCKER_TLS"])),
    validate_certs=dict(type="bool", default=False, aliases=["tls_verify"],
                        fallback=(_from_env, ["DOCKER_TLS_VERIFY"])),
    ca_path=dict(type="path", aliases=["ca_cert", "tls_ca_cert", "cacert_path"],
                 fallback=(_from_cert_path, ["ca.pem"])),
    client_cert=dict(type="path", aliases=["tls_client_cert", "cert_path"], fallback=(_from_cert_path, ["cert.pem"])),
    client_key=dict(type="path", aliases=["tls_client_key", "key_path"], fallback=(_from_cert_path, ["key.pem"])),
    tls_hostname=dict(type="str", fallback=(_from_env, ["DOCKER_TLS_HOSTNAME"])),
)
DOCKER_REQUIRED_TOGETHER = [["client_cert", "client_key"]]


def tls_settings(params):
    """How to reach the engine ``params`` name over TLS: None for a unix socket or when neither O(tls) nor
    O(validate_certs) is set; else a dict of ``verify`` (the CA file, True for the system's CAs, or False), ``cert``
    (a (certificate, key) pair or None) and ``hostname`` (the name the engine's certificate must carry, None for the
    host of O(docker_host)). A file that does not exist is a DockerClientError naming its option."""
    host = params.get("docker_host") or ""
    if not (params.get("tls") or params.get("validate_certs")) or not host.startswith(("tcp://", "https://")):
        return None
    verify = bool(params.get("validate_certs"))
    files = ["client_cert", "client_key"] + (["ca_path"] if verify else [])
    for option in files:
        if params.get(option) and not os.path.isfile(params[option]):
            raise DockerClientError("%s: no such file %s (TLS with the Docker engine at %s)" % (option, params[option], host))
    cert = (params["client_cert"], params["client_key"]) if params.get("client_cert") else None
    return dict(verify=(params.get("ca_path") or True) if verify else False, cert=cert,
                hostname=params.get("tls_hostname") if verify else None)


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


class DockerClientError(BatonError):
    """An engine error, worded for the user."""


# The oldest Docker SDK for Python the collection is tested with: Debian 12's python3-docker, which the hosts of the
# molecule scenarios run (the rest of the test suite runs the newest 7.x).
MIN_DOCKER_SDK = "5.0.3"


def docker_sdk_error(version):
    """The message for a Docker SDK ``version`` older than MIN_DOCKER_SDK, else None."""
    from ansible.module_utils.compat.version import LooseVersion
    try:
        if LooseVersion(str(version)) >= LooseVersion(MIN_DOCKER_SDK):
            return None
    except TypeError:  # a version string LooseVersion cannot order
        pass
    return ("the Docker SDK for Python on this host is %s; baton.docker needs %s or later "
            "(pip install 'docker>=%s', or the distribution's python3-docker package where it is that recent)"
            % (version, MIN_DOCKER_SDK, MIN_DOCKER_SDK))


def require_docker(module):
    """Fail the module clearly when the Docker SDK is missing or older than MIN_DOCKER_SDK."""
    if not HAS_DOCKER:
        from ansible.module_utils.basic import missing_required_lib
        module.fail_json(msg=missing_required_lib("docker (the Docker SDK for Python) >= %s" % MIN_DOCKER_SDK),
                         exception=DOCKER_IMPORT_ERROR)
    error = docker_sdk_error(getattr(docker, "__version__", "unknown"))
    if error:
        module.fail_json(msg=error)


def is_local_engine(docker_host):
    """Whether ``docker_host`` names an engine on this host (a unix socket)."""
    return docker_host.startswith("unix://") or docker_host.startswith("/")


def engine_unreachable(exc):
    """True for the errors of an engine that stopped answering (socket gone, refused, connection cut)."""
    if isinstance(exc, (ConnectionError, FileNotFoundError)):
        return True
    if type(exc).__name__ == "ConnectionError" and type(exc).__module__.startswith("requests"):
        return True
    return any(engine_unreachable(arg) for arg in getattr(exc, "args", ()) if isinstance(arg, BaseException))


def shown(value, limit=120):
    """``repr(value)``, cut to ``limit`` characters, for a message about an unexpected answer."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def expect_object(value, what, required=False):
    """``value`` when it is an object of the engine's answer (None -> {} unless ``required``); DockerClientError
    saying what was expected and what came otherwise, never a TypeError further on."""
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        got = "nothing" if value is None else shown(value)
        raise DockerClientError("%s: expected an object from the engine, got %s" % (what, got))
    return value


def expect_object_list(value, what):
    """A list of objects of the engine's answer (None -> [])."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise DockerClientError("%s: expected a list of objects from the engine, got %s" % (what, shown(value)))
    return value


def auth_config(auth):
    """pull_auth option -> SDK auth_config; None lets the SDK use the Docker config."""
    if not auth or not auth.get("username"):
        return None
    config = {"username": auth["username"], "password": auth.get("password") or ""}
    if auth.get("registry"):
        config["serveraddress"] = auth["registry"]
    return config


def stream_error(chunk):
    """The error a chunk of the engine's progress stream reports, or None."""
    if not isinstance(chunk, dict) or not chunk.get("error"):
        return None
    detail = chunk.get("errorDetail")
    return str((detail.get("message") if isinstance(detail, dict) else None) or chunk["error"])


if HAS_DOCKER:
    import requests

    class _EngineTLSAdapter(requests.adapters.HTTPAdapter):
        """HTTPS to the engine with the module's TLS settings: ``verify`` (a CA file, True or False), ``cert`` (a
        (certificate, key) pair or None) and ``hostname`` (the name to check in the engine's certificate instead of the
        host of O(docker_host), or None). They are given to every request here, since requests lets the environment
        (E(REQUESTS_CA_BUNDLE), E(CURL_CA_BUNDLE)) take the place of a session's CA file."""

        def __init__(self, verify, cert, hostname, **kwargs):
            self._verify, self._cert, self._hostname = verify, cert, hostname
            super(_EngineTLSAdapter, self).__init__(**kwargs)

        def init_poolmanager(self, *args, **kwargs):
            if self._hostname:
                kwargs.update(assert_hostname=self._hostname, server_hostname=self._hostname)
            super(_EngineTLSAdapter, self).init_poolmanager(*args, **kwargs)

        def send(self, request, **kwargs):
            kwargs.update(verify=self._verify, cert=self._cert)
            return super(_EngineTLSAdapter, self).send(request, **kwargs)


class DockerClient:
    """One Docker engine, reached at ``docker_host`` with calls bounded by ``api_timeout`` seconds.

    ``connect()`` makes sure the engine answers; the ``api`` attribute (the SDK's low-level client) connects on
    first use when ``connect()`` was not called. ``api``: an SDK low-level client already made, used as it is.
    """

    def __init__(self, docker_host=DEFAULT_DOCKER_HOST, api_timeout=DEFAULT_API_TIMEOUT, api=None, api_version="auto",
                 tls=None):
        self.docker_host = docker_host
        self.api_timeout = api_timeout
        self.api_version = api_version or "auto"
        self.tls = tls
        self._api = api

    @classmethod
    def from_params(cls, params):
        """The engine a module's connection options (DOCKER_COMMON_ARGS) name."""
        return cls(params["docker_host"], params["api_timeout"], api_version=params.get("api_version"),
                   tls=tls_settings(params))

    def connect(self):
        """Connect to the engine and check that it answers a ping; return self."""
        if self._api is None:
            tls = self.tls is not None
            try:
                api = docker.APIClient(base_url=self.docker_host, timeout=self.api_timeout, tls=tls,
                                       version=docker.constants.DEFAULT_DOCKER_API_VERSION
                                       if tls and self.api_version == "auto" else self.api_version)
                if tls:
                    api.mount("https://", _EngineTLSAdapter(**self.tls))
                    if self.api_version == "auto":
                        # What the SDK asks the engine when it is made, asked again once the TLS settings are in place.
                        api._version = api.version(api_version=False)["ApiVersion"]
                api.ping()
            except Exception as exc:  # the SDK raises several unrelated types here
                raise DockerClientError(self._unreachable(exc))
            self._api = api
        return self

    def _unreachable(self, exc):
        if self.tls is not None and "SSL" in "%s %r" % (type(exc).__name__, exc):
            return ("docker_host: TLS with the Docker engine at %s failed (check validate_certs, ca_path, client_cert, "
                    "client_key and tls_hostname): %s" % (self.docker_host, exc))
        return "docker_host: cannot reach the Docker engine at %s: %s" % (self.docker_host, exc)

    @property
    def api(self):
        """The SDK's low-level client of this engine."""
        return self.connect()._api

    def close(self):
        if self._api is not None:
            self._api.close()

    # ---------------------------------------------------------------- errors

    def explain(self, exc):
        """The message of an engine or SDK error, naming the engine when it stopped answering."""
        if engine_unreachable(exc):
            return "the Docker engine at %s does not answer (%s)" % (
                self.docker_host or "its address", str(exc).strip() or exc.__class__.__name__)
        explanation = getattr(exc, "explanation", None)
        if explanation:
            if isinstance(explanation, bytes):
                explanation = explanation.decode("utf-8", "replace")
            return str(explanation).strip()
        return str(exc).strip() or exc.__class__.__name__

    def call(self, what, func, *args, **kwargs):
        """``func(*args, **kwargs)``; any error but a DockerClientError becomes one, ``what`` first."""
        try:
            return func(*args, **kwargs)
        except DockerClientError:
            raise
        except Exception as exc:  # APIError, requests errors, socket timeouts
            raise DockerClientError("%s: %s" % (what, self.explain(exc)))

    # ---------------------------------------------------------------- images and pulls

    def image_attrs(self, ref):
        """The inspect data of a local image (name, name:tag, name@digest or ID), or None."""
        try:
            return self.api.inspect_image(ref)
        except docker_errors.NotFound:
            return None
        except docker_errors.APIError as exc:
            if exc.status_code in (400, 404):  # an unparsable name cannot be a local image either
                return None
            raise DockerClientError("cannot inspect image %s: %s" % (ref, self.explain(exc)))
        except DockerClientError:
            raise
        except Exception as exc:
            raise DockerClientError("cannot inspect image %s: %s" % (ref, self.explain(exc)))

    def pull_image(self, image, auth=None):
        """Pull the ImageRef ``image`` (by its digest when it names one, else by its tag); return the image's inspect
        data.

        With ``auth`` (username, password, registry) the credentials go to the
        engine in the X-Registry-Auth header for this pull only; without it the
        SDK sends the credentials stored in the Docker config for that registry.
        """
        repository, tag = image.repository, image.digest or image.tag
        ref = "%s%s%s" % (repository, "@" if image.digest else ":", tag)
        self._stream_pull(repository, tag, ref, auth_config(auth))
        attrs = self.image_attrs(ref)
        if attrs is None:
            raise DockerClientError("the engine reported success but %s is not present afterwards" % ref)
        return attrs

    def _stream_pull(self, repository, tag, ref, auth):
        """Pull with the engine's progress stream read in a thread: an error in the stream is raised, and so is a stall.

        The SDK sends a pull without any timeout, so a registry that accepts and never answers would hold the run as
        long as the engine waits; here the pull fails once the engine reports nothing for the client's timeout (the
        modules' api_timeout). A slow pull that progresses is not cut.
        """
        api = self.api
        state = dict(last=time.monotonic(), error=None)
        done = threading.Event()

        def read():
            try:
                for chunk in api.pull(repository, tag=tag, auth_config=auth, stream=True, decode=True):
                    state["last"] = time.monotonic()
                    error = stream_error(chunk)
                    if error:
                        state["error"] = error
                        return
            except Exception as exc:  # APIError, requests errors, socket errors
                state["error"] = self.explain(exc)
            finally:
                done.set()

        thread = threading.Thread(target=read, name="baton-pull", daemon=True)
        thread.start()
        idle_limit = getattr(api, "timeout", None) or DEFAULT_API_TIMEOUT
        while not done.wait(0.1):
            idle = time.monotonic() - state["last"]
            if idle >= idle_limit:
                # The thread is left to the engine's own timeouts; the module's process ends with this error.
                raise DockerClientError("the engine reported no progress for %ss (api_timeout) pulling %s: the registry "
                                        "%s does not answer" % (round(idle, 1), ref, registry_of(repository)))
        if state["error"]:
            raise DockerClientError(state["error"].strip())

    def distribution_digest(self, ref, auth=None):
        """The manifest digest of ref in its registry, without pulling (distribution inspect)."""
        try:
            data = self.api.inspect_distribution(ref, auth_config=auth_config(auth))
        except DockerClientError:
            raise
        except Exception as exc:
            raise DockerClientError(self.explain(exc))
        return (data.get("Descriptor") or {}).get("digest")

"""Bad-input fuzzing of a module's main(): an argument generator that follows the module's own argument spec, and a
sandbox that runs main() in-process and turns the first effect on the host into an outcome instead of performing it.

Outcomes of one case:
  refused       fail_json, with no effect attempted before it
  accepted      exit_json, with no effect attempted
  would-change  the module reached an effect (Docker POST/PUT/DELETE, an HAProxy command other than show/help, a file
                write or removal outside the case directory, a subprocess, a mutating AWS call); it is not performed
  crash         any other exception (a traceback), or a case that does not end within CASE_SECONDS
"""

import builtins
import copy
import errno
import ipaddress
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import traceback

import yaml

from ansible.module_utils import basic
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.testing import patch_module_args

CASE_SECONDS = 5.0
READ_ONLY_AWS = ("Describe", "Get", "List", "BatchGet", "Head")

# Values by category. Each is (category, value).
HUGE = "A" * 70000
STRINGS = [
    ("empty string", ""), ("blank string", "  "), ("huge string", HUGE), ("huge unicode", "\u00e9\U0001F680" * 20000),
    ("unicode", "\u00fcn\u00efc\u00f8d\u00e9-\u540d\u524d-\U0001F680"), ("bidi control", "\u202eevil\u202c"),
    ("NUL byte", "a\x00b"), ("newlines", "a\nb\r\nc"), ("../ path", "../../../etc/passwd"),
    ("absolute ../ path", "/tmp/../etc/cron.d/fuzz"), ("dot-dot", ".."), ("root", "/"),
    ("shell ;", "; rm -rf / #"), ("shell $()", "$(touch /tmp/fuzz-pwned)"), ("shell backticks", "`id` | tee x && echo"),
    ("glob", "*"), ("format string", "%s%n%d{0}{}"), ("tilde", "~root/.ssh"), ("colons", "a:b:c@d/e"),
    ("option-like", "-rf"), ("tab", "a\tb"), ("control", "\x1b[31m\x07"),
]
NUMBERS = [
    ("negative", -1), ("zero", 0), ("int32 min", -2 ** 31), ("int32 overflow", 2 ** 31), ("int64 overflow", 2 ** 63),
    ("enormous", 10 ** 30), ("negative enormous", -10 ** 30), ("fraction", 1.5), ("infinity", float("inf")),
    ("minus infinity", float("-inf")), ("NaN", float("nan")), ("number string overflow", "1e999"),
    ("hex string", "0x10"), ("padded number string", " 7 "), ("negative string", "-5"),
]
WRONG_TYPES = [
    ("null", None), ("true", True), ("false", False), ("empty list", []), ("empty dict", {}), ("list", [1, "a", None]),
    ("dict", {"a": 1}), ("nested dict", {"a": {"b": [None]}}), ("int", 3), ("float", 3.7), ("yes string", "yes"),
    ("JSON list string", "[1, 2]"), ("JSON dict string", "{\"a\": 1}"), ("k=v string", "a=b c=d"),
    ("list of dicts", [{"x": "y"}]), ("list of huge", [HUGE]),
]


class WouldChange(BaseException):
    """Raised by the sandbox in place of the first effect on the host (BaseException: modules do not catch it)."""

    def __init__(self, what):
        super().__init__(what)
        self.what = what


class CaseTimeout(BaseException):
    pass


class _Exit(BaseException):
    def __init__(self, kind, result):
        super().__init__(kind)
        self.kind = kind
        self.result = result


# ------------------------------------------------------------------ the spec


def module_spec(module):
    """The argument spec main() builds: the module's own ``argument_spec()`` plus the options of the backends its
    documentation extends (the doc fragments docker, haproxy, aws), which the shared runner adds."""
    from ansible_collections.baton.docker.plugins.module_utils import _module

    fragments = yaml.safe_load(module.DOCUMENTATION).get("extends_documentation_fragment") or []
    backends = [name.rsplit(".", 1)[-1] for name in fragments if name.rsplit(".", 1)[-1] in _module.CONNECTIONS]
    return _module.module_arguments(module.argument_spec(), backends)["argument_spec"]


def spec_at(spec, path):
    """The spec entry of ``path`` (keys and list indexes), or None where the value is free-form."""
    entry = None
    options = spec
    for step in path:
        if isinstance(step, int):
            if entry is None or entry.get("type") != "list":
                return None
            continue
        if options is None:
            return None
        entry = options.get(step)
        if entry is None:
            for candidate in options.values():
                if step in (candidate.get("aliases") or ()):
                    entry = candidate
                    break
        if entry is None:
            return None
        options = entry.get("options")
    return entry


# ------------------------------------------------------------------ the generator


def _walk(value, path=()):
    """Every (path, value) of a nested structure, its root excluded."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path + (key,), item
            yield from _walk(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield path + (index,), item
            yield from _walk(item, path + (index,))


def _get(tree, path):
    for step in path:
        tree = tree[step]
    return tree


def show_path(path):
    text = ""
    for step in path:
        text += "[%d]" % step if isinstance(step, int) else ("." if text else "") + str(step)
    return text


class Generator:
    """Cases for one module: its baseline with 1-3 mutations each, from a seeded random source (reproducible)."""

    def __init__(self, spec, baseline, seed):
        self.spec = spec
        self.baseline = baseline
        self.seed = seed
        self.random = random.Random(seed)
        self.extra = 0

    def _value_for(self, entry, current):
        kind = (entry or {}).get("type") or type(current).__name__
        pools = [WRONG_TYPES, STRINGS]
        if kind in ("int", "float"):
            pools = [NUMBERS, NUMBERS, WRONG_TYPES, STRINGS]
        elif kind in ("bool",):
            pools = [WRONG_TYPES, NUMBERS, [("not a boolean", "maybe"), ("boolean number", 2)]]
        elif kind in ("str", "path", "raw"):
            pools = [STRINGS, STRINGS, WRONG_TYPES, NUMBERS]
        elif kind in ("list", "dict"):
            pools = [WRONG_TYPES, STRINGS, NUMBERS]
        if entry and entry.get("choices"):
            pools.append([("not a choice", "fuzz-not-a-choice"), ("choice in upper case", str(entry["choices"][0]).upper())])
        category, value = self.random.choice(self.random.choice(pools))
        return category, copy.deepcopy(value)

    def _containers(self, args):
        """Paths of the dicts of ``args`` (the root included) where a key can be added or removed."""
        found = [()]
        for path, value in _walk(args):
            if isinstance(value, dict):
                found.append(path)
        return found

    def mutate(self, args):
        """Apply one mutation to ``args`` in place; return (description, path of the parameter it targets[, value])."""
        roll = self.random.random()
        paths = [path for path, _value in _walk(args)]
        if roll < 0.5 and paths:  # a new value (wrong type, odd string, odd number) for an existing key or element
            path = self.random.choice(paths)
            category, value = self._value_for(spec_at(self.spec, path), _get(args, path))
            _get(args, path[:-1])[path[-1]] = value
            return "%s = %s" % (show_path(path), category), path, value
        if roll < 0.65 and paths:  # a missing key or list element
            path = self.random.choice(paths)
            del _get(args, path[:-1])[path[-1]]
            return "%s removed" % show_path(path), path
        if roll < 0.75:  # an extra key, unknown to the spec
            where = self.random.choice(self._containers(args))
            self.extra += 1
            key = self.random.choice(["fuzz_extra_%d" % self.extra, "fuzz-extra-%d; id" % self.extra,
                                      "fuzz\u00e9xtra%d" % self.extra])
            category, value = self.random.choice(self.random.choice([WRONG_TYPES, STRINGS, NUMBERS]))
            _get(args, where)[key] = copy.deepcopy(value)
            return "extra key %s = %s" % (show_path(where + (key,)), category), where + (key,)
        if roll < 0.9:  # an option of the spec (top level or nested) that the baseline leaves out
            options = []
            for where in self._containers(args):
                entry = spec_at(self.spec, where) if where else {"options": self.spec}
                for name, sub in ((entry or {}).get("options") or {}).items():
                    if name not in _get(args, where):
                        options.append((where + (name,), sub))
            if options:
                path, entry = self.random.choice(options)
                category, value = self._value_for(entry, None)
                _get(args, path[:-1])[path[-1]] = value
                return "%s = %s (not in the baseline)" % (show_path(path), category), path, value
        lists = [path for path, value in _walk(args) if isinstance(value, list) and value]
        if lists:  # list shapes: emptied, an element repeated, a huge list
            path = self.random.choice(lists)
            items = _get(args, path)
            shape = self.random.choice(["emptied", "element repeated", "1000 elements"])
            if shape == "1000 elements" and len(json.dumps(items[0], default=str)) > 500:
                shape = "element repeated"  # a thousand copies of a huge value is a test of memory, not of input checks
            if shape == "emptied":
                del items[:]
            elif shape == "element repeated":
                items.append(copy.deepcopy(items[0]))
            else:
                items.extend(copy.deepcopy(items[0]) for _copy in range(1000))
            return "%s %s" % (show_path(path), shape), path
        path = self.random.choice(paths) if paths else ("fuzz_extra",)
        if paths:
            _get(args, path[:-1])[path[-1]] = None
        return "%s = null" % show_path(path), path

    def case(self):
        args = copy.deepcopy(self.baseline)
        mutations = []
        for _mutation in range(self.random.choice((1, 1, 2, 3))):
            mutations.append(self.mutate(args))
        if self.random.random() < 0.3:
            args["_ansible_check_mode"] = True
        if self.random.random() < 0.2:
            args["_ansible_diff"] = True
        return args, mutations


# ------------------------------------------------------------------ the sandbox


def _loopback(host):
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


class Sandbox:
    """Patches that stand between main() and the host while a module is fuzzed.

    ``case_dir``: the only directory a case may write into; it is emptied before every case. Docker reads go to
    the real engine at ``docker_host`` and are kept per URL (the fuzz changes nothing, so an answer stays valid).
    Sockets reach only loopback addresses and unix sockets; names other than localhost do not resolve.
    """

    def __init__(self, case_dir, docker_host, aws_env):
        self.case_dir = os.path.realpath(case_dir)
        self.docker_host = docker_host
        self.aws_env = aws_env
        self.effects = []
        self._undo = []
        self._docker_cache = {}
        self.docker_reads = 0
        self.aws_reads = 0

    # -- effects --
    def effect(self, what):
        self.effects.append(what)
        raise WouldChange(what)

    def _inside(self, path):
        if isinstance(path, int):
            return True
        try:
            path = os.fsdecode(path)
        except TypeError:
            return True
        real = os.path.realpath(path)
        return real == self.case_dir or real.startswith(self.case_dir + os.sep)

    def _set(self, owner, name, value):
        self._undo.append((owner, name, getattr(owner, name), value))
        setattr(owner, name, value)

    def __enter__(self):
        sandbox = self
        real_open = builtins.open
        real_os_open = os.open

        def guarded_open(file, mode="r", *a, **kw):
            if any(flag in mode for flag in "wax+") and not sandbox._inside(file):
                sandbox.effect("open %s for writing" % file)
            return real_open(file, mode, *a, **kw)

        def guarded_os_open(path, flags, *a, **kw):
            if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND) and not sandbox._inside(path):
                sandbox.effect("os.open %s for writing" % path)
            return real_os_open(path, flags, *a, **kw)

        self._set(builtins, "open", guarded_open)
        self._set(os, "open", guarded_os_open)

        def path_guard(name, count=1):
            real = getattr(os, name)

            def guarded(*a, **kw):
                for path in a[:count]:
                    if not sandbox._inside(path):
                        sandbox.effect("os.%s %s" % (name, path))
                return real(*a, **kw)
            self._set(os, name, guarded)

        for name in ("remove", "unlink", "rmdir", "mkdir", "chmod", "chown", "lchown", "utime", "truncate", "mkfifo",
                     "mknod"):
            path_guard(name)
        for name in ("rename", "replace", "symlink", "link"):
            path_guard(name, 2)

        def no_process(what, skip=0):
            def refused(*a, **kw):
                sandbox.effect("%s %r" % (what, a[skip:skip + 1]))
            return refused

        # Popen.__init__ gets the half-made Popen first, whose repr fails: the command is shown.
        self._set(subprocess.Popen, "__init__", no_process("subprocess", skip=1))
        for name in ("system", "popen", "fork", "posix_spawn", "posix_spawnp", "execv", "execve", "execvp"):
            if hasattr(os, name):
                self._set(os, name, no_process("os.%s" % name))

        # Network: loopback and unix sockets only; no DNS but localhost.
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex
        real_getaddrinfo = socket.getaddrinfo

        def allowed(sock, address):
            return sock.family == socket.AF_UNIX or (isinstance(address, tuple) and _loopback(str(address[0])))

        def connect(sock, address):
            if not allowed(sock, address):
                raise OSError(errno.ENETUNREACH, "fuzz sandbox: only loopback addresses are reachable")
            return real_connect(sock, address)

        def connect_ex(sock, address):
            if not allowed(sock, address):
                return errno.ENETUNREACH
            return real_connect_ex(sock, address)

        def getaddrinfo(host, *a, **kw):
            name = host.decode() if isinstance(host, bytes) else host
            if name not in (None, "localhost") and not _loopback(str(name)):
                try:
                    ipaddress.ip_address(str(name))
                except ValueError:
                    raise socket.gaierror(socket.EAI_NONAME, "fuzz sandbox: only localhost resolves")
            return real_getaddrinfo(host, *a, **kw)

        self._set(socket.socket, "connect", connect)
        self._set(socket.socket, "connect_ex", connect_ex)
        self._set(socket, "getaddrinfo", getaddrinfo)

        self._docker()
        self._haproxy()
        self._aws()
        self._set(basic.AnsibleModule, "exit_json", lambda module, **kw: _raise(_Exit("exit", kw)))
        self._set(basic.AnsibleModule, "fail_json", lambda module, **kw: _raise(_Exit("fail", kw)))
        self._set(basic.AnsibleModule, "_log_invocation", lambda module: None)
        self._set(tempfile, "tempdir", self.case_dir)
        self._env = dict(os.environ)
        for key in list(os.environ):
            if key.startswith("AWS_") or key.startswith("DOCKER_"):
                del os.environ[key]
        os.environ.update(self.aws_env)
        return self

    def __exit__(self, *exc):
        self._real()
        os.environ.clear()
        os.environ.update(self._env)

    def _docker(self):
        import docker
        from docker.api.client import APIClient
        sandbox = self
        real_init = APIClient.__init__
        real_get = APIClient._get

        def init(client, base_url=None, *a, **kw):
            if base_url not in (None, sandbox.docker_host) and not str(base_url).startswith(("tcp://127.", "http://127.")):
                raise docker.errors.DockerException("fuzz sandbox: no engine at %r" % (base_url,))
            return real_init(client, base_url, *a, **kw)

        def get(client, url, **kw):
            path = url.split("/v1.", 1)[-1]
            if "/distribution/" in path or "/images/search" in path:
                ref = path.split("/distribution/", 1)[-1]
                host = ref.split("/", 1)[0] if "/" in ref else ""
                if not host.startswith(("127.0.0.1", "localhost")):
                    raise docker.errors.APIError("fuzz sandbox: registry %r is not contacted" % (host or "docker.io"))
            if kw.get("stream"):
                return real_get(client, url, **kw)
            key = (client.base_url, url, json.dumps(kw.get("params"), sort_keys=True, default=str))
            if key not in sandbox._docker_cache:
                sandbox.docker_reads += 1
                response = real_get(client, url, **kw)
                response.content  # read it all, so it can be answered again
                sandbox._docker_cache[key] = response
            return sandbox._docker_cache[key]

        def effect(method):
            def refused(client, url, *a, **kw):
                sandbox.effect("Docker %s %s" % (method, url.split("/v1.", 1)[-1]))
            return refused

        self._set(APIClient, "__init__", init)
        self._set(APIClient, "_get", get)
        for name, method in (("_post", "POST"), ("_put", "PUT"), ("_delete", "DELETE"), ("_post_json", "POST")):
            self._set(APIClient, name, effect(method))

    def _haproxy(self):
        from ansible_collections.baton.docker.plugins.module_utils import _haproxy_client
        sandbox = self
        real_command = _haproxy_client.HAProxyRuntime.command

        def command(runtime, cmd):
            if str(cmd).split(" ", 1)[0] not in ("show", "help"):
                sandbox.effect("HAProxy %s" % cmd)
            return real_command(runtime, cmd)

        self._set(_haproxy_client.HAProxyRuntime, "command", command)

    def _aws(self):
        import botocore.client
        import botocore.loaders
        from ansible_collections.baton.docker.plugins.module_utils import _aws
        sandbox = self
        real_call = botocore.client.BaseClient._make_api_call
        real_aws_init = _aws.AwsClient.__init__
        real_load = botocore.loaders.JSONFileLoader.load_file
        cache = {}

        answers = {}

        def make_api_call(client, operation, params):
            if not operation.startswith(READ_ONLY_AWS):
                sandbox.effect("AWS %s %s" % (client.meta.service_model.service_name, operation))
            # A read is answered once per request for the whole run, as the Docker reads are: nothing the fuzz does
            # changes what moto holds, so the answer (or the error) stays what it was.
            signer = getattr(client, "_request_signer", None)
            creds = getattr(signer, "_credentials", None)
            key = (client.meta.service_model.service_name, client.meta.endpoint_url, client.meta.region_name,
                   creds and tuple(creds.get_frozen_credentials()), operation,
                   json.dumps(params, sort_keys=True, default=repr))
            if key not in answers:
                sandbox.aws_reads += 1
                try:
                    answers[key] = ("answer", real_call(client, operation, params))
                except Exception as exc:
                    answers[key] = ("error", exc)
            kind, value = answers[key]
            if kind == "error":
                raise value.with_traceback(None)
            return copy.deepcopy(value)

        def aws_init(client, *a, **kw):
            kw["sleep"] = lambda seconds: None  # the retry pacing of the class, stood in for as its tests do
            kw["max_attempts"] = 2  # one retry still takes the retry path; six per case is time, not coverage
            return real_aws_init(client, *a, **kw)

        def load_file(loader, file_path):
            # Service models are parsed once for the whole run (a boto3 session per case would parse them again).
            if file_path not in cache:
                cache[file_path] = real_load(loader, file_path)
            return cache[file_path]

        import boto3.session
        real_session = boto3.session.Session
        real_client = real_session.client
        clients = {}
        sessions = {}

        def session(**kw):
            # One boto3 session per set of connection options for the whole run (making one takes longer than most
            # cases). Creation errors (an unknown profile) are not kept, so each case meets them again.
            key = json.dumps(kw, sort_keys=True, default=repr)
            if key not in sessions:
                sessions[key] = real_session(**kw)
            return sessions[key]

        def client(session, service, *a, **kw):
            # One boto3 client per (service, region, credentials, endpoint, config) for the whole run: creating one
            # costs more than a whole case. Creation errors are not kept, so each case meets them again.
            creds = session.get_credentials()
            key = (service, session.region_name, creds and tuple(creds.get_frozen_credentials()), repr(a),
                   repr(sorted((k, repr(v.__dict__) if hasattr(v, "__dict__") else repr(v)) for k, v in kw.items())))
            if key not in clients:
                clients[key] = real_client(session, service, *a, **kw)
            return clients[key]

        self._set(real_session, "client", client)
        self._set(boto3.session, "Session", session)
        self._set(botocore.client.BaseClient, "_make_api_call", make_api_call)
        self._set(_aws.AwsClient, "__init__", aws_init)
        self._set(botocore.loaders.JSONFileLoader, "load_file", load_file)

    # -- one case --
    def _clear_case_dir(self):
        for name in os.listdir(self.case_dir):
            path = os.path.join(self.case_dir, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)

    def run(self, main, args):
        """Run main() with ``args``; return (kind, detail): kind refused, accepted, would-change or crash."""
        self._real()  # the case directory is emptied with the real functions
        self._clear_case_dir()
        self._patched()
        self.effects = []

        def timeout(signum, frame):
            raise CaseTimeout()

        previous = signal.signal(signal.SIGALRM, timeout)
        signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
        try:
            with patch_module_args(args):
                main()
            outcome = ("crash", "main() returned without exit_json or fail_json")
        except _Exit as exc:
            if self.effects:
                outcome = ("would-change", self.effects[0])
            elif exc.kind == "fail":
                outcome = ("refused", exc.result)
            else:
                outcome = ("accepted", exc.result)
        except WouldChange as exc:
            outcome = ("would-change", exc.what)
        except CaseTimeout:
            outcome = ("crash", "no end within %.0f s (effects attempted: %s)" % (CASE_SECONDS, self.effects))
        except SystemExit as exc:
            outcome = ("crash", "SystemExit(%r) outside exit_json/fail_json" % (exc.code,))
        except Exception:
            outcome = ("crash", traceback.format_exc())
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        return outcome

    def _real(self):
        for owner, name, original, _replacement in reversed(self._undo):
            setattr(owner, name, original)

    def _patched(self):
        for owner, name, _original, replacement in self._undo:
            setattr(owner, name, replacement)


def _raise(exc):
    raise exc


# ------------------------------------------------------------------ messages


def names_parameter(message, mutations, spec):
    """How a refusal ``message`` points at what the case's mutations targeted: "parameter" when it names a key of a
    mutation's path (the parameter, an enclosing option or the nested key itself) or one of its aliases; "value"
    when it only quotes the value a mutation set; None otherwise."""
    text = str(message)
    names = set()
    for mutation in mutations:
        path = mutation[1]
        for index, step in enumerate(path):
            if isinstance(step, int):
                continue
            names.add(str(step))
            entry = spec_at(spec, path[:index + 1])
            names.update((entry or {}).get("aliases") or ())
    if any(name and name in text for name in names):
        return "parameter"
    values = [value for value in values_of(mutations) if isinstance(value, str) and len(value.strip()) >= 3]
    return "value" if any(value in text for value in values) else None


def values_of(mutations):
    return [m[2] for m in mutations if len(m) == 3]


def in_validator(text):
    """Whether a traceback ends inside ansible-core's own argument validation (AnsibleModule.__init__), before any
    code of the collection runs: a crash of ansible-core, reported apart."""
    frames = [line for line in str(text).splitlines() if line.strip().startswith("File ")]
    return bool(frames) and "in __init__" in "".join(f for f in frames if "module_utils/basic.py" in f) and all(
        "/ansible/module_utils/" in f for f in frames[frames.index(next(f for f in frames if "module_utils/basic.py" in f)):])


# ------------------------------------------------------------------ what must be refused

# The options that hold seconds: a timeout, interval or seconds option of type int or float.
SECONDS_NAME = re.compile(r"timeout|interval|seconds")
MAX_SECONDS = 86400


def core_accepts(spec, args):
    """The parameters as ansible-core's own validation of ``spec`` converts them, or None when it refuses ``args``
    (constraints between options, such as mutually_exclusive, are left out: their refusals name the options)."""
    params = dict((key, value) for key, value in args.items() if not key.startswith("_ansible_"))
    try:
        result = ArgumentSpecValidator(spec).validate(params)
    except Exception:  # ansible-core's own validation crashes on a few values (infinity for an int)
        return None
    return None if result.error_messages else result.validated_parameters


def _strings(value, path=()):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, path + (index,))


def _seconds(spec, params, path=()):
    for name, entry in spec.items():
        value = params.get(name) if isinstance(params, dict) else None
        if entry.get("type") in ("int", "float") and SECONDS_NAME.search(name):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                yield path + (name,), value
        elif entry.get("options") and isinstance(value, dict):
            yield from _seconds(entry["options"], value, path + (name,))
        elif entry.get("options") and isinstance(value, list):
            for index, item in enumerate(value):
                yield from _seconds(entry["options"], item, path + (name, index))


def must_refuse(spec, params, names=None):
    """Why our validation must refuse ``params`` (as ansible-core accepted them): a list of reasons, each naming the
    parameter, empty when nothing requires a refusal. A string holding NUL anywhere; a seconds option that is
    negative, NaN, infinite or more than a day; a value of ``names`` ({parameter path: pattern of valid values})
    that its pattern does not match in full."""
    reasons = ["%s holds a NUL character" % show_path(path) for path, value in _strings(params) if "\x00" in value]
    for path, value in _seconds(spec, params):
        if (isinstance(value, float) and math.isnan(value)) or value < 0 or value > MAX_SECONDS:
            reasons.append("%s = %r seconds" % (show_path(path), value))
    for path, pattern in (names or {}).items():
        try:
            value = _get(params, path)
        except (KeyError, IndexError, TypeError):
            continue
        if isinstance(value, str) and not re.fullmatch(pattern, value):
            reasons.append("%s = %r is not a valid name" % (show_path(path), value[:40]))
    return reasons

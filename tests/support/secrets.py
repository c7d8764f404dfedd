"""Planted secret values of one test session, and the helpers of the secret-leak audit (tests/audit).

Every secret a test hands to the collection comes from here. Each planted value holds a distinctive core
(``bTnPl4nt-<kind>-<random hex>``, new for every session) so that any form it takes in output - quoted, JSON- or
shell-escaped, URL-encoded, or inside base64 (Docker auth, ECR tokens) - can be searched for without colliding with
other text. Values only known at run time (moto's ECR token) are registered with ``runtime()``.

A session may span several processes: pytest-xdist's workers, and the audit's own pytest run after them. They share
the session id (the environment variable BATON_TEST_SESSION, set by the first process for those it starts) and the
session directory build/audit/<session>/ (mode 0700). Its registry files, which the audit never scans: planted.json
holds the session's start time and the seed its values are derived from (the same value of a kind in every process),
written once by the first process; every process keeps its own records (values-<process>.json: the values it planted
or registered; record-<process>.json: their uses, the run inputs it wrote), and the audit reads them all. Audit
findings name the value's kind, never the value.
"""

import base64
import glob
import hashlib
import json
import os
import re
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREFIX = "bTnPl4nt"
SESSION_ENV = "BATON_TEST_SESSION"
SESSION = os.environ.get(SESSION_ENV) or time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
if not re.match(r"^[A-Za-z0-9_.-]+$", SESSION):
    raise ValueError("%s must be letters, digits, '.', '_' or '-': %r" % (SESSION_ENV, SESSION))
os.environ[SESSION_ENV] = SESSION  # the processes this one starts (pytest-xdist workers) join this session
AUDIT_DIR = os.path.join(ROOT, "build", "audit", SESSION)
REGISTRY_FILE = os.path.join(AUDIT_DIR, "planted.json")
LOG_DIR = os.path.join(ROOT, "build", "test-logs", SESSION)
# This process's name in the session: the xdist worker id (gw0, gw1, ...), else "main-<pid>".
PROCESS = os.environ.get("PYTEST_XDIST_WORKER") or "main-%d" % os.getpid()
RECORD_FILE = os.path.join(AUDIT_DIR, "record-%s.json" % PROCESS)  # its uses and run inputs
VALUES_FILE = os.path.join(AUDIT_DIR, "values-%s.json" % PROCESS)  # the values it planted or registered

_lock = threading.Lock()
_values = {}      # name -> value (this process's view: the session's planted values and what it registered)
_session_unique = {}  # name -> whether the value was made for this session (False: a fixed value of a helper)
_registered = {}  # name -> value: the values this process registered at run time
_uses = {}        # name -> list of where this process used it (test node ids)
_inputs = set()   # absolute paths of run inputs this process's harness wrote (they hold secrets by design)


def _core_of(value):
    """The longest run of characters that no quoting or escaping changes (at least 12 of them), else the value."""
    runs = re.findall(r"[A-Za-z0-9._-]+", value)
    best = max(runs, key=len) if runs else ""
    return best if len(best) >= 12 else value


def _write_private(path, document):
    os.makedirs(AUDIT_DIR, mode=0o700, exist_ok=True)
    temporary = "%s.%d.new" % (path, os.getpid())
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(document, handle)
    os.replace(temporary, path)


def _read(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _save():
    _write_private(RECORD_FILE, {"session": SESSION, "process": PROCESS, "pid": os.getpid(),
                                 "uses": _uses, "inputs": sorted(_inputs)})


def _save_values():
    _write_private(VALUES_FILE, {"session": SESSION, "process": PROCESS, "values": _registered,
                                 "unique": dict((n, _session_unique[n]) for n in _registered)})


def _add(name, value, unique):
    with _lock:
        if _values.get(name, value) != value:
            raise ValueError("planted value %s registered twice with different values" % name)
        _values[name] = value
        _session_unique[name] = unique
        _registered[name] = value
        _uses.setdefault(name, [])
        _save_values()
        _save()
    return value


def _session_start():
    """The session's start time and the seed of its planted values: those of planted.json when an earlier process of
    the session wrote it, else new ones (written there for the processes that follow)."""
    found = _read(REGISTRY_FILE)
    if found and found.get("session") == SESSION:
        return found["started"], found["seed"]
    document = {"session": SESSION, "started": time.time(), "seed": uuid.uuid4().hex}
    os.makedirs(AUDIT_DIR, mode=0o700, exist_ok=True)
    try:  # O_EXCL: of two processes starting at once, the first one's start wins and the other reads it
        fd = os.open(REGISTRY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _attempt in range(100):
            found = _read(REGISTRY_FILE)
            if found:
                return found["started"], found["seed"]
            time.sleep(0.05)
        raise
    with os.fdopen(fd, "w") as handle:
        json.dump(document, handle)
    return document["started"], document["seed"]


STARTED, _SEED = _session_start()


def plant(kind, suffix=""):
    """The session's value of ``kind``: the distinctive core, then ``suffix`` (odd characters for quoting tests). Every
    process of the session gets the same value for the same kind."""
    core = hashlib.sha256(("%s/%s" % (_SEED, kind)).encode()).hexdigest()[:16]
    return _add(kind, "%s-%s-%s%s" % (PREFIX, kind, core, suffix), True)


def runtime(name, value, unique=False):
    """Register a secret only known at run time (or fixed by a component, like moto's ECR token); returns it.
    A value that is not unique to this session is searched for only in this session's own files and processes."""
    return _add(name, value, unique)


def record_use(name, where=None):
    with _lock:
        _uses.setdefault(name, []).append(where or os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0])
        _save()


def record_uses_in(text, where=None):
    """Record a use of every planted value whose core appears in ``text`` (an input handed to a run)."""
    with _lock:
        cores = dict((name, _core_of(value)) for name, value in _values.items())
    for name, core in cores.items():
        if core in text:
            record_use(name, where)


def register_input(path):
    """A file the harness wrote as a run's input (extra vars, playbook, inventory): it holds secrets by design."""
    with _lock:
        _inputs.add(os.path.realpath(path))
        _save()


def is_registry_file(path):
    """Whether ``path`` is one of the session directory's registry files (planted.json, the processes' records)."""
    real = os.path.realpath(path)
    directory = os.path.realpath(AUDIT_DIR)
    name = os.path.basename(real)
    return os.path.dirname(real) == directory and (
        name.startswith("planted.json") or (name.startswith(("record-", "values-")) and ".json" in name))


def _records(kind="record"):
    """Every process's records of the session (``kind``: "record" or "values"), this one's from memory."""
    found = []
    mine = RECORD_FILE if kind == "record" else VALUES_FILE
    for path in sorted(glob.glob(os.path.join(AUDIT_DIR, "%s-*.json" % kind))):
        if path != mine:
            record = _read(path)
            if record and record.get("session") == SESSION:
                found.append(record)
    with _lock:
        found.append({"values": dict(_registered), "unique": dict((n, _session_unique[n]) for n in _registered),
                      "uses": dict((n, list(u)) for n, u in _uses.items()), "inputs": sorted(_inputs)})
    return found


def values_signature():
    """Changes whenever a process of the session plants or registers a value (cheap: names, sizes, times of files)."""
    signature = []
    for path in sorted(glob.glob(os.path.join(AUDIT_DIR, "values-*.json"))):
        try:
            info = os.stat(path)
        except OSError:
            continue
        signature.append((path, info.st_mtime_ns, info.st_size))
    with _lock:
        signature.append(tuple(sorted(_registered.items())))
    return tuple(signature)


def values():
    """{name: value} of the whole session: the planted values and those any of its processes registered."""
    found = {}
    for record in _records("values"):
        found.update(record.get("values") or {})
    return found


def uses():
    """{name: [where]} of the whole session."""
    found = {}
    for record in _records():
        for name, where in (record.get("uses") or {}).items():
            found.setdefault(name, []).extend(where)
    return found


def inputs():
    found = set()
    for record in _records():
        found.update(record.get("inputs") or [])
    return found


def is_unique(name):
    return any((record.get("unique") or {}).get(name, False) for record in _records("values"))


def _b64_forms(data):
    """Substrings of base64 text that any encoding holding ``data`` (at any of the 3 alignments) contains."""
    forms = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data)
        # the first quantum mixes in the bytes before, the last one the bytes after
        inner = encoded[4:-4] if shift else encoded[:-4]
        if len(inner) >= 12:
            forms.append(inner)
    return forms


def needles(names=None):
    """{name: [byte strings]}: the core, the whole value, and their base64 forms."""
    chosen = dict((n, v) for n, v in values().items() if names is None or n in names)
    found = {}
    for name, value in chosen.items():
        forms = {_core_of(value).encode(), value.encode()}
        for form in list(forms):
            forms.update(_b64_forms(form))
            forms.update(f.replace(b"+", b"-").replace(b"/", b"_") for f in _b64_forms(form))  # URL-safe base64
        found[name] = sorted(forms, key=len)
    return found


class Matcher:
    """Finds planted values in bytes. ``names`` limits it to some values (default: all registered ones)."""

    def __init__(self, names=None):
        self.needles = needles(names)
        forms = sorted(set(f for found in self.needles.values() for f in found), key=len, reverse=True)
        self._any = re.compile(b"|".join(re.escape(f) for f in forms)) if forms else None

    def find(self, data):
        if self._any is None or not self._any.search(data):  # one pass in C for the usual case: nothing
            return []
        return sorted(name for name, forms in self.needles.items() if any(f in data for f in forms))


# The planted values of the suites (names are the kinds the audit reports).
REGISTRY_PASSWORD = plant("registry_password", " pa$$ 'w0rd'")
SECRET_ENV = plant("secret_env", " 'q' $(id) %d")
DB_PASSWORD = plant("db_password", " \"q\" $(x) %")
ROLLBAR_TOKEN = plant("rollbar_token")
AWS_SECRET_KEY = plant("aws_secret_key")
AWS_SESSION_TOKEN = plant("aws_session_token")

# The rollout lab's secret_env value (tests/support/lab.py).
LAB_SECRET_ENV = plant("lab_secret_env")

# moto's GetAuthorizationToken answers base64("AWS:<account>-auth-token") for its fixed account: the password the
# ECR login obtains at run time. Registered by the ECR login test when it uses it.
MOTO_ECR_PASSWORD = "123456789012-auth-token"

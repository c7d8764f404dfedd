"""Planted secret values of one test session, and the helpers of the secret-leak audit (tests/audit).

Every secret a test hands to the collection comes from here. Each planted value holds a distinctive core
(``bTnPl4nt-<kind>-<random hex>``, new for every session) so that any form it takes in output - quoted, JSON- or
shell-escaped, URL-encoded, or inside base64 (Docker auth, ECR tokens) - can be searched for without colliding with
other text. Values only known at run time (moto's ECR token) are registered with ``runtime()``.

The values, the session's id and the record of their uses live in memory (this module is imported once per pytest
process) and in a registry file under build/audit/ (mode 0600; the audit never scans it). Audit findings name the
value's kind, never the value.
"""

import base64
import json
import os
import re
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREFIX = "bTnPl4nt"
SESSION = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
STARTED = time.time()
AUDIT_DIR = os.path.join(ROOT, "build", "audit", SESSION)
REGISTRY_FILE = os.path.join(AUDIT_DIR, "planted.json")
LOG_DIR = os.path.join(ROOT, "build", "test-logs", SESSION)

_lock = threading.Lock()
_values = {}      # name -> value
_cores = {}       # name -> the searched core of the value
_session_unique = {}  # name -> whether the value was made for this session (False: a fixed value of a helper)
_uses = {}        # name -> list of where it was used (test node ids)
_inputs = set()   # absolute paths of run inputs the harness wrote (they hold secrets by design)


def _core_of(value):
    """The longest run of characters that no quoting or escaping changes (at least 12 of them), else the value."""
    runs = re.findall(r"[A-Za-z0-9._-]+", value)
    best = max(runs, key=len) if runs else ""
    return best if len(best) >= 12 else value


def _save():
    os.makedirs(AUDIT_DIR, mode=0o700, exist_ok=True)
    path = REGISTRY_FILE + ".new"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"session": SESSION, "started": STARTED, "values": _values, "unique": _session_unique,
                   "uses": _uses, "inputs": sorted(_inputs)}, handle)
    os.replace(path, REGISTRY_FILE)


def _add(name, value, unique):
    with _lock:
        if _values.get(name, value) != value:
            raise ValueError("planted value %s registered twice with different values" % name)
        _values[name] = value
        _cores[name] = _core_of(value)
        _session_unique[name] = unique
        _uses.setdefault(name, [])
        _save()
    return value


def plant(kind, suffix=""):
    """A new value for this session: the distinctive core, then ``suffix`` (odd characters for quoting tests)."""
    return _add(kind, "%s-%s-%s%s" % (PREFIX, kind, uuid.uuid4().hex[:16], suffix), True)


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
    for name, core in list(_cores.items()):
        if core in text:
            record_use(name, where)


def register_input(path):
    """A file the harness wrote as a run's input (extra vars, playbook, inventory): it holds secrets by design."""
    with _lock:
        _inputs.add(os.path.realpath(path))
        _save()


def values():
    with _lock:
        return dict(_values)


def uses():
    with _lock:
        return {name: list(found) for name, found in _uses.items()}


def inputs():
    with _lock:
        return set(_inputs)


def is_unique(name):
    return _session_unique.get(name, False)


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
    with _lock:
        chosen = dict((n, v) for n, v in _values.items() if names is None or n in names)
        cores = dict(_cores)
    found = {}
    for name, value in chosen.items():
        forms = {cores[name].encode(), value.encode()}
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

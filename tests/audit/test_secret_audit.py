"""The secret-leak audit: after the integration and fault suites ran in this same session with the planted secret values
of tests/support/secrets.py (registry password, ECR token, database passwords, secret_env, Rollbar token, AWS keys),
none of them appears in any Ansible output (every run at -vvv, kept under build/test-logs/), in any file written
during the session under build/ and /tmp (pytest's tmp dirs included: cron files, systemd units, Dockerrun files,
bundles, release records, audit logs, journals), nor in any process's argv (read at each exec, and swept every second)
during the run.

Values are searched for by their distinctive core, the whole value and their base64 forms, also inside zip and
gzip files. Files that hold a secret by design are left out by these rules, and only these:

- the planted values' own registry (build/audit/<session>/planted.json);
- the input files tests.support.ansible wrote for a run (playbook, inventory, extra vars), by their exact paths;
- a Docker client config.json (an object with "auths"): the "auth" of each registry is dropped before the scan, the
  rest is scanned (registry_login stores credentials there by design, mode 0600);
- a Dockerrun.aws.json (also inside a bundle): each containerDefinitions[].environment[].value is dropped before the
  scan (eb_dockerrun documents that the file holds env values in clear, Elastic Beanstalk reads them there);
- an ansible-runner private data dir's inputs: env/envvars and env/extravars (beside project/), and the
  artifacts/<ident>/env.list ansible-runner writes to hand that environment to `docker run --env-file`; in its
  artifacts/<ident>/command (JSON: command, cwd, env) the env values are dropped, the command line is scanned;
- the container runtime's exec process spec, runc-process<N> (JSON: args, env, cwd): the Docker engine writes one to
  the temporary directory for every exec (a HEALTHCHECK's too), the container's environment in it, and removes it
  when the exec returns; an exec cut short by its container's removal leaves it behind. It is the engine's copy of
  the container's configuration (as /var/lib/docker keeps it), not a file of ours: the env values are dropped, the
  rest (the exec's argv) is scanned.

Values not unique to the session (fixed by a helper or by moto) are only searched for in this session's own files
(its logs, its audit dir, its pytest tmp dirs) and processes (those descending from its pytest processes).

A session is either one pytest process that runs the suites and then the audit, or pytest-xdist workers running the
suites followed by a pytest process that runs only the audit, with the same BATON_TEST_SESSION (what `make test`
does): the audit then reads what the suites' processes recorded in the session directory (tests/support/secrets.py,
tests/conftest.py): the values planted and registered on every worker, their uses, the run inputs, the tests run and
their outcomes, and the findings of the argv sampler that ran in the xdist controller for the whole suite run.
"""

import base64
import gzip
import io
import json
import os
import subprocess
import sys
import time
import uuid
import zipfile

import pytest

from tests.support import secrets

ROOT = secrets.ROOT
BUILD = os.path.join(ROOT, "build")
SCAN_ROOTS = (BUILD, "/tmp")
MAX_FILE = 64 * 1024 * 1024          # larger files are counted and listed, not read
MAX_UNPACKED = 256 * 1024 * 1024     # per gzip file or zip member
SCAN_BUDGET = 300                    # seconds for the whole file scan
CANARY_KINDS = ("audit_canary",)
HOW_TO_RUN = ("the secret audit must run after tests/integration and tests/faults in the same session: in one pytest "
              "process, e.g. `pytest tests/unit tests/integration tests/faults tests/audit`, or after a parallel run "
              "with the same BATON_TEST_SESSION, e.g. `export BATON_TEST_SESSION=s1; pytest -n 3 tests/integration "
              "tests/faults; pytest tests/audit` (what `make test` does)")


@pytest.fixture(scope="module", autouse=True)
def not_beside_the_suites():
    """The audit never runs in an xdist worker: other workers may still be running suite tests."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.fail("the secret audit ran in a pytest-xdist worker, beside the suites: " + HOW_TO_RUN)


@pytest.fixture(scope="module")
def suites_ran(session_reports):
    """Fails (never skips) unless the integration and fault suites were collected and all ran before the audit."""
    collected, reports = session_reports
    suite_items = [n for n in collected if n.startswith(("tests/integration/", "tests/faults/"))]
    assert any(n.startswith("tests/integration/") for n in suite_items), \
        "no integration test was collected in this session: " + HOW_TO_RUN
    missing = [n for n in suite_items if n not in reports]
    assert not missing, "%d suite tests did not run before the audit (%s ...): %s" % (len(missing), missing[:3], HOW_TO_RUN)
    ran = [n for n in suite_items if reports[n] != "skipped"]
    assert ran, "every suite test was skipped: " + HOW_TO_RUN
    return suite_items


def planted_names():
    return sorted(n for n in secrets.values() if n not in CANARY_KINDS)


def _session_roots(tmp_path_factory, session_runs):
    """The session's own directories: its logs, its audit dir, the pytest base temp dir of each of its processes."""
    basetemps = [run["basetemp"] for run in session_runs if run.get("basetemp")]
    return [secrets.LOG_DIR, secrets.AUDIT_DIR, str(tmp_path_factory.getbasetemp())] + basetemps


def _json_dropping(data, drop):
    """The text of a JSON file after ``drop(document)`` removed the values it holds by design; None if not JSON."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(document, dict) or not drop(document):
        return None
    return json.dumps(document).encode()


def _drop_docker_auths(document):
    if not isinstance(document.get("auths"), dict):
        return False
    for entry in document["auths"].values():
        if isinstance(entry, dict):
            entry.pop("auth", None)
    return True


def _drop_dockerrun_env(document):
    definitions = document.get("containerDefinitions")
    if not isinstance(definitions, list):
        return False
    for definition in definitions:
        for pair in (definition or {}).get("environment") or []:
            if isinstance(pair, dict):
                pair.pop("value", None)
    return True


def _by_design(path, data):
    """The bytes of the file to scan, after the rule for files that hold secrets by design (see the module doc)."""
    name = os.path.basename(path)
    if name == "config.json":
        return _json_dropping(data, _drop_docker_auths) or data
    if name == "Dockerrun.aws.json":
        return _json_dropping(data, _drop_dockerrun_env) or data
    if name == "command" and _in_runner_artifacts(path):
        return _json_dropping(data, _drop_runner_env) or data
    if name.startswith("runc-process"):
        return _json_dropping(data, _drop_exec_spec_env) or data
    return data


def _in_runner_artifacts(path):
    """Whether ``path`` is <pdd>/artifacts/<ident>/NAME in an ansible-runner private data dir."""
    ident_dir = os.path.dirname(path)
    artifacts = os.path.dirname(ident_dir)
    return os.path.basename(artifacts) == "artifacts" and os.path.isdir(os.path.join(os.path.dirname(artifacts), "project"))


def _drop_runner_env(document):
    if not isinstance(document.get("env"), dict) or "command" not in document:
        return False
    document["env"] = sorted(document["env"])  # the names stay, the values go
    return True


def _drop_exec_spec_env(document):
    if not isinstance(document.get("env"), list) or not isinstance(document.get("args"), list) or "cwd" not in document:
        return False
    document["env"] = [str(pair).split("=", 1)[0] for pair in document["env"]]  # the names stay, the values go
    return True


def _runner_input(path):
    """ansible-runner's own inputs: <pdd>/env/envvars, <pdd>/env/extravars, <pdd>/artifacts/<ident>/env.list."""
    parent = os.path.dirname(path)
    name = os.path.basename(path)
    if name in ("envvars", "extravars") and os.path.basename(parent) == "env":
        return os.path.isdir(os.path.join(os.path.dirname(parent), "project"))
    return name == "env.list" and _in_runner_artifacts(path)


def _chunks(data):
    """Yield (label, bytes) for a file's content: itself, or what is inside when it is a zip or gzip file."""
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for info in archive.infolist():
                    if info.file_size <= MAX_UNPACKED:
                        member = archive.read(info)
                        yield info.filename, _by_design(info.filename, member)
            return
        except (zipfile.BadZipFile, OSError, RuntimeError):
            pass
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as unpacked:
                yield "(gunzipped)", unpacked.read(MAX_UNPACKED)
            return
        except (OSError, EOFError):
            pass
    yield "", data


def scan_files(roots, matcher, since, session_roots=(), fixed=(), skip=()):
    """Every regular file under ``roots`` changed since ``since``: ({name: [paths]}, statistics). Values in ``fixed``
    count only under ``session_roots``."""
    found, excluded, too_big = {}, {}, []
    stats = dict(files=0, scanned=0, bytes=0, excluded=0)
    deadline = time.monotonic() + SCAN_BUDGET
    inputs = secrets.inputs()
    for root in roots:
        for directory, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(directory, d))]
            for name in files:
                assert time.monotonic() < deadline, "the file scan took longer than %d s: %s" % (SCAN_BUDGET, stats)
                path = os.path.join(directory, name)
                stats["files"] += 1
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                if not (info.st_mode & 0o170000 == 0o100000) or max(info.st_mtime, info.st_ctime) < since:
                    continue  # not a regular file (links, sockets, fifos, devices), or older than the session
                if info.st_size > MAX_FILE:
                    too_big.append((path, info.st_size))
                    continue
                real = os.path.realpath(path)
                rule = None
                if secrets.is_registry_file(real) or real in skip:
                    rule = "planted values' registry"
                elif real in inputs:
                    rule = "run input written by tests.support.ansible"
                elif _runner_input(path):
                    rule = "ansible-runner input"
                try:
                    with open(path, "rb") as handle:
                        data = handle.read()
                except OSError:
                    continue  # removed meanwhile
                stats["scanned"] += 1
                stats["bytes"] += len(data)
                ours = any(real.startswith(os.path.realpath(r) + os.sep) for r in session_roots)
                kept = _by_design(path, data)
                for label, chunk in _chunks(kept):
                    names = [n for n in matcher.find(chunk) if ours or n not in fixed]
                    for value_name in names:
                        where = path + ("!" + label if label else "")
                        if rule:
                            excluded.setdefault(value_name, []).append((where, rule))
                        else:
                            found.setdefault(value_name, []).append(where)
                if not rule and kept is not data:  # what a by-design rule dropped: counted, to show the rules at work
                    for label, chunk in _chunks(data):
                        for value_name in matcher.find(chunk):
                            if value_name not in found and (ours or value_name not in fixed):
                                excluded.setdefault(value_name, []).append((path, "value dropped by design rule"))
                if rule:
                    stats["excluded"] += 1
    stats["too_big"] = too_big
    stats["excluded_hits"] = excluded
    return found, stats


def test_the_scanners_find_planted_values_in_every_form(argv_sampler, tmp_path, tmp_path_factory):
    """The file scanner and the argv sampler do see a planted value: base64 at each alignment, in zip and gzip,
    JSON-escaped, and in a process's argv."""
    canary = secrets.runtime("audit_canary", "%s-audit_canary-%s 'q'" % (secrets.PREFIX, uuid.uuid4().hex), unique=True)
    secrets.record_use("audit_canary")
    matcher = secrets.Matcher(["audit_canary"])
    forms = {"b64-%d" % n: base64.b64encode(("x" * n + "user:" + canary).encode()) for n in range(3)}
    forms["json"] = json.dumps({"p": canary}).encode()
    forms["zip"] = io.BytesIO()
    with zipfile.ZipFile(forms["zip"], "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Dockerrun.aws.json", json.dumps({"AWSEBDockerrunVersion": 2, "x": canary}))
    forms["zip"] = forms["zip"].getvalue()
    forms["gz"] = gzip.compress(("line\n" * 1000 + canary).encode())
    # An exec process spec loses its env values only: a value in its argv is found.
    forms["runc-process4242"] = json.dumps({"args": ["sh", "-c", canary], "env": ["APP_TOKEN=" + canary], "cwd": "/"}).encode()
    for name, data in forms.items():
        (tmp_path / name).write_bytes(data)
    found, stats = scan_files([str(tmp_path)], matcher, since=secrets.STARTED)
    assert sorted(os.path.basename(p.split("!")[0]) for p in found["audit_canary"]) == sorted(forms), found
    for path in tmp_path.iterdir():
        path.unlink()
    # ... and a value in its env only is left out, and counted as such.
    spec = {"args": ["true"], "env": ["APP_TOKEN=" + canary], "cwd": "/"}
    (tmp_path / "runc-process4243").write_bytes(json.dumps(spec).encode())
    found, stats = scan_files([str(tmp_path)], matcher, since=secrets.STARTED)
    assert not found and [p for p, rule in stats["excluded_hits"]["audit_canary"]] == [str(tmp_path / "runc-process4243")]
    (tmp_path / "runc-process4243").unlink()

    sweeps, execs = argv_sampler.sweeps, argv_sampler.execs
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1)", canary])
    proc.wait(timeout=10)
    time.sleep(2 * argv_sampler.interval)
    assert argv_sampler.sweeps > sweeps + 1, "the argv sampler is not sweeping"
    assert [h["pid"] for h in argv_sampler.hits if h["name"] == "audit_canary"] == [proc.pid]
    # Under `make test` the kernel's exec events are read too (a process that lives milliseconds is seen).
    assert argv_sampler.events is not None, "the argv sampler cannot read the kernel's process events (proc connector)"
    assert argv_sampler.execs > execs, "the argv sampler saw no exec event"


def test_every_planted_value_was_used_by_the_suites(suites_ran):
    uses = secrets.uses()
    unused = [name for name in planted_names() if not uses.get(name)]
    assert not unused, "planted values no test used (the audit of them would prove nothing): %s" % unused
    # db_password is the stack's database password and the Dockerrun test's.
    assert set(planted_names()) >= {"registry_password", "ecr_password", "db_password", "secret_env", "lab_secret_env",
                                    "rollbar_token", "aws_secret_key", "aws_session_token",
                                    "fault_registry_password", "fault_registry_wrong_password"}


def test_no_planted_value_in_any_ansible_output(suites_ran):
    """Every ansible-playbook run of the session ran at -vvv and its whole output was kept; none holds a value."""
    with open(os.path.join(secrets.AUDIT_DIR, "runs.jsonl")) as handle:
        runs = [json.loads(line) for line in handle]
    logs = sorted(os.listdir(secrets.LOG_DIR))
    assert len(runs) == len(logs) and len(runs) > 10, (len(runs), len(logs))
    matcher = secrets.Matcher(planted_names())
    leaks, quiet = {}, []
    for name in logs:
        with open(os.path.join(secrets.LOG_DIR, name), "rb") as handle:
            data = handle.read()
        command = data.split(b"\n", 2)[1]
        if not any(flag in command.split() for flag in (b"-vvv", b"-vvvv")):
            quiet.append(name)
        for value_name in matcher.find(data):
            leaks.setdefault(value_name, []).append(name)
    assert not quiet, "runs below -vvv: %s" % quiet[:5]
    assert not leaks, "planted values in Ansible output (value: logs under %s): %s" % (secrets.LOG_DIR, leaks)


def test_no_planted_value_in_any_file_of_the_build_tree_or_tmp(suites_ran, tmp_path_factory, session_runs):
    names = planted_names()
    fixed = [n for n in names if not secrets.is_unique(n)]
    started = time.monotonic()
    found, stats = scan_files(SCAN_ROOTS, secrets.Matcher(names), since=secrets.STARTED - 2,
                              session_roots=_session_roots(tmp_path_factory, session_runs), fixed=fixed)
    seconds = time.monotonic() - started
    summary = dict((k, v) for k, v in stats.items() if k not in ("excluded_hits", "too_big"))
    sys.stderr.write("file scan: %s in %.1f s; too big to read: %s\nleft out by rule:\n%s\n" % (
        summary, seconds, stats["too_big"], "\n".join("  %s: %s" % (n, v) for n, v in sorted(stats["excluded_hits"].items()))))
    assert stats["scanned"] > 100, stats
    assert not found, "planted values in files (value: paths): %s" % found


def test_no_planted_value_in_any_process_argv(suites_ran, argv_sampler, session_runs):
    """The argv of every process, sampled for the whole session: by this process's sampler and by those of the
    session's earlier pytest processes (the xdist controller of a parallel suite run)."""
    assert argv_sampler.is_alive(), "the argv sampler stopped before the end of the session"
    samplers = [run["argv"] for run in session_runs] + [argv_sampler.summary()]
    elapsed = time.time() - secrets.STARTED
    sampled = sum(s["stopped"] - s["started"] for s in samplers)
    sweeps = sum(s["sweeps"] for s in samplers)
    # sampled from the session's start to now but for the seconds between two processes of the session
    assert sampled > elapsed - 30 * (len(samplers) - 1) - 5, (sampled, elapsed, len(samplers))
    # every exec of the session read as it happened, and a sweep every second for the whole session (a sweep itself
    # takes some ms on a busy machine)
    assert all(s.get("mode") == "exec events and sweeps" for s in samplers), [s.get("mode") for s in samplers]
    assert sweeps > elapsed / 2.0, (sweeps, elapsed)
    assert not any(s["overflows"] for s in samplers), [s["overflows"] for s in samplers]
    names = set(planted_names())
    hits = [h for s in samplers for h in s["hits"] if h["name"] in names and (h["ours"] or secrets.is_unique(h["name"]))]
    sys.stderr.write("argv sampler: %d execs, %d sweeps, %d process reads in %.0f s, %.1f CPU s, %d sampling "
                     "processes\n" % (sum(s["execs"] for s in samplers), sweeps, sum(s["processes_read"] for s in samplers),
                                      elapsed, sum(s["busy"] for s in samplers), len(samplers)))
    assert not hits, "planted values in process arguments: %s" % hits

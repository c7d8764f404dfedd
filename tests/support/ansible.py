"""Run ansible-playbook against this collection and read back every task result.

Every run is at -vvv and its whole output (with its task records) is kept in a file of its own under
build/test-logs/<session>/; the input files written for a run are mode 0600 and registered with tests.support.secrets
(they hold secrets by design), and the planted values they carry are recorded as used (see tests/audit)."""

import base64
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

import yaml

from . import secrets

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, "build", "collections")
CALLBACKS = os.path.join(ROOT, "tests", "support", "callback_plugins")
BIN = os.path.dirname(sys.executable)
# Every run is at this verbosity (-vvv: module arguments and results printed), so that the secret audit sees the most
# Ansible ever shows; BATON_TEST_VERBOSITY overrides it (0 keeps each test's own flags).
VERBOSITY = int(os.environ.get("BATON_TEST_VERBOSITY", "3"))
LOG_DIR = secrets.LOG_DIR
_run_numbers = itertools.count(1)
_runs_lock = threading.Lock()


class PlaybookRun:
    def __init__(self, rc, output, records):
        self.rc = rc
        self.output = output
        self.records = [r for r in records if "stats" not in r]
        stats = [r["stats"] for r in records if "stats" in r]
        self.stats = stats[-1] if stats else {}

    def results(self, task=None, host=None):
        """Results of tasks whose name contains `task` (all when None)."""
        return [r for r in self.records
                if (task is None or task in r["task"]) and (host is None or r["host"] == host)]

    def result(self, task, host=None):
        found = self.results(task, host)
        assert found, "no result for task %r in:\n%s" % (task, self.output[-4000:])
        return found[-1]["result"]

    def changed(self, host=None):
        return sum(s["changed"] for h, s in self.stats.items() if host in (None, h))

    def failed(self, host=None):
        return sum(s["failures"] + s["unreachable"] for h, s in self.stats.items() if host in (None, h))

    def changed_tasks(self):
        return [r["task"] for r in self.records if r["status"] == "changed"]


LOCAL_INVENTORY = {
    "all": {"hosts": {"localhost": {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
    }}}
}


def _command(tmp, playbook, extra_vars=None, inventory=None, check=False, diff=False, tags=None, limit=None,
             env=None, args=()):
    """The ansible-playbook command line, its environment and the results file, with every input written to
    ``tmp``."""
    if not isinstance(playbook, str):
        path = os.path.join(tmp, "playbook.yml")
        _write_input(path, lambda handle: yaml.safe_dump(playbook, handle, sort_keys=False))
        playbook = path
    if inventory is None or isinstance(inventory, dict):
        inv_path = os.path.join(tmp, "inventory.yml")
        _write_input(inv_path, lambda handle: yaml.safe_dump(inventory or LOCAL_INVENTORY, handle))
        inventory = inv_path
    results_file = os.path.join(tmp, "results.jsonl")
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, playbook]
    if extra_vars:
        vars_file = os.path.join(tmp, "extra_vars.json")
        _write_input(vars_file, lambda handle: json.dump(extra_vars, handle))
        cmd += ["-e", "@" + vars_file]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if tags:
        cmd += ["--tags", tags]
    if limit:
        cmd += ["--limit", limit]
    cmd += _verbosity(args)
    secrets.record_uses_in(json.dumps(env or {}))
    run_env = dict(os.environ)
    run_env.update({
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "ANSIBLE_CALLBACK_PLUGINS": CALLBACKS,
        "ANSIBLE_CALLBACKS_ENABLED": "baton_results",
        "ANSIBLE_HOME": os.path.join(tmp, "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": os.path.join(tmp, "ansible-tmp"),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
        "BATON_RESULTS_FILE": results_file,
        "PATH": BIN + os.pathsep + os.environ.get("PATH", ""),
    })
    run_env.update(env or {})
    return cmd, run_env, results_file


def _write_input(path, write):
    """Write one input of a run (mode 0600): it may hold planted secrets, so the audit is told it is an input."""
    secrets.register_input(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        write(handle)
    with open(path) as handle:
        secrets.record_uses_in(handle.read())


def _verbosity(args):
    """The extra arguments, with the -v flags raised to VERBOSITY (a test asking for more keeps its own)."""
    args = list(args)
    flags = [a for a in args if re.match(r"^-v+$", a) or a == "--verbose"]
    asked = sum(1 if a == "--verbose" else len(a) - 1 for a in flags)
    if asked >= VERBOSITY:
        return args
    return [a for a in args if a not in flags] + (["-" + "v" * VERBOSITY] if VERBOSITY else [])


def _log_path():
    """build/test-logs/<session>/<process>-<number>-<test>.log, a new file for every run (the process: the xdist
    worker, or the pytest process, that ran it)."""
    os.makedirs(LOG_DIR, exist_ok=True)
    test = os.environ.get("PYTEST_CURRENT_TEST", "outside-a-test").split(" ")[0]
    with _runs_lock:
        number = next(_run_numbers)
    return os.path.join(LOG_DIR, "%s-%04d-%s.log" % (secrets.PROCESS, number, re.sub(r"[^A-Za-z0-9_.-]+", "_", test)[-150:]))


def _keep_log(cmd, rc, seconds, output, records):
    """Keep a run's whole output (and its task records) under LOG_DIR; count it in the session's run statistics."""
    path = _log_path()
    with open(path, "w") as handle:
        handle.write("# test: %s\n# command: %s\n# rc: %s, %.2f s\n" % (
            os.environ.get("PYTEST_CURRENT_TEST", "-"), " ".join(cmd), rc, seconds))
        handle.write(output)
        handle.write("\n# task records\n")
        for record in records:
            handle.write(json.dumps(record) + "\n")
    _count_run(path, seconds, len(output))
    return path


def _count_run(path, seconds, size):
    os.makedirs(secrets.AUDIT_DIR, exist_ok=True)
    line = json.dumps({"log": path, "seconds": round(seconds, 3), "output_bytes": size, "verbosity": VERBOSITY}) + "\n"
    # one write to a file opened for appending: lines of the session's processes never interleave
    fd = os.open(os.path.join(secrets.AUDIT_DIR, "runs.jsonl"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with _runs_lock:
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


def _note_stored_credentials(env):
    """A run with its own DOCKER_CONFIG (registry_login): the credentials it stored count as uses of those values."""
    config = os.path.join((env or {}).get("DOCKER_CONFIG", ""), "config.json")
    if not (env or {}).get("DOCKER_CONFIG") or not os.path.exists(config):
        return
    with open(config) as handle:
        auths = json.load(handle).get("auths", {})
    for entry in auths.values():
        if isinstance(entry, dict) and entry.get("auth"):
            secrets.record_uses_in(base64.b64decode(entry["auth"]).decode("utf-8", "replace"))


def _records(results_file):
    if not os.path.exists(results_file):
        return []
    with open(results_file) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def run_playbook(playbook, timeout=900, **kwargs):
    """Run a playbook (a path, or a list of plays) and return a PlaybookRun.

    `inventory` is a path or a dict in YAML inventory form (default: localhost,
    local connection, this interpreter); see _command for the other options.
    """
    with tempfile.TemporaryDirectory(prefix="baton-run-") as tmp:
        cmd, run_env, results_file = _command(tmp, playbook, **kwargs)
        started = time.monotonic()
        try:
            proc = subprocess.run(cmd, cwd=ROOT, env=run_env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, universal_newlines=True, timeout=timeout,
                                  check=False)
        except subprocess.TimeoutExpired as err:
            output = err.output.decode("utf-8", "replace") if isinstance(err.output, bytes) else (err.output or "")
            _keep_log(cmd, "timeout", time.monotonic() - started, output, _records(results_file))
            raise
        records = _records(results_file)
        _keep_log(cmd, proc.returncode, time.monotonic() - started, proc.stdout, records)
        _note_stored_credentials(kwargs.get("env"))
        return PlaybookRun(proc.returncode, proc.stdout, records)


def start_playbook(tmp, playbook, **kwargs):
    """Start ansible-playbook in its own session (so that the whole run, module processes included, can be killed
    with os.killpg); inputs go to ``tmp``. Returns the Popen, its output going to ``tmp``/output.log (a link to the
    run's log file under LOG_DIR)."""
    cmd, run_env, _results = _command(str(tmp), playbook, **kwargs)
    path = _log_path()
    output = open(path, "w")
    output.write("# test: %s\n# command: %s\n# started in the background\n" % (
        os.environ.get("PYTEST_CURRENT_TEST", "-"), " ".join(cmd)))
    output.flush()
    os.symlink(path, os.path.join(str(tmp), "output.log"))
    _count_run(path, 0.0, 0)
    try:
        return subprocess.Popen(cmd, cwd=ROOT, env=run_env, stdout=output, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    finally:
        output.close()


def run_module_steps(module, calls, **kwargs):
    """Run ``module`` once per call, in order, as the tasks of one playbook on localhost (one ansible-playbook start
    for them all). Each call is a dict of module arguments, plus ``check`` and ``diff`` for that task. Returns (their
    results, each with "failed" taken from its task's status, and the PlaybookRun)."""
    names = ["under test %d" % number for number in range(len(calls))]
    tasks = []
    for task_name, call in zip(names, calls):
        args = dict(call)
        check, diff = args.pop("check", False), args.pop("diff", False)
        tasks.append({"name": task_name, module: args, "check_mode": check, "diff": diff, "ignore_errors": True})
    run = run_playbook([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], **kwargs)
    results = []
    for task_name in names:
        found = [r for r in run.records if r["task"] == task_name]
        assert found, "no result for task %r in:\n%s" % (task_name, run.output[-3000:])
        result = dict(found[-1]["result"])
        result["failed"] = found[-1]["status"] in ("failed", "ignored")
        results.append(result)
    return results, run


def run_module(module, args, check=False, diff=False, **kwargs):
    """Run one module on localhost; return (result dict, PlaybookRun)."""
    play = [{
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [{"name": "under test", module: args, "ignore_errors": True}],
    }]
    run = run_playbook(play, check=check, diff=diff, **kwargs)
    return run.result("under test"), run


def dedent(text):
    return textwrap.dedent(text).lstrip()

"""Run ansible-playbook against this collection and read back every task result."""

import json
import os
import subprocess
import sys
import tempfile
import textwrap

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, "build", "collections")
CALLBACKS = os.path.join(ROOT, "tests", "support", "callback_plugins")
BIN = os.path.dirname(sys.executable)


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
        with open(path, "w") as handle:
            yaml.safe_dump(playbook, handle, sort_keys=False)
        playbook = path
    if inventory is None or isinstance(inventory, dict):
        inv_path = os.path.join(tmp, "inventory.yml")
        with open(inv_path, "w") as handle:
            yaml.safe_dump(inventory or LOCAL_INVENTORY, handle)
        inventory = inv_path
    results_file = os.path.join(tmp, "results.jsonl")
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, playbook]
    if extra_vars:
        vars_file = os.path.join(tmp, "extra_vars.json")
        with open(vars_file, "w") as handle:
            json.dump(extra_vars, handle)
        cmd += ["-e", "@" + vars_file]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if tags:
        cmd += ["--tags", tags]
    if limit:
        cmd += ["--limit", limit]
    cmd += list(args)
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
        proc = subprocess.run(cmd, cwd=ROOT, env=run_env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=timeout,
                              check=False)
        return PlaybookRun(proc.returncode, proc.stdout, _records(results_file))


def start_playbook(tmp, playbook, **kwargs):
    """Start ansible-playbook in its own session (so that the whole run, module processes included, can be killed
    with os.killpg); inputs go to ``tmp``. Returns the Popen, its output going to ``tmp``/output.log."""
    cmd, run_env, _results = _command(str(tmp), playbook, **kwargs)
    output = open(os.path.join(str(tmp), "output.log"), "w")
    return subprocess.Popen(cmd, cwd=ROOT, env=run_env, stdout=output, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


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

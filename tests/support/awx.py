"""AWX jobs without AWX: a private data directory written as AWX writes it for a job template, run by ansible-runner
with process isolation in our execution environment (baton-docker-ee, built by `make ee` with ansible-builder), and
what the tests read back from its artifacts."""

import json
import os
import subprocess
import sys

import yaml

from .ansible import ROOT


def ee_image():
    """(the execution environment's image, the collection's version)."""
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        version = yaml.safe_load(handle)["version"]
    return "baton-docker-ee:%s" % version, version


class Unsafe(str):
    """A value AWX writes as `!unsafe`: never templated by Ansible."""


def _unsafe(dumper, value):
    return dumper.represent_scalar("!unsafe", str(value))


yaml.SafeDumper.add_representer(Unsafe, _unsafe)


def unsafe(value):
    """Survey answers as AWX writes them to env/extravars: every string marked !unsafe, in lists and maps too."""
    if isinstance(value, str):
        return Unsafe(value)
    if isinstance(value, list):
        return [unsafe(v) for v in value]
    if isinstance(value, dict):
        return dict((k, unsafe(v)) for k, v in value.items())
    return value


def private_data_dir(base, inventory, playbook, extravars, forks, job_timeout=0, envvars=None, ansible_cfg=None):
    """A private data directory under ``base`` for a job running the collection's ``playbook`` (``deploy``,
    ``release``...) as the project's ``<playbook>.yml`` on ``inventory`` (a dict, written mode 0600: it may hold
    credentials). Its path."""
    pdd = os.path.join(str(base), "job")
    for sub in ("env", "inventory", "project"):
        os.makedirs(os.path.join(pdd, sub), exist_ok=True)
    fd = os.open(os.path.join(pdd, "inventory", "hosts"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump(inventory, handle, sort_keys=False)
    with open(os.path.join(pdd, "project", "%s.yml" % playbook), "w") as handle:
        handle.write("---\n- name: %s\n  ansible.builtin.import_playbook: baton.docker.%s\n"
                     % (playbook.capitalize(), playbook))
    if ansible_cfg:
        with open(os.path.join(pdd, "project", "ansible.cfg"), "w") as handle:
            handle.write(ansible_cfg)
    with open(os.path.join(pdd, "env", "extravars"), "w") as handle:
        yaml.safe_dump(unsafe(extravars), handle)
    with open(os.path.join(pdd, "env", "settings"), "w") as handle:
        yaml.safe_dump({"job_timeout": job_timeout, "suppress_ansible_output": False}, handle)
    with open(os.path.join(pdd, "env", "cmdline"), "w") as handle:
        handle.write("--forks %d" % forks)
    if envvars:
        with open(os.path.join(pdd, "env", "envvars"), "w") as handle:
            yaml.safe_dump(envvars, handle)
    return pdd


def run_job(pdd, playbook, ident, mounts, timeout):
    """ansible-runner on ``pdd`` in the execution environment, as root on the host network with ``mounts``
    (["source:target", ...]): (the finished process, its artifacts directory)."""
    image, _version = ee_image()
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-runner"), "run", pdd, "-p", "%s.yml" % playbook,
           "--ident", ident, "--process-isolation", "--process-isolation-executable", "docker",
           "--container-image", image]
    for mount in mounts:
        cmd += ["--container-volume-mount", mount]
    cmd += ["--container-option=--network=host", "--container-option=--user=0"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    return proc, os.path.join(pdd, "artifacts", ident)


def read(path):
    with open(path) as handle:
        return handle.read().strip()


def stats_event(artifacts):
    """The job's playbook_on_stats event (what set_stats hands to the next node of a workflow)."""
    for name in sorted(os.listdir(os.path.join(artifacts, "job_events"))):
        with open(os.path.join(artifacts, "job_events", name)) as handle:
            event = json.load(handle)
        if event.get("event") == "playbook_on_stats":
            return event
    raise AssertionError("no playbook_on_stats event in %s" % artifacts)

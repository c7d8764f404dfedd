"""The fleet release as AWX runs it: playbooks/release.yml through ansible-runner with process isolation in our
execution environment (baton-docker-ee, `make ee`), from a private data directory shaped as AWX writes it, against the
fleet lab's hosts over real SSH (tests/support/fleet.py), under paced load through both of its load balancers.

The job container is Ansible's controller only: every task runs on the lab's hosts, reached over SSH on 127.0.10.x
with the lab's client key, and runs there with the lab's interpreter (the inventory's ansible_python_interpreter). The
container gets what it needs for that: the lab's directory at the same path (the key, and the paths the inventory
names), the host network (the lab's sshd addresses and its registry), and root (the key file is the lab's, mode 0600).
It gets no Docker socket: the engine is used on the hosts, not by the controller.
"""

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from tests.integration.test_awx_runner import ee_image, read, stats_event, unsafe
from tests.support import secrets
from tests.support.fleet import REPOSITORY

# canary_max_seconds bounds a canary left without traffic well inside the load's own bound (240 s).
EXTRAVARS = {"version": "v2", "canary_seconds": 4, "canary_max_seconds": 20, "canary_min_requests": 20,
             "batch_size": "50%"}


@pytest.fixture
def fleet(fleet_lab):
    lab = fleet_lab
    lab.run("playbooks/lock.yml", extra_vars={"lock_action": "break"})
    lab.deploy_initial("v1")
    yield lab
    # A case that fails leaves no lock behind for the next file's cases on this worker's lab.
    lab.run("playbooks/lock.yml", extra_vars={"lock_action": "break"})


def private_data_dir(lab, base, extravars):
    """A private data directory as AWX writes it for a job of a "baton.docker release" template on the lab's
    inventory."""
    pdd = os.path.join(str(base), "job")
    for sub in ("env", "inventory", "project"):
        os.makedirs(os.path.join(pdd, sub), exist_ok=True)
    # The lab's inventory holds the registry credentials the hosts pull with: an input of the run, mode 0600.
    hosts = os.path.join(pdd, "inventory", "hosts")
    secrets.register_input(hosts)
    fd = os.open(hosts, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump(lab.inventory_data(), handle, sort_keys=False)
    with open(os.path.join(pdd, "project", "release.yml"), "w") as handle:
        handle.write("---\n- name: Release\n  ansible.builtin.import_playbook: baton.docker.release\n")
    # The project's ansible.cfg, as the repository's: modules fed on stdin over SSH, no file transfer per task.
    with open(os.path.join(pdd, "project", "ansible.cfg"), "w") as handle:
        handle.write("[defaults]\nretry_files_enabled = False\n\n[connection]\npipelining = True\n")
    with open(os.path.join(pdd, "env", "extravars"), "w") as handle:
        yaml.safe_dump(unsafe(extravars), handle)
    with open(os.path.join(pdd, "env", "settings"), "w") as handle:
        yaml.safe_dump({"job_timeout": 0, "suppress_ansible_output": False}, handle)
    with open(os.path.join(pdd, "env", "cmdline"), "w") as handle:
        handle.write("--forks %d" % lab.forks)
    return pdd


def run_job(lab, pdd, ident, timeout=900):
    image, _version = ee_image()
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-runner"), "run", pdd, "-p", "release.yml",
           "--ident", ident, "--process-isolation", "--process-isolation-executable", "docker",
           "--container-image", image,
           "--container-volume-mount", "%s:%s" % (lab.workdir, lab.workdir),
           "--container-option=--network=host", "--container-option=--user=0"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    return proc, os.path.join(pdd, "artifacts", ident)


def test_a_job_releases_the_fleet_over_ssh_under_load_and_hands_the_release_to_the_next_job(fleet, tmp_path):
    lab = fleet
    digest = lab.digest("v2")
    pdd = private_data_dir(lab, tmp_path, EXTRAVARS)
    (proc, artifacts), load = lab.under_load(lambda: run_job(lab, pdd, "1"))
    assert read(os.path.join(artifacts, "status")) == "successful", proc.stdout[-6000:] + proc.stderr[-2000:]
    assert read(os.path.join(artifacts, "rc")) == "0"
    assert load["failed"] == 0 and load["total"] > 100, load
    assert set(lab.versions().values()) == {("v2", "v2")}, lab.versions()
    assert set(lab.container(h, role).attrs["Config"]["Image"] for h in lab.names for role in ("master", "backup")) \
        == {"%s/%s@%s" % (lab.registry.address, REPOSITORY, digest)}
    lab.wait_all_up()
    # What the next node of an AWX workflow gets as extra variables (set_stats in roles/release/tasks/finish.yml).
    handed = stats_event(artifacts)["event_data"]["artifact_data"]
    assert re.match(r"^%s/%s@sha256:[0-9a-f]{64}$" % (re.escape(lab.registry.address), REPOSITORY),
                    handed["release_image"]), handed["release_image"]
    assert handed["release_image"] == "%s/%s@%s" % (lab.registry.address, REPOSITORY, digest)
    assert handed["version"] == "v2"
    record = handed["baton_release"]
    assert record["release_id"] == handed["release_id"] and record["outcome"] == "success"
    assert record["version"] == "v2" and record["image"] == handed["release_image"]
    assert record["plan"]["canary"] == ["h01"] and record["canary"]["verdict"] == "pass"
    assert record["plan"]["batches"] == [["h02", "h03", "h04", "h05"], ["h06", "h07", "h08", "h09"], ["h10"]]
    assert all(record["hosts"][h]["outcome"] == "moved" for h in lab.names)
    # The same record is the audit's last one on the lock host, every host recorded the release, the lock is free.
    with open(os.path.join(lab.baton_dir(0), "%s-app.audit.jsonl" % lab.app)) as handle:
        audited = [json.loads(line) for line in handle if line.strip()]
    assert audited[-1]["release_id"] == handed["release_id"] and audited[-1]["outcome"] == "success"
    for host in lab.names:
        assert lab.record(host)["current"]["release_id"] == handed["release_id"]
    assert not os.path.exists(os.path.join(lab.baton_dir(0), "%s-app.lock" % lab.app))
    # The registry password the hosts pull with reaches nothing AWX shows: the job's output and its events (in any
    # form: quoted, escaped, inside base64).
    matcher = secrets.Matcher(["registry_password"])
    assert matcher.find((proc.stdout + proc.stderr).encode()) == []
    events = os.path.join(artifacts, "job_events")
    shown = [os.path.join(artifacts, "stdout")] + [os.path.join(events, f) for f in os.listdir(events)]
    assert len(shown) > 100
    for path in shown:
        with open(path, "rb") as handle:
            assert matcher.find(handle.read()) == [], path

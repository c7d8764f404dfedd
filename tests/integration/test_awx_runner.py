"""The deploy as AWX runs it: ansible-runner with process isolation in our execution environment
(baton-docker-ee, built by `make ee` with ansible-builder), from a private data directory shaped as AWX writes
it, against the real Docker engine and a real HAProxy on this machine, under load.

The job container gets what an AWX job on a Docker host would be given: the engine's socket, and the site's
directory (HAProxy's runtime socket and the rollout's state directory) at the same path. It runs as root (the
image's user 1000 cannot use the engine's socket) on the host network, so that the health checks and HAProxy
reach the slots on 127.0.0.1.
"""

import json
import os
import shutil
import time

import docker

from tests.support import awx, secrets
from tests.support.ansible import ROOT
from tests.support.awx import ee_image, read, stats_event
from tests.support.site import under_load


def private_data_dir(site, base, extravars, job_timeout=0):
    """A private data directory as AWX writes it for a job of the "baton.docker deploy" template, with the AWS
    credentials AWX injects."""
    inventory = site.inventory()
    inventory["all"]["vars"]["ansible_python_interpreter"] = "/usr/bin/python3"
    return awx.private_data_dir(base, inventory, "deploy", extravars, forks=5, job_timeout=job_timeout,
                                envvars={"AWS_ACCESS_KEY_ID": "AKIAEXAMPLEBATON",
                                         "AWS_SECRET_ACCESS_KEY": secrets.AWS_SECRET_KEY})


def run_job(site, pdd, ident, timeout=300):
    """The job with the engine's socket and the site's directory at the same path."""
    return awx.run_job(pdd, "deploy", ident, ["/var/run/docker.sock:/var/run/docker.sock",
                                              "%s:%s" % (site.workdir, site.workdir)], timeout)


def test_the_execution_environment_holds_the_collection_and_its_requirements():
    image, version = ee_image()
    client = docker.from_env()
    modules = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "modules")) if f.endswith(".py")
                     and not f.startswith("_"))
    script = "ansible-galaxy collection list baton.docker --format json && python3 -c 'import docker, boto3' && " \
             "ansible-doc %s >/dev/null && ansible-runner --version" % " ".join("baton.docker." + m for m in modules)
    out = client.containers.run(image, ["bash", "-c", script], remove=True).decode()
    listed = json.loads(out[:out.rindex("}") + 1])
    assert any(c.get("baton.docker", {}).get("version") == version for c in listed.values()), listed
    assert out.strip().splitlines()[-1].startswith("2.")


def test_a_job_rolls_out_under_load_with_literal_survey_answers(deployed, tmp_path):
    site = deployed
    literal = "it's \"{{ not templated }}\" $(nope)"
    pdd = private_data_dir(site, tmp_path, {"version": "v2", "batch_size": 1,
                                            "rollout_command": ["python3", "/app/server.py", literal],
                                            "rollout_env": {"SURVEY_TEXT": literal}})
    (proc, artifacts), load = under_load(site, lambda: run_job(site, pdd, "1"))
    assert read(os.path.join(artifacts, "status")) == "successful", proc.stdout[-4000:] + proc.stderr[-2000:]
    assert read(os.path.join(artifacts, "rc")) == "0"
    assert load["failed"] == 0 and load["total"] > 50, load
    assert site.slot_version("app1", "master") == "v2" and site.slot_version("app1", "backup") == "v2"
    config = site.container("app1", "master").attrs["Config"]
    assert "SURVEY_TEXT=%s" % literal in config["Env"]
    assert config["Cmd"] == ["python3", "/app/server.py", literal]
    releases = stats_event(artifacts)["event_data"]["artifact_data"]["baton_releases"]
    assert releases["app1"]["release"]["version"] == "v2"
    assert any("-> baton-demo/app:v2" in line for line in releases["app1"]["summary"])
    # The AWS secret AWX injects reaches nothing AWX shows: the job's output and its events. (ansible-runner's own
    # `command` and `env.list` files hand the environment to `docker run`; they are inputs, not output.)
    assert secrets.AWS_SECRET_KEY not in proc.stdout + proc.stderr
    events = os.path.join(artifacts, "job_events")
    shown = [os.path.join(artifacts, "stdout")] + [os.path.join(events, f) for f in os.listdir(events)]
    for path in shown:
        with open(path, "rb") as handle:
            assert secrets.AWS_SECRET_KEY.encode() not in handle.read(), path


def test_a_job_stopped_by_its_timeout_mid_rollout_is_finished_by_the_next(deployed, tmp_path):
    site = deployed
    # This v3 answers its health check only after 120 s: AWX's timeout (30 s, well past the job container's start even
    # on a loaded machine) strikes while the master is out of rotation.
    pdd = private_data_dir(site, tmp_path, {"version": "v3", "rollout_health_retries": 750,
                                            "rollout_env": {"APP_STARTUP_DELAY": "120"}}, job_timeout=30)
    started = time.monotonic()
    (proc, artifacts), load = under_load(site, lambda: run_job(site, pdd, "1"))
    assert time.monotonic() - started < 90
    assert load["failed"] == 0, load
    assert read(os.path.join(artifacts, "status")) in ("timeout", "failed"), proc.stdout[-3000:]
    assert site.server_stats()["app1_master"]["status"] == "MAINT", "the timeout did not strike mid-swap"
    journal = os.path.join(site.state_dir, "%s-app1.journal.json" % site.app)
    assert os.path.exists(journal), "the killed job left no journal: nothing to recover from"
    assert not docker.from_env().containers.list(filters={"ancestor": ee_image()[0]}), "the job container is gone"
    # The next job: the same release, started normally this time.
    shutil.rmtree(os.path.join(pdd, "artifacts"))
    pdd = private_data_dir(site, tmp_path, {"version": "v3"})
    (proc, artifacts), load = under_load(site, lambda: run_job(site, pdd, "2"))
    assert read(os.path.join(artifacts, "status")) == "successful", proc.stdout[-4000:]
    assert load["failed"] == 0, load
    site.wait_all_up()
    assert site.slot_version("app1", "master") == "v3" and site.slot_version("app1", "backup") == "v3"
    assert not os.path.exists(journal)

"""Stack benchmark: the example stack (inventories/stack, seed 000 translated) redeployed under load.

Deploys the example stack at v1 with playbooks/stack.yml, then, each under 8 connections of paced
load (50 req/s each) through nginx -> HAProxy -> app replicas:
  stack           redeploys with a new tag (v2, v1, v2...): app0, app1 and the worker are replaced
  stack-rollback  a redeploy to the broken image: app0 never turns healthy and is rolled back
and checks after each run that haproxy, nginx and the log forwarder were not restarted.
Records go to bench/results/rollout.json next to the rollout benchmark's.
"""

import argparse
import os
import sys
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import docker  # noqa: E402
import yaml  # noqa: E402

from bench import rollout  # noqa: E402
from bench.rollout import measured, save, table  # noqa: E402

KINDS = ("stack", "stack-rollback")
INVENTORY = os.path.join(ROOT, "inventories", "stack")
WORK = os.path.join(ROOT, "build", "bench")
LOG = "stack-ansible.log"
STEADY = ("haproxy0", "nginx0", "logspout0")


def settings():
    with open(os.path.join(INVENTORY, "group_vars", "all", "stack.yml")) as handle:
        data = yaml.safe_load(handle)
    return data["stack_http_port"], "amazing-application"


def playbook(*extra):
    """Run playbooks/stack.yml; return (exit code, modules executed on the stack's host)."""
    return rollout.playbook(INVENTORY, "stack.yml", *extra, host="stack-local", log=LOG)


def serving(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=5) as resp:
        return resp.read().decode().split()[1]


def cleanup(client, slug):
    for container in client.containers.list(all=True, filters={"label": "baton.stack=%s" % slug}):
        container.remove(force=True, v=True)
    cron_file = "/etc/cron.d/baton-%s" % slug
    if os.path.exists(cron_file):
        os.unlink(cron_file)


def started(client):
    return dict((name, client.api.inspect_container(name)["State"]["StartedAt"]) for name in STEADY)


def deploy(client, port, version, expect_ok=True):
    def action():
        before = started(client)
        rc, executions = playbook("--tags", "deploy", "-e", "baton_stack_version=" + version)
        if (rc == 0) != expect_ok:
            raise RuntimeError("stack deploy of %s exited %d; see %s" % (version, rc, os.path.join(WORK, LOG)))
        if started(client) != before:
            raise RuntimeError("a manual container was restarted by the deploy of %s" % version)
        return "now serving %s; haproxy, nginx, logspout not restarted" % serving(port), executions
    return action


def main():
    parser = argparse.ArgumentParser(description="stack benchmark")
    parser.add_argument("--redeploys", type=int, default=3, help="redeploys with a new tag")
    args = parser.parse_args()
    os.makedirs(WORK, exist_ok=True)
    if os.path.exists(os.path.join(WORK, LOG)):
        os.unlink(os.path.join(WORK, LOG))
    port, slug = settings()
    url = "http://127.0.0.1:%d/" % port
    client = docker.from_env()
    cleanup(client, slug)
    records = []
    try:
        if playbook("-e", "baton_stack_version=v1")[0]:
            sys.exit("bench: the first stack deploy failed, see %s" % os.path.join(WORK, LOG))
        version = "v1"
        for _run in range(args.redeploys):
            version = "v2" if version == "v1" else "v1"
            records.append(measured("stack", deploy(client, port, version), urls=[url]))
        records.append(measured("stack-rollback", deploy(client, port, "broken", expect_ok=False), urls=[url]))
    finally:
        cleanup(client, slug)
    save(records, KINDS)
    table(records, KINDS)


if __name__ == "__main__":
    main()

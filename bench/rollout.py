"""Rollout benchmark: zero-downtime proof under steady load through a real HAProxy.

Two HAProxy instances (configured by playbooks/lb.yml) sit in front of one application
host's master and backup slots. Runs, each under 8 connections of paced load (50 req/s
each) spread over both HAProxy frontends:
  baton           5 consecutive rollouts v1 -> v2 -> v1 ... with playbooks/deploy.yml
  baton-rollback  a rollout to the broken image (auto-rollback, the play fails)
  raw             the same docker + runtime-API steps and health criteria as a plain
                  script (no Ansible) run as its own process, to measure our overhead
  naive           the literal Clay.io sequence: docker rm -f, docker run, wait healthy
  peer            the same rollout written with community.docker.docker_container and
                  community.general.haproxy (bench/peer/), as Ansible users write it today
  baton-mitogen   playbooks/deploy.yml with mitogen's linear strategy (PyPI mitogen, installed
                  for the benchmark only): an optional speed-up, never required

Each record also gives module_executions (modules run on the application host, counted
from the play's results; null for kinds that run no play) and load_balancers.

Prints a table and writes bench/results/rollout.json (records of other kinds
already in the file are kept).
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "build", "collections"))

import docker  # noqa: E402
import yaml  # noqa: E402

from bench.loadgen import LoadGenerator  # noqa: E402
from ansible_collections.baton.docker.plugins.module_utils._haproxy_client import HAProxyRuntime  # noqa: E402

WORK = os.path.join(ROOT, "build", "bench")
RESULTS = os.path.join(ROOT, "bench", "results", "rollout.json")
APP = "bench"
IMAGE = "baton-demo/app"
FRONTEND_PORTS = (18080, 18081)
FRONTEND_PORT = FRONTEND_PORTS[0]
MASTER_PORT, BACKUP_PORT = 51000, 51001
SOCKETS = tuple(os.path.join(WORK, "haproxy%d.sock" % i) for i in range(len(FRONTEND_PORTS)))
PID_FILES = tuple(os.path.join(WORK, "haproxy%d.pid" % i) for i in range(len(FRONTEND_PORTS)))
KINDS = ("baton", "baton-rollback", "raw", "naive", "peer", "baton-mitogen")
PEER_COLLECTIONS = os.path.join(ROOT, "build", "bench-collections")
PEER_NEEDS = ("community/docker", "community/general")
CALLBACKS = os.path.join(ROOT, "tests", "support", "callback_plugins")
# Actions Ansible runs on the controller: everything else is a module executed on the host.
CONTROLLER_ACTIONS = {"debug", "assert", "set_fact", "set_stats", "include_tasks", "include_role", "import_tasks", "import_role",
                      "meta", "fail", "add_host", "group_by", "include_vars", "validate_argument_spec"}


def inventory():
    os.makedirs(os.path.join(WORK, "group_vars"), exist_ok=True)
    lbs = {}
    for index, port in enumerate(FRONTEND_PORTS):
        lbs["lb-bench%d" % index] = {
            "haproxy_config_path": os.path.join(WORK, "haproxy%d.cfg" % index), "haproxy_pid_file": PID_FILES[index],
            "haproxy_socket_path": SOCKETS[index], "haproxy_state_file": os.path.join(WORK, "server-state%d" % index),
            "haproxy_apps": [{"name": APP, "bind": "127.0.0.1:%d" % port, "app_group": "app",
                              "master_port": MASTER_PORT, "backup_port": BACKUP_PORT, "health_path": "/health"}]}
    hosts = {"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        "children": {
            "lb": {"hosts": lbs},
            "app": {"children": {"staging": {"hosts": {}},
                                 "production": {"hosts": {"app-bench": {"baton_app_address": "127.0.0.1"}}}}},
        }}}
    group_vars = {
        "rollout_app": APP, "rollout_image": IMAGE, "rollout_container_port": 8000,
        "rollout_master_port": MASTER_PORT, "rollout_backup_port": BACKUP_PORT,
        "rollout_bind_address": "127.0.0.1", "rollout_env": {"APP_SLOW_MS": "300"},
        "rollout_load_balancers": [{"socket": s} for s in SOCKETS], "rollout_state_dir": WORK,
        "haproxy_install": False, "haproxy_service_manager": "process", "haproxy_check_interval": "500ms",
    }
    with open(os.path.join(WORK, "hosts.yml"), "w") as handle:
        yaml.safe_dump(hosts, handle)
    with open(os.path.join(WORK, "group_vars", "all.yml"), "w") as handle:
        yaml.safe_dump(group_vars, handle)
    return os.path.join(WORK, "hosts.yml")


def playbook(inv, name, *extra, host="app-bench", log="ansible.log", env=None):
    """Run a playbook (of playbooks/, or a path), with ``env`` on top of the environment; return (exit code,
    modules executed on ``host``)."""
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inv,
           os.path.join(ROOT, "playbooks", name)] + list(extra)
    os.makedirs(WORK, exist_ok=True)
    results = os.path.join(WORK, "results.jsonl")
    if os.path.exists(results):
        os.unlink(results)
    env = dict(os.environ, ANSIBLE_CALLBACK_PLUGINS=CALLBACKS, ANSIBLE_CALLBACKS_ENABLED="baton_results",
               BATON_RESULTS_FILE=results,
               ANSIBLE_COLLECTIONS_PATH=os.pathsep.join([os.path.join(ROOT, "build", "collections"), PEER_COLLECTIONS]),
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), **(env or {}))
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False, env=env, timeout=900)
    with open(os.path.join(WORK, log), "a") as handle:
        handle.write("$ %s\n%s\n" % (" ".join(cmd), proc.stdout))
    return proc.returncode, module_executions(_results(results), host)


def _results(path):
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def peer_collections():
    """community.docker and community.general, out of the `ansible` package's wheel (PyPI), into
    build/bench-collections (scripts/bundled_collections.sh; cached)."""
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "bundled_collections.sh"), "--dest", PEER_COLLECTIONS]
                   + list(PEER_NEEDS), check=True,
                   env=dict(os.environ, VENV=os.path.dirname(os.path.dirname(sys.executable))))


def peer_action(inv, version):
    def action():
        rc, executions = playbook(inv, os.path.join(ROOT, "bench", "peer", "rollout.yml"), "-e", "version=" + version)
        if rc != 0:
            raise RuntimeError("peer rollout of %s exited %d; see %s/ansible.log" % (version, rc, WORK))
        return "now serving %s" % serving_version(), executions
    return action


def module_executions(records, host):
    """How many modules ran on ``host``: task results that are not controller actions nor skipped (a loop counts
    once per item that ran; a module's own ``results`` list, as data_volume's, counts once)."""
    count = 0
    for record in records:
        if "stats" in record or record["host"] != host or record["status"] == "skipped":
            continue
        if record["action"].rsplit(".", 1)[-1] in CONTROLLER_ACTIONS:
            continue
        items = record["result"].get("results")
        looped = isinstance(items, list) and all(isinstance(i, dict) and "ansible_loop_var" in i for i in items)
        count += len([i for i in items if not i.get("skipped")]) if looped and items else 1
    return count


def wait_healthy(port, timeout=60.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/health" % port, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(interval)
    raise RuntimeError("port %d never turned healthy" % port)


def run_kwargs(container, image):
    """Run arguments that recreate `container` on `image` with the same configuration."""
    attrs = container.attrs
    bindings = attrs["HostConfig"]["PortBindings"] or {}
    ports = {key: [(b["HostIp"], int(b["HostPort"])) for b in value] for key, value in bindings.items()}
    return dict(image=image, name=container.name, detach=True, ports=ports,
                environment=attrs["Config"]["Env"], labels=attrs["Config"]["Labels"],
                restart_policy=attrs["HostConfig"]["RestartPolicy"])


def slots():
    return [("%s-master" % APP, "app-bench_master", MASTER_PORT),
            ("%s-backup" % APP, "app-bench_backup", BACKUP_PORT)]


def raw_rollout(client, version):
    """Our steps without Ansible, on both load balancers: drain -> 0 sessions -> maint -> stop/keep -> run ->
    healthy -> ready -> UP."""
    runtimes = [HAProxyRuntime(socket) for socket in SOCKETS]
    for name, server, port in slots():
        for runtime in runtimes:
            runtime.set_state(APP, server, "drain")
        for runtime in runtimes:
            runtime.wait_for_drained(APP, server, timeout=60)
            runtime.set_state(APP, server, "maint")
        old = client.containers.get(name)
        kwargs = run_kwargs(old, "%s:%s" % (IMAGE, version))
        old.stop(timeout=10)
        old.rename(name + ".raw-previous")
        client.containers.run(**kwargs)
        wait_healthy(port)
        for runtime in runtimes:
            runtime.set_state(APP, server, "ready")
        for runtime in runtimes:
            runtime.wait_for_up(APP, server, timeout=60)
        old.remove()


def raw_process(version):
    """The raw rollout as its own process, paying its start-up as a user's script does."""
    def action():
        subprocess.run([sys.executable, os.path.abspath(__file__), "--raw", version], check=True)
    return action


def naive_rollout(client, version):
    """The literal Clay.io sequence: docker rm -f, docker run, wait until it answers."""
    for name, _server, port in slots():
        old = client.containers.get(name)
        kwargs = run_kwargs(old, "%s:%s" % (IMAGE, version))
        old.remove(force=True)
        client.containers.run(**kwargs)
        wait_healthy(port)


def windows(loads, start=None, end=None):
    return [r for load in loads for r in load.window(start=start, end=end)]


def measured(kind, action, rest=3.0, after=0.5, urls=None):
    """Run ``action`` under 8 connections spread over ``urls`` (both HAProxy frontends by default). The action
    returns None, an outcome string, or (outcome, module executions)."""
    urls = urls or ["http://127.0.0.1:%d/" % port for port in FRONTEND_PORTS]
    loads = [LoadGenerator(url, connections=8 // len(urls), period=0.02, max_seconds=300) for url in urls]
    for load in loads:
        load.start()
    time.sleep(rest)
    began = time.monotonic()
    outcome = action()
    ended = time.monotonic()
    time.sleep(after)
    for load in loads:
        load.stop()
    executions = None
    if isinstance(outcome, tuple):
        outcome, executions = outcome
    rest_s = LoadGenerator.summary(windows(loads, start=began - rest + 0.5, end=began))
    during = LoadGenerator.summary(windows(loads, start=began, end=ended))
    total = LoadGenerator.summary(windows(loads))
    record = {
        "kind": kind,
        "failed": total["failed"],
        "total": total["total"],
        "p50_ms": {"rest": rest_s["p50_ms"], "during": during["p50_ms"]},
        "p99_ms": {"rest": rest_s["p99_ms"], "during": during["p99_ms"]},
        "seconds": round(ended - began, 2),
        "module_executions": executions,
        "load_balancers": len(urls),
    }
    if total["failures"]:
        record["failures"] = total["failures"]
    if outcome is not None:
        record["outcome"] = outcome
    print("%-15s failed %4d / %5d   p99 rest %7s ms  during %7s ms   %6.2f s  modules %4s  %s" % (
        kind, record["failed"], record["total"], record["p99_ms"]["rest"], record["p99_ms"]["during"],
        record["seconds"], executions if executions is not None else "-", outcome or ""), flush=True)
    return record


def serving_version():
    with urllib.request.urlopen("http://127.0.0.1:%d/" % FRONTEND_PORT, timeout=5) as resp:
        return resp.read().split()[1].decode()


def stop_haproxy():
    for pid_file in PID_FILES:
        try:
            pid = int(open(pid_file).read().split()[0])
            if os.path.basename(os.readlink("/proc/%d/exe" % pid)) == "haproxy":
                os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError, IndexError):
            pass


def cleanup(client):
    stop_haproxy()
    for container in client.containers.list(all=True, filters={"label": "baton.app=%s" % APP}):
        container.remove(force=True)
    for name, _server, _port in slots():
        for suffix in ("", ".raw-previous"):
            try:
                client.containers.get(name + suffix).remove(force=True)
            except docker.errors.NotFound:
                pass


def save(records, kinds=KINDS):
    """Write the records, keeping those of the other kinds already in the file."""
    existing = []
    if os.path.exists(RESULTS):
        with open(RESULTS) as handle:
            existing = [r for r in json.load(handle) if r.get("kind") not in kinds]
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as handle:
        json.dump(existing + records, handle, indent=2)
        handle.write("\n")


def mean(values):
    return sum(values) / len(values) if values else float("nan")


def mitogen_env():
    """The environment that runs a play with mitogen's linear strategy; mitogen is installed when missing."""
    try:
        import ansible_mitogen
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "mitogen"], check=True)
        import ansible_mitogen
    return dict(ANSIBLE_STRATEGY="mitogen_linear",
                ANSIBLE_STRATEGY_PLUGINS=os.path.join(os.path.dirname(ansible_mitogen.__file__), "plugins", "strategy"))


def deploy_action(inv, version, expect_ok=True, env=None):
    def action():
        rc, executions = playbook(inv, "deploy.yml", "-e", "version=" + version, env=env)
        if (rc == 0) != expect_ok:
            raise RuntimeError("deploy of %s exited %d; see %s/ansible.log" % (version, rc, WORK))
        return "now serving %s" % serving_version(), executions
    return action


def table(records, kinds=KINDS):
    columns = ("kind", "runs", "failed", "total", "p99 rest ms", "p99 during ms", "mean s", "modules")
    print("\n%-15s %5s %9s %9s %14s %14s %8s %8s" % columns)
    for kind in kinds:
        rows = [r for r in records if r["kind"] == kind]
        if not rows:
            continue
        executions = [r.get("module_executions") for r in rows if r.get("module_executions") is not None]
        print("%-15s %5d %9d %9d %14.1f %14.1f %8.2f %8s" % (
            kind, len(rows), sum(r["failed"] for r in rows), sum(r["total"] for r in rows),
            max(r["p99_ms"]["rest"] or 0 for r in rows), max(r["p99_ms"]["during"] or 0 for r in rows),
            mean([r["seconds"] for r in rows]), max(executions) if executions else "-"))
    baton = [r for r in records if r["kind"] == "baton"]
    raw = [r for r in records if r["kind"] == "raw"]
    peer = [r for r in records if r["kind"] == "peer"]
    if baton and raw:
        ratio = mean([r["seconds"] for r in baton]) / mean([r["seconds"] for r in raw])
        worst = max((r["p99_ms"]["during"] or 0) / (r["p99_ms"]["rest"] or 1) for r in baton)
        print("\nbaton/raw time ratio: %.2f   worst baton p99 during/rest: %.2f" % (ratio, worst))
    if baton and peer:
        print("peer/baton time ratio: %.2f" % (mean([r["seconds"] for r in peer]) / mean([r["seconds"] for r in baton])))


def main():
    parser = argparse.ArgumentParser(description="rollout benchmark")
    parser.add_argument("--rollouts", type=int, default=5, help="baton and raw rollouts (>= 5)")
    parser.add_argument("--naive", type=int, default=3, help="naive rollouts")
    parser.add_argument("--peer", type=int, default=3, help="rollouts written with community.docker")
    parser.add_argument("--mitogen", type=int, default=1, help="rollouts with mitogen's strategy")
    parser.add_argument("--raw", metavar="VERSION", help=argparse.SUPPRESS)  # one raw rollout, as its own process
    args = parser.parse_args()
    client = docker.from_env()
    if args.raw:
        raw_rollout(client, args.raw)
        return
    shutil.rmtree(WORK, ignore_errors=True)
    inv = inventory()
    cleanup(client)
    records = []
    try:
        if playbook(inv, "lb.yml")[0] or playbook(inv, "deploy.yml", "-e", "version=v1")[0]:
            sys.exit("bench: setup failed, see %s/ansible.log" % WORK)
        wait_healthy(FRONTEND_PORT)
        version = "v1"
        for _run in range(args.rollouts):
            version = "v2" if version == "v1" else "v1"
            records.append(measured("baton", deploy_action(inv, version)))
        records.append(measured("baton-rollback", deploy_action(inv, "broken", expect_ok=False)))
        if args.mitogen:
            mitogen = mitogen_env()
        for _run in range(args.mitogen):
            version = "v2" if version == "v1" else "v1"
            records.append(measured("baton-mitogen", deploy_action(inv, version, env=mitogen)))
        for _run in range(args.rollouts):
            version = "v2" if version == "v1" else "v1"
            records.append(measured("raw", raw_process(version)))
        if args.peer:
            peer_collections()
        for _run in range(args.peer):
            version = "v2" if version == "v1" else "v1"
            records.append(measured("peer", peer_action(inv, version)))
        # The peer's containers carry other settings: bring the slots back to ours before the naive kind.
        if playbook(inv, "deploy.yml", "-e", "version=" + version)[0]:
            sys.exit("bench: redeploy after the peer kind failed, see %s/ansible.log" % WORK)
        for _run in range(args.naive):
            version = "v2" if version == "v1" else "v1"
            records.append(measured("naive", lambda: naive_rollout(client, version)))
    finally:
        cleanup(client)
    save(records)
    table(records)
    print("\nwritten: %s" % os.path.relpath(RESULTS, ROOT))


if __name__ == "__main__":
    main()

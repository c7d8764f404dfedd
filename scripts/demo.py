"""`make demo`: a real master/backup rollout from v1 to v2 behind HAProxy, under live traffic.

1. configures HAProxy on this machine (playbooks/lb.yml, embedded local inventory);
2. deploys baton-demo/app:v1 (creates the master and backup slots on a first run);
3. sends steady load through HAProxy (127.0.0.1:8080) and rolls out v2 meanwhile;
4. prints, per slot, old -> new version, seconds to healthy, and failed/total requests, and draws
   the rollout's timeline (load probe and each slot's steps) into build/demo/rollout-timeline.png.

`--clean` stops the demo's HAProxy (by its PID) and removes the demo containers.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.loadgen import LoadGenerator  # noqa: E402

INVENTORY = os.path.join(ROOT, "inventories", "local", "hosts.yml")
FRONTEND = ("127.0.0.1", 8080)
PID_FILE = "/run/baton-demo/haproxy.pid"
RECORD = "/var/lib/baton-demo/demo.json"
OUT = os.path.join(ROOT, "build", "demo")
RESULTS = os.path.join(OUT, "results.jsonl")
PICTURE = os.path.join(OUT, "rollout-timeline.png")


def playbook(name, *extra, quiet=False):
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", INVENTORY,
           os.path.join(ROOT, "playbooks", name)] + list(extra)
    print("\n$ " + " ".join(["ansible-playbook", "playbooks/" + name] + list(extra)), flush=True)
    os.makedirs(OUT, exist_ok=True)
    if os.path.exists(RESULTS):
        os.unlink(RESULTS)
    env = dict(os.environ, ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, "tests", "support", "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="baton_results", BATON_RESULTS_FILE=RESULTS)
    out = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, check=False, env=env)
    lines = out.stdout.splitlines()
    shown = lines if not quiet or out.returncode else [line for line in lines if line.startswith(("PLAY RECAP", "app-", "lb-"))]
    print("\n".join(shown), flush=True)
    if out.returncode:
        sys.exit("demo: %s failed (exit %d)" % (name, out.returncode))


def our_haproxy_pid():
    try:
        pid = int(open(PID_FILE).read().split()[0])
        if os.path.basename(os.readlink("/proc/%d/exe" % pid)) == "haproxy":
            return pid
    except (OSError, ValueError, IndexError):
        pass
    return None


def port_in_use(host, port):
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def clean():
    pid = our_haproxy_pid()
    if pid:
        os.kill(pid, signal.SIGTERM)
        print("stopped HAProxy (pid %d)" % pid)
    import docker
    client = docker.from_env()
    for container in client.containers.list(all=True, filters={"label": "baton.app=demo"}):
        container.remove(force=True)
        print("removed container %s" % container.name)
    if os.path.exists(RECORD):
        os.unlink(RECORD)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="stop and remove what the demo started")
    parser.add_argument("--from-version", default="v1")
    parser.add_argument("--to-version", default="v2")
    args = parser.parse_args()
    if args.clean:
        clean()
        return
    if port_in_use(*FRONTEND) and not our_haproxy_pid():
        sys.exit("demo: something other than the demo's HAProxy listens on %s:%d; stop it first" % FRONTEND)

    print("== 1. HAProxy in front of the master (:50000) and backup (:50001) slots")
    playbook("lb.yml", quiet=True)
    print("\n== 2. Deploy %s (first deploy creates both slots)" % args.from_version)
    playbook("deploy.yml", "-e", "version=" + args.from_version, quiet=True)

    print("\n== 3. Roll out %s under live traffic: 8 connections, 50 req/s each, through HAProxy"
          % args.to_version)
    load = LoadGenerator("http://%s:%d/" % FRONTEND, connections=8, period=0.02, max_seconds=240)
    load.start()
    time.sleep(2.0)
    origin = (time.monotonic(), time.time())
    began = origin[0]
    playbook("deploy.yml", "-e", "version=" + args.to_version)
    ended = time.monotonic()
    time.sleep(1.0)
    load.stop()
    with open(RESULTS) as handle:
        rollout = [json.loads(line) for line in handle if '"baton.docker.rollout"' in line][-1]["result"]

    record = json.load(open(RECORD))
    print("\n== What happened")
    print("%-14s %-22s %-22s %s" % ("slot", "old", "new", "seconds to healthy"))
    for slot in record.get("last_rollout", []):
        print("%-14s %-22s %-22s %s" % (slot["slot"], slot["old"], slot["new"], slot["seconds_to_healthy"]))
    rest = LoadGenerator.summary(load.window(end=began))
    during = LoadGenerator.summary(load.window(start=began, end=ended))
    allr = LoadGenerator.summary(load.window())
    print("\nrequests through HAProxy: %d failed / %d total (%.1f s rollout)"
          % (allr["failed"], allr["total"], ended - began))
    print("latency p50/p99 ms: at rest %s/%s, during rollout %s/%s"
          % (rest["p50_ms"], rest["p99_ms"], during["p50_ms"], during["p99_ms"]))
    print("responses by version: %s" % ", ".join("%s=%d" % kv for kv in sorted(load.bodies.items())))
    if allr["failures"]:
        print("failures: %s" % allr["failures"])
    print("\n".join([""] + rollout["summary"]))
    from bench.timeline import draw
    title = "make demo: %s -> %s under load, %d failed / %d requests" % (
        args.from_version, args.to_version, allr["failed"], allr["total"])
    draw(PICTURE, load.window(start=began - 2.0), rollout["timeline"], (began - 2.0, origin[1] - 2.0), title)
    print("timeline picture (requests/s, failures, p99 latency, each slot's steps): %s"
          % os.path.relpath(PICTURE, ROOT))
    print("\nHAProxy and both slots keep running: curl http://127.0.0.1:8080/ ; `make demo-clean` stops them.")
    sys.exit(1 if allr["failed"] else 0)


if __name__ == "__main__":
    main()

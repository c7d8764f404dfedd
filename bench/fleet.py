"""Fleet benchmark: a release over many hosts reached over real SSH, behind two HAProxy instances, under paced load.

One fleet lab (tests/support/fleet.py: N application hosts, lb0 and lb1, a registry with fleet/app:v1..v3), every run
under 8 paced connections (4 through each load balancer's frontend, 50 req/s each) from before it starts to after it
ends, in this order:
  one host     the rollout role on one host, v1 -> v2 and back: one_host_seconds is the mean of the two
  fleet        v1 -> v2 with playbooks/release.yml: a canary (observed canary_seconds, canary_min_requests sized to
               the load), then batches of 25% of the other hosts
  fleet-revert the same from v1 again, with the last host of the last batch broken (its host_vars give it
               APP_BROKEN and few health retries): the release stops and sends every moved host back
  peer-fleet   v1 -> v2 the way an Ansible user writes it today (bench/peer/fleet.yml: serial 25%,
               community.general.haproxy on each load balancer host, community.docker.docker_container)

Writes bench/results/fleet.json (one record per kind: the fields the checks read, what the run cost this machine,
cpu_seconds of its cpus, and each play's seconds, phase_seconds) and bench/results/fleet.png (requests per second,
failures and p99 latency over time for each kind, with the canary, each batch and the revert marked from the play's
task events, bench/callback_plugins/baton_events.py), prints a summary and exits non-zero when a check is violated:
  fleet and fleet-revert fail no request;
  fleet: seconds - canary_seconds <= 1.5 * batches * one_host_seconds;
  peer-fleet: seconds >= 2 * (fleet's seconds - canary_seconds).

  python bench/fleet.py [--hosts 20] [--canary-seconds 10] [--results DIR] [--work DIR]
"""

import argparse
import json
import os
import shutil
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "build", "collections"))
# The playbooks run at Ansible's default verbosity, as a user runs them (the test suite's runs are at -vvv).
os.environ.setdefault("BATON_TEST_VERBOSITY", "0")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import yaml  # noqa: E402

from bench.loadgen import LoadGenerator, run_with  # noqa: E402
from bench.rollout import PEER_COLLECTIONS, module_executions, peer_collections  # noqa: E402
from bench.timeline import per_second  # noqa: E402
from tests.support.ansible import CALLBACKS, COLLECTIONS  # noqa: E402
from tests.support.fleet import FleetLab  # noqa: E402

RESULTS = os.path.join(ROOT, "bench", "results")
WORK = os.path.join(ROOT, "build", "bench-fleet")
EVENT_CALLBACKS = os.path.join(ROOT, "bench", "callback_plugins")
KINDS = ("fleet", "fleet-revert", "peer-fleet")
CONNECTIONS = 4  # per load balancer frontend
PERIOD = 0.02  # seconds between two requests of one connection
MAX_LOAD_SECONDS = 1200  # bound of every load run
BATCH_SIZE = "25%"
RELEASE = os.path.join(ROOT, "playbooks", "release.yml")
PEER = os.path.join(ROOT, "bench", "peer", "fleet.yml")
CANARY_PLAY = "Release the canary"
BATCH_PLAY = "Release the other hosts in batches"
REVERT_PLAY = "Send back what the stopped release moved"
PEER_PLAY = "Release the fleet with community.docker and community.general"
# Every baton run (the lab's group_vars/all.yml): a health probe may take up to 10 s to answer on a loaded machine
# (the default 2 s makes a busy host's healthy container look unhealthy, and the release refuses to start); the peer's
# probe waits 30 s.
BATON_VARS = {"rollout_health_timeout": 10}


def run_env(events):
    """The environment of a benchmarked run: the suite's result records plus the task events, and the peer's
    collections next to ours."""
    return {
        "ANSIBLE_CALLBACK_PLUGINS": os.pathsep.join([CALLBACKS, EVENT_CALLBACKS]),
        "ANSIBLE_CALLBACKS_ENABLED": "baton_results,baton_events",
        "BATON_EVENTS_FILE": events,
        "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([COLLECTIONS, PEER_COLLECTIONS]),
    }


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def measured(lab, name, run):
    """``run(env)`` (a lab.run) under 4 paced connections through each load balancer. A dict: the PlaybookRun, its
    seconds, the load's records and summary, the play's task events and the (monotonic, epoch) origin."""
    events = os.path.join(WORK, "%s.events.jsonl" % name)
    lab.wait_all_up(timeout=180)  # a busy machine's health checks may have taken servers out for a while
    if os.path.exists(events):
        os.unlink(events)
    loads = [LoadGenerator(lb["url"], connections=CONNECTIONS, period=PERIOD, max_seconds=MAX_LOAD_SECONDS,
                           max_requests=int(MAX_LOAD_SECONDS * CONNECTIONS / PERIOD)) for lb in lab.lbs]
    origin = (time.monotonic(), time.time())
    box = {}

    def action():
        began = time.monotonic()
        box["run"] = run(run_env(events))
        box["seconds"] = round(time.monotonic() - began, 2)

    cpu_before = machine_cpu_seconds()
    run_with(loads, action, settle=2.0, after=1.0)
    cpu = round(machine_cpu_seconds() - cpu_before, 1)
    records = [r for load in loads for r in load.window()]
    return dict(run=box["run"], seconds=box["seconds"], records=records, load=LoadGenerator.summary(records),
                events=read_jsonl(events), origin=origin, cpu_seconds=cpu)


def machine_cpu_seconds():
    """CPU seconds this machine has spent, every process together (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat") as handle:
        ticks = [int(v) for v in handle.readline().split()[1:]]
    busy = sum(ticks[:8]) - ticks[3] - ticks[4]
    return busy / float(os.sysconf("SC_CLK_TCK"))


def cpu_fields(result):
    """What the run cost the machine: its CPU seconds (the lab's hosts, the engine, both load balancers, the load and
    Ansible together, load included from its start to its end) and the machine's CPUs. The lab's hosts share these
    CPUs, where a real fleet's hosts each have their own."""
    return {"cpu_seconds": result["cpu_seconds"], "cpus": os.cpu_count()}


def phase_seconds(events):
    """{play name: seconds from its first to its last task event} of a release run, in the play order."""
    phases = {}
    for event in events:
        if event["event"] in ("start", "end"):
            begin, end = phases.get(event["play"], (event["time"], event["time"]))
            phases[event["play"]] = (min(begin, event["time"]), max(end, event["time"]))
    return dict((play, round(end - begin, 1)) for play, (begin, end) in phases.items())


def expect(run, ok, what):
    if (run.rc == 0) != ok:
        sys.exit("bench: %s exited %s:\n%s" % (what, run.rc, run.output[-6000:]))


def audit(lab):
    """The last audit record of the lab's releases (on lb0)."""
    records = read_jsonl(os.path.join(lab.baton_dir(0), "%s-app.audit.jsonl" % lab.app))
    if not records:
        sys.exit("bench: no audit record in %s" % lab.baton_dir(0))
    return records[-1]


def span(events, play, hosts=None):
    """(first start, last end) in epoch seconds of the host tasks of ``play`` (of ``hosts``) that were not skipped."""
    ran = set((e["host"], e["task"]) for e in events if e["event"] == "end" and e["play"] == play
              and e["status"] != "skipped" and (hosts is None or e["host"] in hosts))
    if not ran:
        return None
    starts = [e["time"] for e in events if e["event"] == "start" and e["play"] == play and (e["host"], e["task"]) in ran]
    ends = [e["time"] for e in events if e["event"] == "end" and e["play"] == play and (e["host"], e["task"]) in ran]
    return (min(starts or ends), max(ends))


def release_marks(events, record):
    """The canary, each batch and the revert of a release: [(label, kind, (start, end))]."""
    marks = []
    plan = record["plan"]
    if plan.get("canary"):
        marks.append(("canary", "canary", span(events, CANARY_PLAY)))
    for number, batch in enumerate(plan.get("batches") or [], 1):
        marks.append(("b%d" % number, "batch", span(events, BATCH_PLAY, set(batch))))
    if record.get("reverted"):
        marks.append(("revert", "revert", span(events, REVERT_PLAY, set(record["reverted"]))))
    return [m for m in marks if m[2]]


def serial_batches(hosts, size):
    """Ansible's cut of ``hosts`` by a serial percentage (int of the share, at least one host)."""
    per = max(1, int(float(size.rstrip("%")) / 100.0 * len(hosts)))
    return [hosts[i:i + per] for i in range(0, len(hosts), per)]


def one_host(lab):
    """The rollout role on the first host alone, v1 -> v2 and back, under the same load: the mean seconds."""
    play = [{"name": "one host", "hosts": lab.names[0], "gather_facts": False,
             "roles": [{"role": "baton.docker.rollout"}]}]
    seconds = []
    for version in ("v2", "v1"):
        result = measured(lab, "one-host-%s" % version,
                          lambda env, v=version: lab.run(play, extra_vars={"version": v}, env=env))
        expect(result["run"], True, "the one-host rollout to %s" % version)
        seconds.append(result["seconds"])
        load = result["load"]
        print("one host -> %s: %.2f s, failed %d / %d, machine cpu %.1f s" % (
            version, result["seconds"], load["failed"], load["total"], result["cpu_seconds"]), flush=True)
    return round(sum(seconds) / len(seconds), 2)


def release_record(kind, lab, result, one_host_seconds):
    record = audit(lab)
    plan = record["plan"]
    figures = (record.get("canary") or {}).get("figures") or {}
    out = {
        "kind": kind,
        "hosts": len(lab.names),
        "batches": (1 if plan.get("canary") else 0) + len(plan.get("batches") or []),
        "failed": result["load"]["failed"],
        "total": result["load"]["total"],
        "seconds": result["seconds"],
        "canary_seconds": figures.get("observed_seconds", 0),
        "one_host_seconds": one_host_seconds,
        "load_balancers": len(lab.lbs),
        "module_executions": module_executions(result["run"].records, lab.names[1]),
        "phase_seconds": phase_seconds(result["events"]),
    }
    out.update(cpu_fields(result))
    if kind == "fleet-revert":
        out["reverted"] = sorted(record["reverted"])
    return out, release_marks(result["events"], record), record


def fleet_release(lab, one_host_seconds, canary_seconds):
    # The canary's master gets 1/hosts of the load: a quarter of what it should get in the window is enough.
    expected = 2 * CONNECTIONS / PERIOD * canary_seconds / len(lab.names)
    extra = {"version": "v2", "batch_size": BATCH_SIZE, "canary_seconds": canary_seconds,
             "canary_max_seconds": max(60, 4 * canary_seconds), "canary_min_requests": max(10, int(expected / 4))}
    result = measured(lab, "fleet", lambda env: lab.run(RELEASE, extra_vars=extra, env=env))
    expect(result["run"], True, "the fleet release")
    record, marks, audit_record = release_record("fleet", lab, result, one_host_seconds)
    if audit_record["canary"].get("verdict") != "pass" or set(lab.versions().values()) != {("v2", "v2")}:
        sys.exit("bench: the fleet release did not move every host to v2: %s %s" % (
            audit_record["canary"].get("verdict"), lab.versions()))
    return record, marks, result, extra


def fleet_revert(lab, one_host_seconds, extra):
    lab.deploy_initial("v1")
    broken = os.path.join(os.path.dirname(lab.inventory), "host_vars", "%s.yml" % lab.names[-1])
    with open(broken, "w") as handle:
        handle.write("rollout_env: {APP_BROKEN: '1'}\nrollout_health_retries: 10\n")
    try:
        result = measured(lab, "fleet-revert", lambda env: lab.run(RELEASE, extra_vars=extra, env=env))
    finally:
        os.unlink(broken)
    expect(result["run"], False, "the release with a broken host")
    record, marks, audit_record = release_record("fleet-revert", lab, result, one_host_seconds)
    if audit_record["failed"] != [lab.names[-1]] or set(lab.versions().values()) != {("v1", "v1")}:
        sys.exit("bench: the broken release did not send every host back: failed %s, %s" % (
            audit_record["failed"], lab.versions()))
    lab.wait_all_up()
    return record, marks, result


def peer_fleet(lab, one_host_seconds):
    extra = {"version": "v2", "peer_batch_size": BATCH_SIZE, "peer_docker_config": os.path.join(lab.workdir, "peer-docker")}
    result = measured(lab, "peer-fleet", lambda env: lab.run(PEER, extra_vars=extra, env=env))
    expect(result["run"], True, "the peer release")
    if set(lab.versions().values()) != {("v2", "v2")}:
        sys.exit("bench: the peer release did not move every host to v2: %s" % lab.versions())
    batches = serial_batches(lab.names, BATCH_SIZE)
    record = {
        "kind": "peer-fleet", "hosts": len(lab.names), "batches": len(batches),
        "failed": result["load"]["failed"], "total": result["load"]["total"], "seconds": result["seconds"],
        "canary_seconds": 0, "one_host_seconds": one_host_seconds, "load_balancers": len(lab.lbs),
        "module_executions": module_executions(result["run"].records, lab.names[1]),
    }
    record.update(cpu_fields(result))
    marks = [("b%d" % n, "batch", span(result["events"], PEER_PLAY, set(b))) for n, b in enumerate(batches, 1)]
    return record, [m for m in marks if m[2]], result


def lab_vars(lab):
    """BATON_VARS for every host, and each load balancer host's runtime socket as its host var haproxy_socket_path
    (for the peer's play), in group_vars and host_vars next to the lab's inventory."""
    groups = os.path.join(os.path.dirname(lab.inventory), "group_vars")
    os.makedirs(groups, exist_ok=True)
    with open(os.path.join(groups, "all.yml"), "w") as handle:
        yaml.safe_dump(BATON_VARS, handle)
    folder = os.path.join(os.path.dirname(lab.inventory), "host_vars")
    os.makedirs(folder, exist_ok=True)
    for lb in lab.lbs:
        with open(os.path.join(folder, "%s.yml" % lb["name"]), "w") as handle:
            yaml.safe_dump({"haproxy_socket_path": lb["socket"]}, handle)


COLORS = {"canary": "#f2c14e", "batch": ("#4d9078", "#8cc084"), "revert": "#b33f62"}


def draw(path, runs):
    """requests/s and failures/s, and p99 latency, per second of each run, with its marks."""
    fig, axes = plt.subplots(2 * len(runs), 1, figsize=(12, 4.2 * len(runs)),
                             gridspec_kw={"height_ratios": [3, 2] * len(runs)})
    for index, (record, marks, result) in enumerate(runs):
        top, bottom = axes[2 * index], axes[2 * index + 1]
        mono0, epoch0 = result["origin"]
        rows = per_second(result["records"], mono0)
        seconds = sorted(rows)[:-1]  # the last second is cut short by the end of the load
        top.plot(seconds, [rows[s][0] for s in seconds], color="#2a6f97", label="requests/s")
        top.bar(seconds, [rows[s][1] for s in seconds], color="#d62828", label="failed/s", width=0.8)
        bottom.plot(seconds, [rows[s][2] for s in seconds], color="#6c757d", label="p99 latency (ms)")
        high = max([rows[s][0] for s in seconds] + [1]) * 1.35
        top.set_ylim(0, high)
        for number, (label, kind, (begin, end)) in enumerate(marks):
            color = COLORS[kind][number % 2] if kind == "batch" else COLORS[kind]
            for axis in (top, bottom):
                axis.axvspan(begin - epoch0, end - epoch0, ymin=0.9, ymax=0.98, color=color, alpha=0.9)
                axis.axvline(begin - epoch0, color=color, linewidth=0.8, alpha=0.6)
            top.text((begin + end) / 2 - epoch0, high * 0.86, label, fontsize=7, ha="center", va="top")
        top.set_ylabel("requests/s")
        bottom.set_ylabel("p99 ms")
        top.set_title("%s: %d hosts, %d batches, %.1f s (canary observed %.1f s), %d of %d requests failed" % (
            record["kind"], record["hosts"], record["batches"], record["seconds"], record["canary_seconds"],
            record["failed"], record["total"]), fontsize=10)
        top.legend(loc="lower left", fontsize=8)
        bottom.legend(loc="upper left", fontsize=8)
    axes[-1].set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def checks(records):
    """[(description, holds)] of the benchmark's claims."""
    by_kind = dict((r["kind"], r) for r in records)
    fleet, revert, peer = by_kind["fleet"], by_kind["fleet-revert"], by_kind["peer-fleet"]
    rollout = fleet["seconds"] - fleet["canary_seconds"]
    bound = 1.5 * fleet["batches"] * fleet["one_host_seconds"]
    return [
        ("fleet failed 0 requests (%d)" % fleet["failed"], fleet["failed"] == 0),
        ("fleet-revert failed 0 requests (%d)" % revert["failed"], revert["failed"] == 0),
        ("fleet seconds - canary_seconds %.1f <= 1.5 x %d batches x %.1f s one host = %.1f" % (
            rollout, fleet["batches"], fleet["one_host_seconds"], bound), rollout <= bound),
        ("peer-fleet seconds %.1f >= 2 x %.1f = %.1f" % (peer["seconds"], rollout, 2 * rollout),
         peer["seconds"] >= 2 * rollout),
    ]


def summary(records):
    print("\n%-13s %5s %7s %7s %7s %8s %8s %8s %8s %s" % (
        "kind", "hosts", "batches", "failed", "total", "seconds", "canary s", "1-host s", "modules", "reverted"))
    for r in records:
        print("%-13s %5d %7d %7d %7d %8.1f %8.1f %8.1f %8d %s" % (
            r["kind"], r["hosts"], r["batches"], r["failed"], r["total"], r["seconds"], r["canary_seconds"],
            r["one_host_seconds"], r["module_executions"], len(r["reverted"]) if "reverted" in r else "-"))


def main():
    global WORK  # pylint: disable=global-statement
    parser = argparse.ArgumentParser(description="fleet release benchmark")
    parser.add_argument("--hosts", type=int, default=20, help="application hosts of the lab (default 20)")
    parser.add_argument("--canary-seconds", type=int, default=10, help="canary observation window")
    parser.add_argument("--results", default=RESULTS, help="where fleet.json and fleet.png go")
    parser.add_argument("--work", default=WORK, help="the lab's and the runs' directory (emptied first)")
    args = parser.parse_args()
    WORK = os.path.abspath(args.work)
    print("load average at start: %s" % " ".join("%.2f" % v for v in os.getloadavg()), flush=True)
    started = time.monotonic()
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    peer_collections()
    runs = []

    def save():
        # after every kind: a run cut short still leaves what it measured
        os.makedirs(args.results, exist_ok=True)
        with open(os.path.join(args.results, "fleet.json"), "w") as handle:
            json.dump([run[0] for run in runs], handle, indent=2)
            handle.write("\n")
        draw(os.path.join(args.results, "fleet.png"), runs)
        average = " ".join("%.2f" % v for v in os.getloadavg())
        print("%s: %.1f s, machine cpu %.1f s   load average %s" % (
            runs[-1][0]["kind"], runs[-1][0]["seconds"], runs[-1][0]["cpu_seconds"], average), flush=True)

    with FleetLab(os.path.join(WORK, "lab"), hosts=args.hosts) as lab:
        lab_vars(lab)
        lab.deploy_initial("v1")
        print("lab of %d hosts up in %.1f s" % (args.hosts, time.monotonic() - started), flush=True)
        one_host_seconds = one_host(lab)
        record, marks, result, extra = fleet_release(lab, one_host_seconds, args.canary_seconds)
        runs.append((record, marks, result))
        save()
        runs.append(fleet_revert(lab, one_host_seconds, extra))
        save()
        runs.append(peer_fleet(lab, one_host_seconds))
        save()
    records = [run[0] for run in runs]
    summary(records)
    print("load average at end: %s   whole benchmark %.0f s" % (
        " ".join("%.2f" % v for v in os.getloadavg()), time.monotonic() - started))
    violated = 0
    for text, holds in checks(records):
        print("%s  %s" % ("ok  " if holds else "FAIL", text))
        violated += not holds
    print("written: %s, %s" % (os.path.join(args.results, "fleet.json"), os.path.join(args.results, "fleet.png")))
    if violated:
        sys.exit(1)


if __name__ == "__main__":
    main()

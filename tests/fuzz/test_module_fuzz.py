"""Every module's main() driven with generated bad arguments (tests/support/fuzz.py).

Each case must end in fail_json naming a parameter its mutations targeted, in exit_json, or at the module's first
effect on the host (which the sandbox stands in for and does not perform) - never in a traceback or a hang. A case
that ansible-core's validation accepts but that holds what the modules' own checks must refuse (a NUL character in
any string, a seconds option that is negative, NaN, infinite or more than a day, an invalid name) must end in
fail_json naming a targeted parameter, with no effect attempted. Docker
reads go to the real engine, HAProxy reads to a real HAProxy, AWS reads to a real moto server (behind the Elastic Beanstalk double of
tests/support/eb_double.py for the EB reads moto lacks).
"""

import importlib
import json
import os
import time
import uuid
import zlib

import pytest

from tests.support import fuzz
from tests.support.eb_double import EbDouble
from bench.loadgen import LoadGenerator
from tests.support.haproxy import HAProxyProcess, HTTPBackend, render_config
from tests.support.moto import MotoServer, TEST_AWS_ENV
from tests.support.net import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COUNTS = os.path.join(ROOT, "build", "fuzz", "counts.json")
CASES = int(os.environ.get("BATON_FUZZ_CASES", "2000"))
MODULES = ["container_info", "container_run", "container_swap", "data_volume", "eb_deploy", "eb_dockerrun",
           "ecr_tag_exists", "fleet_lock", "haproxy_backend", "haproxy_server_state", "image_pull", "image_release",
           "registry_login", "release_audit", "release_canary", "release_cleanup", "release_record", "rollout",
           "stack_cron"]
IMAGE = "baton-demo/app:v1"
DOCKER_HOST = "unix:///var/run/docker.sock"
PREFIX = "bfz-%s-" % uuid.uuid4().hex[:8]
RESULTS = {}
# Names each module refuses unless they match in full (the engine or the file system would read them otherwise).
CONTAINER_NAME = r"/?[a-zA-Z0-9][a-zA-Z0-9_.-]*"
SLOT_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
NAMES = {
    "container_info": {("name",): CONTAINER_NAME},
    "container_run": {("name",): SLOT_NAME},
    "container_swap": {("name",): SLOT_NAME},
    "release_cleanup": {("app",): r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}"},
    "rollout": {("app",): r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}"},
    "fleet_lock": {("name",): r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}"},
    "release_audit": {("name",): r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}"},
    "stack_cron": {("stack",): r"(?!\.\.?$)[^/]+"},
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The harmless targets the baselines point at: a real HAProxy (backend app, servers a and b), a moto server
    behind the Elastic Beanstalk double of tests/support/eb_double.py (it serves the EB reads moto lacks), a build
    context, a bundle and a case directory."""
    base = tmp_path_factory.mktemp("fuzz")
    static = base / "static"
    (static / "context").mkdir(parents=True)
    (static / "context" / "Dockerfile").write_text("FROM %s\n" % IMAGE)
    (static / "bundle.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    case = base / "case"
    case.mkdir()
    # The release record release_cleanup reads: four releases of a repository no image on the host has.
    (static / "state").mkdir()
    history = [dict(version="v%d" % n, image="%scleanup/app:v%d" % (PREFIX, n), image_id="sha256:%064d" % n)
               for n in (4, 3, 2, 1)]
    (static / "state" / (PREFIX + "release-cleanup.json")).write_text(json.dumps(dict(
        app=PREFIX + "release-cleanup", current=history[0], previous=history[1], history=history, last_rollout=[])))
    sock = str(base / "haproxy.sock")
    # Backend "canary" (servers c1 and c2, two HTTP servers of this process) behind its own frontend: the traffic
    # that release_canary observes is sent there while it is fuzzed (see traffic()).
    servers = [HTTPBackend(name).start() for name in ("c1", "c2")]
    canary_port = free_port()
    canary = "\n".join(["frontend fe_canary", "    bind 127.0.0.1:%d" % canary_port, "    default_backend canary", "",
                        "backend canary"] + ["    server %s 127.0.0.1:%d" % (s.name, s.port) for s in servers])
    config = render_config(free_port(), [{"name": "a", "port": free_port(), "check": False},
                                         {"name": "b", "port": free_port(), "check": False}], sock, extra=canary)
    haproxy = HAProxyProcess(str(base / "haproxy"), config).start()
    moto = MotoServer(str(base)).start()
    try:
        import boto3
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
        name = PREFIX + "eb-deploy"
        session.client("s3", endpoint_url=moto.url).create_bucket(Bucket=name)
        beanstalk = session.client("elasticbeanstalk", endpoint_url=moto.url)
        beanstalk.create_application(ApplicationName=name)
        beanstalk.create_environment(ApplicationName=name, EnvironmentName=name + "-env")
        double = EbDouble(moto.url).start()
        try:
            yield dict(static=str(static), case=str(case), socket=sock, aws=double.url,
                       canary_url="http://127.0.0.1:%d/" % canary_port)
        finally:
            double.stop()
    finally:
        moto.stop()
        haproxy.stop()
        for server in servers:
            server.stop()


def baseline(module, world):
    """A small valid argument set per module, pointing at harmless targets."""
    case, static = world["case"], world["static"]
    aws = dict(region="us-east-1", access_key="testing", secret_key="testing", endpoint_url=world["aws"])
    name = PREFIX + module.replace("_", "-")
    return {
        "container_info": dict(name=name, labels={"baton.fuzz": PREFIX}, all=True),
        "container_run": dict(image=IMAGE, command=["echo", "hi"], name=name, env={"A": "1"}, labels={"baton.fuzz": PREFIX},
                              volumes=[case + ":/data"], pull="never", timeout=30, log_lines=10),
        "container_swap": dict(name=name, image=IMAGE, pull="never", env={"A": "1"}, labels={"baton.fuzz": PREFIX},
                               ports=["127.0.0.1:%d:8080" % free_port()]),
        "data_volume": dict(data_volumes=[dict(name=name + "-c", volumes=["/data"], image="baton-base/busybox:latest",
                                               kind="container"),
                                          dict(name=name + "-v", kind="volume", driver="local", labels={"a": "b"})]),
        "eb_deploy": dict(application=name, environment=name + "-env", version_label="v1",
                          bundle=os.path.join(static, "bundle.zip"), bucket=name, wait=False, **aws),
        "eb_dockerrun": dict(dest=os.path.join(case, "Dockerrun.aws.json"), image=IMAGE,
                             ports=[dict(container_port=8080, host_port=80)],
                             volumes=[dict(host_path="/var/app", container_path="/data")], mode="0600"),
        "ecr_tag_exists": dict(repository=name, tag="v1", **aws),
        "fleet_lock": dict(path=os.path.join(case, "fleet"), name=name, release_id="r1", holder="fuzz@localhost",
                           version="v1", digest="sha256:" + "0" * 64, note="fuzz", wait=0.5, poll_interval=0.1),
        "haproxy_backend": dict(backend="app", server="a", state="drain", socket=world["socket"], wait=False,
                                socket_timeout=2.0),
        "haproxy_server_state": dict(path=os.path.join(case, "state"), socket=world["socket"], socket_timeout=2.0),
        "image_pull": dict(image=IMAGE, pull="missing"),
        "image_release": dict(source=os.path.join(static, "context"), repository="127.0.0.1:%d/%s" % (free_port(), name),
                              tag="v1", push=False, labels={"baton.fuzz": PREFIX}, test_command=["true"]),
        "registry_login": dict(registry="127.0.0.1:%d" % free_port(), username="fuzz", password="fuzz-not-a-secret",
                               config_path=os.path.join(case, "config.json")),
        # Traffic goes to backend canary while it is fuzzed (traffic()): a short window sees enough of it to pass.
        "release_canary": dict(load_balancers=[dict(socket=world["socket"], timeout=2.0)], backend="canary",
                               canary_servers=["c1"], seconds=0.05, max_seconds=0.5, poll_interval=0.02,
                               min_requests=5, inconclusive="pass"),
        "release_audit": dict(path=os.path.join(case, "fleet"), name=name,
                              record=dict(release_id="r1", outcome="started", hosts=["a", "b"], version="v1")),
        "release_cleanup": dict(app=name, state_dir=os.path.join(static, "state"), keep_releases=3),
        "release_record": dict(path=os.path.join(case, "release.json"), app=name,
                               release=dict(version="1", image=IMAGE, image_id="sha256:" + "0" * 64),
                               slots=[dict(name="a", container=name)], history_size=3),
        "rollout": dict(app=name, image=IMAGE, version="1", pull="never", state_dir=os.path.join(case, "state"),
                        container=dict(env={"A": "1"}, ports=["8080"], labels={"baton.fuzz": PREFIX}),
                        units=[dict(name=name + "-a", server="a"), dict(name=name + "-b", server="b")], backend="app",
                        load_balancers=[dict(socket=world["socket"], timeout=2.0)], drain_timeout=1, up_timeout=1,
                        lock_timeout=1),
        "stack_cron": dict(stack=name, backend="cron", runner=os.path.join(case, "runner"), runner_content="#!/bin/sh\n",
                           cron_file=os.path.join(case, "cron"), log_dir=os.path.join(case, "log"),
                           systemd_dir=os.path.join(case, "systemd"), cron_daemon=os.path.join(case, "cron-daemon"),
                           containers=[dict(name=name + "-job", entry="job", image=IMAGE, kind="cron",
                                            cron=dict(minute="*/5", hour="*", day="*", month="*", weekday="*"))]),
    }[module]


def _case_text(module, seed, number, args, mutations):
    shown = json.dumps(args, default=str)
    if len(shown) > 2000:
        shown = shown[:2000] + "... (%d characters)" % len(shown)
    return "module %s seed %d case %d: mutations %s\nargs %s" % (
        module, seed, number, "; ".join(mutation[0] for mutation in mutations), shown)


class traffic:
    """Paced requests to the world's backend canary while release_canary is fuzzed (it judges real traffic); bounded
    in time and count. Nothing for the other modules."""

    def __init__(self, module, world):
        self.load = None
        if module == "release_canary":
            self.load = LoadGenerator(world["canary_url"], connections=2, period=0.01, max_seconds=1200,
                                      max_requests=300000)

    def __enter__(self):
        if self.load:
            self.load.start()
        return self

    def __exit__(self, *exc):
        if self.load:
            self.load.stop()
        return False


@pytest.mark.parametrize("module", MODULES)
def test_fuzz_module(module, world):
    plugin = importlib.import_module("ansible_collections.baton.docker.plugins.modules." + module)
    main = plugin.main
    base = baseline(module, world)
    spec = fuzz.module_spec(plugin)
    seed = zlib.crc32(module.encode())
    generator = fuzz.Generator(spec, base, seed)
    counts = dict(tried=0, refused=0, accepted=0, would_change=0, crash=0, unnamed=0, value_only=0, must_refuse=0,
                  unnamed_by_source={})
    crashes, core_crashes, unnamed, value_only, changes, unrefused = [], [], [], [], {}, []
    started = time.monotonic()
    with traffic(module, world), fuzz.Sandbox(world["case"], DOCKER_HOST, TEST_AWS_ENV) as sandbox:
        kind, detail = sandbox.run(main, base)
        assert kind in ("accepted", "would-change"), "baseline of %s: %s %s" % (module, kind, detail)
        counts["baseline"] = "%s: %s" % (kind, detail if kind == "would-change" else "exit_json")
        for number in range(CASES):
            args, mutations = generator.case()
            accepted = fuzz.core_accepts(spec, args)
            reasons = fuzz.must_refuse(spec, accepted, NAMES.get(module)) if accepted is not None else []
            kind, detail = sandbox.run(main, args)
            counts["tried"] += 1
            counts[kind.replace("-", "_")] += 1
            named = fuzz.names_parameter(detail.get("msg"), mutations, spec) if kind == "refused" else None
            if reasons:
                counts["must_refuse"] += 1
                if named != "parameter":
                    unrefused.append("%s\nmust be refused: %s\noutcome: %s %s" % (
                        _case_text(module, seed, number, args, mutations), "; ".join(reasons), kind,
                        str(detail.get("msg") if kind == "refused" else detail)[:500]))
            if kind == "crash" and fuzz.in_validator(detail):
                counts["core_crash"] = counts.get("core_crash", 0) + 1
                core_crashes.append(detail.strip().splitlines()[-1][:200])
            elif kind == "crash":
                crashes.append("%s\n%s" % (_case_text(module, seed, number, args, mutations), detail))
            elif kind == "would-change":
                what = detail.split(" ", 2)
                what = " ".join(what[:2])
                changes[what] = changes.get(what, 0) + 1
            elif kind == "refused":
                if named == "value":
                    counts["value_only"] += 1
                    value_only.append(str(detail.get("msg"))[:200])
                if named is not None:
                    continue
                counts["unnamed"] += 1
                source = unnamed_source(str(detail.get("msg")))
                counts["unnamed_by_source"][source] = counts["unnamed_by_source"].get(source, 0) + 1
                unnamed.append("%s\nmsg: %s" % (_case_text(module, seed, number, args, mutations),
                                                str(detail.get("msg"))[:500]))
        counts["docker_reads"] = sandbox.docker_reads
        counts["aws_reads"] = sandbox.aws_reads
    counts["seconds"] = round(time.monotonic() - started, 1)
    counts["effects"] = changes
    counts["core_crash_examples"] = sorted(set(core_crashes))[:5]
    counts["value_only_examples"] = sorted(set(value_only))[:5]
    # Refusals that name no targeted parameter are counted and shown (build/fuzz/counts.json), not failed on: most
    # are worded by ansible-core's own validation, outside the modules' input checks.
    counts["unnamed_examples"] = [text.split("\nmsg: ", 1)[-1][:200] for text in unnamed[:5]]
    RESULTS[module] = counts
    _write_counts()
    assert not crashes, "%d of %d cases of %s crashed; first:\n%s" % (len(crashes), CASES, module, crashes[0])
    assert not unrefused, "%d of %d cases of %s that must be refused were not, or without naming a parameter; " \
        "first:\n%s" % (len(unrefused), counts["must_refuse"], module, unrefused[0])


def unnamed_source(message):
    """Who worded a refusal that names no targeted parameter: ansible-core's validation of list elements, or the
    collection's own checks."""
    if message.startswith("dictionary requested, could not parse JSON or key=value"):
        return "ansible-core elements=dict"
    return "module"


def _write_counts():
    os.makedirs(os.path.dirname(COUNTS), exist_ok=True)
    with open(COUNTS, "w") as handle:
        json.dump(RESULTS, handle, indent=1, sort_keys=True)


def test_fuzz_left_nothing_behind(docker_client):
    """No container, volume, network or image of the fuzz prefix exists on the engine."""
    found = [c.name for c in docker_client.containers.list(all=True) if c.name.startswith(PREFIX)]
    found += [v.name for v in docker_client.volumes.list() if v.name.startswith(PREFIX)]
    found += [n.name for n in docker_client.networks.list() if n.name.startswith(PREFIX)]
    found += [t for i in docker_client.images.list() for t in i.tags if PREFIX in t]
    assert not found


def test_fuzz_counts_table():
    """The counts of the run, as a table (and build/fuzz/counts.json). Every module fuzzed in this session had cases
    of each kind that matters: refused ones, ones that got through its checks, and ones that had to be refused."""
    assert RESULTS, "no module was fuzzed in this session"
    form = "%-22s %6s %8s %9s %13s %6s %11s %8s %10s %12s %8s"
    lines = [form % ("module", "tried", "refused", "accepted", "would-change", "crash", "core-crash", "unnamed",
                     "value-only", "must-refuse", "seconds")]
    for module in sorted(RESULTS):
        row = RESULTS[module]
        lines.append(form % (module, row["tried"], row["refused"], row["accepted"], row["would_change"],
                             row["crash"] - row.get("core_crash", 0), row.get("core_crash", 0), row["unnamed"],
                             row["value_only"], row["must_refuse"], row["seconds"]))
    print("\n" + "\n".join(lines))
    thin = dict((module, row) for module, row in RESULTS.items()
                if row["refused"] + row["accepted"] + row["would_change"] + row["crash"] != row["tried"]
                or not row["refused"] or not row["accepted"] + row["would_change"] or not row["must_refuse"])
    assert not thin, "modules whose cases did not reach every kind of outcome: %s" % json.dumps(thin, sort_keys=True)

"""ansible-playbook killed at random moments during playbooks/deploy.yml across three application hosts rolled two at a
time (batch_size=2), each host behind the same two HAProxy instances, under load spread over both: the kill takes the
whole run at once (controller, workers, module processes), as a lost controller or a cancelled CI job does. The next
run converges every host to the release and nothing is lost.

The moments are random (seeded by BATON_KILL_SEED when set; the seed is printed) within the first 9 s of a run, which
covers the first batch's swaps, the gap between batches and the second batch."""

import os
import random
import time

import pytest

from bench.loadgen import LoadGenerator
from tests.support.ansible import ROOT, start_playbook
from tests.support.lab import kill_tree
from tests.support.site import Site

HOSTS = ("web1", "web2", "web3")
SEED = int(os.environ.get("BATON_KILL_SEED", "0")) or random.SystemRandom().randrange(1, 10 ** 6)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    s = Site(tmp_path_factory.mktemp("kills"), app_hosts=HOSTS, load_balancers=2,
             extra_vars={"batch_size": 2, "rollout_health_interval": 0.2})
    s.setup_lb()
    run = s.deploy("v1")
    assert run.rc == 0, run.output[-4000:]
    s.wait_all_up()
    s.version = "v1"
    yield s
    s.teardown()


def rotation(site):
    """Per load balancer: the hosts with no slot UP, and whether any server at all is UP."""
    views = []
    for socket in site.sockets:
        stats = site.server_stats(socket)
        up = set(name for name, row in stats.items() if row["status"].startswith("UP"))
        views.append(dict(hosts_out=[h for h in HOSTS if not up & {"%s_master" % h, "%s_backup" % h}], any_up=bool(up)))
    return views


def checks(site):
    """Per load balancer, each server's status and last check."""
    return [{name: "%s %s" % (row["status"], row["check_status"]) for name, row in site.server_stats(socket).items()}
            for socket in site.sockets]


def settled(site, timeout=30):
    """Wait until no health check is failing on any load balancer (a server may stay in MAINT: the journal's). A busy
    host can make a check fail once; the next run would then rightly refuse to take a slot out whose peer is failing
    its checks, which is not the fault under test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = [row["status"] for socket in site.sockets for row in site.server_stats(socket).values()]
        if all(status in ("UP", "MAINT", "DRAIN") for status in statuses):
            return
        time.sleep(0.2)


@pytest.mark.parametrize("kill", range(2))
def test_playbook_killed_at_a_random_moment_then_the_next_run_converges(site, tmp_path, kill):
    rng = random.Random(SEED * 10 + kill)
    version = "v2" if site.version == "v1" else "v1"
    delay = rng.uniform(1.0, 9.0)
    print("kill seed %d, after %.2f s, %s -> %s" % (SEED, delay, site.version, version))
    loads = [LoadGenerator("http://127.0.0.1:%d/" % port, connections=3, period=0.02, max_seconds=120)
             for port in site.frontend_ports]
    for load in loads:
        load.start()
    try:
        time.sleep(0.5)
        proc = start_playbook(tmp_path, os.path.join(ROOT, "playbooks", "deploy.yml"), inventory=site.inventory(),
                              extra_vars=dict(site.extra_vars, version=version))
        deadline = time.monotonic() + delay
        seen = []
        while time.monotonic() < deadline and proc.poll() is None:
            seen.append(rotation(site))
            time.sleep(0.1)
        kill_tree(proc.pid)
        proc.wait()
        left = rotation(site)
        # Never a host with both slots out of rotation, nor a backend with nothing UP, on any load balancer.
        for view in seen + [left]:
            assert all(not lb["hosts_out"] and lb["any_up"] for lb in view), (delay, view)
        settled(site)
        run = site.deploy(version)
        if run.rc != 0:
            errors = [line for line in run.output.splitlines() if line.startswith("[ERROR]")]
            pytest.fail("the run after the kill at %.2f s failed: %s\nservers: %s" % (delay, errors, checks(site)))
        time.sleep(0.5)
    finally:
        for load in loads:
            load.stop()
    summary = LoadGenerator.summary([r for load in loads for r in load.window()])
    print("fault matrix | ansible-playbook killed after %.2f s | failed %d / %d" % (delay, summary["failed"], summary["total"]))
    assert summary["failed"] == 0 and summary["total"] > 300, (delay, summary)
    site.version = version
    for host in HOSTS:
        assert site.slot_version(host, "master") == version and site.slot_version(host, "backup") == version, host
        assert not os.path.exists(os.path.join(site.state_dir, "%s-%s.journal.json" % (site.app, host))), host
    site.wait_all_up()
    names = sorted(c.name for c in site.containers())
    assert names == sorted(site.slot_name(h, r) for h in HOSTS for r in ("master", "backup")), names

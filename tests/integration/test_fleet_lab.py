"""The fleet lab (tests/support/fleet.py) itself: every inventory host is reached over real SSH, the initial release
reaches every host through the registry with every server UP on both load balancers, and the demo application's
injected error share."""

import time
import urllib.error
import urllib.request

import docker

from tests.support.fleet import LABEL, ROLE_PLAY_TASK
from tests.support.net import free_port, wait_for_port


def test_every_host_is_reached_over_ssh(fleet_lab):
    play = [{"hosts": "all", "gather_facts": False,
             "tasks": [{"name": "read the session", "ansible.builtin.command": "env"}]}]
    run = fleet_lab.run(play)
    assert run.rc == 0, run.output[-3000:]
    seen = {}
    for record in run.results("read the session"):
        env = dict(line.split("=", 1) for line in record["result"]["stdout_lines"] if "=" in line)
        seen[record["host"]] = env.get("SSH_CONNECTION", "").split()
    assert sorted(seen) == sorted(fleet_lab.names + fleet_lab.lb_names)
    for host, connection in seen.items():
        # client address, client port, server address, server port: each host has its own address (or port)
        address, port = fleet_lab.endpoints[host]
        assert connection[2:] == [address, str(port)], (host, connection)
    assert len(set(fleet_lab.endpoints.values())) == len(seen)


def test_initial_release_everywhere_and_served_by_both_load_balancers(fleet_lab):
    run = fleet_lab.deploy_initial("v1")
    rollouts = run.results(ROLE_PLAY_TASK)
    assert sorted(r["host"] for r in rollouts) == fleet_lab.names
    assert fleet_lab.versions() == {name: ("v1", "v1") for name in fleet_lab.names}
    digest = fleet_lab.digest("v1")
    for name in fleet_lab.names:
        current = fleet_lab.record(name)["current"]
        assert current["version"] == "v1" and current["image"] == fleet_lab.ref("v1"), current
        image = fleet_lab.docker.images.get(current["image_id"])
        # the image came through the lab's registry: it carries the digest the registry serves for v1
        assert "%s/fleet/app@%s" % (fleet_lab.registry.address, digest) in image.attrs["RepoDigests"]
        for role in ("master", "backup"):
            container = fleet_lab.container(name, role)
            assert container.labels[LABEL] == fleet_lab.app
            # rollout_healthcheck: the image's own healthcheck is off in the lab
            assert container.attrs["Config"]["Healthcheck"]["Test"] == ["NONE"]
    servers = {"%s_%s" % (name, role) for name in fleet_lab.names for role in ("master", "backup")}
    before = [fleet_lab.server_stats(index) for index in range(2)]

    def watch():
        views = []
        for _round in range(10):
            views.append(fleet_lab.statuses())
            time.sleep(0.2)
        return views

    views, load = fleet_lab.under_load(watch)
    assert load["failed"] == 0 and load["total"] > 0, load
    assert load["bodies"] == {"v1": load["total"]}, load
    for view in views:
        assert [set(statuses) for statuses in view] == [servers, servers]
        assert all(set(statuses.values()) == {"UP"} for statuses in view), view
    for index in range(2):
        after = fleet_lab.server_stats(index)
        served = {name for name in after if int(after[name]["stot"]) > int(before[index][name]["stot"])}
        # round robin over every host's master on both load balancers; the backups take nothing while masters serve
        assert served == {"%s_master" % name for name in fleet_lab.names}, (index, sorted(served))


def test_push_repoints_a_tag(fleet_lab):
    v2, v3 = fleet_lab.digest("v2"), fleet_lab.digest("v3")
    assert v2 != v3
    try:
        assert fleet_lab.push("v2", "baton-demo/app:v3") == v3
        assert fleet_lab.digest("v2") == v3
    finally:
        assert fleet_lab.push("v2", "baton-demo/app:v2") == v2


def _status(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:  # not listening yet
        return None


def test_error_percent_share_of_500s(fleet_lab):
    port = free_port()
    container = fleet_lab.docker.containers.run(
        "baton-demo/app:v1", detach=True, name="%s-errors" % fleet_lab.app, environment={"APP_ERROR_PERCENT": "20"},
        ports={"8000/tcp": ("127.0.0.1", port)}, labels={"baton.test": "1", LABEL: fleet_lab.app})
    try:
        wait_for_port(port)
        deadline = time.monotonic() + 30
        while _status("http://127.0.0.1:%d/health" % port) != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        codes = [_status("http://127.0.0.1:%d/" % port) for _request in range(200)]
        health = [_status("http://127.0.0.1:%d/health" % port) for _request in range(20)]
    finally:
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            pass
    # request n fails when n % 100 < 20: exactly 40 of 200, and the health checks never fail
    assert codes.count(500) == 40 and codes.count(200) == 160, codes
    assert health == [200] * 20

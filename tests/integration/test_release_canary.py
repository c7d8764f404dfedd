"""baton.docker.release_canary against two real HAProxy 2.6 processes, through the real ansible-playbook.

Two HTTP servers in this process play the canary ("canary") and the rest of the fleet ("base"); two HAProxy
processes balance them (one read through its unix socket, the other through its TCP runtime API), and paced load
(bench/loadgen.py) goes to both frontends while the module observes. The canary answers 500 on every fifth request
(the fail case), or never (the pass case); with no load at all the observation is inconclusive. Each run's figures
are printed (pytest -s shows them) and written to build/canary/figures.json.
"""

import json
import os

import pytest

from bench.loadgen import LoadGenerator
from tests.support.ansible import run_module
from tests.support.haproxy import HAProxyProcess, HTTPBackend, render_config
from tests.support.net import free_port

MODULE = "baton.docker.release_canary"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIGURES = os.path.join(ROOT, "build", "canary", "figures.json")


class Fleet:
    def __init__(self, workdir):
        self.apps = {name: HTTPBackend(name).start() for name in ("canary", "base")}
        servers = [dict(name=name, port=app.port, options="weight 100") for name, app in self.apps.items()]
        self.frontends = []
        self.haproxies = []
        self.sockets = []
        for number in range(2):
            frontend, tcp = free_port(), free_port()
            admin = os.path.join(str(workdir), "lb%d.sock" % number)
            config = render_config(frontend, servers, admin, tcp_socket_port=tcp, check_inter="1s")
            self.haproxies.append(HAProxyProcess(os.path.join(str(workdir), "lb%d" % number), config).start())
            self.frontends.append(frontend)
            self.sockets.append(admin if number == 0 else "127.0.0.1:%d" % tcp)

    def load(self):
        return [LoadGenerator("http://127.0.0.1:%d/" % port, connections=3, period=0.02, max_seconds=90,
                              max_requests=30000) for port in self.frontends]

    def weight(self, index, server):
        return int(self.haproxies[index].server_stat("app", server)["uweight"])

    def stop(self):
        for haproxy in self.haproxies:
            haproxy.stop()
        for app in self.apps.values():
            app.stop()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    fleet = Fleet(tmp_path_factory.mktemp("canary"))
    yield fleet
    fleet.stop()


def args(fleet, **extra):
    values = dict(load_balancers=[dict(socket=fleet.sockets[0]), dict(socket=fleet.sockets[1], timeout=3)],
                  backend="app", canary_servers=["canary"], seconds=4, max_seconds=6, poll_interval=0.5,
                  min_requests=100)
    values.update(extra)
    return values


def observe(fleet, case, load=True, **extra):
    """Run the module (under load when ``load``); return its result, its figures recorded under ``case``."""
    loads = fleet.load() if load else []
    for generator in loads:
        generator.start()
    try:
        result, _run = run_module(MODULE, args(fleet, **extra))
    finally:
        for generator in loads:
            generator.stop()
    record(case, result)
    return result


def record(case, result):
    os.makedirs(os.path.dirname(FIGURES), exist_ok=True)
    try:
        with open(FIGURES) as handle:
            kept = json.load(handle)
    except (OSError, ValueError):
        kept = {}
    figures = result.get("figures") or {}
    kept[case] = dict(verdict=result.get("verdict"), reason=result.get("reason"), p_value=figures.get("p_value"),
                      canary=figures.get("canary"), baseline=figures.get("baseline"),
                      observed_seconds=figures.get("observed_seconds"))
    with open(FIGURES, "w") as handle:
        json.dump(kept, handle, indent=2, sort_keys=True)
    print("\n%s: %s" % (case, json.dumps(kept[case], sort_keys=True)))


def test_erroring_canary_fails_with_its_figures(fleet):
    fleet.apps["canary"].fail_every = 5
    try:
        result = observe(fleet, "canary answers 500 on every fifth request", weight=50)
    finally:
        fleet.apps["canary"].fail_every = 0
    assert result.get("failed") is True, result
    assert result["verdict"] == "fail" and result["passed"] is False
    figures = result["figures"]
    canary, baseline = figures["canary"], figures["baseline"]
    assert canary["requests"] >= 100 and baseline["requests"] >= 100
    assert baseline["errors"] == 0
    # Every fifth request the canary served was a 500 (give or take the one in flight at each end of the window).
    assert abs(canary["errors"] - canary["requests"] / 5.0) <= 3, canary
    assert figures["p_value"] < 0.01
    assert result["msg"] == result["reason"]
    assert "error rate" in result["reason"] and "%d requests" % canary["requests"] in result["reason"]
    assert [lb["load_balancer"] for lb in figures["load_balancers"]] == fleet.sockets
    assert sum(lb["canary"]["requests"] for lb in figures["load_balancers"]) == canary["requests"]
    assert all(lb["canary"]["requests"] > 0 for lb in figures["load_balancers"])
    # The weight was set to 50% during the window and is back now, on both load balancers.
    assert [(w["load_balancer"], w["set"], w["before"], w["restored"]) for w in result["weights"]] == [
        (fleet.sockets[0], "50%", 100, True), (fleet.sockets[1], "50%", 100, True)]
    assert fleet.weight(0, "canary") == 100 and fleet.weight(1, "canary") == 100
    assert result["changed"] is False


def test_healthy_canary_passes(fleet):
    result = observe(fleet, "healthy canary and baseline",
                     check_url="http://127.0.0.1:%d/health" % fleet.apps["canary"].port)
    assert result.get("failed") is not True, result
    assert result["verdict"] == "pass" and result["passed"] is True and result["changed"] is False
    figures = result["figures"]
    assert figures["canary"]["errors"] == 0 and figures["baseline"]["errors"] == 0
    assert figures["canary"]["requests"] >= 100 and figures["baseline"]["requests"] >= 100
    assert figures["p_value"] == 1.0
    assert figures["checks"][0]["name"] == "check_url" and figures["checks"][0]["ok"] is True
    assert figures["checks"][0]["attempts"] >= 1


def test_no_traffic_is_inconclusive(fleet):
    result = observe(fleet, "no traffic, inconclusive=fail", load=False)
    assert result.get("failed") is True, result
    assert result["verdict"] == "inconclusive" and result["passed"] is False
    assert result["figures"]["canary"]["requests"] == 0
    # It kept observing up to max_seconds before giving up.
    assert result["figures"]["observed_seconds"] >= 6
    assert "Too little traffic" in result["msg"] and "(inconclusive=fail)" in result["msg"]

    result = observe(fleet, "no traffic, inconclusive=pass", load=False, inconclusive="pass", seconds=1,
                     max_seconds=1)
    assert result.get("failed") is not True, result
    assert result["verdict"] == "inconclusive" and result["passed"] is True


def test_failing_user_check_fails_the_canary(fleet):
    result = observe(fleet, "failing check_command", load=False, seconds=1, max_seconds=1,
                     check_command=["sh", "-c", "echo smoke test: checkout broken; exit 3"])
    assert result.get("failed") is True, result
    assert result["verdict"] == "fail"
    check = result["figures"]["checks"][0]
    assert check["name"] == "check_command" and check["rc"] == 3 and "checkout broken" in check["output"]
    assert "check_command exited 3 (smoke test: checkout broken)" in result["msg"]


def test_check_mode_observes_nothing(fleet):
    result, _run = run_module(MODULE, args(fleet, weight=10), check=True)
    assert result.get("failed") is not True, result
    assert result["changed"] is False and result["verdict"] is None and result["weights"] == []
    assert result["figures"]["load_balancers"][0]["baseline_servers"] == ["base"]
    assert "would observe canary against base on 2 load balancer(s)" in result["reason"]
    assert fleet.weight(0, "canary") == 100


def test_missing_server_is_named(fleet):
    result, _run = run_module(MODULE, args(fleet, canary_servers=["canary", "ghost"]))
    assert result.get("failed") is True
    assert "load balancer %s: backend app has no server ghost (its servers: base, canary)" % fleet.sockets[0] \
        in result["msg"]

"""Unit tests of the release_canary module: main() driven with module args and patched exit/fail.

Argument errors are checked before any socket is touched. The flows run main() against FakeRuntimeSocket (scripted
show stat answers, one per read, the last one repeating) with a stand-in clock, so a window of minutes takes no
time; the real HAProxy is exercised in tests/integration/test_release_canary.py.
"""

import pytest

from ansible_collections.baton.docker.plugins.modules import release_canary
from tests.support.haproxy import FakeRuntimeSocket
from tests.support.haproxy_answers import servers_state, show_stat
from tests.support.module_harness import call_main


def run(args):
    return call_main(release_canary.main, args)


def base_args(socket="/nonexistent/admin.sock", **extra):
    args = dict(load_balancers=[dict(socket=socket)], backend="app", canary_servers=["canary"], seconds=10,
                max_seconds=30, poll_interval=1, min_requests=100)
    args.update(extra)
    return args


@pytest.mark.parametrize("extra, message", [
    (dict(load_balancers=[]), "load_balancers: at least one load balancer is needed"),
    (dict(backend="app;x"), "backend 'app;x' is not a valid HAProxy name"),
    (dict(load_balancers=[dict(socket="/a.sock", backend="a b")]), "load_balancers[0].backend 'a b' is not a valid"),
    (dict(load_balancers=[dict(socket="haproxy:/run/admin.sock")]),
     "load_balancers[0].socket: 'haproxy:/run/admin.sock' names a socket inside a container"),
    (dict(load_balancers=[dict(socket="/a.sock"), dict(socket="/a.sock", backend="app")]),
     "load_balancers[1]: the same load balancer and backend as load_balancers[0]"),
    (dict(load_balancers=[dict(socket="127.0.0.1:http")]), "load_balancers[0].socket: socket '127.0.0.1:http' is neither"),
    (dict(load_balancers=[dict(socket="/a.sock", timeout=0)]), "load_balancers[0].socket_timeout must be a positive number"),
    (dict(load_balancers=[dict(socket="/a.sock", tls=dict(ca_file="/ca.pem"))]),
     "load_balancers[0].socket: socket /a.sock: TLS applies to a TCP runtime API"),
    (dict(canary_servers=[]), "canary_servers: at least one server is needed"),
    (dict(canary_servers=["web1", "web1"]), "canary_servers: web1 is listed more than once"),
    (dict(canary_servers=["web 1"]), "canary_servers[0] 'web 1' is not a valid HAProxy name"),
    (dict(baseline_servers=[]), "baseline_servers: at least one server is needed"),
    (dict(baseline_servers=["web2", "canary"]), "baseline_servers: canary is a canary server too"),
    (dict(seconds=0), "seconds must be a positive number of seconds, got 0"),
    (dict(seconds=-5), "seconds must be a positive number of seconds, got -5"),
    (dict(seconds=float("nan")), "seconds must be a positive number of seconds, got nan"),
    (dict(poll_interval=0), "poll_interval must be a positive number of seconds, got 0"),
    (dict(seconds=60, max_seconds=30), "max_seconds (30.0) must be at least seconds (60.0)"),
    (dict(seconds=100000, max_seconds=100000), "seconds must be at most 86400 seconds, got 100000"),
    (dict(min_requests=0), "min_requests must be between 1 and 1000000000, got 0"),
    (dict(min_requests=2 ** 31), "min_requests must be between 1 and 1000000000, got 2147483648"),
    (dict(confidence=0.5), "confidence must be above 0.5 and below 1 (0.99 for 99%), got 0.5"),
    (dict(confidence=1), "confidence must be above 0.5 and below 1"),
    (dict(confidence=float("nan")), "confidence must be above 0.5 and below 1"),
    (dict(max_latency_ratio=0.5), "max_latency_ratio must be a finite number of at least 1, got 0.5"),
    (dict(max_latency_ratio=float("inf")), "max_latency_ratio must be a finite number of at least 1, got inf"),
    (dict(latency_floor_ms=-1), "latency_floor_ms must be between 0 and 86400000"),
    (dict(weight=0), "weight must be a percent between 1 and 100, got 0"),
    (dict(weight=101), "weight must be a percent between 1 and 100, got 101"),
    (dict(check_url="ftp://host/x"), "check_url: 'ftp://host/x' must be an http:// or https:// URL with a host"),
    (dict(check_url="http://host:99999/"), "check_url: 'http://host:99999/' is not a valid URL (Port out of range"),
    (dict(check_url="http://[::1/"), "check_url: 'http://[::1/' is not a valid URL (Invalid IPv6 URL)"),
    (dict(check_url="http://host/a b"), "check_url: 'http://host/a b' holds a space or a control character"),
    (dict(check_command=[]), "check_command: give the command as a list of arguments, the program first"),
    (dict(inconclusive="maybe"), "value of inconclusive must be one of: fail, pass, got: maybe"),
])
def test_argument_errors(extra, message):
    outcome = run(base_args(**extra))
    assert outcome.kind == "fail"
    assert message in outcome.result["msg"]
    assert outcome.result.get("changed") in (None, False)


# ---------------------------------------------------------------------------
# flows against a scripted runtime socket
# ---------------------------------------------------------------------------

def stat(canary, baseline, rtime=(5, 5), extra_server=True, backend="app"):
    """A show stat answer: servers canary and base (and idle) of ``backend``, their (2xx, 5xx) counts."""
    rows = [dict(pxname="fe", svname="FRONTEND", status="OPEN", scur=0)]
    for name, (ok, bad), time in (("canary", canary, rtime[0]), ("base", baseline, rtime[1])):
        rows.append(dict(pxname=backend, svname=name, status="UP", scur=0, stot=ok + bad, hrsp_1xx=0, hrsp_2xx=ok,
                         hrsp_3xx=0, hrsp_4xx=0, hrsp_5xx=bad, hrsp_other=0, eresp=0, econ=0, srv_abrt=0, rtime=time,
                         weight=100, uweight=100))
    if extra_server:
        rows.append(dict(pxname=backend, svname="idle", status="MAINT", scur=0, stot=0, hrsp_1xx=0, hrsp_2xx=0,
                         hrsp_3xx=0, hrsp_4xx=0, hrsp_5xx=0, hrsp_other=0, eresp=0, econ=0, srv_abrt=0, rtime=0,
                         weight=1, uweight=1))
    rows.append(dict(pxname=backend, svname="BACKEND", status="UP", scur=0))
    return show_stat(*rows)


@pytest.fixture
def clock(monkeypatch):
    """A stand-in clock: sleep() moves it on at once."""
    now = [1000.0]
    monkeypatch.setattr(release_canary, "clock", lambda: now[0])

    def sleep(seconds):
        now[0] += max(seconds, 0.001)
    monkeypatch.setattr(release_canary, "sleep", sleep)
    return now


@pytest.fixture
def lb(tmp_path):
    servers = []

    def start(answers, name="admin.sock"):
        server = FakeRuntimeSocket(str(tmp_path / name), answers).start()
        servers.append(server)
        return server
    yield start
    for server in servers:
        server.stop()


def state(canary_weight=100):
    """show servers state app: the configured weights of canary (``canary_weight``), base (100) and idle (1)."""
    rows = []
    for sid, (name, weight) in enumerate((("canary", canary_weight), ("base", 100), ("idle", 1)), 1):
        rows.append("3 app %d %s 127.0.0.1 2 0 %d %d 5 1 0 2 0 0 0 0 - 8080 - 0 0 - - 0" % (sid, name, weight, weight))
    return servers_state(*rows)


def growing(steps, canary_step, baseline_step, backend="app"):
    """show stat answers that grow by (2xx, 5xx) steps each read."""
    answers = []
    for index in range(steps):
        answers.append(stat((canary_step[0] * index, canary_step[1] * index),
                            (baseline_step[0] * index, baseline_step[1] * index), backend=backend))
    return answers


def test_failing_canary_fails_the_task_with_its_figures_and_restores_the_weight(lb, clock):
    socket = lb({"show stat": growing(20, (40, 10), (100, 0)), "show cli level": "admin\n", "show servers state app": state(),
                 "set server app/canary weight 10%": "\n", "set server app/canary weight 100": "\n"})
    outcome = run(base_args(socket.path, weight=10))
    assert outcome.kind == "fail", outcome.result
    result = outcome.result
    assert result["verdict"] == "fail" and result["passed"] is False and result["changed"] is False
    # Resolve, start, then ten polls of one second: 10 x 50 canary requests, 10 x 100 baseline requests.
    figures = result["figures"]
    assert figures["canary"] == dict(requests=500, errors=100, error_rate=0.2, rtime_ms=5.0)
    assert figures["baseline"] == dict(requests=1000, errors=0, error_rate=0.0, rtime_ms=5.0)
    assert figures["observed_seconds"] == 10.0 and figures["p_value"] < 1e-40
    assert figures["load_balancers"][0]["baseline_servers"] == ["base", "idle"]
    assert figures["load_balancers"][0]["polls"] == 10
    assert result["msg"] == result["reason"]
    assert result["reason"].startswith("Canary failed over 10.0 s: canary error rate 20% (100 of 500 requests) is "
                                       "above the baseline's 0% (0 of 1000 requests)")
    writes = [cmd for cmd in socket.received if cmd.startswith("set ")]
    assert writes == ["set server app/canary weight 10%", "set server app/canary weight 100"]
    assert result["weights"] == [dict(load_balancer=socket.path, backend="app", server="canary", before=100,
                                      set="10%", restored=True)]


def test_healthy_canary_passes(lb, clock):
    socket = lb({"show stat": growing(20, (50, 0), (100, 1))})
    outcome = run(base_args(socket.path, baseline_servers=["base"]))
    assert outcome.kind == "exit", outcome.result
    result = outcome.result
    assert (result["verdict"], result["passed"], result["changed"]) == ("pass", True, False)
    assert result["figures"]["canary"]["requests"] == 500 and result["figures"]["baseline"]["requests"] == 1010
    assert result["figures"]["load_balancers"][0]["baseline_servers"] == ["base"]
    assert not [cmd for cmd in socket.received if not cmd.startswith("show stat")]


def test_too_few_requests_keeps_observing_until_max_seconds(lb, clock):
    socket = lb({"show stat": growing(60, (2, 0), (2, 0))})
    outcome = run(base_args(socket.path))
    assert outcome.kind == "fail"
    result = outcome.result
    assert result["verdict"] == "inconclusive" and result["figures"]["observed_seconds"] == 30.0
    assert result["figures"]["canary"]["requests"] == 60
    assert result["msg"].endswith("fewer than min_requests (100) for both. (inconclusive=fail)")
    passed = run(base_args(socket.path, inconclusive="pass"))
    assert passed.kind == "exit" and passed.result["verdict"] == "inconclusive" and passed.result["passed"] is True


def test_traffic_arriving_late_is_judged_as_soon_as_enough(lb, clock):
    # Ten quiet seconds, then 10 requests a second each: 100 requests by 20 s, well before max_seconds.
    answers = [stat((0, 0), (0, 0))] * 12 + [stat((10 * n, 0), (10 * n, 0)) for n in range(1, 40)]
    socket = lb({"show stat": answers})
    outcome = run(base_args(socket.path))
    assert outcome.kind == "exit" and outcome.result["verdict"] == "pass"
    assert 19.0 <= outcome.result["figures"]["observed_seconds"] <= 21.0
    assert outcome.result["figures"]["canary"]["requests"] >= 100


def test_a_reload_in_the_window_loses_nothing_it_had_counted(lb, clock):
    # 300 canary requests, then HAProxy reloads (its counters start again), then 250 more.
    answers = [stat((0, 0), (0, 0)), stat((0, 0), (0, 0)), stat((300, 0), (300, 0)), stat((50, 0), (50, 0))]
    answers += [stat((50 * n, 0), (50 * n, 0)) for n in range(2, 20)]
    socket = lb({"show stat": answers})
    outcome = run(base_args(socket.path))
    assert outcome.kind == "exit"
    figures = outcome.result["figures"]
    assert figures["load_balancers"][0]["counters_reset"] is True
    assert figures["canary"]["requests"] == 300 + 50 * 9


def test_a_slow_canary_fails(lb, clock):
    socket = lb({"show stat": [stat((100 * n, 0), (100 * n, 0), rtime=(400, 80)) for n in range(20)]})
    outcome = run(base_args(socket.path))
    assert outcome.kind == "fail" and outcome.result["verdict"] == "fail"
    assert "canary response time 400 ms is 5 x the baseline's 80 ms (limit 2 x and 50 ms)" in outcome.result["msg"]
    assert outcome.result["figures"]["latency_ratio"] == 5.0


def test_a_server_gone_in_the_window_is_named_and_the_weight_restored(lb, clock):
    gone = show_stat(dict(pxname="app", svname="base", status="UP", scur=0, stot=0, hrsp_1xx=0, hrsp_2xx=0,
                          hrsp_3xx=0, hrsp_4xx=0, hrsp_5xx=0, hrsp_other=0, eresp=0, econ=0, srv_abrt=0, rtime=0))
    socket = lb({"show stat": [stat((0, 0), (0, 0)), stat((0, 0), (0, 0)), stat((5, 0), (5, 0)), gone],
                 "show cli level": "admin\n", "show servers state app": state(), "set server app/canary weight 50%": "\n",
                 "set server app/canary weight 100": "\n"})
    outcome = run(base_args(socket.path, weight=50))
    assert outcome.kind == "fail"
    assert outcome.result["msg"] == (
        "load balancer %s: backend app has no server canary, idle (its servers: base)" % socket.path)
    assert socket.received[-1] == "set server app/canary weight 100"
    assert outcome.result["weights"][0]["restored"] is True


def test_a_weight_that_cannot_be_restored_is_named(lb, clock):
    socket = lb({"show stat": growing(20, (50, 0), (100, 0)), "show cli level": "admin\n", "show servers state app": state(),
                 "set server app/canary weight 10%": "\n"})
    outcome = run(base_args(socket.path, weight=10))
    assert outcome.kind == "fail"
    assert outcome.result["msg"].startswith("the weight of app/canary on %s (" % socket.path)
    assert "set it back by hand" in outcome.result["msg"]
    assert outcome.result["changed"] is True


def test_a_weight_that_would_be_0_is_refused_before_anything_changes(lb, clock):
    socket = lb({"show stat": growing(20, (50, 0), (100, 0)), "show cli level": "admin\n",
                 "show servers state app": state(canary_weight=1)})
    outcome = run(base_args(socket.path, weight=50))
    assert outcome.kind == "fail"
    assert outcome.result["msg"] == (
        "weight: 50%% of the configured weight 1 of app/canary on load balancer %s is 0, so HAProxy would send it "
        "nothing; give the servers a larger weight in HAProxy's configuration (weight 100) or leave weight out. "
        "Nothing was changed." % socket.path)
    assert not [cmd for cmd in socket.received if cmd.startswith("set ")]


def test_weight_needs_level_admin_before_anything_changes(lb, clock):
    socket = lb({"show stat": growing(20, (50, 0), (100, 0)), "show cli level": "operator\n"})
    outcome = run(base_args(socket.path, weight=10))
    assert outcome.kind == "fail"
    assert "has level 'operator'" in outcome.result["msg"] and "Nothing was changed" in outcome.result["msg"]
    assert not [cmd for cmd in socket.received if cmd.startswith("set ")]


def test_figures_add_up_over_load_balancers(lb, clock):
    first = lb({"show stat": growing(20, (30, 0), (60, 0))}, "one.sock")
    second = lb({"show stat": growing(20, (10, 0), (20, 0), backend="web")}, "two.sock")
    args = base_args(first.path)
    args["load_balancers"].append(dict(socket=second.path, backend="web"))
    outcome = run(args)
    assert outcome.kind == "exit", outcome.result
    figures = outcome.result["figures"]
    assert [lb_["canary"]["requests"] for lb_ in figures["load_balancers"]] == [300, 100]
    assert figures["canary"]["requests"] == 400 and figures["baseline"]["requests"] == 800
    assert [lb_["backend"] for lb_ in figures["load_balancers"]] == ["app", "web"]


def test_an_optional_load_balancer_that_does_not_answer_is_left_out(lb, clock, tmp_path):
    socket = lb({"show stat": growing(20, (50, 0), (100, 0))})
    args = base_args(socket.path)
    args["load_balancers"].append(dict(socket=str(tmp_path / "absent.sock"), optional=True))
    outcome = run(args)
    assert outcome.kind == "exit"
    assert len(outcome.result["figures"]["load_balancers"]) == 1
    args["load_balancers"][1]["optional"] = False
    outcome = run(args)
    assert outcome.kind == "fail" and "absent.sock does not exist" in outcome.result["msg"]
    assert "Nothing was changed" in outcome.result["msg"]


def test_a_backend_with_only_the_canary_has_no_baseline(lb, clock):
    only = show_stat(dict(pxname="app", svname="canary", status="UP", scur=0, stot=0, hrsp_1xx=0, hrsp_2xx=0,
                          hrsp_3xx=0, hrsp_4xx=0, hrsp_5xx=0, hrsp_other=0, eresp=0, econ=0, srv_abrt=0, rtime=0))
    socket = lb({"show stat": only})
    outcome = run(base_args(socket.path))
    assert outcome.kind == "fail"
    assert "backend app has no server besides the canary (canary) to compare it with" in outcome.result["msg"]


def test_a_tcp_backend_is_refused(lb, clock):
    tcp = show_stat(dict(pxname="app", svname="canary", status="UP", scur=0, stot=4),
                    dict(pxname="app", svname="base", status="UP", scur=0, stot=4))
    socket = lb({"show stat": tcp})
    outcome = run(base_args(socket.path))
    assert outcome.kind == "fail"
    assert "app/canary: HAProxy reports no hrsp_1xx count; the backend must be in HTTP mode" in outcome.result["msg"]


def test_failing_check_command_fails_with_its_output(lb, clock):
    socket = lb({"show stat": growing(20, (50, 0), (100, 0))})
    outcome = run(base_args(socket.path, check_command=["sh", "-c", "echo 'cart: 500' >&2; exit 4"]))
    assert outcome.kind == "fail"
    check = outcome.result["figures"]["checks"][0]
    assert (check["name"], check["ok"], check["rc"], check["output"]) == ("check_command", False, 4, "cart: 500\n")
    assert "check_command exited 4 (cart: 500)" in outcome.result["msg"]
    missing = run(base_args(socket.path, check_command=["/nonexistent/smoke"]))
    assert "check_command could not run /nonexistent/smoke" in missing.result["msg"]


def test_check_url_is_fetched_at_every_poll(lb, clock, monkeypatch):
    statuses = iter([200, 302, 200, 503] + [200] * 50)
    monkeypatch.setattr(release_canary, "http_probe", lambda url, timeout: next(statuses))
    socket = lb({"show stat": growing(20, (50, 0), (100, 0))})
    outcome = run(base_args(socket.path, check_url="http://127.0.0.1:1/health"))
    assert outcome.kind == "fail"
    check = outcome.result["figures"]["checks"][0]
    assert (check["ok"], check["attempts"], check["failures"]) == (False, 10, 1)
    assert "check_url http://127.0.0.1:1/health answered 503 (attempt 4)" in outcome.result["msg"]


def test_check_mode_reads_the_servers_and_observes_nothing(lb, clock):
    socket = lb({"show stat": stat((0, 0), (0, 0))})
    outcome = run(dict(base_args(socket.path, weight=10, check_command=["false"]), _ansible_check_mode=True))
    assert outcome.kind == "exit"
    result = outcome.result
    assert (result["changed"], result["verdict"], result["passed"], result["weights"]) == (False, None, None, [])
    assert result["figures"]["load_balancers"] == [dict(load_balancer=socket.path, backend="app",
                                                        canary_servers=["canary"], baseline_servers=["base", "idle"])]
    assert result["reason"] == ("Check mode: would observe canary against base, idle on 1 load balancer(s) for 10 s "
                                "(up to 30 s until 100 requests each), the canary at 10% weight.")
    assert socket.received == ["show stat"]

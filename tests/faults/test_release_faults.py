"""Faults of the release itself, injected for real during a rollout under steady load through two HAProxy instances:
a release that turns healthy and then crashes or starts failing (caught by the settle period), an old container that
ignores SIGTERM, a release slower to start than its health bound, and long-lived connections that outlive the drain.

Every case asserts: no failed request of the paced load, never both servers of the backend out of rotation on a load
balancer (sampled every 50 ms), the error or report names the fault, the next run converges, no container left
aside."""

import http.client
import threading
import time

import pytest

from tests.support.lab import RotationWatch, under_load

# Health gate of these cases: probed every 0.2 s, at most 40 probes.
HEALTH = dict(interval=0.2, retries=40)


def measured(fault, load, result):
    """One line of the fault matrix's figures (shown with pytest -s)."""
    print("fault matrix | %s | failed %d / %d | %s" % (fault, load["failed"], load["total"], "; ".join(
        result.get("summary") or [result.get("msg", "")[:160]])))


def converges(lab, version):
    """The next run, without the fault, brings both slots to ``version`` with every server UP and nothing aside."""
    lab.wait_all_up()  # the faulty run's last server back UP on both load balancers (the next run needs a serving peer)
    result, run = lab.rollout(version)
    assert run.rc == 0, run.output[-4000:]
    assert lab.version("master") == version and lab.version("backup") == version
    lab.wait_all_up()
    names = sorted(c.name for c in lab.docker.containers.list(all=True, filters={"label": "baton.site=%s" % lab.app}))
    assert names == sorted([lab.slot("backup"), lab.slot("master")]), names
    return result


@pytest.mark.parametrize("fault, env", [
    ("crashes", {"APP_CRASH_AFTER": "1.5"}),
    ("starts failing its health check", {"APP_UNHEALTHY_AFTER": "1.5"}),
], ids=["crash", "health-fails"])
def test_release_healthy_then_failing_is_caught_by_the_settle_period(lab_deployed, fault, env):
    """v2 passes its first probe, then 1.5 s later crashes (exit 3, restarted by its policy) or answers 500 on /health.
    With a 4 s settle period the master's new container never counts as healthy: it is removed, v1 goes back and
    into rotation, the backup is never touched. Measured here: 0 failed requests."""
    lab = lab_deployed
    backup_id = lab.container("backup").id
    container = dict(stop_timeout=5, env=env, restart_policy="unless-stopped", health=dict(HEALTH, settle=4))
    with RotationWatch(lab) as watch:
        (result, run), load = under_load(lab, lambda: lab.rollout("v2", container=container))
    measured("release %s after turning healthy" % fault, load, result)
    assert run.rc != 0
    assert "within the settle period of 4.0s" in result["msg"] and "rolled back" in result["msg"].lower(), result["msg"]
    assert load["failed"] == 0 and load["total"] > 200, load
    assert len(watch.answered) > 20 and watch.gaps == [], watch.gaps
    assert lab.version("master") == "v1" and lab.container("backup").id == backup_id
    assert result["summary"][1].startswith(lab.slot("backup") + ": not reached"), result["summary"]
    converges(lab, "v2")


def test_release_without_settle_period_would_have_shipped_the_crashing_build(lab_deployed):
    """The same crashing build with the settle period left at its default (0): the first pass counts, so the rollout
    goes through and the crash happens in service. This is what the settle period is for."""
    lab = lab_deployed
    container = dict(stop_timeout=5, env={"APP_CRASH_AFTER": "3"}, restart_policy="no", health=HEALTH)
    result, run = lab.rollout("v2", container=container)
    assert run.rc == 0, run.output[-4000:]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and lab.container("master").status == "running":
        time.sleep(0.2)
    assert lab.container("master").status == "exited"


def test_old_container_ignoring_sigterm_is_killed_at_its_stop_timeout_after_the_drain(lab):
    """v1 ignores SIGTERM. Each slot is drained and in maintenance before its stop, so waiting out the 2 s stop
    timeout and the engine's SIGKILL loses nothing; the result and the summary say the old container was killed."""
    container = dict(stop_timeout=2, env={"APP_IGNORE_SIGTERM": "1"}, health=HEALTH)
    result, run = lab.rollout("v1", container=container)
    assert run.rc == 0, run.output[-4000:]
    lab.wait_all_up()
    with RotationWatch(lab) as watch:
        (result, run), load = under_load(lab, lambda: lab.rollout("v2", container=container))
    measured("old container ignores SIGTERM", load, result)
    assert run.rc == 0, run.output[-4000:]
    assert load["failed"] == 0 and load["total"] > 200, (load, watch.gaps[:5], result["timeline"])
    assert watch.gaps == []
    killed = {u["slot"]: u.get("killed_at_stop_timeout") for u in result["units"]}
    assert all(seconds is not None and 1.5 <= seconds < 6 for seconds in killed.values()), killed
    assert all("ignored its stop signal and was killed after" in line for line in result["summary"]), result["summary"]
    assert any("did not stop on its stop signal" in w for w in result.get("warnings", [])), result.get("warnings")
    converges(lab, "v2")


def test_release_slower_to_start_than_its_health_bound_is_rolled_back(lab_deployed):
    """v2 listens only after 20 s; the health bound is 10 probes 0.2 s apart. The master's new container is given
    up, v1 is back in rotation, and the error names the bound. Measured here: 0 failed requests."""
    lab = lab_deployed
    container = dict(stop_timeout=5, env={"APP_STARTUP_DELAY": "20"}, health=dict(interval=0.2, retries=10))
    with RotationWatch(lab) as watch:
        (result, run), load = under_load(lab, lambda: lab.rollout("v2", container=container))
    measured("release slower to start than its health bound", load, result)
    assert run.rc != 0
    assert "did not answer HTTP 200 in 10 probe(s) 0.2s apart" in result["msg"], result["msg"]
    assert "It is back in rotation" in result["msg"], result["msg"]
    assert load["failed"] == 0, load
    assert watch.gaps == []
    assert lab.version("master") == "v1"
    converges(lab, "v2")


class Stream(threading.Thread):
    """One long-lived GET /stream through a load balancer's frontend; records how and when it ended."""

    def __init__(self, port, seconds=60):
        super().__init__(daemon=True)
        self.port = port
        self.seconds = seconds
        self.lines = 0
        self.opened = threading.Event()
        self.ended_at = None
        self.outcome = None

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.seconds + 10)
        try:
            conn.request("GET", "/stream?seconds=%d" % self.seconds)
            resp = conn.getresponse()
            self.opened.set()
            while resp.readline():
                self.lines += 1
            self.outcome = "closed"
        except (OSError, http.client.HTTPException) as exc:
            self.outcome = type(exc).__name__
        finally:
            self.ended_at = time.monotonic()
            self.opened.set()
            conn.close()


def test_long_lived_connections_are_drained_then_shut_down_and_reported(lab_deployed):
    """Two 60 s streams through each load balancer sit on the master. The drain waits out its 3 s timeout, then the
    engine shuts the 4 remaining sessions down (HAProxy's shutdown sessions) and reports them: count 4, after about
    3 s, in the unit's result, the summary and a warning. The paced load loses nothing."""
    lab = lab_deployed
    streams = [Stream(lb["frontend"]) for lb in lab.lbs for _copy in range(2)]
    for stream in streams:
        stream.start()
    for stream in streams:
        assert stream.opened.wait(10) and stream.outcome is None, stream.outcome
    began = time.monotonic()
    with RotationWatch(lab) as watch:
        (result, run), load = under_load(lab, lambda: lab.rollout("v2", drain_timeout=3))
    measured("long-lived connections outlive the drain", load, result)
    assert run.rc == 0, run.output[-4000:]
    assert load["failed"] == 0 and load["total"] > 200, load
    assert watch.gaps == []
    master = next(u for u in result["units"] if u["slot"] == lab.slot("master"))
    shut = master["sessions_shut_down"]
    assert shut["count"] == len(streams) and 2.9 <= shut["after_seconds"] < 5, shut
    assert len(shut["where"]) == 2, shut
    assert "sessions_shut_down" not in next(u for u in result["units"] if u["slot"] == lab.slot("backup"))
    assert any("4 session(s) still open after the drain timeout" in w for w in result.get("warnings", [])), result
    assert "4 session(s) still open after the" in result["summary"][0], result["summary"]
    for stream in streams:
        stream.join(10)
        # Cut by the load balancer once the drain timed out, not before, and not left to the container's stop.
        assert stream.outcome is not None and stream.lines > 5, (stream.outcome, stream.lines)
        assert stream.ended_at - began >= 3.0, stream.ended_at - began
    converges(lab, "v2")


def test_abort_on_drain_timeout_puts_the_unit_back_unchanged(lab_deployed):
    """on_drain_timeout=abort: a stream outlives the 2 s drain, the master goes back in rotation unchanged and the
    rollout fails naming the sessions left; the stream is not cut."""
    lab = lab_deployed
    master_id = lab.container("master").id
    stream = Stream(lab.lbs[0]["frontend"], seconds=20)
    stream.start()
    assert stream.opened.wait(10)
    result, run = lab.rollout("v2", drain_timeout=2, on_drain_timeout="abort")
    assert run.rc != 0
    assert "still has 1 sessions" in result["msg"] and "back in rotation and unchanged" in result["msg"], result["msg"]
    assert lab.container("master").id == master_id
    assert stream.is_alive() and stream.outcome is None
    lab.wait_all_up()
    converges(lab, "v2")  # on_drain_timeout=shutdown (the default) cuts the stream and goes on
    stream.join(10)
    assert stream.outcome is not None

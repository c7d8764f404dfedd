"""Several application hosts: staging before production, one host at a time, same build promoted."""

import pytest

from tests.support.site import Site


@pytest.fixture
def site(tmp_path):
    s = Site(tmp_path, app_hosts=("web1", "web2"), staging_hosts=("stage1",))
    s.setup_lb()
    yield s
    s.teardown()


def test_staging_then_production_one_host_at_a_time(site):
    run = site.deploy("v1")
    assert run.rc == 0, run.output[-4000:]
    run = site.deploy("v2")
    assert run.rc == 0, run.output[-4000:]
    # One module execution per host rolls both its slots; each host finishes before the next starts.
    rollouts = [r for r in run.records if "Roll the release out" in r["task"]]
    assert [(r["host"], r["status"]) for r in rollouts] == [("stage1", "changed"), ("web1", "changed"),
                                                            ("web2", "changed")]
    ends = []
    for record in rollouts:
        steps = [s for unit in record["result"]["timeline"] for s in unit["steps"]]
        assert [s["action"] for s in steps] == ["drain", "maint", "swap", "ready"] * 2
        ends.append((steps[0]["started"], steps[-1]["started"] + steps[-1]["seconds"]))
    assert ends == sorted(ends) and all(ends[i][1] <= ends[i + 1][0] for i in range(len(ends) - 1))
    for host in ("stage1", "web1", "web2"):
        assert site.slot_version(host, "master") == "v2"
        assert site.slot_version(host, "backup") == "v2"
    staged = site.record("stage1")["current"]["image_id"]
    assert site.record("web1")["current"]["image_id"] == staged
    assert site.record("web2")["current"]["image_id"] == staged
    stats = site.wait_all_up()
    assert {n for n in stats if n != "FRONTEND"} == {
        "%s_%s" % (h, r) for h in ("stage1", "web1", "web2") for r in ("master", "backup")}


def test_a_failing_host_stops_the_rollout(site):
    first = site.deploy("v1")
    assert first.rc == 0, first.output[-4000:]
    site.extra_vars["rollout_health_retries"] = 10
    run = site.deploy("broken")
    assert run.rc != 0
    # Staging failed (and was rolled back): production was never touched.
    assert site.slot_version("stage1", "master") == "v1"
    assert [r for r in run.records if r["host"] in ("web1", "web2")] == []

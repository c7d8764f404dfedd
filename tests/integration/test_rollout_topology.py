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
    # "Take <server> out of rotation" runs once per slot actually replaced.
    hosts_in_order = [r["host"] for r in run.records
                      if "Take the slot out of rotation" in r["task"] and r["status"] == "changed"]
    # Each host finishes both its slots before the next host starts; staging goes first.
    assert hosts_in_order == ["stage1", "stage1", "web1", "web1", "web2", "web2"]
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

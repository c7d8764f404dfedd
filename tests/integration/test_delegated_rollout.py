"""playbooks/examples/delegated_rollout.yml: the fine-grained modules composed with delegate_to, every HAProxy step
run on the load balancer host, under load, against the real engine and a real HAProxy."""

import os

from tests.support.site import under_load

EXAMPLE = os.path.join("examples", "delegated_rollout.yml")


def test_example_rolls_out_under_load_then_rolls_back_a_broken_release(site):
    run = site.playbook(EXAMPLE, extra_vars={"version": "v1"})
    assert run.rc == 0, run.output[-4000:]
    site.wait_all_up()
    run, load = under_load(site, lambda: site.playbook(EXAMPLE, extra_vars={"version": "v2"}))
    assert run.rc == 0, run.output[-4000:]
    assert load["failed"] == 0 and load["total"] > 100, load
    assert site.slot_version("app1", "master") == "v2" and site.slot_version("app1", "backup") == "v2"
    drained = [r for r in run.records if "Take the slot out of rotation" in r["task"]]
    assert [r["result"]["results"][0]["item"] for r in drained] == ["lb", "lb"]
    site.wait_all_up()
    assert site.record("app1")["current"]["version"] == "v2"

    site.extra_vars["rollout_health_retries"] = 10
    run, load = under_load(site, lambda: site.playbook(EXAMPLE, extra_vars={"version": "broken"}))
    assert run.rc != 0
    assert load["failed"] == 0, load
    assert site.slot_version("app1", "master") == "v2"
    site.wait_all_up()

    again = site.playbook(EXAMPLE, extra_vars={"version": "v2"})
    assert again.rc == 0 and again.changed() == 0, again.changed_tasks()

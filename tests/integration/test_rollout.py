"""The master/backup rollout end to end: playbooks/lb.yml, deploy.yml and rollback.yml through the real
ansible-playbook, against the real Docker engine and a real HAProxy started by the haproxy role."""

import os
import time


from tests.support.site import under_load

ROLL = "Roll the release out to this host's master and backup"


def ids(site):
    return {c.name: c.id for c in site.containers()}


def test_first_deploy_check_mode_changes_nothing_then_creates_both_slots(site):
    run = site.deploy("v1", check=True)
    assert run.rc == 0, run.output[-4000:]
    assert site.containers() == []
    assert not os.path.exists(site.state_dir)

    run = site.deploy("v1")
    assert run.rc == 0, run.output[-4000:]
    assert site.slot_version("app1", "master") == "v1"
    assert site.slot_version("app1", "backup") == "v1"
    stats = site.wait_all_up()
    assert stats["app1_backup"]["bck"] == "1"
    assert site.frontend_version() == "v1"
    record = site.record("app1")
    assert record["current"]["version"] == "v1" and record["previous"] is None
    slots = {site.slot_name("app1", "master"), site.slot_name("app1", "backup")}
    assert {s["slot"] for s in record["last_rollout"]} == slots


def test_upgrade_under_load_loses_no_request_and_rerun_changes_nothing(deployed):
    site = deployed
    run, load = under_load(site, lambda: site.deploy("v2"))
    assert run.rc == 0, run.output[-4000:]
    assert load["failed"] == 0, load
    assert load["total"] > 100
    assert site.slot_version("app1", "master") == "v2"
    assert site.slot_version("app1", "backup") == "v2"
    record = site.record("app1")
    assert record["current"]["version"] == "v2"
    assert record["previous"]["version"] == "v1"
    # Every server is back in rotation and ready.
    stats = site.wait_all_up()
    assert set(stats) >= {"app1_master", "app1_backup"}

    before = ids(site)
    again = site.deploy("v2")
    assert again.rc == 0, again.output[-4000:]
    assert again.changed() == 0, again.changed_tasks()
    assert ids(site) == before


def test_check_mode_upgrade_reports_change_and_touches_nothing(deployed_unchanged):
    site = deployed_unchanged
    before = ids(site)
    run = site.deploy("v2", check=True, diff=True)
    assert run.rc == 0, run.output[-4000:]
    assert run.changed() > 0
    assert ids(site) == before
    assert site.slot_version("app1", "master") == "v1"
    assert {s["status"] for s in site.server_stats().values() if s["svname"] != "FRONTEND"} == {"UP"}
    assert site.record("app1")["current"]["version"] == "v1"


def test_broken_release_is_rolled_back_and_traffic_never_stops(deployed):
    site = deployed
    backup_id = site.container("app1", "backup").id
    # 8 s: the broken app has started and logged its error by the last probe, even on a busy machine.
    site.extra_vars.update(rollout_health_retries=8, rollout_health_interval=1.0)
    run, load = under_load(site, lambda: site.deploy("broken"))
    assert run.rc != 0
    result = run.result(ROLL)
    assert result["failed"] is True, run.output[-4000:]
    assert result["units"][0]["rolled_back"] is True
    assert "health check will fail" in result["msg"]
    assert "It is back in rotation" in result["msg"]
    assert load["failed"] == 0, load
    # The master runs v1 again and is back in rotation; the backup was never touched.
    assert site.slot_version("app1", "master") == "v1"
    assert site.container("app1", "backup").id == backup_id
    site.wait_all_up()
    assert site.record("app1")["current"]["version"] == "v1"


def test_unknown_tag_stops_before_anything_changes(deployed_unchanged):
    site = deployed_unchanged
    before = ids(site)
    run = site.deploy("v404")
    assert run.rc != 0
    failed = [r for r in run.records if r["status"] == "failed"]
    assert ROLL in failed[0]["task"]
    assert "baton-demo/app:v404" in failed[0]["result"]["msg"]
    assert "Nothing was changed" in failed[0]["result"]["msg"]
    assert ids(site) == before
    assert run.changed_tasks() == []
    stats = site.server_stats()
    assert stats["app1_master"]["status"] == "UP"


def test_missing_haproxy_socket_is_a_clear_error_and_nothing_changes(deployed_unchanged):
    site = deployed_unchanged
    before = ids(site)
    missing = os.path.join(site.workdir, "nope.sock")
    run = site.deploy("v2", extra_vars={"rollout_haproxy_socket": missing})
    assert run.rc != 0
    failed = [r for r in run.records if r["status"] == "failed"][0]
    assert ROLL in failed["task"]
    assert "load balancer %s: HAProxy runtime socket %s does not exist" % (missing, missing) in failed["result"]["msg"]
    assert ids(site) == before


def test_unknown_backend_is_a_clear_error_and_nothing_changes(deployed_unchanged):
    site = deployed_unchanged
    before = ids(site)
    run = site.deploy("v2", extra_vars={"rollout_haproxy_backend": "nosuchapp"})
    assert run.rc != 0
    failed = [r for r in run.records if r["status"] == "failed"][0]
    assert "nosuchapp" in failed["result"]["msg"] and site.app in failed["result"]["msg"]
    assert ids(site) == before


def test_non_numeric_timeout_fails_argument_validation(deployed_unchanged):
    site = deployed_unchanged
    before = ids(site)
    run = site.deploy("v2", extra_vars={"rollout_drain_timeout": "soon"})
    assert run.rc != 0
    assert "rollout_drain_timeout" in run.output
    assert ids(site) == before


def test_port_taken_by_another_process_is_refused_before_change(site):
    import socket
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", site.hosts["app1"]["backup"]))
    blocker.listen(1)
    try:
        run = site.deploy("v1")
    finally:
        blocker.close()
    assert run.rc != 0
    assert str(site.hosts["app1"]["backup"]) in run.output
    # Every slot is planned before any changes: neither slot was created.
    assert site.container("app1", "master") is None
    assert site.container("app1", "backup") is None


def test_missing_version_is_explained(site):
    run = site.playbook("deploy.yml")
    assert run.rc != 0
    assert "-e version=TAG" in run.output


def test_rollback_playbook_returns_to_the_previous_release(deployed):
    site = deployed
    assert site.deploy("v2").rc == 0
    run = site.playbook("rollback.yml")
    assert run.rc == 0, run.output[-4000:]
    assert site.slot_version("app1", "master") == "v1"
    assert site.slot_version("app1", "backup") == "v1"
    record = site.record("app1")
    assert record["current"]["version"] == "v1" and record["previous"]["version"] == "v2"


def test_rollback_without_history_is_refused(deployed_unchanged):
    site = deployed_unchanged
    run = site.playbook("rollback.yml")
    assert run.rc != 0
    assert "no release before the current one" in run.output


def test_older_tag_rolls_back_like_any_release(deployed):
    site = deployed
    assert site.deploy("v3").rc == 0
    assert site.frontend_version() == "v3"
    run = site.deploy("v1")
    assert run.rc == 0, run.output[-4000:]
    assert site.slot_version("app1", "master") == "v1"


def test_unhealthy_backup_stops_the_deploy_before_the_master_leaves(deployed):
    site = deployed
    site.container("app1", "backup").stop(timeout=5)
    deadline = time.monotonic() + 20
    while site.server_stats()["app1_backup"]["status"] != "DOWN" and time.monotonic() < deadline:
        time.sleep(0.2)
    master_id = site.container("app1", "master").id
    run = site.deploy("v2")
    assert run.rc != 0
    assert ("app1_master is the only server of backend %s on load balancer %s that serves" % (site.app, site.socket)
            in run.output)
    assert site.container("app1", "master").id == master_id
    assert site.slot_version("app1", "master") == "v1"
    assert site.server_stats()["app1_master"]["status"] == "UP"

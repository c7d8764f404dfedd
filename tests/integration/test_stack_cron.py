"""baton.docker.stack_cron through ansible-playbook: the runner, the cron file, and systemd timers.

The cron backend is exercised with the real stack in test_stack.py. Here the systemd backend runs against a
systemctl stand-in on PATH (this machine's tests run without systemd as PID 1) that keeps which timers are enabled
and active in a JSON file and logs every call, so that what the module asks systemd to do is asserted.
"""

import json
import os
import stat
import sys
import textwrap

import pytest

from tests.support.ansible import run_playbook

RUNNER = "#!/usr/bin/env python3\nprint('runner')\n"


def cron(name, minute="59", weekday="*"):
    return {"name": name, "entry": name[:-1], "image": "baton-stack/app:v2", "kind": "cron",
            "cron": {"minute": minute, "hour": "*", "day": "*", "month": "*", "weekday": weekday}}


@pytest.fixture
def host(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    state = tmp_path / "systemd.json"
    state.write_text(json.dumps({"enabled": [], "active": [], "calls": []}))
    fake = bin_dir / "systemctl"
    fake.write_text(textwrap.dedent("""\
        #!%s
        import json, sys
        path = %r
        with open(path) as handle:
            state = json.load(handle)
        args = sys.argv[1:]
        state["calls"].append(args)
        verb, units = args[0], [a for a in args[1:] if not a.startswith("--")]
        rc = 0
        if verb == "is-enabled":
            rc = 0 if units[0] in state["enabled"] else 1
            print("enabled" if rc == 0 else "disabled")
        elif verb == "is-active":
            rc = 0 if units[0] in state["active"] else 3
            print("active" if rc == 0 else "inactive")
        elif verb == "enable":
            state["enabled"] = sorted(set(state["enabled"]) | set(units))
        elif verb in ("start", "restart"):
            state["active"] = sorted(set(state["active"]) | set(units))
        elif verb == "disable":
            state["enabled"] = [u for u in state["enabled"] if u not in units]
            if "--now" in args:
                state["active"] = [u for u in state["active"] if u not in units]
        with open(path, "w") as handle:
            json.dump(state, handle)
        sys.exit(rc)
        """ % (sys.executable, str(state))))
    fake.chmod(0o755)

    class Host(object):
        root = tmp_path
        units = tmp_path / "units"
        cron_file = tmp_path / "cron.d" / "baton-shop"
        runner = tmp_path / "libexec" / "baton-stack-cron"

        def args(self, containers, backend="systemd"):
            return dict(stack="shop", title="shop", containers=containers, backend=backend, runner=str(self.runner),
                        runner_content=RUNNER, cron_file=str(self.cron_file), log_dir=str(tmp_path / "log"),
                        systemd_dir=str(self.units), cron_daemon=str(tmp_path / "no-cron-here"))

        def run(self, *tasks):
            play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
                dict({"baton.docker.stack_cron": args}, name=name, check_mode=check, diff=True)
                for name, args, check in tasks]}]
            run = run_playbook(play, env={"PATH": "%s:%s" % (bin_dir, os.environ["PATH"])})
            assert run.rc == 0, run.output[-3000:]
            return [run.result(name) for name, _args, _check in tasks]

        def systemd(self):
            return json.loads(state.read_text())

        def reset_calls(self):
            data = self.systemd()
            data["calls"] = []
            state.write_text(json.dumps(data))

    return Host()


def test_systemd_timers_scheduled_changed_and_removed(host):
    two = [cron("cron0"), cron("report0", minute="5", weekday="mon")]
    check, apply, again = host.run(("check", host.args(two), True), ("apply", host.args(two), False),
                                   ("again", host.args(two), False))
    timers = ["baton-shop-cron0.timer", "baton-shop-report0.timer"]
    assert check["changed"] and check["scheduler"] == "systemd" and check["entries"] == ["cron0", "report0"]
    assert sorted(check["timers"]) == timers and set(check["timers"].values()) == {"started"}
    assert str(host.units / "baton-shop-cron0.timer") in check["diff"]["after"]
    assert check["diff"]["after"][str(host.runner)].startswith("sha1 ")
    assert apply["changed"] and sorted(apply["timers"]) == timers
    assert not again["changed"] and again["files"] == {} and again["timers"] == {}
    assert sorted(os.listdir(str(host.units))) == sorted(t[:-6] + s for t in timers for s in (".service", ".timer"))
    assert "OnCalendar=Mon *-*-* *:05:00" in (host.units / "baton-shop-report0.timer").read_text().splitlines()
    assert host.runner.read_text() == RUNNER and stat.S_IMODE(host.runner.stat().st_mode) == 0o755
    state = host.systemd()
    assert state["enabled"] == timers and state["active"] == timers
    mutating = [c for c in state["calls"] if c[0] not in ("is-enabled", "is-active")]
    assert mutating == [["daemon-reload"], ["enable", timers[0]], ["start", timers[0]], ["enable", timers[1]],
                        ["start", timers[1]]], "check mode and the second run ask systemd for nothing"
    assert not host.cron_file.exists()

    # A new schedule restarts its timer; a dropped entry's timer is stopped, disabled and its units removed.
    host.reset_calls()
    (changed,) = host.run(("changed", host.args([cron("cron0", minute="30")]), False))
    assert changed["timers"] == {"baton-shop-cron0.timer": "restarted", "baton-shop-report0.timer": "stopped"}
    assert sorted(os.listdir(str(host.units))) == ["baton-shop-cron0.service", "baton-shop-cron0.timer"]
    state = host.systemd()
    assert state["active"] == ["baton-shop-cron0.timer"]
    assert [c for c in state["calls"] if c[0] not in ("is-enabled", "is-active")] == [
        ["disable", "--now", "baton-shop-report0.timer"], ["daemon-reload"], ["restart", "baton-shop-cron0.timer"]]

    # The cron backend takes over: the timers go, the cron file comes (and says cron is missing here).
    (moved,) = host.run(("moved", host.args([cron("cron0", minute="30")], backend="cron"), False))
    assert moved["scheduler"] == "cron" and moved["cron_daemon_missing"] is True
    assert os.listdir(str(host.units)) == [] and host.systemd()["active"] == []
    lines = host.cron_file.read_text().splitlines()
    assert "30 * * * * root /usr/bin/python3 %s --timeout 3600 cron0 >>%s/log/shop-cron0.log 2>&1" % (
        host.runner, host.root) in lines
    assert stat.S_IMODE((host.root / "log").stat().st_mode) == 0o750

    # No cron entries any more: the cron file goes; the runner stays.
    (empty,) = host.run(("empty", host.args([{"name": "app0", "kind": "http"}], backend="cron"), False))
    assert empty["changed"] and empty["entries"] == [] and not host.cron_file.exists() and host.runner.exists()


def test_bad_input_names_the_option_and_writes_nothing(host):
    bad = dict(cron("cron0"), cron={"minute": "5"})
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "entry", "baton.docker.stack_cron": host.args([bad]), "ignore_errors": True},
        {"name": "stack", "baton.docker.stack_cron": dict(host.args([cron("cron0")]), stack="../x"),
         "ignore_errors": True},
        {"name": "path", "baton.docker.stack_cron": dict(host.args([cron("cron0")]), cron_file="rel/cron"),
         "ignore_errors": True}]}]
    run = run_playbook(play)
    assert "containers: cron entry cron0 lacks cron.hour, cron.day, cron.month, cron.weekday" in run.result("entry")["msg"]
    assert "stack: '../x' cannot name files" in run.result("stack")["msg"]
    assert "cron_file: 'rel/cron' is not an absolute path" in run.result("path")["msg"]
    assert not host.runner.exists() and not host.units.exists()

"""Unit tests of the haproxy_backend module: main() driven with module args and patched exit/fail.

Argument errors are checked before any socket is touched. The flows at the
end run main() against FakeRuntimeSocket, a scripted unix socket speaking the
runtime API with real HAProxy 2.6 answers (tests/support/haproxy_answers.py); the real
HAProxy is exercised in tests/integration/test_haproxy_backend.py.
"""

import pytest


from ansible_collections.baton.docker.plugins.modules import haproxy_backend
from tests.support.module_harness import call_main
from tests.support.haproxy import FakeRuntimeSocket
from tests.support.haproxy_answers import (
    SERVERS_STATE_CHANGED_WEB,
    SERVERS_STATE_STARTED_WEB,
    SHOW_BACKEND,
    STAT_CHANGED,
    STAT_STARTED,
)


def run(args):
    return call_main(haproxy_backend.main, args)


@pytest.fixture
def runtime(tmp_path):
    """A fake runtime socket showing the real 'started' answers of backend web, level admin."""
    server = FakeRuntimeSocket(str(tmp_path / "admin.sock"), {
        "show servers state web": SERVERS_STATE_STARTED_WEB,
        "show stat": STAT_STARTED,
        "show cli level": "admin\n\n",
        "show backend": SHOW_BACKEND,
    }).start()
    yield server
    server.stop()


@pytest.mark.parametrize("args, message", [
    (dict(server="app1", state="drain"), "missing required arguments: backend"),
    (dict(backend="app", state="drain"), "missing required arguments: server"),
    (dict(backend="app", server="app1"), "one of the following is required: state, weight"),
    (dict(backend="app", server="app1", state="up"), "value of state must be one of: ready, drain, maint, got: up"),
    (dict(backend="app", server="app1", drain=True, weight=3), "drain is True but all of the following are missing: state"),
    (dict(backend="app", server="app1", weight="heavy"), "argument 'weight' is of type str"),
    (dict(backend="app", server="app1", weight=257), "weight must be between 0 and 256, got 257"),
    (dict(backend="app", server="app1", weight=-1), "weight must be between 0 and 256, got -1"),
    (dict(backend="app", server="app1", state="ready", drain=True), "drain=true is for state=maint"),
    (dict(backend="app", server="app1", state="drain", wait_timeout="soon"), "argument 'wait_timeout' is of type str"),
    (dict(backend="app", server="app1", state="drain", wait_timeout=0), "wait_timeout must be a positive number of seconds"),
    (dict(backend="app", server="app1", state="drain", wait_interval=-1), "poll_interval must be a positive number of seconds"),
    (dict(backend="app", server="app1", state="drain", socket_timeout=0), "socket_timeout must be a positive number of seconds"),
    (dict(backend="app", server="app1", state="drain", socket="127.0.0.1:http"), "is neither a unix socket path"),
    (dict(backend="app", server="app1", state="drain", flavour="x"), "Unsupported parameters"),
])
def test_argument_errors(args, message):
    outcome = run(args)
    assert outcome.kind == "fail"
    assert message in outcome.result["msg"]
    assert not outcome.result.get("changed")


def test_missing_socket_is_reported(tmp_path):
    path = str(tmp_path / "haproxy.sock")
    outcome = run(dict(socket=path, backend="app", server="app1", state="drain"))
    assert outcome.kind == "fail"
    assert outcome.result["msg"].startswith("HAProxy runtime socket %s does not exist" % path)
    assert outcome.result["changed"] is False


def test_check_mode_sends_no_write(runtime):
    outcome = run(dict(socket=runtime.path, backend="web", server="web1", state="maint", drain=True,
                       _ansible_check_mode=True, _ansible_diff=True))
    assert outcome.kind == "exit"
    result = outcome.result
    assert result["changed"] is True
    assert result["commands"] == ["set server web/web1 state drain", "set server web/web1 state maint"]
    assert result["before"]["admin_state"] == "ready"
    assert result["after"]["admin_state"] == "maint" and result["state"] == "maint"
    assert result["diff"] == {"before": result["before"], "after": result["after"]}
    assert result["waited"] == 0.0
    assert not [cmd for cmd in runtime.received if not cmd.startswith("show ")]


def test_already_in_state_sends_nothing(runtime):
    outcome = run(dict(socket=runtime.path, backend="web", server="web5", state="maint", drain=True))
    assert outcome.kind == "exit"
    assert outcome.result["changed"] is False
    assert outcome.result["commands"] == []
    assert "show cli level" not in runtime.received
    assert not [cmd for cmd in runtime.received if not cmd.startswith("show ")]


def test_apply_sends_commands_and_reads_back(runtime):
    runtime.answers.update({
        "set server web/web2 weight 7": "\n",
        "set server web/web2 state drain": "\n",
        "show servers state web": [SERVERS_STATE_STARTED_WEB, SERVERS_STATE_CHANGED_WEB],
        "show stat": [STAT_STARTED, STAT_CHANGED],
    })
    outcome = run(dict(socket=runtime.path, backend="web", server="web2", state="drain", weight=7, wait=False))
    assert outcome.kind == "exit", outcome.result
    result = outcome.result
    assert result["changed"] is True
    assert result["before"] == dict(admin_state="ready", status="UP", weight=1, sessions=0, queued=0)
    assert result["after"] == dict(admin_state="drain", status="DRAIN", weight=7, sessions=0, queued=0)
    writes = [cmd for cmd in runtime.received if not cmd.startswith("show ")]
    assert writes == ["set server web/web2 state drain", "set server web/web2 weight 7"]
    assert "diff" not in result


def test_too_low_level_fails_before_writing(runtime):
    runtime.answers["show cli level"] = "user\n\n"
    outcome = run(dict(socket=runtime.path, backend="web", server="web1", state="drain", _ansible_check_mode=True))
    assert outcome.kind == "fail"
    assert "has level 'user'; changing servers needs 'level admin'" in outcome.result["msg"]
    assert not [cmd for cmd in runtime.received if not cmd.startswith("show ")]


def test_unknown_server_lists_servers(runtime):
    outcome = run(dict(socket=runtime.path, backend="web", server="web9", state="drain"))
    assert outcome.kind == "fail"
    assert outcome.result["msg"] == "HAProxy backend 'web' has no server 'web9'; its servers: web1, web2, web3, web4, web5"


def test_unknown_server_reports_found_false_when_not_ignored(runtime):
    outcome = run(dict(socket=runtime.path, backend="web", server="web9", state="maint"))
    assert outcome.kind == "fail"
    assert outcome.result["found"] is False
    assert outcome.result["changed"] is False


@pytest.mark.parametrize("check_mode", [False, True])
def test_ignore_missing_server_succeeds_unchanged(runtime, check_mode):
    outcome = run(dict(socket=runtime.path, backend="web", server="web9", state="maint", drain=True,
                       ignore_missing=True, _ansible_check_mode=check_mode, _ansible_diff=True))
    assert outcome.kind == "exit", outcome.result
    result = outcome.result
    assert result["changed"] is False
    assert result["found"] is False
    assert result["msg"] == "backend web has no server web9; nothing to do"
    assert "before" not in result and "after" not in result and "diff" not in result
    assert not [cmd for cmd in runtime.received if not cmd.startswith("show ")]


def test_ignore_missing_still_changes_a_present_server(runtime):
    runtime.answers.update({
        "set server web/web2 state drain": "\n",
        "show servers state web": [SERVERS_STATE_STARTED_WEB, SERVERS_STATE_CHANGED_WEB],
        "show stat": [STAT_STARTED, STAT_CHANGED],
    })
    outcome = run(dict(socket=runtime.path, backend="web", server="web2", state="drain", wait=False,
                       ignore_missing=True))
    assert outcome.kind == "exit", outcome.result
    assert outcome.result["found"] is True
    assert outcome.result["changed"] is True
    assert [cmd for cmd in runtime.received if not cmd.startswith("show ")] == ["set server web/web2 state drain"]


def test_ignore_missing_does_not_cover_a_missing_backend(runtime):
    runtime.answers["show servers state nope"] = "Can't find backend.\n\n"
    outcome = run(dict(socket=runtime.path, backend="nope", server="web1", state="maint", ignore_missing=True))
    assert outcome.kind == "fail"
    assert outcome.result["msg"].startswith("HAProxy has no backend 'nope'; known backends:")
    assert "found" not in outcome.result

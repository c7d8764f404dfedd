"""Unit tests of reading the HAProxy runtime API's answers: show stat, show servers state, admin state bits, the
server lines of a configuration, and ServerState, from real HAProxy 2.6 answers (tests/support/haproxy_answers.py)."""

import pytest

from ansible_collections.baton.docker.plugins.module_utils import _haproxy_stat as st
from tests.support.haproxy_answers import (
    SERVERS_STATE_CHANGED,
    SERVERS_STATE_STARTED,
    STAT_CHANGED,
    STAT_SESSION_ENDED,
    STAT_SESSION_IN_FLIGHT,
    STAT_STARTED,
    server_state,
    servers_state,
)


# ---------------------------------------------------------------------------
# show stat / show servers state parsing
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, pxname, svname, status, scur, weight, check_status", [
    (STAT_STARTED, "fe", "FRONTEND", "OPEN", "0", "", ""),
    (STAT_STARTED, "web", "web1", "UP", "0", "1", "L7OK"),
    (STAT_STARTED, "web", "web3", "DOWN", "0", "1", "L4CON"),
    (STAT_STARTED, "web", "web4", "no check", "0", "1", ""),
    (STAT_STARTED, "web", "web5", "MAINT", "0", "1", ""),
    (STAT_STARTED, "api", "api2", "UP", "0", "1", ""),
    (STAT_CHANGED, "web", "web1", "MAINT", "0", "1", ""),
    (STAT_CHANGED, "web", "web2", "DRAIN", "0", "7", "L7OK"),
    (STAT_CHANGED, "api", "api1", "no check", "0", "0", ""),
    (STAT_CHANGED, "api", "api2", "MAINT (via web/web1)", "0", "1", ""),
    (STAT_SESSION_IN_FLIGHT, "web", "web1", "DRAIN", "1", "1", "L7OK"),
    (STAT_SESSION_ENDED, "web", "web1", "DRAIN", "0", "1", "L7OK"),
])
def test_parse_show_stat_rows(text, pxname, svname, status, scur, weight, check_status):
    rows = st.parse_show_stat(text)
    row = [r for r in rows if r["pxname"] == pxname and r["svname"] == svname]
    assert len(row) == 1
    assert (row[0]["status"], row[0]["scur"], row[0]["weight"], row[0]["check_status"]) == (status, scur, weight, check_status)


@pytest.mark.parametrize("text, count", [(STAT_STARTED, 10), (STAT_CHANGED, 10), (STAT_SESSION_IN_FLIGHT, 1)])
def test_parse_show_stat_counts_lines_and_keeps_every_column(text, count):
    rows = st.parse_show_stat(text)
    assert len(rows) == count
    assert all("" not in row and "agg_check_status" in row for row in rows)


def test_parse_show_stat_keeps_last_check_detail():
    row = [r for r in st.parse_show_stat(STAT_STARTED) if r["svname"] == "web3"][0]
    assert row["last_chk"] == "Connection refused"
    assert row["check_desc"] == "Layer4 connection problem"


@pytest.mark.parametrize("answer", ["", "Permission denied\n", "No such proxy.\n", "Unknown command, but maybe...\n"])
def test_parse_show_stat_rejects_other_answers(answer):
    with pytest.raises(st.HAProxyAnswerError, match="unexpected answer to 'show stat'"):
        st.parse_show_stat(answer)


@pytest.mark.parametrize("text, backend, server, op_state, admin_state, uweight, port", [
    (SERVERS_STATE_STARTED, "web", "web1", "2", "0", "1", "39017"),
    (SERVERS_STATE_STARTED, "web", "web3", "0", "0", "1", "50879"),
    (SERVERS_STATE_STARTED, "web", "web5", "0", "5", "1", "39017"),
    (SERVERS_STATE_CHANGED, "web", "web1", "0", "1", "1", "39017"),
    (SERVERS_STATE_CHANGED, "web", "web2", "2", "8", "7", "37375"),
    (SERVERS_STATE_CHANGED, "api", "api1", "2", "0", "0", "39017"),
    (SERVERS_STATE_CHANGED, "api", "api2", "0", "2", "1", "39017"),
])
def test_parse_servers_state_rows(text, backend, server, op_state, admin_state, uweight, port):
    rows = st.parse_servers_state(text)
    assert len(rows) == 7
    row = [r for r in rows if r["be_name"] == backend and r["srv_name"] == server][0]
    assert (row["srv_op_state"], row["srv_admin_state"], row["srv_uweight"], row["srv_port"]) == (op_state, admin_state, uweight, port)


@pytest.mark.parametrize("answer, message", [
    ("Can't find backend.\n", "unexpected answer"),
    ("Permission denied\n", "unexpected answer"),
    ("2\n# be_id be_name\n1 web\n", "format version 2 is not supported"),
])
def test_parse_servers_state_rejects_other_answers(answer, message):
    with pytest.raises(st.HAProxyAnswerError, match=message):
        st.parse_servers_state(answer)


def test_parse_servers_state_of_empty_backend():
    assert st.parse_servers_state(servers_state()) == []


# ---------------------------------------------------------------------------
# admin state
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("bits, state, forced, flag", [
    (0x00, "ready", "ready", None),
    (0x01, "maint", "maint", "forced maint"),
    (0x05, "maint", "maint", "disabled in the configuration"),  # "disabled" server at startup
    (0x04, "ready", "ready", "disabled in the configuration"),  # "disabled" server set ready since
    (0x08, "drain", "drain", "forced drain"),
    (0x02, "maint", "ready", "maint inherited from a tracked server"),
    (0x10, "drain", "ready", "drain inherited from a tracked server"),
    (0x20, "maint", "ready", "maint after an address resolution failure"),
    (0x0A, "maint", "drain", "forced drain"),  # forced drain under an inherited maint
    (0x40, "ready", "ready", "FQDN set at runtime"),
    ("9", "maint", "maint", "forced drain"),  # as read from the text, both forced bits
])
def test_decode_admin_state(bits, state, forced, flag):
    decoded = st.decode_admin_state(bits)
    assert decoded["state"] == state
    assert decoded["forced"] == forced
    if flag is None:
        assert decoded["flags"] == []
    else:
        assert flag in decoded["flags"]


# ---------------------------------------------------------------------------
# ServerState from real answers
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("stat, state, backend, server, expected, is_up", [
    (STAT_STARTED, SERVERS_STATE_STARTED, "web", "web1",
     dict(admin_state="ready", status="UP", weight=1, sessions=0, queued=0), True),
    (STAT_STARTED, SERVERS_STATE_STARTED, "web", "web3",
     dict(admin_state="ready", status="DOWN", weight=1, sessions=0, queued=0), False),
    (STAT_STARTED, SERVERS_STATE_STARTED, "web", "web4",
     dict(admin_state="ready", status="no check", weight=1, sessions=0, queued=0), True),
    (STAT_STARTED, SERVERS_STATE_STARTED, "web", "web5",
     dict(admin_state="maint", status="MAINT", weight=1, sessions=0, queued=0), False),
    (STAT_CHANGED, SERVERS_STATE_CHANGED, "web", "web2",
     dict(admin_state="drain", status="DRAIN", weight=7, sessions=0, queued=0), False),
    (STAT_CHANGED, SERVERS_STATE_CHANGED, "api", "api1",
     dict(admin_state="ready", status="no check", weight=0, sessions=0, queued=0), True),
    (STAT_CHANGED, SERVERS_STATE_CHANGED, "api", "api2",
     dict(admin_state="maint", status="MAINT (via web/web1)", weight=1, sessions=0, queued=0), False),
])
def test_server_state_from_real_answers(stat, state, backend, server, expected, is_up):
    current = server_state(stat, state, backend, server)
    assert current.as_dict() == expected
    assert current.is_up is is_up
    assert current.name == "%s/%s" % (backend, server)


def test_server_state_inherited_maint_is_not_forced():
    current = server_state(STAT_CHANGED, SERVERS_STATE_CHANGED, "api", "api2")
    assert current.forced_state == "ready"
    assert current.admin_flags == ["maint inherited from a tracked server"]


def test_server_state_sessions_and_check_detail():
    in_flight = server_state(STAT_SESSION_IN_FLIGHT, SERVERS_STATE_CHANGED.replace(" 8 7 1 ", " 8 1 1 "), "web", "web1")
    assert in_flight.sessions == 1 and not in_flight.is_drained
    ended = server_state(STAT_SESSION_ENDED, SERVERS_STATE_CHANGED, "web", "web1")
    assert ended.sessions == 0 and ended.is_drained
    down = server_state(STAT_STARTED, SERVERS_STATE_STARTED, "web", "web3")
    assert down.describe_check() == ", last check L4CON (Connection refused)"
    assert down.address == "127.0.0.1:50879"
    down.check_status = "* L4CON"  # HAProxy's mark of a check running again: the last result is still named
    assert down.describe_check() == ", last check L4CON (Connection refused)"


@pytest.mark.parametrize("status, admin_bits, is_up", [
    ("UP", 0, True),
    ("no check", 0, True),
    ("UP 1/3", 0, False),   # just out of maint: no check has passed yet
    ("DOWN 1/2", 0, False),
    ("DOWN", 0, False),
    ("NOLB", 0, False),
    ("DRAIN", 8, False),
    ("UP", 8, False),
])
def test_server_state_is_up(status, admin_bits, is_up):
    current = st.ServerState("b", "s", {"srv_admin_state": str(admin_bits)}, {"status": status})
    assert current.is_up is is_up


STATE_DUMP = servers_state(
    "3 demo 1 web1_master 127.0.0.1 0 1 1 1 3 15 3 3 6 0 0 0 - 50000 - 0 0 - - 0",
    "3 demo 2 web1_backup 127.0.0.1 2 0 1 1 8 15 3 3 6 0 0 0 - 50001 - 0 0 - - 0",
    "3 demo 3 web2_master 10.0.0.2 2 0 1 1 8 15 3 3 6 0 0 0 - 50000 - 0 0 - - 0",
)

NEW_CONFIG = """
global
    server-state-file /var/lib/haproxy/state
frontend demo
    bind *:80
backend demo
    server web1_master 127.0.0.1:50000 check
    server web1_backup 127.0.0.1:50011 check backup   # moved
    server web3_master 10.0.0.3:50000 check
"""


def test_config_servers_reads_backend_server_lines():
    assert st.config_servers(NEW_CONFIG) == {
        ("demo", "web1_master"): ("127.0.0.1", "50000"),
        ("demo", "web1_backup"): ("127.0.0.1", "50011"),
        ("demo", "web3_master"): ("10.0.0.3", "50000"),
    }


def test_filter_server_state_keeps_only_unmoved_servers():
    kept = st.filter_server_state(STATE_DUMP, NEW_CONFIG).splitlines()
    assert kept[0] == "1" and kept[1].startswith("# be_id")
    assert [line.split()[3] for line in kept[2:]] == ["web1_master"]

"""Answers of the HAProxy 2.6 runtime API, as HAProxy writes them, for unit tests.

``show_stat(rows...)`` and ``servers_state(rows...)`` build the exact text of
``show stat`` and ``show servers state`` around rows: a row is the line as
HAProxy prints it (or, for ``show stat``, a dict of column values, the other
columns empty).

The captured answers below are real answers of HAProxy 2.6.12 (Debian 12),
taken from a test instance with a backend "web" (web1 UP, web2 UP, web3 DOWN
with its port closed, web4 without check, web5 "disabled") and a backend "api"
(api1 without check, api2 tracking web/web1). The *_CHANGED answers were taken
after "set server web/web2 state drain", "set server web/web2 weight 7",
"set server web/web1 state maint" and "set server api/api1 weight 0".
STAT_SESSION_* are "show stat" while a request was held open on a drained web1,
and after it ended.
"""

from ansible_collections.baton.docker.plugins.module_utils._haproxy_stat import (
    ServerState,
    parse_servers_state,
    parse_show_stat,
)

# The columns of "show stat" in HAProxy 2.6, in order; HAProxy ends the header and every row with a comma.
STAT_COLUMNS = (
    "pxname", "svname", "qcur", "qmax", "scur", "smax", "slim", "stot", "bin", "bout", "dreq", "dresp", "ereq",
    "econ", "eresp", "wretr", "wredis", "status", "weight", "act", "bck", "chkfail", "chkdown", "lastchg",
    "downtime", "qlimit", "pid", "iid", "sid", "throttle", "lbtot", "tracked", "type", "rate", "rate_lim",
    "rate_max", "check_status", "check_code", "check_duration", "hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx",
    "hrsp_5xx", "hrsp_other", "hanafail", "req_rate", "req_rate_max", "req_tot", "cli_abrt", "srv_abrt", "comp_in",
    "comp_out", "comp_byp", "comp_rsp", "lastsess", "last_chk", "last_agt", "qtime", "ctime", "rtime", "ttime",
    "agent_status", "agent_code", "agent_duration", "check_desc", "agent_desc", "check_rise", "check_fall",
    "check_health", "agent_rise", "agent_fall", "agent_health", "addr", "cookie", "mode", "algo", "conn_rate",
    "conn_rate_max", "conn_tot", "intercepted", "dcon", "dses", "wrew", "connect", "reuse", "cache_lookups",
    "cache_hits", "srv_icur", "src_ilim", "qtime_max", "ctime_max", "rtime_max", "ttime_max", "eint",
    "idle_conn_cur", "safe_conn_cur", "used_conn_cur", "need_conn_est", "uweight", "agg_server_status",
    "agg_server_check_status", "agg_check_status", "-", "ssl_sess", "ssl_reused_sess", "ssl_failed_handshake",
    "h2_headers_rcvd", "h2_data_rcvd", "h2_settings_rcvd", "h2_rst_stream_rcvd", "h2_goaway_rcvd",
    "h2_detected_conn_protocol_errors", "h2_detected_strm_protocol_errors", "h2_rst_stream_resp", "h2_goaway_resp",
    "h2_open_connections", "h2_backend_open_streams", "h2_total_connections", "h2_backend_total_streams",
    "h1_open_connections", "h1_open_streams", "h1_total_connections", "h1_total_streams", "h1_bytes_in",
    "h1_bytes_out", "h1_spliced_bytes_in", "h1_spliced_bytes_out",
)

# The columns of "show servers state", format version 1.
STATE_COLUMNS = (
    "be_id", "be_name", "srv_id", "srv_name", "srv_addr", "srv_op_state", "srv_admin_state", "srv_uweight",
    "srv_iweight", "srv_time_since_last_change", "srv_check_status", "srv_check_result", "srv_check_health",
    "srv_check_state", "srv_agent_state", "bk_f_forced_id", "srv_f_forced_id", "srv_fqdn", "srv_port", "srvrecord",
    "srv_use_ssl", "srv_check_port", "srv_check_addr", "srv_agent_addr", "srv_agent_port",
)


def stat_row(**values):
    """A "show stat" row with ``values`` in their columns (pxname, svname, status, ...), the others empty."""
    unknown = sorted(set(values) - set(STAT_COLUMNS))
    if unknown:
        raise KeyError("not show stat columns: %s" % ", ".join(unknown))
    return ",".join(str(values.get(name, "")) for name in STAT_COLUMNS) + ","


def show_stat(*rows):
    """The answer to "show stat": the header, one line per row (a line as HAProxy prints it, or a dict of column
    values), and the empty line HAProxy ends with."""
    lines = ["# " + ",".join(STAT_COLUMNS) + ","]
    lines.extend(row if isinstance(row, str) else stat_row(**row) for row in rows)
    return "\n".join(lines) + "\n\n"


def servers_state(*rows):
    """The answer to "show servers state [backend]": format version, header, one line per server as HAProxy prints
    it, and the empty line HAProxy ends with."""
    return "\n".join(["1", "# " + " ".join(STATE_COLUMNS)] + list(rows)) + "\n\n"


def server_state(stat_text, state_text, backend, server):
    """A ServerState built from two answers, as HAProxyRuntime.server() does."""
    state_row = [r for r in parse_servers_state(state_text) if r["be_name"] == backend and r["srv_name"] == server][0]
    stat_row_ = [r for r in parse_show_stat(stat_text) if r["pxname"] == backend and r["svname"] == server][0]
    return ServerState(backend, server, state_row, stat_row_)


# Lines that read the same in STAT_STARTED and STAT_CHANGED.
_STAT_FE_FRONTEND = (
    'fe,FRONTEND,,,0,0,9983,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,0,,,,0,0,0,0,0,0,,0,0,0,,,0,0,0,0,,,,,,,,,,'
    ',,,,,,,,,,,http,,0,0,0,0,0,0,0,,,0,0,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,'
)
_STAT_WEB_WEB3 = (
    'web,web3,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1,1,0,1,1,0,0,,1,3,3,,0,,2,0,,0,L4CON,,0,0,0,0,0,0,0,,,,0,0,0,,,,,-1,'
    'Connection refused,,0,0,0,0,,,,Layer4 connection problem,,1,2,0,,,,127.0.0.1:50879,,http,,,,,,,,0,0,0,,,0,,0,0'
    ',0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,'
)
_STAT_WEB_WEB4 = (
    'web,web4,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,1,1,0,,,1,,,1,3,4,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0'
    ',0,0,,,,,,,,,,,,127.0.0.1:39017,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,'
)
_STAT_WEB_WEB5 = (
    'web,web5,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,0,0,1,1,,1,3,5,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0'
    ',0,0,,,,,,,,,,,,127.0.0.1:39017,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,'
)

STAT_STARTED = show_stat(
    _STAT_FE_FRONTEND,
    'web,web1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,1,0,,1,3,1,,0,,2,0,,0,L7OK,200,3,0,0,0,0,0,0,,,,0,0,0,,,,,-1,'
    ',,0,0,0,0,,,,Layer7 check passed,,1,2,2,,,,127.0.0.1:39017,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,'
    '0,0,,,,,,,,,,,,,,,,,,,,,,',
    'web,web2,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,1,0,,1,3,2,,0,,2,0,,0,L7OK,200,0,0,0,0,0,0,0,,,,0,0,0,,,,,-1,'
    ',,0,0,0,0,,,,Layer7 check passed,,1,2,2,,,,127.0.0.1:37375,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,'
    '0,0,,,,,,,,,,,,,,,,,,,,,,',
    _STAT_WEB_WEB3,
    _STAT_WEB_WEB4,
    _STAT_WEB_WEB5,
    'web,BACKEND,0,0,0,0,999,0,0,0,0,0,,0,0,0,0,UP,3,3,0,,0,1,0,,1,3,0,,0,,1,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,0,0,0,0,-'
    '1,,,0,0,0,0,,,,,,,,,,,,,,http,roundrobin,,,,,,,0,0,0,0,0,,,0,0,0,0,0,,,,,3,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0'
    ',0,0,0,0,3,3,290,48,0,0,',
    'api,api1,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,1,1,0,,,1,,,1,4,1,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0'
    ',0,0,,,,,,,,,,,,127.0.0.1:39017,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,',
    'api,api2,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,,,1,,,1,4,2,,0,web/web1,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0'
    ',0,0,0,,,,,,,,,,,,127.0.0.1:39017,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,',
    'api,BACKEND,0,0,0,0,1,0,0,0,0,0,,0,0,0,0,UP,2,2,0,,0,1,0,,1,4,0,,0,,1,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,0,0,0,0,-1,'
    ',,0,0,0,0,,,,,,,,,,,,,,http,roundrobin,,,,,,,0,0,0,0,0,,,0,0,0,0,0,,,,,2,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0'
    ',0,0,0,0,0,0,0,0,0,',
)

STAT_CHANGED = show_stat(
    _STAT_FE_FRONTEND,
    'web,web1,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,0,1,0,0,,1,3,1,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0'
    ',0,0,,,,,,,,,,,,127.0.0.1:39017,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,',
    'web,web2,0,0,0,0,,0,0,0,,0,,0,0,0,0,DRAIN,7,1,0,0,0,0,0,,1,3,2,,0,,2,0,,0,L7OK,200,0,0,0,0,0,0,0,,,,0,0,0,,,,,'
    '-1,,,0,0,0,0,,,,Layer7 check passed,,1,2,2,,,,127.0.0.1:37375,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,7,,,,-'
    ',0,0,0,,,,,,,,,,,,,,,,,,,,,,',
    _STAT_WEB_WEB3,
    _STAT_WEB_WEB4,
    _STAT_WEB_WEB5,
    'web,BACKEND,0,0,0,0,999,0,0,0,0,0,,0,0,0,0,UP,1,1,0,,0,1,0,,1,3,0,,0,,1,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,0,0,0,0,-'
    '1,,,0,0,0,0,,,,,,,,,,,,,,http,roundrobin,,,,,,,0,0,0,0,0,,,0,0,0,0,0,,,,,1,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0'
    ',0,0,0,0,3,3,290,48,0,0,',
    'api,api1,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,0,1,0,,,1,,,1,4,1,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0'
    ',0,0,,,,,,,,,,,,127.0.0.1:39017,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,0,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,',
    'api,api2,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT (via web/web1),1,1,0,,,0,,,1,4,2,,0,web/web1,2,0,,0,,,,0,0,0,0,0,0,,'
    ',,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:39017,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,'
    ',,,,,,,,,,,,,,,,,,',
    'api,BACKEND,0,0,0,0,1,0,0,0,0,0,,0,0,0,0,DOWN,0,0,0,,1,0,0,,1,4,0,,0,,1,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,0,0,0,0,-'
    '1,,,0,0,0,0,,,,,,,,,,,,,,http,roundrobin,,,,,,,0,0,0,0,0,,,0,0,0,0,0,,,,,0,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0'
    ',0,0,0,0,0,0,0,0,0,0,',
)

STAT_SESSION_IN_FLIGHT = show_stat(
    'web,web1,0,0,1,1,,1,0,0,,0,,0,0,0,0,DRAIN,1,1,0,0,0,0,0,,1,3,1,,1,,2,1,,1,L7OK,200,1,0,0,0,0,0,0,,,,0,0,0,,,,,'
    '0,,,0,0,0,0,,,,Layer7 check passed,,1,2,2,,,,127.0.0.1:33611,,http,,,,,,,,0,1,0,,,0,,0,0,0,0,0,0,0,1,1,1,,,,-,'
    '0,0,0,,,,,,,,,,,,,,,,,,,,,,',
)

STAT_SESSION_ENDED = show_stat(
    'web,web1,0,0,0,1,,1,107,141,,0,,0,0,0,0,DRAIN,1,1,0,0,0,0,0,,1,3,1,,1,,2,1,,1,L7OK,200,1,0,1,0,0,0,0,,,,1,0,0,'
    ',,,,0,,,0,0,50,50,,,,Layer7 check passed,,1,2,2,,,,127.0.0.1:33611,,http,,,,,,,,0,1,0,,,1,,0,0,50,50,0,1,0,0,1'
    ',1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,',
)

STATE_ROWS_STARTED_WEB = (
    '3 web 1 web1 127.0.0.1 2 0 1 1 1 15 3 2 6 0 0 0 - 39017 - 0 0 - - 0',
    '3 web 2 web2 127.0.0.1 2 0 1 1 1 15 3 2 6 0 0 0 - 37375 - 0 0 - - 0',
    '3 web 3 web3 127.0.0.1 0 0 1 1 0 8 2 0 6 0 0 0 - 50879 - 0 0 - - 0',
    '3 web 4 web4 127.0.0.1 2 0 1 1 1 1 0 2 0 0 0 0 - 39017 - 0 0 - - 0',
    '3 web 5 web5 127.0.0.1 0 5 1 1 1 1 0 0 14 0 0 0 - 39017 - 0 0 - - 0',
)

STATE_ROWS_STARTED_API = (
    '4 api 1 api1 127.0.0.1 2 0 1 1 1 1 0 2 0 0 0 0 - 39017 - 0 0 - - 0',
    '4 api 2 api2 127.0.0.1 2 0 1 1 1 1 0 2 0 0 0 0 - 39017 - 0 0 - - 0',
)

STATE_ROWS_CHANGED_WEB = (
    '3 web 1 web1 127.0.0.1 0 1 1 1 0 15 3 0 14 0 0 0 - 39017 - 0 0 - - 0',
    '3 web 2 web2 127.0.0.1 2 8 7 1 0 15 3 2 6 0 0 0 - 37375 - 0 0 - - 0',
    '3 web 3 web3 127.0.0.1 0 0 1 1 0 8 2 0 6 0 0 0 - 50879 - 0 0 - - 0',
    '3 web 4 web4 127.0.0.1 2 0 1 1 1 1 0 2 0 0 0 0 - 39017 - 0 0 - - 0',
    '3 web 5 web5 127.0.0.1 0 5 1 1 1 1 0 0 14 0 0 0 - 39017 - 0 0 - - 0',
)

STATE_ROWS_CHANGED_API = (
    '4 api 1 api1 127.0.0.1 2 0 0 1 1 1 0 2 0 0 0 0 - 39017 - 0 0 - - 0',
    '4 api 2 api2 127.0.0.1 0 2 1 1 0 1 0 0 0 0 0 0 - 39017 - 0 0 - - 0',
)

SERVERS_STATE_STARTED = servers_state(*STATE_ROWS_STARTED_WEB + STATE_ROWS_STARTED_API)
SERVERS_STATE_CHANGED = servers_state(*STATE_ROWS_CHANGED_WEB + STATE_ROWS_CHANGED_API)
# "show servers state web"
SERVERS_STATE_STARTED_WEB = servers_state(*STATE_ROWS_STARTED_WEB)
SERVERS_STATE_CHANGED_WEB = servers_state(*STATE_ROWS_CHANGED_WEB)

SHOW_BACKEND = (
    '# name\n'
    'web\n'
    'api\n'
    '\n'
)

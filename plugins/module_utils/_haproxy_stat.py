# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What an HAProxy runtime API answers, read without I/O.

``show stat`` (CSV) and ``show servers state`` (format 1) parsed into rows, the
``server`` lines of a configuration, the srv_admin_state bits and their names,
and ``ServerState``: one server as the two answers describe it. An answer that
is not what it should be raises ``HAProxyAnswerError``; the client
(_haproxy_client) adds the endpoint it came from.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv

from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError

# srv_admin_state bits of "show servers state" (HAProxy's enum srv_admin).
ADMF_FMAINT = 0x01  # forced into maintenance (set server ... state maint, "disabled")
ADMF_IMAINT = 0x02  # maintenance inherited from a tracked server
ADMF_CMAINT = 0x04  # "disabled" in the configuration (kept as a memory after ready)
ADMF_FDRAIN = 0x08  # forced into drain (set server ... state drain)
ADMF_IDRAIN = 0x10  # drain inherited from a tracked server
ADMF_RMAINT = 0x20  # maintenance because its address could not be resolved
ADMF_HMAINT = 0x40  # FQDN set through the runtime API
ADMF_MAINT_MASK = ADMF_FMAINT | ADMF_IMAINT | ADMF_RMAINT
ADMF_DRAIN_MASK = ADMF_FDRAIN | ADMF_IDRAIN

ADMIN_FLAG_NAMES = (
    (ADMF_FMAINT, "forced maint"),
    (ADMF_IMAINT, "maint inherited from a tracked server"),
    (ADMF_CMAINT, "disabled in the configuration"),
    (ADMF_FDRAIN, "forced drain"),
    (ADMF_IDRAIN, "drain inherited from a tracked server"),
    (ADMF_RMAINT, "maint after an address resolution failure"),
    (ADMF_HMAINT, "FQDN set at runtime"),
)

# srv_op_state of "show servers state" (HAProxy's enum srv_state).
OP_STATES = {0: "stopped", 1: "starting", 2: "running", 3: "stopping"}

# The admin states "set server ... state" forces.
ADMIN_STATES = ("ready", "drain", "maint")

# show stat "status" values of a server that takes traffic normally. "UP 1/3"
# and the like are transitional (a check is pending or failed) and do not count.
UP_STATUSES = ("UP", "no check")

# Columns the client reads; an answer without them is refused rather than read as defaults.
STAT_COLUMNS = ("pxname", "svname", "scur", "status")
STATE_COLUMNS = ("be_name", "srv_name", "srv_op_state", "srv_admin_state")


class HAProxyAnswerError(BatonError):
    """An answer of the runtime API that cannot be read as the answer to its command."""


def parse_show_stat(text):
    """Parse the CSV of ``show stat`` into a list of dicts (one per line, values as strings).

    Keys are the CSV header names (pxname, svname, scur, status, weight, ...).
    Raises HAProxyError when the text is not a ``show stat`` answer.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("# pxname,"):
        raise HAProxyAnswerError("unexpected answer to 'show stat': %s" % shorten(text))
    header = lines[0][2:].split(",")
    missing = [name for name in STAT_COLUMNS if name not in header]
    if missing:
        raise HAProxyAnswerError("the 'show stat' answer has no %s column (header: %s)" % (", ".join(missing), shorten(lines[0])))
    rows = []
    try:
        for number, values in enumerate(csv.reader(lines[1:]), 2):
            if len(values) != len(header):
                raise HAProxyAnswerError("line %d of the 'show stat' answer has %d fields where its header has %d (a cut or "
                                         "garbled answer): %s" % (number, len(values), len(header), shorten(",".join(values), 120)))
            row = dict(zip(header, values))
            row.pop("", None)
            rows.append(row)
    except csv.Error as exc:
        raise HAProxyAnswerError("the 'show stat' answer is not valid CSV (%s): %s" % (exc, shorten(text)))
    return rows


def parse_servers_state(text):
    """Parse ``show servers state`` (format version 1) into a list of dicts (values as strings).

    Keys are the header names (be_name, srv_name, srv_op_state, srv_admin_state,
    srv_uweight, srv_addr, srv_port, ...). Raises HAProxyError on another answer.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2 or not lines[0].strip().isdigit() or not lines[1].startswith("# "):
        raise HAProxyAnswerError("unexpected answer to 'show servers state': %s" % shorten(text))
    if lines[0].strip() != "1":
        raise HAProxyAnswerError("'show servers state' format version %s is not supported (only 1)" % lines[0].strip())
    header = lines[1][2:].split()
    missing = [name for name in STATE_COLUMNS if name not in header]
    if missing:
        raise HAProxyAnswerError("the 'show servers state' answer has no %s column (header: %s)"
                                 % (", ".join(missing), shorten(lines[1])))
    rows = []
    for number, line in enumerate(lines[2:], 3):
        fields = line.split()
        if len(fields) != len(header):
            raise HAProxyAnswerError("line %d of the 'show servers state' answer has %d fields where its header has %d (a cut "
                                     "or garbled answer): %s" % (number, len(fields), len(header), shorten(line, 120)))
        row = dict(zip(header, fields))
        for name in ("srv_op_state", "srv_admin_state"):
            if not row[name].isdigit():
                raise HAProxyAnswerError("line %d of the 'show servers state' answer has %s %r, not a number: %s"
                                         % (number, name, row[name], shorten(line, 120)))
        rows.append(row)
    return rows


def config_servers(config_text):
    """``{(backend, server): (address, port)}`` of the ``server`` lines of an HAProxy config."""
    servers = {}
    section = None
    for raw in config_text.splitlines():
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        if words[0] in ("backend", "listen") and len(words) > 1:
            section = words[1]
        elif words[0] in ("global", "defaults", "frontend", "resolvers", "peers", "userlist", "program"):
            section = None
        elif words[0] == "server" and section and len(words) > 2:
            address, _sep, port = words[2].rpartition(":")
            servers[(section, words[1])] = (address.strip("[]"), port)
    return servers


def filter_server_state(state_text, config_text):
    """Keep, of a ``show servers state`` dump, the servers the config still has at the same address and port.

    HAProxy applies the address and port of a loaded state over the config's,
    so a server moved in the config must not get its old state back.
    """
    wanted = config_servers(config_text)
    lines = state_text.splitlines()
    header = list(lines[:2])
    kept = []
    for line in lines[2:]:
        fields = line.split()
        if len(fields) < 19 or line.startswith("#"):
            continue
        key = (fields[1], fields[3])
        if wanted.get(key) == (fields[4], fields[18]):
            kept.append(line)
    return "\n".join(header + kept) + "\n"


def decode_admin_state(bits):
    """Decode a srv_admin_state bitfield.

    Returns a dict:
      ``state``: effective admin state, ``maint`` / ``drain`` / ``ready``
        (maint wins over drain, as in HAProxy);
      ``forced``: the state forced through the runtime API or ``disabled``
        (what ``set server ... state`` changes): ``maint`` / ``drain`` / ``ready``;
      ``flags``: readable names of every bit set.
    """
    bits = int(bits)
    if bits & ADMF_MAINT_MASK:
        effective = "maint"
    elif bits & ADMF_DRAIN_MASK:
        effective = "drain"
    else:
        effective = "ready"
    if bits & ADMF_FMAINT:
        forced = "maint"
    elif bits & ADMF_FDRAIN:
        forced = "drain"
    else:
        forced = "ready"
    return dict(state=effective, forced=forced, flags=[name for bit, name in ADMIN_FLAG_NAMES if bits & bit])


def _int(value, default=0):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def shorten(text, limit=300):
    text = (text or "").strip()
    if not text:
        return "(empty answer)"
    return text if len(text) <= limit else text[:limit] + "..."


class ServerState(object):
    """What HAProxy reports about one server, read from ``show servers state`` and ``show stat``.

    Attributes: backend, server, admin_bits (int), admin_state (effective:
    ready/drain/maint), forced_state (what the runtime API forced), admin_flags
    (list of names), op_state (stopped/starting/running/stopping), status
    (show stat status, e.g. "UP", "DOWN", "MAINT", "DRAIN", "no check",
    "UP 1/3"), weight (user weight, 0-256), sessions (scur), queued (qcur),
    check_status (e.g. "L7OK", "L4CON"), check_desc, address (ip:port).
    """

    def __init__(self, backend, server, state_row, stat_row):
        self.backend = backend
        self.server = server
        self.admin_bits = _int(state_row.get("srv_admin_state"))
        decoded = decode_admin_state(self.admin_bits)
        self.admin_state = decoded["state"]
        self.forced_state = decoded["forced"]
        self.admin_flags = decoded["flags"]
        self.op_state = OP_STATES.get(_int(state_row.get("srv_op_state"), -1), "unknown")
        self.weight = _int(state_row.get("srv_uweight"), _int(stat_row.get("uweight"), _int(stat_row.get("weight"))))
        self.status = stat_row.get("status", "")
        self.sessions = _int(stat_row.get("scur"))
        self.queued = _int(stat_row.get("qcur"))
        self.check_status = stat_row.get("check_status", "")
        self.check_desc = stat_row.get("last_chk") or stat_row.get("check_desc", "")
        address = state_row.get("srv_addr", "")
        port = state_row.get("srv_port", "")
        self.address = "%s:%s" % (address, port) if port and port != "0" else address

    @property
    def name(self):
        return "%s/%s" % (self.backend, self.server)

    @property
    def is_up(self):
        """True when the server is ready and HAProxy reports it fully UP (or runs no check)."""
        return self.admin_state == "ready" and self.status in UP_STATUSES

    @property
    def is_drained(self):
        """True when no session and no queued request is left on the server."""
        return self.sessions == 0 and self.queued == 0

    def as_dict(self):
        """The public view used in module results: admin_state, status, weight, sessions, queued."""
        return dict(admin_state=self.admin_state, status=self.status, weight=self.weight,
                    sessions=self.sessions, queued=self.queued)

    def describe_check(self):
        """", last check L4CON (Connection refused)" or "" when the server has no check. HAProxy marks the status of a
        check that is running again with "* " in front: the result named is still the last one's."""
        status = self.check_status[2:] if self.check_status.startswith("* ") else self.check_status
        if not status:
            return ""
        detail = " (%s)" % self.check_desc if self.check_desc else ""
        return ", last check %s%s" % (status, detail)

    def __repr__(self):
        return "ServerState(%s, %r)" % (self.name, self.as_dict())

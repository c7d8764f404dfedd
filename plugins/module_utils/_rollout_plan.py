# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Plans a host's rollout (pure: no I/O here); _rollout_engine.py executes the plan.

A host's rollout replaces *units* one at a time. A unit is one container
(a master or backup slot, a stack replica, a worker) and, when it serves
behind HAProxy, one server on every load balancer in front of the host.

The planner is given what the engine observed:

units
    In rollout order, each a dict: ``name``; ``change`` (what the container
    planning found: ``none``, ``create``, ``replace``, ``start`` or
    ``recover``); ``serving`` (the container runs and answers its health
    check now); ``servers``, one per load balancer, each a dict ``lb`` (the
    endpoint), ``backend``, ``server``, ``admin`` (ready, drain or maint) and
    ``up`` (HAProxy reports it UP). A worker has no servers.
journal
    What the last run of this app on this host left behind, or None: its
    ``out`` list names the servers it took out of rotation and had not put
    back when it ended (each ``{"lb", "backend", "server"}``).

and returns the ordered steps, each a dict ``unit`` and ``action``:

``restore``
    probe the unit, then put the servers an interrupted run took out back to
    ready on their load balancers and wait until they are UP;
``drain``
    drain the unit's servers on every load balancer and wait until none of
    them has a session;
``maint``
    put them in maintenance on every load balancer;
``swap``
    replace the container (old one kept aside until the new one is healthy);
``ready``
    put the servers back to ready everywhere and wait until all are UP;
``remove``
    remove a unit the host no longer has (change ``remove``), after ``drain``
    and ``maint`` of its servers, which stay in maintenance.

Rules: restores come first, so that a host never has two units out of
rotation at once; then every changing unit in order. The steps of a unit act on
its servers in rotation and on those the journal names; a server someone else
took out of rotation stays out, even when its unit is replaced. Units to
remove leave after every other unit, with no peer needed. A unit behind HAProxy
that serves now is taken out only when, on every load balancer, another
unit of the same backend serves (or is put back before it); the first
deploy, where nothing serves yet, needs no such peer. A server out of
rotation that the journal does not name was put there by someone else: it
is left alone and reported in ``held``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError
from ansible_collections.baton.docker.plugins.module_utils._params import (
    LABEL_BACKEND,
    LABEL_ENTRY,
    LABEL_KIND,
    LABEL_SERVER,
    LABEL_SLOT,
)

CHANGES = ("none", "create", "replace", "start", "recover", "remove")
ADMIN_STATES = ("ready", "drain", "maint")
SERVER_STEPS = ("drain", "maint", "swap", "ready")


class PlanError(BatonError, ValueError):
    """The rollout cannot go ahead safely; nothing has been changed."""


class NoServingPeer(PlanError):
    """A serving unit would be the last one of its backend on a load balancer. ``recovering`` tells whether another
    server there is in rotation with its container serving, its health check DOWN for now: it may come UP soon."""

    def __init__(self, message, recovering):
        super(NoServingPeer, self).__init__(message)
        self.recovering = recovering


def server_key(server):
    return (server["lb"], server["backend"], server["server"])


def describe_server(server):
    return "%s/%s on %s" % (server["backend"], server["server"], server["lb"])


def in_rotation(server):
    return server["admin"] == "ready" and bool(server["up"])


def serving_everywhere(unit):
    """Whether a unit has servers and every one of them is in rotation and UP."""
    servers = unit.get("servers") or []
    return bool(servers) and all(in_rotation(s) for s in servers)


def _check_units(units):
    seen = set()
    for index, unit in enumerate(units):
        name = unit.get("name")
        if not name:
            raise PlanError("units[%d]: a unit needs a name" % index)
        if name in seen:
            raise PlanError("units[%d]: unit %s is listed twice" % (index, name))
        seen.add(name)
        if unit.get("change") not in CHANGES:
            raise PlanError("units[%d] (%s): unknown change %r" % (index, name, unit.get("change")))
        for server in unit.get("servers") or []:
            if server.get("admin") not in ADMIN_STATES:
                raise PlanError("units[%d] (%s): %s has unknown admin state %r"
                                % (index, name, describe_server(server), server.get("admin")))


def _journal_out(journal):
    return set(server_key(s) for s in ((journal or {}).get("out") or []))


def _peer_recovering(units, name, server):
    """Whether another unit than ``name`` has a server on ``server``'s load balancer and backend that is in rotation,
    its container serving, and only its health check DOWN."""
    for unit in units:
        if unit["name"] == name or unit["change"] == "remove" or not unit.get("serving", True):
            continue
        for peer in unit.get("servers") or []:
            if (peer["lb"], peer["backend"]) == (server["lb"], server["backend"]) and peer["admin"] == "ready" \
                    and not peer["up"]:
                return True
    return False


def plan_rollout(units, journal=None, require_serving_peer=True):
    """The ordered steps of a host's rollout; see the module docstring.

    Returns a dict: ``steps`` (list of {unit, action}), ``changing`` (names of
    the units whose container changes), ``restoring`` (names of the units an
    interrupted run left out of rotation), ``held`` (servers out of rotation
    that no run of ours took out, as "backend/server on lb").
    Raises NoServingPeer (a PlanError) when a serving unit would be the last one of its backend.
    """
    _check_units(units)
    ours = _journal_out(journal)
    steps = []
    restoring = []
    held = []
    for unit in units:
        servers = unit.get("servers") or []
        out = [s for s in servers if s["admin"] != "ready" and server_key(s) in ours]
        held.extend(describe_server(s) for s in servers if s["admin"] != "ready" and server_key(s) not in ours)
        if out and unit["change"] == "none":
            steps.append(dict(unit=unit["name"], action="restore"))
            restoring.append(unit["name"])

    def ours_or_ready(server):
        return server["admin"] == "ready" or server_key(server) in ours

    # Which units serve on each (lb, backend): observed now, plus those a restore puts back.
    serving = {}
    for unit in units:
        for server in unit.get("servers") or []:
            group = serving.setdefault((server["lb"], server["backend"]), set())
            serves_now = in_rotation(server) and unit.get("serving", True)
            if serves_now or (unit["name"] in restoring and ours_or_ready(server)):
                group.add(unit["name"])

    changing = [unit["name"] for unit in units if unit["change"] != "none"]
    for unit in [u for u in units if u["change"] != "remove"] + [u for u in units if u["change"] == "remove"]:
        if unit["change"] == "none":
            continue
        servers = unit.get("servers") or []
        last = "remove" if unit["change"] == "remove" else "swap"
        if not servers:
            steps.append(dict(unit=unit["name"], action=last))
            continue
        if unit["change"] == "remove":
            steps.extend(dict(unit=unit["name"], action=action) for action in ("drain", "maint", "remove"))
            for server in servers:
                serving[(server["lb"], server["backend"])].discard(unit["name"])
            continue
        if require_serving_peer:
            for server in servers:
                group = serving[(server["lb"], server["backend"])]
                if unit["name"] in group and not group - set([unit["name"]]):
                    raise NoServingPeer(
                        "%s is the only server of backend %s on load balancer %s that serves: taking %s out "
                        "of rotation would leave no server there. Nothing was changed."
                        % (server["server"], server["backend"], server["lb"], unit["name"]),
                        _peer_recovering(units, unit["name"], server))
        steps.extend(dict(unit=unit["name"], action=action) for action in SERVER_STEPS)
        # Once back, the unit serves again where it is put back (the executor waits until it is UP there); a server
        # someone else took out of rotation stays out.
        for server in servers:
            if ours_or_ready(server):
                serving[(server["lb"], server["backend"])].add(unit["name"])
    return dict(steps=steps, changing=changing, restoring=restoring, held=held)


def journal_after(journal_out, unit_servers, action):
    """The journal's ``out`` list once ``action`` of a unit is about to run (drain, maint) or has run (ready,
    restore) or its unit is removed (remove). Servers are added before they leave rotation and dropped only once they
    are back; a removed unit's servers stay, marked ``removed``, so that a unit made again later under that name
    is put back in rotation by us."""
    out = [dict(s) for s in journal_out]
    keys = set(server_key(s) for s in out)
    if action in ("drain", "maint"):
        for server in unit_servers:
            if server_key(server) not in keys:
                out.append(dict(lb=server["lb"], backend=server["backend"], server=server["server"]))
                keys.add(server_key(server))
        return out
    if action in ("ready", "restore"):
        gone = set(server_key(s) for s in unit_servers)
        return [s for s in out if server_key(s) not in gone]
    if action == "remove":
        removed = set(server_key(s) for s in unit_servers)
        return [dict(s, removed=True) if server_key(s) in removed else s for s in out]
    return out


def step_timeline(events):
    """Per unit, the steps that ran with their seconds: events are dicts unit, action, started, ended (epoch
    seconds). Returns a list of {unit, steps: [{action, started, seconds}], out_of_rotation_seconds}."""
    units = []
    index = {}
    for event in events:
        name = event["unit"]
        if name not in index:
            index[name] = len(units)
            units.append(dict(unit=name, steps=[]))
        units[index[name]]["steps"].append(dict(action=event["action"], started=round(event["started"], 3),
                                                seconds=round(event["ended"] - event["started"], 3)))
    for unit in units:
        begins = [s["started"] for s in unit["steps"] if s["action"] == "drain"]
        ends = [s["started"] + s["seconds"] for s in unit["steps"] if s["action"] in ("ready", "restore")]
        unit["out_of_rotation_seconds"] = round(ends[-1] - begins[0], 3) if begins and ends else None
    return units


def _short(ref_or_id):
    if not ref_or_id:
        return None
    if ref_or_id.startswith("sha256:"):
        return ref_or_id[:19]
    return ref_or_id


def unit_summary(swap):
    """One line of a rollout report from a container_swap result (with its ``slot`` name)."""
    image = swap.get("image") or {}
    container = swap.get("container") or {}
    summary = {
        "slot": swap.get("slot") or container.get("name"),
        "old": _short(image.get("old_ref") or image.get("old_id")) or "(new slot)",
        "new": _short(image.get("ref") or image.get("new_id")),
        "seconds_to_healthy": swap.get("seconds_to_healthy"),
        "rolled_back": bool(swap.get("rolled_back")),
    }
    if swap.get("killed_at_stop_timeout") is not None:
        summary["killed_at_stop_timeout"] = swap["killed_at_stop_timeout"]
    return summary


def summary_lines(units, timeline, restored=(), check_mode=False):
    """One line per unit for people: units are unit_summary() dicts with ``action``; timeline as step_timeline()."""
    out = dict((t["unit"], t["out_of_rotation_seconds"]) for t in timeline)
    lines = []
    for unit in units:
        name, action = unit["slot"], unit.get("action", "none")
        if action == "none":
            line = "%s: unchanged" % name
        elif action == "not reached":
            line = "%s: not reached, the rollout stopped before it (still %s)" % (name, unit["old"])
        elif action == "remove":
            line = "%s: %s (%s)" % (name, "would be removed" if check_mode else "removed", unit["old"])
        elif check_mode:
            line = "%s: would %s (%s -> %s)" % (name, action, unit["old"], unit["new"])
        elif unit["rolled_back"]:
            line = "%s: %s never turned healthy; rolled back to %s" % (name, unit["new"], unit["old"])
        else:
            line = "%s: %s -> %s" % (name, unit["old"], unit["new"])
            if unit.get("seconds_to_healthy") is not None:
                line += ", healthy after %s s" % unit["seconds_to_healthy"]
        if out.get(name) is not None:
            line += ", out of rotation %s s" % out[name]
        shut = unit.get("sessions_shut_down")
        if shut:
            line += "; %d session(s) still open after the %s s drain were shut down" % (shut["count"], shut["after_seconds"])
        if unit.get("killed_at_stop_timeout") is not None:
            line += "; the old container ignored its stop signal and was killed after %s s" % unit["killed_at_stop_timeout"]
        if name in restored:
            line += "; put back in rotation after an interrupted run"
        lines.append(line)
    return lines


UNIT_KINDS = ("http", "worker", "manual", "service", "cron")


def orphans(existing, wanted_names, labels):
    """Containers deployed as units (their baton.kind) that carry every one of ``labels`` and that the spec no
    longer asks for, sorted by name.

    ``existing`` is a list of {name, labels}. Data containers, one-off runs and
    containers without those labels are never orphans; a slot's kept-aside
    ``.baton-previous`` container counts under its slot's name.
    """
    wanted = set(wanted_names)
    found = {}
    for container in existing:
        own = container.get("labels") or {}
        if own.get(LABEL_KIND) not in UNIT_KINDS or any(own.get(k) != v for k, v in labels.items()):
            continue
        name = own.get(LABEL_SLOT) or container["name"]
        if name in wanted:
            continue
        entry = found.setdefault(name, dict(name=name, entry=own.get(LABEL_ENTRY), kind=own.get(LABEL_KIND),
                                            backend=own.get(LABEL_BACKEND), server=own.get(LABEL_SERVER)))
        for key, label in (("backend", LABEL_BACKEND), ("server", LABEL_SERVER)):
            entry[key] = entry[key] or own.get(label)
    return [found[name] for name in sorted(found)]

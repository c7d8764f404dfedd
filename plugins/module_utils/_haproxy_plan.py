# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which runtime API steps bring one HAProxy server to a wanted admin state and weight, decided without I/O.

``plan_server_change()`` returns the steps; ``step_command()`` words a write
step as its runtime command, ``steps_change()`` tells whether any step writes,
and ``predict_after()`` gives the state expected once the writes are applied
(check mode). ``HAProxyRuntime`` (_haproxy_client) carries the steps out.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError
from ansible_collections.baton.docker.plugins.module_utils._haproxy_stat import (
    ADMF_FDRAIN,
    ADMF_FMAINT,
    ADMIN_STATES,
    decode_admin_state,
)


class UnknownAdminState(BatonError, ValueError):
    """An admin state other than ready, drain and maint."""


def admin_bits_after(bits, state):
    """The srv_admin_state bits after ``set server ... state <state>`` (as HAProxy applies it).

    ready clears forced maint and forced drain; drain sets forced drain and
    clears forced maint; maint sets forced maint and clears forced drain.
    Inherited and resolution flags are left alone: the runtime API cannot clear them.
    """
    bits = int(bits)
    if state == "ready":
        return bits & ~(ADMF_FMAINT | ADMF_FDRAIN)
    if state == "drain":
        return (bits | ADMF_FDRAIN) & ~ADMF_FMAINT
    if state == "maint":
        return (bits | ADMF_FMAINT) & ~ADMF_FDRAIN
    raise UnknownAdminState("unknown admin state %r" % (state,))


def plan_server_change(current, state=None, weight=None, drain=False, wait=True):
    """Decide the runtime steps that bring one server to the wanted state and weight.

    ``current`` is a ServerState (only ``admin_bits`` and ``weight`` are read).
    Returns an ordered list of steps, each a tuple:

      ``("set_weight", int)``  -> ``set server B/S weight N``
      ``("set_state", str)``   -> ``set server B/S state ready|drain|maint``
      ``("wait_sessions",)``   -> wait until the server has no session left
      ``("wait_up",)``         -> wait until HAProxy reports the server UP

    Rules: a state already forced is not set again, a weight already in place
    is not set again. ``state="maint"`` with ``drain=True`` drains first, waits
    for the sessions to end, then sets maint (nothing at all when the server is
    already in maint). ``state="drain"`` waits for the sessions when ``wait`` or
    ``drain`` is true. ``state="ready"`` sets the weight first (so the server
    comes back with it) and waits for UP when ``wait`` is true. For drain and
    maint the weight is set after the state, so it never adds traffic to a
    server being taken out.
    """
    if state is not None and state not in ADMIN_STATES:
        raise UnknownAdminState("unknown admin state %r" % (state,))
    forced = decode_admin_state(current.admin_bits)["forced"]
    weight_steps = []
    if weight is not None and int(weight) != current.weight:
        weight_steps.append(("set_weight", int(weight)))
    steps = []
    if state == "ready":
        steps.extend(weight_steps)
        if forced != "ready":
            steps.append(("set_state", "ready"))
        if wait:
            steps.append(("wait_up",))
        return steps
    if state == "drain":
        if forced != "drain":
            steps.append(("set_state", "drain"))
        if wait or drain:
            steps.append(("wait_sessions",))
    elif state == "maint":
        if forced != "maint":
            if drain:
                if forced != "drain":
                    steps.append(("set_state", "drain"))
                steps.append(("wait_sessions",))
            steps.append(("set_state", "maint"))
    steps.extend(weight_steps)
    return steps


def steps_change(steps):
    """True when the steps contain a write (set_state or set_weight)."""
    return any(step[0].startswith("set_") for step in steps)


def step_command(backend, server, step):
    """The runtime API command of a write step, or None for a wait step."""
    if step[0] == "set_state":
        return "set server %s/%s state %s" % (backend, server, step[1])
    if step[0] == "set_weight":
        return "set server %s/%s weight %d" % (backend, server, step[1])
    return None


def predict_after(current, steps):
    """The state dict (as ServerState.as_dict()) expected once the write steps are applied.

    Used in check mode. Admin state and weight are predicted; status, sessions
    and queued are the observed ones (they depend on traffic and checks).
    """
    bits = current.admin_bits
    weight = current.weight
    for step in steps:
        if step[0] == "set_state":
            bits = admin_bits_after(bits, step[1])
        elif step[0] == "set_weight":
            weight = step[1]
    after = current.as_dict()
    after.update(admin_state=decode_admin_state(bits)["state"], weight=weight)
    return after

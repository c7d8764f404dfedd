"""Unit tests of the HAProxy server-state planning: which runtime steps bring a server to a wanted state and weight,
and what the server looks like once they are applied."""

import pytest

from ansible_collections.baton.docker.plugins.module_utils import _haproxy_plan as pl
from tests.support.haproxy_answers import (
    SERVERS_STATE_CHANGED,
    SERVERS_STATE_STARTED,
    STAT_CHANGED,
    STAT_STARTED,
    server_state,
)


class Current:
    """The two fields plan_server_change() reads."""

    def __init__(self, admin_bits=0, weight=1):
        self.admin_bits = admin_bits
        self.weight = weight


# ---------------------------------------------------------------------------
# admin state bits after a write
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("bits, state, expected", [
    (0x00, "drain", 0x08),
    (0x00, "maint", 0x01),
    (0x08, "maint", 0x01),  # HAProxy clears forced drain when forcing maint
    (0x01, "drain", 0x08),
    (0x09, "ready", 0x00),
    (0x05, "ready", 0x04),
    (0x02, "ready", 0x02),  # inherited maint stays
    (0x12, "maint", 0x13),
])
def test_admin_bits_after(bits, state, expected):
    assert pl.admin_bits_after(bits, state) == expected


def test_admin_bits_after_refuses_unknown_state():
    with pytest.raises(pl.UnknownAdminState):
        pl.admin_bits_after(0, "up")


# ---------------------------------------------------------------------------
# planning
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("bits, weight, kwargs, steps", [
    # drain
    (0x00, 1, dict(state="drain"), [("set_state", "drain"), ("wait_sessions",)]),
    (0x00, 1, dict(state="drain", wait=False), [("set_state", "drain")]),
    (0x08, 1, dict(state="drain"), [("wait_sessions",)]),
    (0x08, 1, dict(state="drain", wait=False), []),
    (0x01, 1, dict(state="drain", wait=False), [("set_state", "drain")]),
    (0x08, 1, dict(state="drain", wait=False, drain=True), [("wait_sessions",)]),
    # maint
    (0x00, 1, dict(state="maint"), [("set_state", "maint")]),
    (0x01, 1, dict(state="maint"), []),
    (0x05, 1, dict(state="maint"), []),
    (0x02, 1, dict(state="maint"), [("set_state", "maint")]),  # inherited maint is not forced
    (0x00, 1, dict(state="maint", drain=True), [("set_state", "drain"), ("wait_sessions",), ("set_state", "maint")]),
    (0x00, 1, dict(state="maint", drain=True, wait=False),
     [("set_state", "drain"), ("wait_sessions",), ("set_state", "maint")]),
    (0x08, 1, dict(state="maint", drain=True), [("wait_sessions",), ("set_state", "maint")]),
    (0x01, 1, dict(state="maint", drain=True), []),
    # ready
    (0x01, 1, dict(state="ready"), [("set_state", "ready"), ("wait_up",)]),
    (0x08, 1, dict(state="ready", wait=False), [("set_state", "ready")]),
    (0x00, 1, dict(state="ready"), [("wait_up",)]),
    (0x00, 1, dict(state="ready", wait=False), []),
    (0x04, 1, dict(state="ready", wait=False), []),
    (0x02, 1, dict(state="ready", wait=False), []),  # nothing the runtime API can clear
    # weight
    (0x00, 1, dict(weight=1), []),
    (0x00, 1, dict(weight=50), [("set_weight", 50)]),
    (0x00, 3, dict(weight=0), [("set_weight", 0)]),
    (0x01, 1, dict(state="ready", weight=5), [("set_weight", 5), ("set_state", "ready"), ("wait_up",)]),
    (0x00, 1, dict(state="maint", drain=True, weight=0),
     [("set_state", "drain"), ("wait_sessions",), ("set_state", "maint"), ("set_weight", 0)]),
    (0x00, 1, dict(state="drain", weight=2, wait=False), [("set_state", "drain"), ("set_weight", 2)]),
])
def test_plan_server_change(bits, weight, kwargs, steps):
    assert pl.plan_server_change(Current(bits, weight), **kwargs) == steps


def test_plan_refuses_unknown_state():
    with pytest.raises(pl.UnknownAdminState):
        pl.plan_server_change(Current(), state="up")


@pytest.mark.parametrize("steps, changes", [
    ([], False),
    ([("wait_up",)], False),
    ([("wait_sessions",), ("set_state", "maint")], True),
    ([("set_weight", 0)], True),
])
def test_steps_change(steps, changes):
    assert pl.steps_change(steps) is changes


@pytest.mark.parametrize("step, command", [
    (("set_state", "drain"), "set server app/app1 state drain"),
    (("set_weight", 12), "set server app/app1 weight 12"),
    (("wait_up",), None),
    (("wait_sessions",), None),
])
def test_step_command(step, command):
    assert pl.step_command("app", "app1", step) == command


@pytest.mark.parametrize("server, steps, admin_state, weight", [
    ("web1", [("set_state", "drain"), ("wait_sessions",), ("set_state", "maint")], "maint", 1),
    ("web1", [("set_weight", 9)], "ready", 9),
    ("web5", [("set_state", "ready")], "ready", 1),
    ("web1", [], "ready", 1),
])
def test_predict_after(server, steps, admin_state, weight):
    current = server_state(STAT_STARTED, SERVERS_STATE_STARTED, "web", server)
    after = pl.predict_after(current, steps)
    assert after["admin_state"] == admin_state
    assert after["weight"] == weight
    assert after["status"] == current.status and after["sessions"] == current.sessions


def test_predict_after_keeps_inherited_maint():
    current = server_state(STAT_CHANGED, SERVERS_STATE_CHANGED, "api", "api2")
    assert pl.predict_after(current, [("set_state", "ready")])["admin_state"] == "maint"

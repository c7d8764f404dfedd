#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: haproxy_backend
short_description: Set and wait on one server of an HAProxy backend through the runtime API
version_added: 0.1.0
description:
  - Puts one server of an HAProxy backend in the C(ready), C(drain) or C(maint) admin state and/or sets its weight,
    through HAProxy's runtime API (a unix socket or a TCP C(host:port)).
  - Waits, bounded by O(wait_timeout), for what the change is meant to achieve. After C(drain) it waits until the
    server has no session left; after C(ready) it waits until HAProxy reports the server UP.
  - With O(state=maint) and O(drain=true), it drains the server first, waits for its last session to end, then puts it
    in maintenance, all in one task. That is how a server is taken out of rotation before its container is stopped.
  - Reads the current state first and only sends the commands needed. A server already in the requested state and
    weight gives C(changed=false), and any wait that is already satisfied returns at once.
  - The admin state is decoded from the C(srv_admin_state) bits of C(show servers state), so a state forced through the
    runtime API is told apart from one inherited from a tracked server. The operational status comes from the
    C(status) column of C(show stat).
author:
  - baton.docker maintainers (@baton-docker)
extends_documentation_fragment:
  - baton.docker.attributes
  - baton.docker.haproxy
attributes:
  check_mode:
    description: Validates the socket, backend and server and reports what would change. Sends no command that changes
      anything, and does not wait.
  diff_mode:
    description: Shows the server's admin state, status, weight and sessions before and after.
  platform:
    description: Runs on the host that can reach the HAProxy runtime socket, usually the HAProxy host itself.
options:
  backend:
    description:
      - Name of the HAProxy backend (or C(listen) section) the server belongs to.
    type: str
    required: true
  server:
    description:
      - Name of the server in O(backend), as given on its C(server) line.
    type: str
    required: true
  state:
    description:
      - Admin state wanted for the server.
      - V(ready) puts it back in rotation (clears a forced drain or maint).
      - V(drain) stops new traffic to it, while sessions it already has go on.
      - V(maint) takes it out completely. Use O(drain=true) to let its sessions finish first.
      - May be left out when only O(weight) is set.
      - A state inherited from a tracked server cannot be changed here. When V(ready) is asked for but the server stays
        in maint or drain because of the server it tracks, the task fails and says so.
    type: str
    choices: [ready, drain, maint]
  weight:
    description:
      - Weight for the server, from 0 to 256. A weight of 0 keeps the server from getting new traffic.
      - With V(ready) the weight is set before the server comes back. With V(drain) or V(maint) it is set after.
    type: int
  drain:
    description:
      - Only with O(state=maint) (or O(state=drain)). Sets the server to drain first, waits until it has no session
        left (bounded by O(wait_timeout)), and only then puts it in maintenance.
      - This wait happens whatever O(wait) says. Draining is pointless without it.
      - Does nothing when the server is already in maint.
    type: bool
    default: false
  wait:
    description:
      - After O(state=drain), wait until the server has no session and no queued request left.
      - After O(state=ready), wait until HAProxy reports the server C(UP) after a passing check, or C(no check) for a
        server that is not health checked. A status in transition such as C(UP 1/3) does not count.
      - Already satisfied waits return at once. Waits are skipped in check mode.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds each wait may take before the task fails. The failure message names the server, what was awaited and
        the last value seen.
    type: float
    default: 30.0
  poll_interval:
    description:
      - Seconds between two polls of the runtime API while waiting.
    type: float
    default: 0.2
    aliases: [wait_interval]
  ignore_missing:
    description:
      - What to do when O(backend) has no server called O(server).
      - With V(false) the task fails and lists the servers of the backend.
      - With V(true) the task succeeds with C(changed=false) and RV(found=false), and sends nothing. Useful to take a
        server out of rotation when it may already be gone from the configuration.
      - A backend that does not exist fails the task either way.
    type: bool
    default: false
notes:
  - Each runtime API command uses its own connection, bounded by O(socket_timeout), so a stuck socket fails the task
    instead of hanging it.
  - Changing a server needs C(level admin) on the C(stats socket) line. The level is checked before any change, in
    check mode too.
seealso:
  - name: HAProxy management guide, runtime API
    description: The commands this module sends (C(show stat), C(show servers state), C(set server)).
    link: https://docs.haproxy.org/2.6/management.html
"""

EXAMPLES = r"""
- name: Put app3 in maintenance if the backend still lists it
  baton.docker.haproxy_backend:
    backend: app
    server: app3
    state: maint
    ignore_missing: true
  register: app3

- name: Say whether app3 was there
  ansible.builtin.debug:
    msg: "app3 {{ 'is in maintenance' if app3.found else 'is not in backend app' }}"

- name: Take app1 out of rotation, letting its requests finish first
  baton.docker.haproxy_backend:
    socket: /run/haproxy/admin.sock
    backend: app
    server: app1
    state: maint
    drain: true
    wait_timeout: 60

- name: Put app1 back once its new container is healthy, and wait until HAProxy sees it UP
  baton.docker.haproxy_backend:
    socket: /run/haproxy/admin.sock
    backend: app
    server: app1
    state: ready
    wait_timeout: 30

- name: Send a tenth of the usual traffic to the canary, over the TCP runtime API
  baton.docker.haproxy_backend:
    socket: 127.0.0.1:9999
    backend: app
    server: canary
    weight: 10

- name: Drain app2 and wait until it has no session left
  baton.docker.haproxy_backend:
    backend: app
    server: app2
    state: drain
  register: drained

- name: Show how long the drain took
  ansible.builtin.debug:
    msg: "app2 drained in {{ drained.waited }}s"
"""

RETURN = r"""
backend:
  description: The backend of the server.
  returned: always
  type: str
  sample: app
server:
  description: The server's name.
  returned: always
  type: str
  sample: app1
found:
  description:
    - Whether O(backend) has a server called O(server). Only V(false) when the server is missing; with
      O(ignore_missing=true) the task then succeeds without any other key about the server.
  returned: when the backend could be read
  type: bool
  sample: true
state:
  description: Admin state of the server after the task (the predicted one in check mode).
  returned: success
  type: str
  sample: maint
before:
  description: What HAProxy reported about the server before any change.
  returned: when the server was found
  type: dict
  contains:
    admin_state:
      description: Effective admin state, one of V(ready), V(drain), V(maint).
      type: str
      sample: ready
    status:
      description: Operational status from the C(status) column of C(show stat), such as C(UP), C(DOWN), C(MAINT),
        C(DRAIN), C(no check) or C(UP 1/3).
      type: str
      sample: UP
    weight:
      description: The server's weight (0-256).
      type: int
      sample: 1
    sessions:
      description: Current sessions on the server (C(scur)).
      type: int
      sample: 3
    queued:
      description: Requests queued for this server (C(qcur)).
      type: int
      sample: 0
  sample: {admin_state: ready, status: UP, weight: 1, sessions: 3, queued: 0}
after:
  description:
    - What HAProxy reported about the server after the task, with the same keys as RV(before).
    - In check mode, C(admin_state) and C(weight) are the predicted ones, and C(status), C(sessions) and C(queued) are
      as observed before.
    - When a wait fails, the state the server was left in.
  returned: when the server was found
  type: dict
  sample: {admin_state: maint, status: MAINT, weight: 1, sessions: 0, queued: 0}
commands:
  description: The runtime API commands the task sends, or in check mode the ones it would send.
  returned: when the server was found
  type: list
  elements: str
  sample: ["set server app/app1 state drain", "set server app/app1 state maint"]
waited:
  description: Seconds spent waiting for sessions to end or for the server to come UP (0 when nothing was awaited).
  returned: always
  type: float
  sample: 1.42
msg:
  description: Why nothing was done.
  returned: when the server is missing and O(ignore_missing=true)
  type: str
  sample: backend app has no server app3; nothing to do
diff:
  description: With C(--diff), RV(before) and RV(after) as the diff's before and after.
  returned: when diff mode is on
  type: dict
  sample: {before: {admin_state: ready}, after: {admin_state: maint}}
"""

from ansible_collections.baton.docker.plugins.module_utils._haproxy_client import (
    HAProxyError,
    HAProxyRuntime,
    HAProxyServerMissing,
    HAProxyTimeout,
)
from ansible_collections.baton.docker.plugins.module_utils._haproxy_plan import (
    plan_server_change,
    predict_after,
    step_command,
    steps_change,
)
from ansible_collections.baton.docker.plugins.module_utils._module import ModuleRunner, run_module


class BackendServer(ModuleRunner):
    """Brings one backend server to the requested state: read, plan, apply, wait, read again."""

    def __init__(self, module):
        super().__init__(module)
        self.backend = self.params["backend"]
        self.server = self.params["server"]
        self.result = dict(changed=False, backend=self.backend, server=self.server, waited=0.0)

    def run(self):
        params = self.params
        runtime = HAProxyRuntime(params["socket"], timeout=params["socket_timeout"])
        try:
            before = runtime.server(self.backend, self.server)
        except HAProxyServerMissing:
            self.result["found"] = False
            if not params["ignore_missing"]:
                raise
            self.result["msg"] = "backend %s has no server %s; nothing to do" % (self.backend, self.server)
            return self.result
        self.result["found"] = True
        steps = plan_server_change(before, state=params["state"], weight=params["weight"],
                                   drain=params["drain"], wait=params["wait"])
        commands = [step_command(self.backend, self.server, step) for step in steps]
        commands = [cmd for cmd in commands if cmd]
        changed = steps_change(steps)
        self.result.update(before=before.as_dict(), commands=commands)
        if changed:
            runtime.require_level("admin")

        if self.module.check_mode:
            after = predict_after(before, steps)
        else:
            try:
                for step in steps:
                    self.apply(runtime, step)
            except HAProxyError:
                self.record_after(runtime)
                raise
            after = runtime.server(self.backend, self.server).as_dict()

        self.result.update(changed=changed, after=after, state=after["admin_state"])
        if params["state"] and after["admin_state"] != params["state"]:
            flags = ", ".join(before.admin_flags) or "none"
            raise HAProxyError("server %s/%s was asked to be %s but HAProxy keeps it in %s (admin flags: %s); "
                               "a state inherited from a tracked server must be changed on that server"
                               % (self.backend, self.server, params["state"], after["admin_state"], flags))
        if self.module._diff:
            self.result["diff"] = dict(before=self.result["before"], after=after)
        return self.result

    def record_after(self, runtime):
        """After a failed step: report the server's state as it is now, when it can still be read."""
        try:
            self.result["after"] = runtime.server(self.backend, self.server).as_dict()
        except HAProxyError:
            pass

    def apply(self, runtime, step):
        params = self.params
        kind = step[0]
        if kind == "set_state":
            runtime.set_state(self.backend, self.server, step[1])
            self.result["changed"] = True
        elif kind == "set_weight":
            runtime.set_weight(self.backend, self.server, step[1])
            self.result["changed"] = True
        else:
            wait = runtime.wait_for_drained if kind == "wait_sessions" else runtime.wait_for_up
            try:
                waited = wait(self.backend, self.server, params["wait_timeout"], params["poll_interval"])[0]
            except HAProxyTimeout as exc:
                self.add_waited(exc.elapsed)
                raise
            self.add_waited(waited)

    def add_waited(self, seconds):
        self.result["waited"] = round(self.result["waited"] + (seconds or 0.0), 3)


def argument_spec():
    return dict(
        backend=dict(type="str", required=True),
        server=dict(type="str", required=True),
        state=dict(type="str", choices=["ready", "drain", "maint"]),
        weight=dict(type="int"),
        drain=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="float", default=30.0),
        poll_interval=dict(type="float", default=0.2, aliases=["wait_interval"]),
        ignore_missing=dict(type="bool", default=False),
    )


def validate(params):
    """Constraints the argument spec cannot express; None or an error message."""
    if params["weight"] is not None and not 0 <= params["weight"] <= 256:
        return "weight must be between 0 and 256, got %d" % params["weight"]
    if params["drain"] and params["state"] == "ready":
        return "drain=true is for state=maint (or drain): it cannot be combined with state=ready"
    return None


def main():
    run_module(argument_spec(), BackendServer, connection="haproxy", validate=validate,
               failure=lambda params: dict(backend=params["backend"], server=params["server"], waited=0.0),
               required_one_of=[("state", "weight")], required_if=[("drain", True, ("state",))])


if __name__ == "__main__":
    main()

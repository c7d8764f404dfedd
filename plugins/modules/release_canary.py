#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: release_canary
short_description: Judge a canary release on real traffic, from HAProxy's own counters
version_added: 0.1.0
description:
  - Observes the canary servers of a backend and the other servers of that backend (the baseline) on every load
    balancer of O(load_balancers), under the traffic they really get, and decides whether the release may go on.
    It changes nothing that lasts; it runs on a host that reaches every load balancer's runtime API (the canary host
    in a fleet release).
  - "How: every load balancer's C(show stat) is read at the start (after O(weight) is applied), then every
    O(poll_interval) seconds until O(seconds) have passed. Each server's counters are added up from one poll to the
    next, so a HAProxy reload in the window (its counters start from zero) loses no more than one interval. When the
    canary or the baseline served fewer than O(min_requests) requests by then, observing goes on up to
    O(max_seconds)."
  - "Requests of a server are the responses it gave (C(hrsp_1xx) to C(hrsp_5xx) and C(hrsp_other)), plus the
    connections to it that failed after every retry (C(econ)), plus its response errors that came without a response
    (C(eresp) minus C(srv_abrt): a server that aborts in the middle of an answer is counted by HAProxy 2.6 in its
    response class and in C(eresp)), so that each request the server was handed counts once. Errors are
    C(hrsp_5xx + eresp + econ), at most the requests."
  - "Verdict: V(inconclusive) when the canary or the baseline served fewer than O(min_requests) requests by
    O(max_seconds) (the honest answer on too little traffic; O(inconclusive) says what it means for the task).
    Otherwise V(fail) when the canary's error rate is higher than the baseline's by the one-sided Fisher exact test
    (p below 1 - O(confidence)), when the canary's response time is above O(max_latency_ratio) times the baseline's
    and above O(latency_floor_ms), or when a user check (O(check_url), O(check_command)) failed; else V(pass).
    A failing user check fails even an observation with too few requests."
  - "Response times are HAProxy's C(rtime) of each server (its average over its last 1024 responses, read at the
    last poll), averaged over servers and load balancers weighted by the requests each served in the window. A
    server that served fewer than 1024 requests in the window still has older responses in that average."
  - The task fails (with RV(reason) as its message and every figure in its result) when the verdict is V(fail), or
    V(inconclusive) with O(inconclusive=fail).
  - "It reports C(changed=false): a weight it sets (O(weight)) is put back before it returns, so a second run finds
    and leaves the same state. Only when putting a weight back fails does the task fail with C(changed=true),
    naming the servers left at the canary weight."
author:
  - baton.docker maintainers (@baton-docker)
extends_documentation_fragment:
  - baton.docker.attributes
attributes:
  check_mode:
    description: Reads each load balancer's servers once and returns what it would observe (RV(figures)), without
      observing traffic, setting a weight or running a user check; RV(verdict) and RV(passed) are null.
  diff_mode:
    support: N/A
    description: Changes nothing that lasts (a weight it sets is restored), so has nothing to compare.
  platform:
    description: Runs on a host that reaches every load balancer's runtime API.
options:
  load_balancers:
    description:
      - The HAProxy runtime API endpoints in front of the canary, as M(baton.docker.rollout) takes them.
      - The canary's servers are observed on every one of them and their figures added up.
    type: list
    elements: dict
    required: true
    suboptions:
      socket:
        description:
          - A unix socket path or C(host:port) of the runtime API (a C(stats socket) line of HAProxy). Reading needs
            any level; O(weight) needs C(level admin).
          - A socket inside a container (C(<container>:<path>)) is not taken here; give its path on the host.
        type: str
        required: true
      backend:
        description: The backend on this load balancer; defaults to O(backend).
        type: str
      socket_timeout:
        description: Seconds to wait for each runtime API answer (the O(baton.docker.haproxy_backend#module:socket_timeout) of
          this load balancer).
        type: float
        default: 5.0
        aliases: [timeout]
      optional:
        description: A load balancer that may not answer; when it does not at the start, it is left out of the
          observation with a warning.
        type: bool
        default: false
      tls:
        description: TLS for a TCP endpoint, as for M(baton.docker.rollout).
        type: dict
        suboptions:
          ca_file:
            description: The CA certificate that signed HAProxy's certificate.
            type: path
            required: true
          cert_file:
            description: Our client certificate (PEM), for a socket that verifies clients.
            type: path
          key_file:
            description: The key of O(load_balancers[].tls.cert_file).
            type: path
          server_name:
            description: The name HAProxy's certificate must carry; defaults to the host of O(load_balancers[].socket).
            type: str
  backend:
    description: The backend of the canary and baseline servers on every load balancer that does not name its own.
      It must be in HTTP mode (its responses are counted per status class).
    type: str
    required: true
  canary_servers:
    description: The HAProxy server names of the canary host(s); each must exist on every load balancer.
    type: list
    elements: str
    required: true
  baseline_servers:
    description: The servers the canary is compared with; each must exist on every load balancer. By default every
      other server of the backend on each load balancer.
    type: list
    elements: str
  seconds:
    description: The observation window, in seconds.
    type: float
    default: 60
  max_seconds:
    description: How long observing may go on, in seconds from the start, when too few requests were seen by
      O(seconds); at least O(seconds).
    type: float
    default: 300
  poll_interval:
    description: Seconds between two reads of every load balancer's counters.
    type: float
    default: 1
  min_requests:
    description: Requests the canary, and the baseline too, must have served in the window before a verdict
      (1 to 1000000000).
    type: int
    default: 100
  confidence:
    description: The confidence of the error rate test, above 0.5 and below 1; the canary fails when the one-sided
      Fisher exact test gives p below 1 - O(confidence).
    type: float
    default: 0.99
  max_latency_ratio:
    description: The canary fails when its response time is above this many times the baseline's (and above
      O(latency_floor_ms)). At least 1.
    type: float
    default: 2.0
  latency_floor_ms:
    description: Response times up to this many milliseconds never fail the canary, whatever the ratio.
    type: int
    default: 50
  inconclusive:
    description: What an inconclusive observation (too few requests by O(max_seconds)) means for the task.
    type: str
    choices: [fail, pass]
    default: fail
  weight:
    description:
      - Set each canary server's weight to this percent of its configured weight (C(set server B/S weight N%)) on
        every load balancer during the observation; each server's weight before is restored afterwards, also when
        the observation fails. Needs C(level admin).
      - HAProxy rounds the percent of the configured weight down; a percent that would make a weight 0 (any percent
        below 100 of a server of weight 1, HAProxy's default) is refused before anything changes.
    type: int
  check_url:
    description: A URL fetched from the module's host at every poll of the window; every answer must be 2xx or 3xx
      (5 seconds allowed each).
    type: str
  check_command:
    description: A command (argv, no shell) run on the module's host once the window's seconds have passed; it must
      exit 0 within O(max_seconds). Its output (the last 2000 characters) is reported.
    type: list
    elements: str
seealso:
  - module: baton.docker.rollout
  - module: baton.docker.haproxy_backend
"""

EXAMPLES = r"""
- name: Judge the canary on 10% of its usual traffic for two minutes
  baton.docker.release_canary:
    load_balancers:
      - socket: 10.0.0.12:9999
        tls:
          ca_file: /etc/baton/lb-ca.pem
          cert_file: /etc/baton/client.pem
          key_file: /etc/baton/client.key
      - socket: 10.0.0.13:9999
        tls:
          ca_file: /etc/baton/lb-ca.pem
          cert_file: /etc/baton/client.pem
          key_file: /etc/baton/client.key
    backend: shop
    canary_servers: ["{{ inventory_hostname }}_master", "{{ inventory_hostname }}_backup"]
    seconds: 120
    weight: 10
    check_url: http://127.0.0.1:50000/health
  register: canary

- name: A quiet service - too few requests by max_seconds lets the release go on
  baton.docker.release_canary:
    load_balancers: [{socket: /run/haproxy/admin.sock}]
    backend: admin
    canary_servers: [web1]
    baseline_servers: [web2, web3]
    min_requests: 20
    inconclusive: pass
    check_command: [/usr/local/bin/smoke-test, --quick]
"""

RETURN = r"""
verdict:
  description: V(pass), V(fail) or V(inconclusive); null in check mode.
  returned: always
  type: str
  sample: fail
passed:
  description: Whether the release may go on (V(pass), or V(inconclusive) with O(inconclusive=pass)); null in check
    mode.
  returned: always
  type: bool
  sample: false
reason:
  description: One sentence - which figure decided, by how much, against what baseline, on how many requests.
  returned: always
  type: str
  sample: "Canary failed over 30.1 s: canary error rate 20.1% (603 of 3001 requests) is above the baseline's 0% (0 of
    2998 requests) (one-sided Fisher exact test p = 1.2e-190 < 0.01)."
figures:
  description:
    - C(canary) and C(baseline), each C(requests), C(errors), C(error_rate) (null without requests) and C(rtime_ms)
      (null without a response time); C(p_value) and C(latency_ratio) (null when not computed); C(confidence);
      C(observed_seconds).
    - C(load_balancers), per load balancer C(load_balancer), C(backend), C(canary_servers), C(baseline_servers),
      C(canary), C(baseline), C(polls), C(polls_failed) and C(counters_reset) (HAProxy's counters went back in the
      window); in check mode only the load balancer, backend and servers.
    - C(checks), per user check C(name) (check_url or check_command), C(ok), C(summary), and C(attempts) and
      C(failures) (check_url) or C(rc) and C(output) (check_command).
    - C(failures), the failing figures, as phrases.
  returned: always
  type: dict
  sample: {canary: {requests: 3001, errors: 603, error_rate: 0.200933, rtime_ms: 3.0},
           baseline: {requests: 2998, errors: 0, error_rate: 0.0, rtime_ms: 2.0}, p_value: 1.2e-190,
           confidence: 0.99, latency_ratio: 1.5, observed_seconds: 30.1, load_balancers: [], checks: [], failures: []}
weights:
  description: The weights set (O(weight)), each C(load_balancer), C(backend), C(server), C(before) (the user weight
    restored), C(set) (the percent) and C(restored).
  returned: always
  type: list
  elements: dict
  sample: [{load_balancer: /run/haproxy/admin.sock, backend: shop, server: web1_master, before: 100, set: "10%",
            restored: true}]
"""

import math  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from ansible_collections.baton.docker.plugins.module_utils._canary_verdict import (  # noqa: E402
    CanaryError,
    accumulate,
    backend_counters,
    decide,
    fails_task,
    group_figures,
    other_servers,
    truncate,
    zero,
)
from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError  # noqa: E402
from ansible_collections.baton.docker.plugins.module_utils._haproxy_client import (  # noqa: E402
    LOAD_BALANCER_OPTIONS,
    HAProxyError,
    HAProxyRuntime,
    check_name,
)
from ansible_collections.baton.docker.plugins.module_utils._health import http_probe  # noqa: E402
from ansible_collections.baton.docker.plugins.module_utils._module import ModuleRunner, run_module  # noqa: E402

# A socket inside a container, as baton.docker.rollout takes it (<container>:<absolute path in it>).
_CONTAINER_SOCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*:/")
URL_TIMEOUT = 5.0
MAX_REQUESTS = 10 ** 9
OUTPUT_LIMIT = 2000

# The clock and the pause of the observation (unit tests stand in for them).
clock = time.monotonic
sleep = time.sleep


def argument_spec():
    return dict(
        load_balancers=dict(type="list", elements="dict", required=True, options=LOAD_BALANCER_OPTIONS),
        backend=dict(type="str", required=True),
        canary_servers=dict(type="list", elements="str", required=True),
        baseline_servers=dict(type="list", elements="str"),
        seconds=dict(type="float", default=60),
        max_seconds=dict(type="float", default=300),
        poll_interval=dict(type="float", default=1),
        min_requests=dict(type="int", default=100),
        confidence=dict(type="float", default=0.99),
        max_latency_ratio=dict(type="float", default=2.0),
        latency_floor_ms=dict(type="int", default=50),
        inconclusive=dict(type="str", default="fail", choices=["fail", "pass"]),
        weight=dict(type="int"),
        check_url=dict(type="str"),
        check_command=dict(type="list", elements="str"),
    )


def _name_error(option, name):
    try:
        check_name(option, name)
    except HAProxyError as exc:
        return str(exc)
    return None


def _names_error(option, names):
    for index, name in enumerate(names):
        error = _name_error("%s[%d]" % (option, index), name)
        if error:
            return error
        if names.index(name) != index:
            return "%s: %s is listed more than once" % (option, name)
    return None


def validate(params):
    """The module's own input rules: the first broken one, named, or None."""
    if not params["load_balancers"]:
        return "load_balancers: at least one load balancer is needed"
    error = _name_error("backend", params["backend"])
    if error:
        return error
    seen = {}
    for index, lb in enumerate(params["load_balancers"]):
        where = "load_balancers[%d]" % index
        if lb["backend"] is not None:
            error = _name_error("%s.backend" % where, lb["backend"])
            if error:
                return error
        if _CONTAINER_SOCKET.match(lb["socket"] or ""):
            return ("%s.socket: %r names a socket inside a container; give the socket's path on this host"
                    % (where, lb["socket"]))
        key = ((lb["socket"] or "").strip(), lb["backend"] or params["backend"])
        if key in seen:
            return "%s: the same load balancer and backend as load_balancers[%d] (it would be counted twice)" % (
                where, seen[key])
        seen[key] = index
    if not params["canary_servers"]:
        return "canary_servers: at least one server is needed"
    error = _names_error("canary_servers", params["canary_servers"])
    if error:
        return error
    if params["baseline_servers"] is not None:
        if not params["baseline_servers"]:
            return "baseline_servers: at least one server is needed (leave it out for every other server)"
        error = _names_error("baseline_servers", params["baseline_servers"])
        if error:
            return error
        both = [name for name in params["baseline_servers"] if name in params["canary_servers"]]
        if both:
            return "baseline_servers: %s is a canary server too" % both[0]
    for name in ("seconds", "max_seconds", "poll_interval"):
        if params[name] is not None and not params[name] > 0:
            return "%s must be a positive number of seconds, got %s" % (name, params[name])
    if params["seconds"] > params["max_seconds"]:
        return "max_seconds (%s) must be at least seconds (%s): it is how long observing may go on when too few " \
               "requests were seen by then" % (params["max_seconds"], params["seconds"])
    if not 1 <= params["min_requests"] <= MAX_REQUESTS:
        return "min_requests must be between 1 and %d, got %d" % (MAX_REQUESTS, params["min_requests"])
    confidence = params["confidence"]
    if not (0.5 < confidence < 1):
        return "confidence must be above 0.5 and below 1 (0.99 for 99%%), got %s" % confidence
    ratio = params["max_latency_ratio"]
    if math.isnan(ratio) or math.isinf(ratio) or ratio < 1:
        return "max_latency_ratio must be a finite number of at least 1, got %s" % ratio
    if not 0 <= params["latency_floor_ms"] <= 86400000:
        return "latency_floor_ms must be between 0 and 86400000 (a day), got %d" % params["latency_floor_ms"]
    if params["weight"] is not None and not 1 <= params["weight"] <= 100:
        return "weight must be a percent between 1 and 100, got %d" % params["weight"]
    if params["check_url"] is not None:
        try:
            parts = urlsplit(params["check_url"])
            parts.port
        except ValueError as exc:
            return "check_url: %r is not a valid URL (%s)" % (params["check_url"], exc)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "check_url: %r must be an http:// or https:// URL with a host" % params["check_url"]
        if any(ord(char) < 33 for char in params["check_url"]):
            return "check_url: %r holds a space or a control character" % params["check_url"]
    if params["check_command"] is not None:
        if not params["check_command"] or not params["check_command"][0].strip():
            return "check_command: give the command as a list of arguments, the program first"
    return None


class CanaryFailed(BatonError):
    """The verdict fails the task; the message is the reason."""


class Interrupted(BatonError):
    """The module was asked to stop while it observed."""


class Canary(ModuleRunner):
    def __init__(self, module):
        super(Canary, self).__init__(module)
        self.check_mode = module.check_mode
        self.warnings = []
        self.lbs = []
        self.weights = []
        self.result = dict(changed=False, verdict=None, passed=None, reason=None, figures={}, weights=self.weights)

    # ------------------------------------------------------------ load balancers

    def connect(self):
        for index, lb in enumerate(self.params["load_balancers"]):
            try:
                runtime = HAProxyRuntime(lb["socket"], lb["socket_timeout"], lb["tls"])
            except HAProxyError as exc:
                raise CanaryError("load_balancers[%d].socket: %s" % (index, exc))
            self.lbs.append(dict(index=index, spec=lb["socket"], runtime=runtime, optional=lb["optional"],
                                 backend=lb["backend"] or self.params["backend"], polls=0, polls_failed=0,
                                 reset=False))

    def read(self, lb):
        return lb["runtime"].show_stat(lb["backend"])

    def resolve(self):
        """Read each load balancer once: the backend and every named server must be there; the baseline is every
        other server unless named. An optional load balancer that does not answer is left out."""
        answering = []
        canary = self.params["canary_servers"]
        for lb in self.lbs:
            try:
                rows = self.read(lb)
            except HAProxyError as exc:
                if lb["optional"]:
                    self.warnings.append("load balancer %s does not answer and is optional: it is left out of the "
                                         "observation (%s)" % (lb["spec"], exc))
                    continue
                raise CanaryError("load balancer %s: %s. Nothing was changed." % (lb["spec"], exc))
            baseline = self.params["baseline_servers"] or other_servers(rows, lb["backend"], canary)
            if not baseline:
                raise CanaryError("load balancer %s: backend %s has no server besides the canary (%s) to compare it "
                                  "with. Nothing was changed." % (lb["spec"], lb["backend"], ", ".join(canary)))
            lb.update(canary=list(canary), baseline=list(baseline))
            backend_counters(rows, lb["backend"], lb["canary"] + lb["baseline"], lb["spec"])
            lb["rows"] = rows
            answering.append(lb)
        if not answering:
            raise CanaryError("no load balancer of load_balancers answers. Nothing was changed.")
        self.lbs = answering

    # ------------------------------------------------------------ weights

    def set_weights(self):
        """Every load balancer must take changes (level admin) before any weight is set; then each canary server's
        weight becomes O(weight) percent, its user weight before kept for the restore."""
        percent = self.params["weight"]
        for lb in self.lbs:
            try:
                lb["runtime"].require_level("admin")
                configured = dict((row.get("srv_name"), row.get("srv_iweight"))
                                  for row in lb["runtime"].servers_state(lb["backend"]))
            except HAProxyError as exc:
                raise CanaryError("load balancer %s: %s (for weight). Nothing was changed." % (lb["spec"], exc))
            for name in lb["canary"]:
                try:
                    weight = int(configured.get(name))
                except (TypeError, ValueError):
                    continue  # HAProxy applies the percent to what it knows; nothing to foresee here
                if weight * percent // 100 == 0:
                    raise CanaryError("weight: %d%% of the configured weight %d of %s/%s on load balancer %s is 0, so "
                                      "HAProxy would send it nothing; give the servers a larger weight in HAProxy's "
                                      "configuration (weight 100) or leave weight out. Nothing was changed."
                                      % (percent, weight, lb["backend"], name, lb["spec"]))
        for lb in self.lbs:
            for row in lb["rows"]:
                if row.get("svname") not in lb["canary"]:
                    continue
                before = row.get("uweight") if row.get("uweight") not in (None, "") else row.get("weight")
                entry = dict(load_balancer=lb["spec"], backend=lb["backend"], server=row["svname"],
                             before=int(before), set="%d%%" % percent, restored=False, lb=lb)
                self.weights.append(entry)
                try:
                    lb["runtime"].set_weight(lb["backend"], row["svname"], percent, percent=True)
                except HAProxyError as exc:
                    raise CanaryError("load balancer %s: cannot set the weight of %s/%s: %s"
                                      % (lb["spec"], lb["backend"], row["svname"], exc))

    def restore_weights(self, stopped=None):
        """Put back every weight set; a weight that cannot be put back fails the task naming it (``stopped``: why
        the observation stopped, when it did not end normally)."""
        left = []
        for entry in self.weights:
            try:
                entry["lb"]["runtime"].set_weight(entry["backend"], entry["server"], entry["before"])
                entry["restored"] = True
            except HAProxyError as exc:
                left.append("%s/%s on %s (%s)" % (entry["backend"], entry["server"], entry["load_balancer"], exc))
        for entry in self.weights:
            entry.pop("lb", None)
        if left:
            self.result["changed"] = True
            raise CanaryError("the weight of %s could not be restored; set it back by hand%s"
                              % ("; ".join(left), " (the observation had stopped: %s)" % stopped if stopped else ""))

    # ------------------------------------------------------------ observation

    def snapshot(self, lb):
        rows = self.read(lb)
        return backend_counters(rows, lb["backend"], lb["canary"] + lb["baseline"], lb["spec"])

    def start(self):
        for lb in self.lbs:
            try:
                lb["last"] = self.snapshot(lb)
            except HAProxyError as exc:
                raise CanaryError("load balancer %s: %s" % (lb["spec"], exc))
            lb["totals"] = dict((name, dict(zero(), rtime=None)) for name in lb["last"])

    def poll(self):
        for lb in self.lbs:
            lb["polls"] += 1
            try:
                current = self.snapshot(lb)
            except HAProxyError as exc:
                if not lb["polls_failed"]:
                    self.warnings.append("load balancer %s did not answer a poll (%s); its figures are those of its "
                                         "last answer" % (lb["spec"], exc))
                lb["polls_failed"] += 1
                continue
            for name, counters in current.items():
                lb["totals"][name], reset = accumulate(lb["totals"][name], lb["last"][name], counters)
                lb["reset"] = lb["reset"] or reset
            lb["last"] = current

    def groups(self):
        canary, baseline, per_lb = [], [], []
        for lb in self.lbs:
            mine = [lb["totals"][name] for name in lb["canary"]]
            theirs = [lb["totals"][name] for name in lb["baseline"]]
            canary.extend(mine)
            baseline.extend(theirs)
            per_lb.append(dict(load_balancer=lb["spec"], backend=lb["backend"], canary_servers=lb["canary"],
                               baseline_servers=lb["baseline"], canary=group_figures(mine),
                               baseline=group_figures(theirs), polls=lb["polls"], polls_failed=lb["polls_failed"],
                               counters_reset=lb["reset"]))
        return group_figures(canary), group_figures(baseline), per_lb

    def probe_url(self, check):
        check["attempts"] += 1
        try:
            status = http_probe(self.params["check_url"], timeout=URL_TIMEOUT)
            problem = None if 200 <= status < 400 else "answered %d" % status
        except BatonError as exc:
            problem = "did not answer (%s)" % exc
        if problem:
            check["failures"] += 1
            if check["ok"]:
                summary = "%s %s (attempt %d)" % (self.params["check_url"], problem, check["attempts"])
                check.update(ok=False, summary=summary)
        elif check["ok"]:
            check["summary"] = "%s answered 2xx/3xx %d times" % (self.params["check_url"], check["attempts"])

    def run_command(self):
        argv = self.params["check_command"]
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=self.params["max_seconds"], check=False)
        except subprocess.TimeoutExpired as exc:
            output = truncate((exc.output or b"").decode("utf-8", "replace"), OUTPUT_LIMIT)
            return dict(name="check_command", ok=False, rc=None, output=output,
                        summary="did not end within %g s" % self.params["max_seconds"])
        except OSError as exc:
            return dict(name="check_command", ok=False, rc=None, output="",
                        summary="could not run %s: %s" % (argv[0], exc.strerror or exc))
        output = truncate(done.stdout.decode("utf-8", "replace"), OUTPUT_LIMIT)
        if done.returncode == 0:
            return dict(name="check_command", ok=True, rc=0, output=output, summary="exited 0")
        last = output.strip().splitlines()[-1] if output.strip() else "no output"
        return dict(name="check_command", ok=False, rc=done.returncode, output=output,
                    summary="exited %d (%s)" % (done.returncode, last[:200]))

    def observe(self):
        """Poll until the window's seconds have passed and both groups served min_requests, or max_seconds passed.
        Returns (canary, baseline, per load balancer, seconds observed, user checks)."""
        params = self.params
        url_check = None
        if params["check_url"]:
            url_check = dict(name="check_url", ok=True, attempts=0, failures=0, summary="not fetched")
        self.start()
        started = clock()
        while True:
            elapsed = clock() - started
            target = params["seconds"] if elapsed < params["seconds"] else params["max_seconds"]
            sleep(max(0.0, min(params["poll_interval"], target - elapsed)))
            self.poll()
            if url_check:
                self.probe_url(url_check)
            elapsed = clock() - started
            if elapsed >= params["seconds"]:
                canary, baseline, _per_lb = self.groups()
                if (canary["requests"] >= params["min_requests"] and baseline["requests"] >= params["min_requests"]) \
                        or elapsed >= params["max_seconds"]:
                    break
        checks = [url_check] if url_check else []
        if params["check_command"]:
            checks.append(self.run_command())
        canary, baseline, per_lb = self.groups()
        return canary, baseline, per_lb, round(clock() - started, 1), checks

    # ------------------------------------------------------------ the run

    def plan(self):
        return dict(load_balancers=[dict(load_balancer=lb["spec"], backend=lb["backend"], canary_servers=lb["canary"],
                                         baseline_servers=lb["baseline"]) for lb in self.lbs],
                    confidence=self.params["confidence"], observed_seconds=0)

    def run(self):
        params = self.params
        self.connect()
        self.resolve()
        if self.check_mode:
            self.result["figures"] = self.plan()
            self.result["reason"] = (
                "Check mode: would observe %s against %s on %d load balancer(s) for %g s (up to %g s until %d "
                "requests each)%s." % (", ".join(params["canary_servers"]),
                                       ", ".join(sorted(set(n for lb in self.lbs for n in lb["baseline"]))),
                                       len(self.lbs), params["seconds"], params["max_seconds"],
                                       params["min_requests"],
                                       ", the canary at %d%% weight" % params["weight"] if params["weight"] else ""))
            return self.result
        with _stop_signals():
            try:
                if params["weight"] is not None:
                    self.set_weights()
                canary, baseline, per_lb, seconds, checks = self.observe()
            except BatonError as exc:
                self.restore_weights(stopped=exc)
                raise
            except BaseException:
                self.restore_weights(stopped="interrupted")
                raise
            self.restore_weights()
        outcome = decide(canary, baseline, seconds, params, checks)
        figures = dict(canary=canary, baseline=baseline, p_value=outcome["p_value"], confidence=params["confidence"],
                       latency_ratio=outcome["latency_ratio"], observed_seconds=seconds, load_balancers=per_lb,
                       checks=checks, failures=outcome["failures"])
        failed = fails_task(outcome["verdict"], params["inconclusive"])
        self.result.update(verdict=outcome["verdict"], passed=not failed, reason=outcome["reason"], figures=figures)
        if failed:
            message = outcome["reason"]
            if outcome["verdict"] == "inconclusive":
                message += " (inconclusive=fail)"
            raise CanaryFailed(message)
        return self.result


class _stop_signals(object):
    """SIGTERM and SIGHUP raise Interrupted while observing, so that a weight set is restored on the way out."""

    SIGNALS = ("SIGTERM", "SIGHUP")

    def __enter__(self):
        self.previous = {}
        if threading.current_thread() is not threading.main_thread():
            return self
        for name in self.SIGNALS:
            number = getattr(signal, name)
            self.previous[number] = signal.signal(number, self._raise)
        return self

    @staticmethod
    def _raise(number, _frame):
        raise Interrupted("stopped by signal %d while observing (pid %d)" % (number, os.getpid()))

    def __exit__(self, *exc):
        for number, handler in self.previous.items():
            signal.signal(number, handler)
        return False


def main():
    run_module(argument_spec(), Canary, validate=validate)


if __name__ == "__main__":
    main()

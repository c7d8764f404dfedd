# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""How a canary is judged on HAProxy's own counters, without I/O (baton.docker.release_canary).

The counters of each server are read from parsed ``show stat`` rows (``server_counters``), accumulated from one
poll to the next (``accumulate``: a counter that went back means HAProxy was reloaded or its counters cleared, and
the new counts are taken from zero), summed per group (``group_figures``), compared with Fisher's exact test
(``fisher_greater``) and turned into a verdict with one sentence that says why (``decide``).

What counts, per server row of HAProxy 2.6 (measured against a real HAProxy, see the integration test):
  - a response from the server increments one of ``hrsp_1xx`` .. ``hrsp_5xx`` / ``hrsp_other``;
  - a server that closes before answering increments ``eresp`` only (the client gets HAProxy's 502);
  - a server aborting in the middle of its answer increments its ``hrsp_*`` class AND ``eresp`` and ``srv_abrt``;
  - a connection that failed after every retry increments ``econ`` only (the client gets HAProxy's 503).
So requests = responses + econ + (eresp - srv_abrt): every request the server was handed counts once. Errors are
``hrsp_5xx + eresp + econ``, at most the requests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError

RESPONSES = ("hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other")
COUNTERS = RESPONSES + ("eresp", "econ", "srv_abrt", "stot")
# Counters an older HAProxy may leave out of show stat; taken as 0 then.
OPTIONAL_COUNTERS = ("srv_abrt",)
VERDICTS = ("pass", "fail", "inconclusive")


class CanaryError(BatonError):
    """Counters that cannot be read, or a group that cannot be formed."""


def _count(row, name, where):
    value = row.get(name)
    if value in (None, "") and name in OPTIONAL_COUNTERS:
        return 0
    if value in (None, ""):
        if name in RESPONSES:
            raise CanaryError("%s: HAProxy reports no %s count; the backend must be in HTTP mode (mode http) for its "
                              "responses to be counted" % (where, name))
        raise CanaryError("%s: HAProxy's show stat has no %s count" % (where, name))
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise CanaryError("%s: %s is %r, not a count" % (where, name, value))
    if number < 0:
        raise CanaryError("%s: %s is %d, not a count" % (where, name, number))
    return number


def server_counters(row, where):
    """The counters of one parsed ``show stat`` server row, as ints, plus ``rtime`` (the average response time in ms
    of its last 1024 responses; None when HAProxy leaves it empty). ``where`` names the row in errors."""
    counters = dict((name, _count(row, name, where)) for name in COUNTERS)
    rtime = row.get("rtime")
    try:
        counters["rtime"] = int(rtime) if rtime not in (None, "") else None
    except (TypeError, ValueError):
        counters["rtime"] = None
    return counters


def backend_counters(rows, backend, servers, where):
    """``{server: counters}`` of ``servers`` among the server rows of ``backend`` (parsed show stat). A server the
    rows do not have is a CanaryError naming ``where`` (the load balancer), the backend and the server."""
    found = {}
    for row in rows:
        if row.get("pxname") == backend and row.get("svname") in servers:
            found[row["svname"]] = row
    missing = [name for name in servers if name not in found]
    if missing:
        present = sorted(row.get("svname") for row in rows if row.get("pxname") == backend
                         and row.get("svname") not in ("FRONTEND", "BACKEND"))
        raise CanaryError("load balancer %s: backend %s has no server %s (its servers: %s)"
                          % (where, backend, ", ".join(missing), ", ".join(present) or "none"))
    return dict((name, server_counters(found[name], "load balancer %s: %s/%s" % (where, backend, name)))
                for name in servers)


def other_servers(rows, backend, excluded):
    """The server names of ``backend`` in parsed show stat ``rows``, in their order, except ``excluded``."""
    return [row["svname"] for row in rows if row.get("pxname") == backend
            and row.get("svname") not in ("FRONTEND", "BACKEND") and row.get("svname") not in excluded]


def zero():
    return dict((name, 0) for name in COUNTERS)


def accumulate(total, previous, current):
    """Add what one server did between two polls to ``total`` (all three are counters dicts); return
    ``(new total, reset)``. When any counter went back (HAProxy reloaded, or ``clear counters``), the counts
    since then are ``current`` itself and ``reset`` is True. ``rtime`` is taken from ``current``."""
    reset = any(current[name] < previous[name] for name in COUNTERS)
    new = dict(total)
    for name in COUNTERS:
        new[name] = total[name] + (current[name] if reset else current[name] - previous[name])
    new["rtime"] = current.get("rtime")
    return new, reset


def requests_of(counters):
    """Requests the server was handed: every response, every connection that failed, every response error that
    came with no response (a server abort in the middle of an answer already counted as a response)."""
    responses = sum(counters[name] for name in RESPONSES)
    return responses + counters["econ"] + max(0, counters["eresp"] - counters["srv_abrt"])


def errors_of(counters):
    """``hrsp_5xx + eresp + econ``, at most the requests (an aborted 5xx counts in hrsp_5xx and eresp)."""
    return min(counters["hrsp_5xx"] + counters["eresp"] + counters["econ"], requests_of(counters))


def group_figures(totals):
    """``{requests, errors, error_rate, rtime_ms}`` of a group, from its servers' counters (a list of counters
    dicts, one per server and load balancer). ``rtime_ms`` is the servers' ``rtime`` weighted by the requests each
    served (None when no server with a response time served one)."""
    requests = sum(requests_of(counters) for counters in totals)
    errors = sum(errors_of(counters) for counters in totals)
    weighted = [(counters["rtime"], requests_of(counters)) for counters in totals
                if counters.get("rtime") is not None and requests_of(counters) > 0]
    weight = sum(count for _rtime, count in weighted)
    rtime = round(sum(rtime * count for rtime, count in weighted) / float(weight), 1) if weight else None
    return dict(requests=requests, errors=errors, error_rate=round(errors / float(requests), 6) if requests else None,
                rtime_ms=rtime)


def _log_choose(n, k):
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_greater(canary_errors, canary_requests, baseline_errors, baseline_requests):
    """One-sided Fisher exact test that the canary's error rate is greater than the baseline's: the probability,
    with both groups' totals and the total of errors fixed, that the canary gets ``canary_errors`` errors or more
    (hypergeometric upper tail). Log-gamma terms, so large counts are fine; 1.0 when there is nothing to compare."""
    for value in (canary_errors, canary_requests, baseline_errors, baseline_requests):
        if value < 0:
            raise ValueError("counts must not be negative")
    if canary_errors > canary_requests or baseline_errors > baseline_requests:
        raise ValueError("errors cannot exceed requests")
    total = canary_requests + baseline_requests
    errors = canary_errors + baseline_errors
    if canary_requests == 0 or errors == 0:
        return 1.0
    low = max(canary_errors, canary_requests + errors - total)
    high = min(canary_requests, errors)
    if low > high:
        return 0.0
    denominator = _log_choose(total, canary_requests)
    # The mode of the distribution: past it the terms only shrink, so the sum stops once they no longer count.
    mode = int((canary_requests + 1) * (errors + 1) / float(total + 2))
    logs = []
    peak = None
    for x in range(low, high + 1):
        term = _log_choose(errors, x) + _log_choose(total - errors, canary_requests - x) - denominator
        logs.append(term)
        peak = term if peak is None else max(peak, term)
        if x > mode and term < peak - 40:  # e**-40: far below a double's precision of the sum
            break
    p = math.exp(peak) * sum(math.exp(term - peak) for term in logs)
    return min(1.0, max(0.0, p))


def latency_ratio(canary_ms, baseline_ms):
    """canary / baseline response time; None when either is unknown; infinity when the baseline answers in 0 ms and
    the canary does not."""
    if canary_ms is None or baseline_ms is None:
        return None
    if baseline_ms <= 0:
        return float("inf") if canary_ms > 0 else 1.0
    return round(canary_ms / float(baseline_ms), 3)


def enough_requests(canary, baseline, min_requests):
    """Whether both groups served at least ``min_requests`` requests in the window."""
    return canary["requests"] >= min_requests and baseline["requests"] >= min_requests


def _rate(figures):
    if not figures["requests"]:
        return "no request"
    return "%s (%d of %d requests)" % (_percent(figures["error_rate"]), figures["errors"], figures["requests"])


def _percent(rate):
    text = "%.2f" % (100.0 * rate)
    return (text.rstrip("0").rstrip(".") or "0") + "%"


def _p(value):
    return ("%.3g" % value) if value >= 1e-4 or value == 0 else ("%.2e" % value)


def _ms(value):
    return "%g ms" % value


def decide(canary, baseline, observed_seconds, settings, checks=()):
    """The verdict of one observation.

    ``canary`` and ``baseline``: group_figures of the window. ``settings``: min_requests, confidence,
    max_latency_ratio, latency_floor_ms. ``checks``: the user checks' results, each a dict with ``name`` and
    ``ok`` and ``summary`` (one phrase). Returns ``{verdict, reason, p_value, latency_ratio, failures}``:

      - too few requests in either group: inconclusive (the honest answer; no test is run on too little);
      - a failing user check, a canary error rate worse than the baseline's with p < 1 - confidence, or a canary
        response time above max_latency_ratio x the baseline's and above latency_floor_ms: fail, the reason names
        every failing figure;
      - otherwise pass.
    A failing user check fails even an inconclusive observation (it is a verdict of its own)."""
    seconds = "%.1f s" % observed_seconds
    alpha = 1.0 - settings["confidence"]
    failed_checks = [check for check in checks if not check["ok"]]
    check_failures = ["%s %s" % (check["name"], check["summary"]) for check in failed_checks]
    if not enough_requests(canary, baseline, settings["min_requests"]):
        if check_failures:
            return dict(verdict="fail", p_value=None, latency_ratio=None, failures=check_failures,
                        reason="%s (the canary served %d requests in %s, too few to judge its figures)."
                               % ("; ".join(check_failures), canary["requests"], seconds))
        return dict(verdict="inconclusive", p_value=None, latency_ratio=None, failures=[],
                    reason="Too little traffic to judge in %s: the canary served %d requests and the baseline %d, "
                           "fewer than min_requests (%d) for %s."
                           % (seconds, canary["requests"], baseline["requests"], settings["min_requests"],
                              "both" if canary["requests"] < settings["min_requests"]
                              and baseline["requests"] < settings["min_requests"]
                              else "the canary" if canary["requests"] < settings["min_requests"] else "the baseline"))
    p_value = fisher_greater(canary["errors"], canary["requests"], baseline["errors"], baseline["requests"])
    ratio = latency_ratio(canary["rtime_ms"], baseline["rtime_ms"])
    failures = list(check_failures)
    if p_value < alpha:
        failures.append("canary error rate %s is above the baseline's %s (one-sided Fisher exact test p = %s < %s)"
                        % (_rate(canary), _rate(baseline), _p(p_value), _p(alpha)))
    slow = (ratio is not None and ratio > settings["max_latency_ratio"]
            and canary["rtime_ms"] > settings["latency_floor_ms"])
    if slow:
        failures.append("canary response time %s is %s x the baseline's %s (limit %g x and %d ms)"
                        % (_ms(canary["rtime_ms"]), "%.3g" % ratio if ratio != float("inf") else "infinitely",
                           _ms(baseline["rtime_ms"]), settings["max_latency_ratio"], settings["latency_floor_ms"]))
    if failures:
        reason = "Canary failed over %s: %s." % (seconds, "; ".join(failures))
        return dict(verdict="fail", reason=reason, p_value=p_value, latency_ratio=_finite(ratio), failures=failures)
    latency = ""
    if ratio is not None:
        latency = ", response time %s against %s (%s x, limit %g x)" % (
            _ms(canary["rtime_ms"]), _ms(baseline["rtime_ms"]),
            "%.3g" % ratio if ratio != float("inf") else "above 0 ms where the baseline answers in 0 ms",
            settings["max_latency_ratio"])
    reason = ("Canary passed over %s: error rate %s against the baseline's %s (p = %s, not below %s)%s."
              % (seconds, _rate(canary), _rate(baseline), _p(p_value), _p(alpha), latency))
    return dict(verdict="pass", reason=reason, p_value=p_value, latency_ratio=_finite(ratio), failures=[])


def _finite(ratio):
    return None if ratio is None or ratio == float("inf") else ratio


def fails_task(verdict, inconclusive):
    """Whether a verdict fails the task: fail always, inconclusive when ``inconclusive`` is "fail"."""
    return verdict == "fail" or (verdict == "inconclusive" and inconclusive == "fail")


def truncate(text, limit=2000):
    """At most ``limit`` characters of ``text``, its end kept (where a command says what went wrong)."""
    text = text or ""
    return text if len(text) <= limit else "...(%d characters cut)\n%s" % (len(text) - limit, text[-limit:])

"""Unit tests of the canary judgement: counters read from show stat rows, accumulated across polls and reloads,
summed per group, Fisher's exact test against exact rational arithmetic, and the verdict with its sentence."""

from fractions import Fraction
from math import comb

import pytest

from ansible_collections.baton.docker.plugins.module_utils import _canary_verdict as cv
from ansible_collections.baton.docker.plugins.module_utils._haproxy_stat import parse_show_stat
from tests.support.haproxy_answers import show_stat

SETTINGS = dict(min_requests=100, confidence=0.99, max_latency_ratio=2.0, latency_floor_ms=50)


def counters(rtime=None, **values):
    found = cv.zero()
    found.update(values)
    found["rtime"] = rtime
    return found


def row(**values):
    base = dict(pxname="app", svname="web1", status="UP", scur=0, stot=0, hrsp_1xx=0, hrsp_2xx=0, hrsp_3xx=0,
                hrsp_4xx=0, hrsp_5xx=0, hrsp_other=0, eresp=0, econ=0, srv_abrt=0, rtime=0)
    base.update(values)
    return parse_show_stat(show_stat(base))[0]


# ---------------------------------------------------------------------------
# reading the counters
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("values, expected", [
    (dict(hrsp_2xx=90, hrsp_5xx=10, stot=100, rtime=12),
     dict(hrsp_2xx=90, hrsp_5xx=10, stot=100, rtime=12)),
    (dict(srv_abrt="", rtime=""), dict(srv_abrt=0, rtime=None)),  # an older HAProxy without srv_abrt
    (dict(econ=4, eresp=2, hrsp_other=1), dict(econ=4, eresp=2, hrsp_other=1, rtime=0)),
])
def test_server_counters(values, expected):
    found = cv.server_counters(row(**values), "lb1: app/web1")
    for name, value in expected.items():
        assert found[name] == value


@pytest.mark.parametrize("values, message", [
    (dict(hrsp_2xx=""), "lb1: app/web1: HAProxy reports no hrsp_2xx count; the backend must be in HTTP mode "
                        "(mode http) for its responses to be counted"),
    (dict(econ=""), "lb1: app/web1: HAProxy's show stat has no econ count"),
    (dict(eresp="x"), "lb1: app/web1: eresp is 'x', not a count"),
    (dict(stot=-3), "lb1: app/web1: stot is -3, not a count"),
])
def test_server_counters_refused(values, message):
    with pytest.raises(cv.CanaryError) as info:
        cv.server_counters(row(**values), "lb1: app/web1")
    assert str(info.value) == message


ROWS = parse_show_stat(show_stat(
    dict(pxname="fe", svname="FRONTEND", status="OPEN", scur=0),
    dict(pxname="app", svname="web1", status="UP", scur=0, stot=5, hrsp_1xx=0, hrsp_2xx=5, hrsp_3xx=0, hrsp_4xx=0,
         hrsp_5xx=0, hrsp_other=0, eresp=0, econ=0, srv_abrt=0, rtime=3),
    dict(pxname="app", svname="web2", status="UP", scur=0, stot=7, hrsp_1xx=0, hrsp_2xx=6, hrsp_3xx=0, hrsp_4xx=0,
         hrsp_5xx=1, hrsp_other=0, eresp=0, econ=0, srv_abrt=0, rtime=4),
    dict(pxname="app", svname="BACKEND", status="UP", scur=0),
    dict(pxname="api", svname="web1", status="UP", scur=0),
))


def test_backend_counters_and_other_servers():
    found = cv.backend_counters(ROWS, "app", ["web2", "web1"], "lb1")
    assert sorted(found) == ["web1", "web2"] and found["web2"]["hrsp_5xx"] == 1
    assert cv.other_servers(ROWS, "app", ["web2"]) == ["web1"]
    assert cv.other_servers(ROWS, "app", ["web1", "web2"]) == []


def test_backend_counters_names_the_missing_server():
    with pytest.raises(cv.CanaryError) as info:
        cv.backend_counters(ROWS, "app", ["web1", "web9"], "10.0.0.5:9999")
    assert str(info.value) == "load balancer 10.0.0.5:9999: backend app has no server web9 (its servers: web1, web2)"


# ---------------------------------------------------------------------------
# from one poll to the next
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("total, previous, current, expected, reset", [
    (dict(), dict(hrsp_2xx=10, stot=10), dict(hrsp_2xx=15, stot=15), dict(hrsp_2xx=5, stot=5), False),
    (dict(hrsp_2xx=5, stot=5), dict(hrsp_2xx=15, stot=15), dict(hrsp_2xx=15, stot=15), dict(hrsp_2xx=5, stot=5), False),
    # HAProxy reloaded: its counters start from zero, the new counts are taken as they are.
    (dict(hrsp_2xx=5, stot=5), dict(hrsp_2xx=15, stot=15), dict(hrsp_2xx=3, stot=3), dict(hrsp_2xx=8, stot=8), True),
    # One counter back is enough to tell a reset (the others may have grown past their old values meanwhile).
    (dict(), dict(hrsp_2xx=1, hrsp_5xx=9, stot=10), dict(hrsp_2xx=20, hrsp_5xx=0, stot=20),
     dict(hrsp_2xx=20, hrsp_5xx=0, stot=20), True),
])
def test_accumulate(total, previous, current, expected, reset):
    new, was_reset = cv.accumulate(counters(**total), counters(**previous), counters(rtime=7, **current))
    assert was_reset is reset
    assert new == counters(rtime=7, **expected)


# ---------------------------------------------------------------------------
# requests and errors: what HAProxy 2.6 counts (measured, see the module docstring)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("case, values, requests, errors", [
    ("10 answers 500", dict(hrsp_5xx=10, stot=10), 10, 10),
    ("10 closed before answering", dict(eresp=10, stot=10), 10, 10),
    ("10 aborted mid-answer", dict(hrsp_2xx=10, eresp=10, srv_abrt=10, stot=10), 10, 10),
    ("10 refused after 3 retries", dict(econ=10, stot=40), 10, 10),
    ("10 fine", dict(hrsp_2xx=7, hrsp_3xx=2, hrsp_4xx=1, stot=10), 10, 0),
    ("an aborted 500", dict(hrsp_5xx=1, eresp=1, srv_abrt=1, stot=1), 1, 1),
    ("1xx and others", dict(hrsp_1xx=1, hrsp_other=2), 3, 0),
])
def test_requests_and_errors(case, values, requests, errors):
    assert (cv.requests_of(counters(**values)), cv.errors_of(counters(**values))) == (requests, errors), case


@pytest.mark.parametrize("servers, expected", [
    ([], dict(requests=0, errors=0, error_rate=None, rtime_ms=None)),
    ([counters(rtime=10, hrsp_2xx=100)], dict(requests=100, errors=0, error_rate=0.0, rtime_ms=10.0)),
    # rtime weighted by the requests each server served; a server that served nothing does not count.
    ([counters(rtime=10, hrsp_2xx=300), counters(rtime=50, hrsp_2xx=80, hrsp_5xx=20), counters(rtime=900)],
     dict(requests=400, errors=20, error_rate=0.05, rtime_ms=20.0)),
    ([counters(rtime=None, hrsp_2xx=3)], dict(requests=3, errors=0, error_rate=0.0, rtime_ms=None)),
])
def test_group_figures(servers, expected):
    assert cv.group_figures(servers) == expected


# ---------------------------------------------------------------------------
# Fisher's exact test, one-sided
# ---------------------------------------------------------------------------

def exact_upper_tail(a, n, c, m):
    total, errors = n + m, a + c
    return Fraction(sum(comb(errors, x) * comb(total - errors, n - x) for x in range(a, min(n, errors) + 1)),
                    comb(total, n))


@pytest.mark.parametrize("a, n, c, m", [
    (3, 10, 1, 10), (5, 100, 1, 100), (1, 1, 0, 1), (10, 10, 0, 10), (0, 5, 5, 5), (2, 1000, 5, 3000),
    (50, 1000, 10, 3000), (200, 1000, 0, 3000), (7, 7, 7, 7), (0, 10, 0, 20), (12, 500, 12, 500), (1, 100, 0, 0),
])
def test_fisher_matches_exact_arithmetic(a, n, c, m):
    expected = float(exact_upper_tail(a, n, c, m)) if a + c else 1.0
    assert cv.fisher_greater(a, n, c, m) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("args, below", [
    ((30000, 100000, 90000, 300000), False),  # the same rate on large counts: no difference (p about 0.5)
    ((3200, 100000, 9000, 300000), True),  # 3.2% against 3.0% on 400000 requests: significant at 99%
    ((32, 1000, 90, 3000), False),  # the same rates on a hundredth of the requests: not significant
])
def test_fisher_on_large_counts(args, below):
    assert (cv.fisher_greater(*args) < 0.01) is below


@pytest.mark.parametrize("args", [(-1, 10, 0, 10), (11, 10, 0, 10), (0, 10, 11, 10)])
def test_fisher_refuses_impossible_counts(args):
    with pytest.raises(ValueError):
        cv.fisher_greater(*args)


@pytest.mark.parametrize("canary, baseline, expected", [
    (30, 10, 3.0), (10, 10, 1.0), (None, 10, None), (10, None, None), (0, 0, 1.0), (5, 0, float("inf")),
    (7, 3, 2.333),
])
def test_latency_ratio(canary, baseline, expected):
    assert cv.latency_ratio(canary, baseline) == expected


# ---------------------------------------------------------------------------
# the verdict
# ---------------------------------------------------------------------------

def figures(requests, errors, rtime=10.0):
    return dict(requests=requests, errors=errors, error_rate=round(errors / float(requests), 6) if requests else None,
                rtime_ms=rtime)


FAILED_CHECK = dict(name="check_command", ok=False, summary="exited 3 (broken)")
GOOD_CHECK = dict(name="check_url", ok=True, summary="http://x/ answered 2xx/3xx 4 times")


@pytest.mark.parametrize("case, canary, baseline, settings, checks, verdict, reason", [
    ("no traffic", figures(0, 0, None), figures(0, 0, None), {}, (), "inconclusive",
     "Too little traffic to judge in 30.0 s: the canary served 0 requests and the baseline 0, fewer than "
     "min_requests (100) for both."),
    ("a quiet canary", figures(99, 0), figures(5000, 3), {}, (), "inconclusive",
     "Too little traffic to judge in 30.0 s: the canary served 99 requests and the baseline 5000, fewer than "
     "min_requests (100) for the canary."),
    ("a quiet baseline", figures(400, 0), figures(20, 0), {}, (), "inconclusive",
     "Too little traffic to judge in 30.0 s: the canary served 400 requests and the baseline 20, fewer than "
     "min_requests (100) for the baseline."),
    ("a failing check decides even without traffic", figures(3, 0), figures(3, 0), {}, (FAILED_CHECK,), "fail",
     "check_command exited 3 (broken) (the canary served 3 requests in 30.0 s, too few to judge its figures)."),
    ("20% errors against none", figures(1000, 200), figures(3000, 0), {}, (), "fail",
     "Canary failed over 30.0 s: canary error rate 20% (200 of 1000 requests) is above the baseline's 0% "
     "(0 of 3000 requests) (one-sided Fisher exact test p = 3.18e-128 < 0.01)."),
    ("0.2% against 0.17%: no evidence", figures(1000, 2), figures(3000, 5), {}, (GOOD_CHECK,), "pass",
     "Canary passed over 30.0 s: error rate 0.2% (2 of 1000 requests) against the baseline's 0.17% (5 of 3000 "
     "requests) (p = 0.555, not below 0.01), response time 10 ms against 10 ms (1 x, limit 2 x)."),
    ("6 errors of 1000 against none of 3000: below 99% confidence", figures(1000, 3), figures(3000, 0), {}, (),
     "pass", "Canary passed over 30.0 s: error rate 0.3% (3 of 1000 requests) against the baseline's 0% (0 of 3000 "
             "requests) (p = 0.0156, not below 0.01), response time 10 ms against 10 ms (1 x, limit 2 x)."),
    ("the same at 95% confidence", figures(1000, 3), figures(3000, 0), dict(confidence=0.95), (), "fail",
     "Canary failed over 30.0 s: canary error rate 0.3% (3 of 1000 requests) is above the baseline's 0% (0 of 3000 "
     "requests) (one-sided Fisher exact test p = 0.0156 < 0.05)."),
    ("a slow canary", figures(1000, 0, 180.0), figures(3000, 0, 50.0), {}, (), "fail",
     "Canary failed over 30.0 s: canary response time 180 ms is 3.6 x the baseline's 50 ms (limit 2 x and 50 ms)."),
    ("slower, but under the floor", figures(1000, 0, 40.0), figures(3000, 0, 5.0), {}, (), "pass",
     "Canary passed over 30.0 s: error rate 0% (0 of 1000 requests) against the baseline's 0% (0 of 3000 requests) "
     "(p = 1, not below 0.01), response time 40 ms against 5 ms (8 x, limit 2 x)."),
    ("no response time known", figures(1000, 0, None), figures(3000, 0, None), {}, (), "pass",
     "Canary passed over 30.0 s: error rate 0% (0 of 1000 requests) against the baseline's 0% (0 of 3000 requests) "
     "(p = 1, not below 0.01)."),
    ("everything at once", figures(1000, 200, 900.0), figures(3000, 0, 60.0), {}, (FAILED_CHECK, GOOD_CHECK), "fail",
     "Canary failed over 30.0 s: check_command exited 3 (broken); canary error rate 20% (200 of 1000 requests) is "
     "above the baseline's 0% (0 of 3000 requests) (one-sided Fisher exact test p = 3.18e-128 < 0.01); canary "
     "response time 900 ms is 15 x the baseline's 60 ms (limit 2 x and 50 ms)."),
    ("a baseline answering in 0 ms", figures(1000, 0, 70.0), figures(3000, 0, 0.0), {}, (), "fail",
     "Canary failed over 30.0 s: canary response time 70 ms is infinitely x the baseline's 0 ms (limit 2 x and "
     "50 ms)."),
])
def test_decide(case, canary, baseline, settings, checks, verdict, reason):
    outcome = cv.decide(canary, baseline, 30.0, dict(SETTINGS, **settings), checks)
    assert (outcome["verdict"], outcome["reason"]) == (verdict, reason), case
    if outcome["verdict"] == "inconclusive":
        assert outcome["p_value"] is None


@pytest.mark.parametrize("verdict, inconclusive, fails", [
    ("pass", "fail", False), ("pass", "pass", False), ("fail", "pass", True), ("fail", "fail", True),
    ("inconclusive", "fail", True), ("inconclusive", "pass", False),
])
def test_fails_task(verdict, inconclusive, fails):
    assert cv.fails_task(verdict, inconclusive) is fails


@pytest.mark.parametrize("text, limit, expected", [
    ("short", 10, "short"), (None, 10, ""), ("0123456789abc", 5, "...(8 characters cut)\n89abc"),
])
def test_truncate(text, limit, expected):
    assert cv.truncate(text, limit) == expected

# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""A fleet release's decisions, without I/O: which hosts go first (the canary), in which batches the others go (as
Ansible's ``serial`` cuts them), whether a batch's failures stop the release, and the report people read.

The effects (the rollout of each host, the canary's observation, the lock, the audit) are modules that
``playbooks/release.yml`` runs; these functions only decide from what they report."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError

_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


class FleetPlanError(BatonError):
    """A fleet release setting that cannot be planned, worded for the user."""


def _batch_count(size, remaining, where):
    if isinstance(size, bool):
        raise FleetPlanError("%s: %r is not a number of hosts or a percentage" % (where, size))
    if isinstance(size, int):
        count = size
    else:
        text = str(size).strip()
        match = _PERCENT.match(text)
        if match:
            # As Ansible's serial: a share of all the hosts, rounded down, and never less than one host.
            return max(1, int(math.floor(float(match.group(1)) * remaining / 100.0)))
        if not text.isdigit():
            raise FleetPlanError("%s: %r is not a number of hosts or a percentage like '25%%'" % (where, size))
        count = int(text)
    if count < 1:
        raise FleetPlanError("%s: %r must be at least one host" % (where, size))
    return count


def serial_batches(hosts, batch_size):
    """``hosts`` cut into batches as Ansible's ``serial`` cuts them: a count, a percentage of all the hosts, or a list
    of those (the last one repeats)."""
    hosts = list(hosts)
    sizes = batch_size if isinstance(batch_size, (list, tuple)) else [batch_size]
    if not sizes:
        raise FleetPlanError("batch_size: an empty list cuts no batch")
    batches, index, position = [], 0, 0
    while position < len(hosts):
        where = "batch_size" if len(sizes) == 1 else "batch_size[%d]" % min(index, len(sizes) - 1)
        count = _batch_count(sizes[min(index, len(sizes) - 1)], len(hosts), where)
        batches.append(hosts[position:position + count])
        position += count
        index += 1
    return batches


def describe_release(release):
    """One line naming a release: its version and the image or digest it runs, or that there is none."""
    if not release:
        return "nothing recorded"
    image = release.get("image") or "?"
    text = "%s (%s)" % (release.get("version") or "?", image)
    if release.get("release_id"):
        text += " release %s" % release["release_id"]
    return text


PHASES = ("all", "canary", "rest")


def fleet_plan(hosts, states, canary_hosts=None, batch_size=1, release=None, phase="all"):
    """The plan of a release over ``hosts`` (in inventory order).

    ``states`` maps each host to what its planning found: ``current`` and ``previous`` (the releases its record
    names), ``changes`` (whether a rollout there would change anything), ``error`` (a refusal, as text).
    ``canary_hosts``: the hosts to go first (default: the first host that changes). ``phase``: ``all``, or
    ``canary`` (only the canary goes; the others wait for an approval) or ``rest`` (after the approval: the others,
    no canary). Returns a dict: ``canary``, ``batches`` (the other hosts that change, as ``serial`` cuts them),
    ``unchanged`` (already on the release), ``earlier`` (hosts an earlier run of this same release moved: they go
    back with it), ``revert_to`` (host: the release a revert sends it back to), ``errors`` (host: refusal), ``refusal`` (them all as
    one sentence),
    ``hosts`` (host: now/will) and ``lines`` for people."""
    release = release or {}
    if phase not in PHASES:
        raise FleetPlanError("release_phase: %r is not one of %s" % (phase, ", ".join(PHASES)))
    hosts = list(hosts)
    missing = [h for h in hosts if h not in states]
    if missing:
        raise FleetPlanError("no plan was made for %s" % ", ".join(missing))
    errors = dict((h, states[h]["error"]) for h in hosts if states[h].get("error"))
    changing = [h for h in hosts if states[h].get("changes") and h not in errors]
    unchanged = [h for h in hosts if not states[h].get("changes") and h not in errors]
    release_id = release.get("release_id")
    earlier = [h for h in hosts if release_id and ((states[h].get("current") or {}).get("release_id") == release_id)]
    revert_to = dict((h, states[h].get("previous") if h in earlier else states[h].get("current")) for h in hosts)
    if phase == "rest":
        canary = []
    elif canary_hosts:
        canary = list(canary_hosts) if isinstance(canary_hosts, (list, tuple)) else [canary_hosts]
        unknown = [h for h in canary if h not in hosts]
        if unknown:
            raise FleetPlanError("canary_hosts: %s %s not among the release's hosts (%s)"
                                 % (", ".join(unknown), "is" if len(unknown) == 1 else "are", ", ".join(hosts)))
        canary = [h for h in canary if h in changing]
    else:
        canary = changing[:1]
    rest = [h for h in changing if h not in canary]
    batches = serial_batches(rest, batch_size) if rest else []
    target = describe_release(release)
    plan = dict(canary=canary, batches=[] if phase == "canary" else batches, unchanged=unchanged, earlier=earlier,
                revert_to=revert_to, errors=errors, hosts={},
                refusal="; ".join("%s: %s" % (h, errors[h]) for h in hosts if h in errors))
    for host in hosts:
        plan["hosts"][host] = dict(now=describe_release(states[host].get("current")),
                                   will=target if host in changing else "no change")
    lines = ["release %s to %d host(s): %d to change, %d already on it%s"
             % (target, len(hosts), len(changing), len(unchanged), ", %d refused" % len(errors) if errors else "")]
    if canary:
        lines.append("canary: %s" % ", ".join(canary))
    for number, batch in enumerate(batches, 1):
        label = "after approval, batch" if phase == "canary" else "batch"
        lines.append("%s %d: %s" % (label, number, ", ".join(batch)))
    for host in hosts:
        entry = plan["hosts"][host]
        if host in errors:
            lines.append("%s: refused: %s" % (host, errors[host]))
        elif host in changing:
            lines.append("%s: %s -> %s" % (host, entry["now"], entry["will"]))
        else:
            lines.append("%s: already runs %s" % (host, entry["now"]))
    plan["lines"] = lines
    return plan


def batch_verdict(outcomes, batch, batch_max_failed=0, release_max_failed=0):
    """Whether the release goes on after ``batch``. ``outcomes`` maps every host the release tried so far to its
    outcome: ``moved``, ``unchanged`` or ``failed`` (with ``msg``). A batch with more failed hosts than
    ``batch_max_failed``, or a release with more than ``release_max_failed`` in all, stops."""
    for name, value in (("batch_max_failed", batch_max_failed), ("release_max_failed", release_max_failed)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise FleetPlanError("%s: %r must be 0 or more hosts" % (name, value))
    failed_here = [h for h in batch if (outcomes.get(h) or {}).get("outcome") == "failed"]
    failed_all = sorted(h for h, o in outcomes.items() if (o or {}).get("outcome") == "failed")
    reasons = ["%s: %s" % (h, outcomes[h].get("msg") or "failed") for h in failed_here]
    if len(failed_here) > batch_max_failed:
        return dict(stop=True, failed=failed_here, reason="%d host(s) of this batch failed, more than batch_max_failed "
                    "(%d): %s" % (len(failed_here), batch_max_failed, "; ".join(reasons)))
    if len(failed_all) > release_max_failed:
        return dict(stop=True, failed=failed_here, reason="%d host(s) of the release failed, more than "
                    "release_max_failed (%d): %s" % (len(failed_all), release_max_failed, ", ".join(failed_all)))
    return dict(stop=False, failed=failed_here, reason="")


def canary_verdict(outcomes, canary, judgement):
    """Whether the release stops after the canary: its rollout failed on a canary host, or the judgement on real
    traffic (the result of baton.docker.release_canary, which fails on a failing verdict) failed."""
    failed = [h for h in canary if (outcomes.get(h) or {}).get("outcome") == "failed"]
    if failed:
        return dict(stop=True, failed=failed, reason="the canary's rollout failed on %s" % "; ".join(
            "%s: %s" % (h, outcomes[h].get("msg") or "failed") for h in failed))
    judgement = judgement or {}
    if judgement.get("failed"):
        return dict(stop=True, failed=list(canary), reason="the canary failed: %s" % (judgement.get("msg") or "?"))
    return dict(stop=False, failed=[], reason="")


def hook_failure(result, limit=300):
    """What a failed hook said, for the release's reason: the stderr of the first failed command of a loop's result
    (or of a single result), else the result's ``msg``; stripped, and cut to ``limit`` characters."""
    result = result if isinstance(result, dict) else {}
    items = result.get("results") if isinstance(result.get("results"), list) else [result]
    failed = [item for item in items if isinstance(item, dict) and item.get("failed")]
    said = str((failed[0].get("stderr") if failed else "") or result.get("msg") or "").strip()
    return said if len(said) <= limit else said[:limit - 3] + "..."


def revert_hosts(outcomes, fleet_revert=True):
    """The hosts to send back to the release they ran before: every host the release moved or left failed (a failed
    host may be half-way), or only the failed ones when ``fleet_revert`` is false; in the order they were tried."""
    wanted = ("moved", "failed") if fleet_revert else ("failed",)
    return [h for h, o in outcomes.items() if (o or {}).get("outcome") in wanted]


def config_changes(before, after):
    """The names of what changed between two releases' run options: option names, ``env.NAME`` for environment
    variables, ``secret.NAME`` for secret variables added or removed (never a value)."""
    before, after = before or {}, after or {}
    old, new = before.get("config") or {}, after.get("config") or {}
    changed = []
    for key in sorted(set(old) | set(new)):
        if key == "env":
            envs = (old.get("env") or {}, new.get("env") or {})
            changed.extend("env.%s" % name for name in sorted(set(envs[0]) | set(envs[1]))
                           if envs[0].get(name) != envs[1].get(name))
        elif old.get(key) != new.get(key):
            changed.append(key)
    secrets = set(before.get("secret_keys") or []) ^ set(after.get("secret_keys") or [])
    changed.extend("secret.%s" % name for name in sorted(secrets))
    return changed


def release_report(hosts, facts, release, verdict):
    """The audit record and the lines people read, once the release is over. ``facts`` maps each host to what the
    release kept of it: ``state`` (its plan: ``current``), ``outcome`` (moved/unchanged/failed, ``msg``, ``seconds``),
    ``result`` (its rollout's ``release``), ``reverted`` (bool). ``release``: id, holder, version, image, plan,
    canary (the verdict's figures), batches."""
    verdict = verdict or {}
    per_host, reverted, changes = {}, [], set()
    for host in hosts:
        fact = facts.get(host) or {}
        outcome = dict(fact.get("outcome") or {"outcome": "not reached"})
        if fact.get("reverted"):
            reverted.append(host)
            outcome["reverted"] = True
        per_host[host] = outcome
        before = (fact.get("state") or {}).get("current")
        if outcome.get("outcome") == "moved":
            changes.update(config_changes(before, fact.get("result")))
        moved = outcome.get("outcome") == "moved" and not outcome.get("reverted")
        outcome["runs"] = describe_release(release if moved else before)
    failed = [h for h in hosts if per_host[h].get("outcome") == "failed"]
    outcome = "failure" if verdict.get("stop") else "success"
    record = dict(release_id=release.get("release_id"), holder=release.get("holder"), version=release.get("version"),
                  image=release.get("image"), config_changes=sorted(changes), plan=release.get("plan"),
                  canary=release.get("canary"), hosts=per_host, failed=failed, reverted=reverted, outcome=outcome,
                  reason=verdict.get("reason") or "")
    lines = ["release %s of %s (%s): %s" % (record["release_id"], record["version"], record["image"], outcome)]
    if record["reason"]:
        lines.append("stopped: %s" % record["reason"])
    if reverted:
        lines.append("reverted: %s" % ", ".join(reverted))
    for host in hosts:
        entry = per_host[host]
        text = "%s: %s" % (host, entry.get("outcome"))
        if entry.get("seconds") is not None:
            text += " in %s s" % entry["seconds"]
        if entry.get("msg"):
            text += " (%s)" % entry["msg"]
        if entry.get("reverted"):
            text += ", reverted"
        lines.append(text + "; runs %s" % entry["runs"])
    return dict(outcome=outcome, record=record, lines=lines)

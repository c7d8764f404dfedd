# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The release record a host keeps of what it ran: pure decisions, then one atomic write."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os

from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError
from ansible_collections.baton.docker.plugins.module_utils._files import atomic_write, json_text, read_json_object


class ReleaseRecordError(BatonError):
    """A record that cannot be read or written, worded for the user."""


def same_release(a, b):
    """Two releases are the same when they name the same tag and image ID and, when both records know it, the same
    configuration (a change of environment or run options alone is a release too)."""
    if not a or not b:
        return False
    if a.get("config_digest") and b.get("config_digest") and a["config_digest"] != b["config_digest"]:
        return False
    return a.get("version") == b.get("version") and a.get("image_id") == b.get("image_id")


# Container options that steer the rollout only (how it probes, what it shows), not what the container runs.
ROLLOUT_ONLY = ("health", "log_lines")


def _run_options(options):
    return dict((k, v) for k, v in (options or {}).items() if v is not None and k not in ROLLOUT_ONLY)


def release_config(params):
    """What a release record keeps of a rollout's configuration: ``config``, the shared container options as given
    but the rollout-only ones (they are what a revert restores); ``secret_keys``, the names of the secret variables, never their values; and
    ``config_digest``, a digest of both and of each unit's own options, which tells one configuration from another."""
    config = _run_options(params.get("container"))
    units = [dict(name=u["name"], server=u.get("server"), backend=u.get("backend"),
                  container=_run_options(u.get("container")),
                  secret_keys=sorted(u.get("secret_env") or {}))
             for u in params.get("units") or []]
    secret_keys = sorted(params.get("secret_env") or {})
    text = json.dumps(dict(config=config, units=units, secret_keys=secret_keys), sort_keys=True, default=str)
    return dict(config=config, secret_keys=secret_keys,
                config_digest="sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest())


def next_record(old, app, release, slots=None, history_size=10):
    """The record after deploying ``release``; ``old`` is the current record or None.

    Returns (record, changed). Deploying what is already current changes nothing;
    otherwise the current release becomes ``previous`` and heads the history.
    """
    old = old or {}
    current = old.get("current")
    if same_release(current, release):
        return old, False
    history = [release] + [r for r in old.get("history") or [] if r]
    record = {
        "app": app,
        "current": release,
        "previous": current,
        "history": history[:max(1, history_size)],
        "last_rollout": list(slots or []),
    }
    return record, True


def read_record(path):
    """The record at ``path``, or None when there is none yet."""
    try:
        return read_json_object(path, "release record")
    except ValueError as exc:
        raise ReleaseRecordError(str(exc))


def write_record(path, record, mode=0o644):
    """Write ``record`` to ``path`` atomically (temporary file in the same directory, then rename)."""
    try:
        atomic_write(path, json_text(record), mode)
    except (IOError, OSError) as exc:
        raise ReleaseRecordError("cannot write the release record %s: %s" % (path, exc))


def record_path(state_dir, app):
    """Where a host keeps the release record of ``app``: ``<state_dir>/<app>.json``."""
    return os.path.join(state_dir, "%s.json" % app)

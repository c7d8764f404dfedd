# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The release record a host keeps of what it ran: pure decisions, then one atomic write."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError
from ansible_collections.baton.docker.plugins.module_utils._files import atomic_write, json_text, read_json_object


class ReleaseRecordError(BatonError):
    """A record that cannot be read or written, worded for the user."""


def same_release(a, b):
    """Two releases are the same when they name the same tag and image ID."""
    if not a or not b:
        return False
    return a.get("version") == b.get("version") and a.get("image_id") == b.get("image_id")


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

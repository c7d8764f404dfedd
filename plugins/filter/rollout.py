# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters used by the rollout role to report what a rollout did."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def _short(ref_or_id):
    if not ref_or_id:
        return None
    if ref_or_id.startswith("sha256:"):
        return ref_or_id[:19]
    return ref_or_id


def rollout_summary(swap):
    """One line of a rollout report from a container_swap result (with its slot name)."""
    image = swap.get("image") or {}
    container = swap.get("container") or {}
    return {
        "slot": swap.get("slot") or container.get("name"),
        "old": _short(image.get("old_ref") or image.get("old_id")) or "(new slot)",
        "new": _short(image.get("ref") or image.get("new_id")),
        "seconds_to_healthy": swap.get("seconds_to_healthy"),
        "rolled_back": bool(swap.get("rolled_back")),
    }


class FilterModule(object):
    def filters(self):
        return {"rollout_summary": rollout_summary}

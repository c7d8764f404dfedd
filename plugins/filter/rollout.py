# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters used by the rollout role to report what a rollout did."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.baton.docker.plugins.module_utils._rollout import unit_summary as rollout_summary


class FilterModule(object):
    def filters(self):
        return {"rollout_summary": rollout_summary}

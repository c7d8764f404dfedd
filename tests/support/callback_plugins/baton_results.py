# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: every task result as one JSON line in $BATON_RESULTS_FILE."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: baton_results
type: aggregate
short_description: write task results as JSON lines for the test suite
description: Writes one JSON object per task result to the file named by BATON_RESULTS_FILE.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "baton_results"
    CALLBACK_NEEDS_ENABLED = True

    def _write(self, status, result):
        path = os.environ.get("BATON_RESULTS_FILE")
        if not path:
            return
        record = {
            "status": status,
            "host": result._host.get_name(),
            "task": result._task.get_name(),
            "action": result._task.action,
            "result": result._result,
        }
        if status in ("failed", "ignored", "unreachable"):
            # ansible-core 2.19 keeps the failure out of _result: restore it for the tests.
            record["result"] = dict(result._result, failed=True)
        with open(path, "a") as handle:
            handle.write(json.dumps(record, default=str) + "\n")

    def v2_runner_on_ok(self, result):
        self._write("changed" if result._result.get("changed") else "ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write("ignored" if ignore_errors else "failed", result)

    def v2_runner_on_skipped(self, result):
        self._write("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._write("unreachable", result)

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("BATON_RESULTS_FILE")
        if not path:
            return
        hosts = sorted(stats.processed.keys())
        with open(path, "a") as handle:
            handle.write(json.dumps({"stats": {h: stats.summarize(h) for h in hosts}}) + "\n")

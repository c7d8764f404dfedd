# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark-only callback: when each play, task and host's task started and ended, as JSON lines in
$BATON_EVENTS_FILE (epoch seconds), for bench/fleet.py's timeline."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: baton_events
type: aggregate
short_description: write play, task and host start and end times as JSON lines for the benchmarks
description: Writes one JSON object per play start, task start, host start and host result to the file named by
  BATON_EVENTS_FILE.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "baton_events"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._play = None

    def _write(self, event, **fields):
        path = os.environ.get("BATON_EVENTS_FILE")
        if not path:
            return
        fields.update(event=event, time=time.time(), play=self._play)
        with open(path, "a") as handle:
            handle.write(json.dumps(fields) + "\n")

    def v2_playbook_on_play_start(self, play):
        self._play = play.get_name()
        self._write("play")

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._write("task", task=task.get_name())

    def v2_runner_on_start(self, host, task):
        self._write("start", host=host.get_name(), task=task.get_name())

    def _result(self, status, result):
        self._write("end", status=status, host=result._host.get_name(), task=result._task.get_name(),
                    action=result._task.action)

    def v2_runner_on_ok(self, result):
        self._result("changed" if result._result.get("changed") else "ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result("ignored" if ignore_errors else "failed", result)

    def v2_runner_on_skipped(self, result):
        self._result("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._result("unreachable", result)

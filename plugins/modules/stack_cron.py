#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: stack_cron
short_description: Schedule the cron entries of a stack on a host, with cron or systemd timers, in one execution
version_added: 0.1.0
description:
  - Schedules the cron templates of a stack (the containers of O(containers) of kind V(cron), which the rollout
    created and never started). Each run of an entry starts a fresh container from its template with the cron
    runner O(runner), and removes it afterwards.
  - Installs the runner from O(runner_content), then writes either one cron file (O(scheduler=cron)) or one oneshot
    service and one timer per entry (O(scheduler=systemd)), and removes what the other scheduler, or an earlier deploy
    with more entries, left. A stack without cron entries gets its cron file and timers removed.
  - Files are written atomically and only when their content or mode differs; timers are enabled and started (and
    restarted when their files changed) only when they are not already.
  - The module does not install the cron daemon; it reports in RV(cron_daemon_missing) whether O(cron_daemon) is
    missing where the cron file needs it.
author:
  - baton.docker maintainers (@baton-docker)
extends_documentation_fragment:
  - baton.docker.attributes
attributes:
  check_mode:
    description: Reads the files and, with systemd, the timers' state; writes and starts nothing.
  diff_mode:
    description: Returns the files before and after, by path (the runner by its checksum).
  platform:
    description: Runs on the Docker host whose cron or systemd runs the entries.
options:
  stack:
    description: The stack's slug (C(stack_spec)'s C(slug)); it names the units C(baton-<stack>-<container>) and the log
      files C(<stack>-<container>.log).
    type: str
    required: true
  title:
    description: The stack's name, for the comments of the files; defaults to O(stack).
    type: str
  containers:
    description:
      - The host's containers as the C(baton.docker.stack_containers) filter gives them. Those of kind V(cron) are
        scheduled (each needs C(name), C(entry), C(image) and C(cron) with C(minute), C(hour), C(day), C(month) and
        C(weekday)); the others are ignored.
    type: list
    elements: dict
    required: true
  scheduler:
    description:
      - V(cron) writes O(cron_file); V(systemd) writes the units in O(systemd_dir) and removes O(cron_file).
      - V(auto) uses systemd where it runs (C(/run/systemd/system) is a directory), else cron.
    type: str
    choices: [auto, cron, systemd]
    default: auto
    aliases: [backend]
  runner:
    description: Where the cron runner is installed (mode 0755).
    type: path
    default: /usr/local/libexec/baton-stack-cron
  runner_content:
    description:
      - The cron runner itself (the deploy role passes its C(files/baton-stack-cron)). Installed when the stack has
        cron entries.
    type: str
    required: true
  python:
    description: The host's Python 3 that runs the runner (it needs the standard library only).
    type: str
    default: /usr/bin/python3
  timeout:
    description: Seconds one run may take before the runner stops it.
    type: int
    default: 3600
  cron_file:
    description: The stack's cron file.
    type: path
    required: true
  log_dir:
    description: Directory of the runs' output, for the cron scheduler (created with mode 0750).
    type: path
    default: /var/log/baton
  cron_daemon:
    description: The cron daemon's binary, checked for RV(cron_daemon_missing).
    type: path
    default: /usr/sbin/cron
  systemd_dir:
    description: Where the service and timer units are written.
    type: path
    default: /etc/systemd/system
notes:
  - Entry names and schedules are validated by C(baton.docker.stack_containers); this module refuses a cron entry
    without them before writing anything.
seealso:
  - module: baton.docker.rollout
  - name: systemd.timer
    description: Timer units and their OnCalendar= expressions.
    link: https://www.freedesktop.org/software/systemd/man/latest/systemd.timer.html
"""

EXAMPLES = r"""
# The baton.docker.deploy role runs this module with its own runner. Run alone, it needs a copy of that runner
# (roles/deploy/files/baton-stack-cron of the collection) in the playbook's files/.
- name: Read the stack document
  ansible.builtin.set_fact:
    spec: "{{ baton_stack | baton.docker.stack_spec }}"

- name: Schedule the cron entries of the stack
  baton.docker.stack_cron:
    stack: "{{ spec.slug }}"
    title: "{{ spec.name }}"
    containers: "{{ spec | baton.docker.stack_containers(inventory_hostname) }}"
    runner_content: "{{ lookup('ansible.builtin.file', 'files/baton-stack-cron', rstrip=false) }}"
    cron_file: /etc/cron.d/baton-{{ spec.slug }}
  register: schedule

- name: Install cron where the cron file needs it
  ansible.builtin.package:
    name: cron
  when: schedule.cron_daemon_missing
"""

RETURN = r"""
scheduler:
  description: What runs the entries (V(auto) resolved).
  returned: always
  type: str
  sample: cron
entries:
  description: The names of the cron templates scheduled.
  returned: always
  type: list
  elements: str
  sample: [cron0]
files:
  description: The files written (V(written)) or removed (V(removed)), by path; in check mode, those that would be.
  returned: always
  type: dict
  sample: {"/etc/cron.d/baton-shop": written}
timers:
  description: With systemd, what was done to each timer (V(started), V(restarted), V(stopped)).
  returned: always
  type: dict
  sample: {"baton-shop-cron0.timer": started}
cron_daemon_missing:
  description: Whether the cron file needs a cron daemon that O(cron_daemon) says is not installed.
  returned: always
  type: bool
"""

import glob
import hashlib
import os

from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError
from ansible_collections.baton.docker.plugins.module_utils._files import atomic_write
from ansible_collections.baton.docker.plugins.module_utils._module import ModuleRunner, run_module
from ansible_collections.baton.docker.plugins.module_utils._stack import (
    CRON_FIELDS, cron_file_text, cron_runs, cron_service_text, cron_timer_text, systemd_unit_name,
)

SYSTEMD_RUNNING = "/run/systemd/system"


class CronError(BatonError):
    """A schedule that cannot be read, written or started."""


def read_text(path):
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return None


def file_mode(path):
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return None


class StackCron(ModuleRunner):
    def __init__(self, module):
        super().__init__(module)
        self.check_mode = module.check_mode
        self.title = self.params["title"] or self.params["stack"]
        self.result = dict(changed=False, scheduler=None, entries=[], files={}, timers={}, cron_daemon_missing=False)
        self.before = {}
        self.after = {}

    def crons(self):
        crons = cron_runs(self.params["containers"])
        for index, cron in enumerate(crons):
            if not isinstance(cron.get("cron", {}), dict):
                raise CronError("containers: cron entry %s: cron must be a dict of %s"
                                % (cron.get("name") or "#%d" % index, ", ".join(CRON_FIELDS)))
            missing = [key for key in ("name", "entry", "image", "cron") if not cron.get(key)]
            missing += ["cron.%s" % field for field in CRON_FIELDS
                        if isinstance(cron.get("cron"), dict) and cron["cron"].get(field) in (None, "")]
            if missing:
                raise CronError("containers: cron entry %s lacks %s" % (cron.get("name") or "#%d" % index,
                                                                        ", ".join(missing)))
        return crons

    # ------------------------------------------------------------ files

    def put(self, path, text, mode, dir_mode=0o755, shown=None):
        current = read_text(path)
        if current == text and file_mode(path) == mode:
            return False
        self.before[path] = shown(current) if shown and current is not None else (current or "")
        self.after[path] = shown(text) if shown else text
        self.result["files"][path] = "written"
        if not self.check_mode:
            try:
                atomic_write(path, text, mode=mode, dir_mode=dir_mode)
            except OSError as exc:
                raise CronError("cannot write %s: %s" % (path, exc))
        return True

    def remove(self, path):
        if not os.path.lexists(path):
            return False
        self.before[path] = read_text(path) or ""
        self.after[path] = ""
        self.result["files"][path] = "removed"
        if not self.check_mode:
            try:
                os.unlink(path)
            except OSError as exc:
                raise CronError("cannot remove %s: %s" % (path, exc))
        return True

    def make_dir(self, path, mode):
        if os.path.isdir(path):
            return
        self.result["files"][path] = "written"
        if not self.check_mode:
            try:
                os.makedirs(path, mode)
                os.chmod(path, mode)
            except OSError as exc:
                raise CronError("cannot create %s: %s" % (path, exc))

    # ------------------------------------------------------------ systemd

    def systemctl(self, *args):
        binary = self.module.get_bin_path("systemctl")
        if not binary:
            raise CronError("scheduler systemd: systemctl is not installed on this host")
        rc, out, err = self.module.run_command([binary] + list(args))
        return rc, (out or "").strip(), (err or "").strip()

    def must(self, *args):
        rc, out, err = self.systemctl(*args)
        if rc != 0:
            raise CronError("systemctl %s failed (exit %d): %s" % (" ".join(args), rc, err or out))

    def timer_files(self):
        pattern = os.path.join(self.params["systemd_dir"], "baton-%s-*.timer" % glob.escape(self.params["stack"]))
        return sorted(glob.glob(pattern))

    def stop_stale_timers(self, wanted):
        """Timers of this stack's entries that are gone (or of the other scheduler): stopped, disabled, removed."""
        removed = False
        for timer_path in self.timer_files():
            timer = os.path.basename(timer_path)
            if timer in wanted:
                continue
            self.result["timers"][timer] = "stopped"
            if not self.check_mode:
                self.systemctl("disable", "--now", timer)
            self.remove(timer_path)
            self.remove(timer_path[:-len(".timer")] + ".service")
            removed = True
        return removed

    def schedule_systemd(self, crons):
        wanted = {}
        for cron in crons:
            unit = systemd_unit_name(self.params["stack"], cron)
            base = os.path.join(self.params["systemd_dir"], unit)
            changed = self.put(base + ".service", cron_service_text(
                self.title, cron, self.params["python"], self.params["runner"], self.params["timeout"]), 0o644)
            changed = self.put(base + ".timer", cron_timer_text(self.title, cron), 0o644) or changed
            wanted[unit + ".timer"] = changed
        removed = self.stop_stale_timers(wanted)
        if (removed or any(wanted.values())) and not self.check_mode:
            self.must("daemon-reload")
        for timer, changed in wanted.items():
            enabled = self.systemctl("is-enabled", timer)[1] == "enabled"
            active = self.systemctl("is-active", timer)[1] == "active"
            if changed and active:
                self.result["timers"][timer] = "restarted"
            elif not active or not enabled:
                self.result["timers"][timer] = "started"
            else:
                continue
            if self.check_mode:
                continue
            if not enabled:
                self.must("enable", timer)
            self.must("restart" if changed and active else "start", timer)
        self.remove(self.params["cron_file"])

    # ------------------------------------------------------------ cron

    def schedule_cron(self, crons):
        if self.timer_files():  # the units of an earlier systemd scheduler
            self.stop_stale_timers({})
            if not self.check_mode:
                self.must("daemon-reload")
        if not crons:
            self.remove(self.params["cron_file"])
            return
        self.make_dir(os.path.dirname(self.params["cron_file"]), 0o755)
        self.make_dir(self.params["log_dir"], 0o750)
        self.put(self.params["cron_file"], cron_file_text(
            self.title, self.params["stack"], crons, self.params["python"], self.params["runner"],
            self.params["timeout"], self.params["log_dir"]), 0o644)
        daemon = self.params["cron_daemon"]
        self.result["cron_daemon_missing"] = bool(daemon) and not os.path.exists(daemon)

    def run(self):
        crons = self.crons()
        scheduler = self.params["scheduler"]
        if scheduler == "auto":
            scheduler = "systemd" if os.path.isdir(SYSTEMD_RUNNING) else "cron"
        self.result.update(scheduler=scheduler, entries=[c["name"] for c in crons])
        if crons:
            self.put(self.params["runner"], self.params["runner_content"], 0o755,
                     shown=lambda text: "sha1 %s" % hashlib.sha1(text.encode("utf-8")).hexdigest())
        if scheduler == "systemd":
            self.schedule_systemd(crons)
        else:
            self.schedule_cron(crons)
        self.result["changed"] = bool(self.result["files"] or self.result["timers"])
        if self.module._diff:
            self.result["diff"] = dict(before=self.before, after=self.after)
        return self.result


def argument_spec():
    return dict(
        stack=dict(type="str", required=True),
        title=dict(type="str"),
        containers=dict(type="list", elements="dict", required=True),
        scheduler=dict(type="str", default="auto", choices=["auto", "cron", "systemd"], aliases=["backend"]),
        runner=dict(type="path", default="/usr/local/libexec/baton-stack-cron"),
        runner_content=dict(type="str", required=True),
        python=dict(type="str", default="/usr/bin/python3"),
        timeout=dict(type="int", default=3600),
        cron_file=dict(type="path", required=True),
        log_dir=dict(type="path", default="/var/log/baton"),
        cron_daemon=dict(type="path", default="/usr/sbin/cron"),
        systemd_dir=dict(type="path", default="/etc/systemd/system"),
    )


def validate(params):
    if not params["stack"] or "/" in params["stack"] or params["stack"] in (".", ".."):
        return "stack: %r cannot name files (give the stack's slug)" % params["stack"]
    if params["timeout"] < 1:
        return "timeout: must be at least 1 second, got %d" % params["timeout"]
    return None


def main():
    run_module(argument_spec(), StackCron, validate=validate,
               absolute_paths=("runner", "cron_file", "log_dir", "systemd_dir"))


if __name__ == "__main__":
    main()

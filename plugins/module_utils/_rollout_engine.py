# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Executes a host's whole rollout in one process (baton.docker.rollout).

Observe (containers, every load balancer, the journal) -> plan (``_rollout_plan.plan_rollout``, pure) ->
execute the steps with the shared clients, writing the journal before every step that takes a server out
of rotation and after every step that puts one back -> record the release. The per-app host lock is held
from the first observation to the end.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import re
import time

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.baton.docker.plugins.module_utils._containers import get_container, is_running, list_containers
from ansible_collections.baton.docker.plugins.module_utils._data_volumes import host_path_of, split_container_path
from ansible_collections.baton.docker.plugins.module_utils._docker_client import (
    DOCKER_COMMON_ARGS,
    PULL_ARGS,
    DockerClient,
    DockerClientError,
)
from ansible_collections.baton.docker.plugins.module_utils._health import UnhealthyError, http_probe
from ansible_collections.baton.docker.plugins.module_utils._images import image_for_run
from ansible_collections.baton.docker.plugins.module_utils._files import (
    HostLock,
    LockTimeout,
    atomic_write,
    json_text,
    read_json_object,
    remove_file,
)
from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError
from ansible_collections.baton.docker.plugins.module_utils._haproxy_client import (
    HAProxyError,
    HAProxyRuntime,
    HAProxyServerMissing,
    HAProxyTimeout,
)
from ansible_collections.baton.docker.plugins.module_utils._image_ref import ImageRef
from ansible_collections.baton.docker.plugins.module_utils._params import ParamError
from ansible_collections.baton.docker.plugins.module_utils._release import (
    ReleaseRecordError,
    next_record,
    read_record,
    record_path,
    release_config,
    write_record,
)
from ansible_collections.baton.docker.plugins.module_utils._rollout_plan import (
    CHANGES,
    NoServingPeer,
    PlanError,
    journal_after,
    orphans,
    server_key,
    serving_everywhere,
    plan_rollout,
    step_timeline,
    summary_lines,
    unit_summary,
)
from ansible_collections.baton.docker.plugins.module_utils._swap_engine import SWAP_ARGS, ContainerSwap, SwapFailed

# How often the servers are read again while a rollout waits for a peer's health check to come UP.
PEER_POLL_SECONDS = 0.5
_APP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


UNIT_SPEC = dict(SWAP_ARGS)
UNIT_SPEC.update(DOCKER_COMMON_ARGS)
UNIT_SPEC.update(PULL_ARGS)


class RolloutFailed(BatonError):
    """The rollout stopped; the message says what state each unit is in."""


def load_balancer_failed(spec, error, then=""):
    """The RolloutFailed for a load balancer's error (``then``: what it means for the run, e.g. nothing changed)."""
    return RolloutFailed("load balancer %s: %s%s" % (spec, error, then))


class UnitView(object):
    """What ContainerSwap needs of a module, for one unit of the rollout."""

    def __init__(self, params, check_mode, diff, warnings):
        self.params = params
        self.check_mode = check_mode
        self._diff = diff
        self._warnings = warnings

    def warn(self, message):
        self._warnings.append("%s: %s" % (self.params["name"], message))


def unit_params(index, unit, module_params):
    """The container_swap parameters of one unit, validated: the module's ``container`` defaults, then the unit's
    own ``container`` options; ``name`` is the unit's name and ``image`` the release image unless the unit names
    one. Raises ParamError naming ``units[index]``."""
    merged = {}
    for where, options in (("container", module_params["container"]), ("units[%d].container" % index, unit["container"])):
        for key, value in _set_only(options).items():
            if key in ("name", "docker_host", "api_timeout", "pull", "pull_auth", "secret_env"):
                raise ParamError("%s.%s: %s" % (where, key, "use the secret_env option of the rollout (Ansible hides "
                                                "its values)" if key == "secret_env" else "set by the rollout itself"))
            if isinstance(value, dict) and isinstance(merged.get(key), dict) and key not in ("env", "labels"):
                merged[key] = dict(merged[key], **value)
            else:
                merged[key] = value
    secret_env = dict(module_params["secret_env"] or {}, **(unit["secret_env"] or {}))
    if secret_env:
        merged["secret_env"] = secret_env
    merged.update(name=unit["name"], docker_host=module_params["docker_host"],
                  api_timeout=module_params["api_timeout"],
                  # Images are made present before anything changes; a unit that is never updated pulls only
                  # when it has to be created.
                  pull="missing" if merged.get("update") is False else "never")
    if module_params["image"]:
        merged.setdefault("image", module_params["image"])
    elif not merged.get("image"):
        raise ParamError("units[%d] (%s): no image: set image, or container.image for this unit" % (index, unit["name"]))
    result = ArgumentSpecValidator(UNIT_SPEC).validate(merged)
    if result.error_messages:
        raise ParamError("units[%d] (%s).container: %s" % (index, unit["name"], "; ".join(result.error_messages)))
    params = result.validated_parameters
    if params.get("state") == "absent":
        raise ParamError("units[%d] (%s).container.state: a rollout unit is started or created" % (index, unit["name"]))
    if params.get("state") == "created" and unit.get("server"):
        raise ParamError("units[%d] (%s): a unit behind a load balancer runs; state created is for templates that "
                         "something else starts" % (index, unit["name"]))
    return params


def _set_only(options):
    """The options a task set (None means left out), nested dictionaries of options included."""
    result = {}
    for key, value in (options or {}).items():
        if value is None:
            continue
        if isinstance(value, dict) and key not in ("env", "secret_env", "labels"):
            value = _set_only(value)
        result[key] = copy.deepcopy(value)
    return result


class Rollout(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.app = self.params["app"]
        self.check_mode = module.check_mode
        self.warnings = []
        self.client = None
        self.lbs = []
        self.units = []
        self.orphans = []
        self.swaps = {}
        self.shutdowns = {}
        self.events = []
        self.journal_path = os.path.join(self.params["state_dir"], "%s.journal.json" % self.app)
        self.journal = dict(out=[])
        self.result = dict(changed=False, app=self.app, plan=[], units=[], restored=[], held=[], image={},
                           release=None, record_changed=False, lock_waited=None, timeline=[], summary=[])

    # ------------------------------------------------------------ checks

    def check_params(self):
        params = self.params
        if not _APP_NAME.match(params["app"]):
            raise ParamError("app: %r must be letters, digits, '_', '.' or '-' (it names files in state_dir)"
                             % params["app"])
        self.image = None
        self.version = params["version"]
        if params["image"]:
            self.image = ImageRef.parse(params["image"])
            self.version = self.version or self.image.tag or self.image.digest
        elif params["expected_image_id"]:
            raise ParamError("expected_image_id: applies to the release image; set image too")
        for name in ("drain_timeout", "up_timeout", "lock_timeout"):
            if params[name] is None or params[name] < 0:
                raise ParamError("%s: must be 0 or more seconds, got %r" % (name, params[name]))
        if params["history_size"] < 1:
            raise ParamError("history_size: must be at least 1, got %d" % params["history_size"])
        if not params["units"]:
            raise ParamError("units: at least one unit is needed")
        for index, lb in enumerate(params["load_balancers"]):
            entry = dict(spec=lb["socket"], backend=lb["backend"] or params["backend"] or self.app,
                         optional=lb["optional"], up=True, index=index, options=lb)
            for seen in self.lbs:
                if (seen["spec"], seen["backend"]) == (entry["spec"], entry["backend"]):
                    raise ParamError("load_balancers[%d]: socket %s with backend %s is load_balancers[%d] again"
                                     % (index, lb["socket"], entry["backend"], seen["index"]))
            entry["in_container"] = split_container_path(lb["socket"])
            if entry["in_container"] is None:
                self.connect_load_balancer(entry, lb["socket"])
            self.lbs.append(entry)
        if params["record"] and not self.image:
            raise ParamError("record: a release is recorded for a release image; set image, or record=false")
        for index, unit in enumerate(params["units"]):
            self.units.append(dict(name=unit["name"], server=unit["server"], backend=unit["backend"], index=index,
                                   params=unit_params(index, unit, params)))
        names = [u["name"] for u in self.units]
        for name in names:
            if names.count(name) > 1:
                raise ParamError("units: %s is listed more than once" % name)
        if any(u["server"] for u in self.units) and not self.lbs:
            raise ParamError("load_balancers: units with a server need at least one load balancer")

    def connect_load_balancer(self, entry, socket):
        lb = entry["options"]
        try:
            entry["runtime"] = HAProxyRuntime(socket, lb["socket_timeout"], lb["tls"])
        except HAProxyError as exc:
            if not lb["optional"]:
                raise ParamError("load_balancers[%d].socket: %s" % (entry["index"], exc))
            entry.update(up=False, down_reason=str(exc))

    def resolve_container_sockets(self):
        """A socket given as ``<container>:<path in it>`` is reached through the host path of the container's
        volume that holds it. An optional load balancer whose container does not exist yet (a stack's first
        deploy) is not running."""
        for entry in self.lbs:
            if not entry["in_container"]:
                continue
            name, path = entry["in_container"]
            where = "load_balancers[%d].socket" % entry["index"]
            attrs = get_container(self.client, name)
            if attrs is None:
                if not entry["optional"]:
                    raise ParamError("%s: there is no container %s on this host to find %s in" % (where, name, path))
                entry.update(up=False, down_reason="container %s does not exist yet" % name)
                continue
            host_path = host_path_of(attrs, path)
            if host_path is None:
                raise ParamError("%s: no volume of container %s holds %s (its mounts: %s)" % (
                    where, name, path, ", ".join(sorted(m.get("Destination", "?") for m in attrs.get("Mounts") or []))
                    or "none"))
            self.connect_load_balancer(entry, host_path)

    # ------------------------------------------------------------ observe

    def observe_servers(self, unit):
        servers = []
        if not unit["server"]:
            return servers
        for lb in self.lbs:
            if not lb["up"]:
                continue
            backend = unit["backend"] or lb["backend"]
            try:
                state = lb["runtime"].server(backend, unit["server"])
            except HAProxyError as exc:
                if unit.get("orphan") and isinstance(exc, HAProxyServerMissing):
                    continue  # a unit to remove whose server this load balancer no longer has
                raise load_balancer_failed(lb["spec"], exc, ". Nothing was changed.")
            servers.append(dict(lb=lb["spec"], backend=backend, server=unit["server"],
                                admin=state.admin_state, up=state.is_up))
        return servers

    def check_load_balancers(self):
        for lb in self.lbs:
            if not lb["up"]:
                continue
            try:
                lb["runtime"].require_level("admin")
            except HAProxyError as exc:
                if not lb["optional"]:
                    raise load_balancer_failed(lb["spec"], exc, ". Nothing was changed.")
                lb["up"] = False
                lb["down_reason"] = str(exc)

    def check_missing_load_balancers(self, observed):
        """A unit behind a load balancer that does not answer (``optional``: one the stack itself creates later) may
        only be created, never replaced."""
        missing = [lb for lb in self.lbs if not lb["up"]]
        if not missing:
            return
        for unit, seen in zip(self.units, observed):
            if unit["server"] and seen["change"] not in ("none", "create"):
                raise RolloutFailed("%s would be replaced but load balancer %s does not answer (%s), so it cannot be "
                                    "drained first. Nothing was changed."
                                    % (unit["name"], missing[0]["spec"], missing[0]["down_reason"]))

    def check_health_checks(self, observed):
        """Before anything changes: a unit to replace whose container every load balancer reports UP must pass the
        release's health check now; one that fails there is a wrong check (path, port, status), not a sick container,
        and would fail every swap."""
        if not self.params["probe_health"]:
            return
        for unit, seen in zip(self.units, observed):
            health = unit["params"]["health"]
            if not health["url"] or seen["change"] in ("none", "create") or not serving_everywhere(seen):
                continue
            try:
                status = http_probe(health["url"], health["timeout"], health["validate_certs"])
            except DockerClientError as exc:
                status, reason = None, str(exc)
            else:
                reason = "HTTP %d, not %d" % (status, health["status"])
            if status != health["status"]:
                raise RolloutFailed("%s: the health check %s fails on the container serving now (%s) although every "
                                    "load balancer reports it UP: the check itself is wrong (its path, port or "
                                    "expected status). Nothing was changed; fix the check, or set probe_health=false "
                                    "when the release changes it on purpose" % (unit["name"], health["url"], reason))

    def resolve_release(self):
        ref = self.image.name if self.image else None
        if self.image:
            try:
                attrs, pulled = image_for_run(self.client, self.image, self.params["pull"], self.params["pull_auth"],
                                              self.check_mode)
            except DockerClientError as exc:
                raise RolloutFailed("image %s. Nothing was changed." % exc)
            image_id = (attrs or {}).get("Id")
            expected = self.params["expected_image_id"]
            if expected and attrs is not None and image_id != expected:
                raise RolloutFailed("image %s has ID %s, not the expected %s (the build that ran before). Nothing "
                                    "was changed." % (ref, image_id, expected))
            self.result["image"] = dict(ref=ref, id=image_id, pulled=pulled)
        # Units of other images (a stack's) are made present the same way, before anything changes; a unit that is
        # never updated pulls its image only when it is created.
        seen = set([ref])
        for unit in self.units:
            ref = unit["params"]["image"]
            if ref in seen or unit["params"]["update"] is False:
                continue
            seen.add(ref)
            try:
                image_for_run(self.client, ImageRef.parse(ref), self.params["pull"], self.params["pull_auth"],
                              self.check_mode)
            except (ParamError, DockerClientError) as exc:
                raise RolloutFailed("units[%d] (%s): image %s. Nothing was changed." % (unit["index"], unit["name"], exc))

    def plan_unit(self, unit):
        if unit["params"]["update"] is False:
            pull = "missing"
        else:  # in check mode nothing was pulled: plan as the pull would go
            pull = self.params["pull"] if self.check_mode else "never"
        # In check mode the swap looks a new image up in its registry: with the rollout's credentials.
        params = dict(unit["params"], pull=pull, pull_auth=self.params["pull_auth"])
        swapper = ContainerSwap(UnitView(params, True, self.module._diff, self.warnings), self.client)
        try:
            planned = swapper.run()
        except (ParamError, DockerClientError, SwapFailed) as exc:
            raise RolloutFailed("units[%d] (%s): %s. Nothing was changed." % (unit["index"], unit["name"], exc))
        container = get_container(self.client, unit["name"])
        health = (((container or {}).get("State") or {}).get("Health") or {}).get("Status")
        unit["planned"] = planned
        return dict(name=unit["name"], change=planned["action"] if planned["action"] in CHANGES else "replace",
                    serving=is_running(container) and health != "unhealthy", servers=self.observe_servers(unit))

    def find_orphans(self):
        """With prune_labels: the containers deployed as units under those labels that are no unit of this run
        (a replica the count no longer has, an entry the stack dropped), as units to remove."""
        if not self.params["prune_labels"]:
            return []
        try:
            existing = list_containers(self.client, labels=self.params["prune_labels"])
        except DockerClientError as exc:
            raise RolloutFailed("%s. Nothing was changed." % exc)
        found = []
        for orphan in orphans(existing, [u["name"] for u in self.units], self.params["prune_labels"]):
            params = ArgumentSpecValidator(UNIT_SPEC).validate(dict(
                name=orphan["name"], state="absent", docker_host=self.params["docker_host"],
                api_timeout=self.params["api_timeout"])).validated_parameters
            swapper = ContainerSwap(UnitView(params, True, self.module._diff, self.warnings), self.client)
            try:
                planned = swapper.run()
            except (ParamError, DockerClientError, SwapFailed) as exc:
                raise RolloutFailed("%s (to remove): %s. Nothing was changed." % (orphan["name"], exc))
            if planned["action"] == "none":
                continue
            container = get_container(self.client, orphan["name"])
            found.append(dict(name=orphan["name"], server=orphan["server"], backend=orphan["backend"], orphan=True,
                              params=params, planned=planned, serving=is_running(container)))
        return found

    def read_journal(self):
        try:
            journal = read_json_object(self.journal_path, "rollout journal")
            out = (journal or {}).get("out") or []
            if not isinstance(out, list) or not all(
                    isinstance(s, dict) and all(isinstance(s.get(k), str) for k in ("lb", "backend", "server"))
                    for s in out):
                raise ValueError("the rollout journal %s does not hold a list of servers under 'out'"
                                 % self.journal_path)
        except ValueError as exc:
            raise RolloutFailed("%s. Nothing was changed; remove the file once every server of %s is checked."
                                % (exc, self.app))
        return dict(journal or {}, out=out)

    def forget_servers_back_in_rotation(self, observed):
        """Journal entries of servers that are ready again (put back by hand, or the run ended between ``set ready``
        and the journal write), or that no unit has any more on a load balancer that answers (unless we removed
        their unit), are dropped: a later maintenance of them is someone else's."""
        seen = dict((server_key(s), s) for unit in observed for s in unit["servers"])
        down = set(lb["spec"] for lb in self.lbs if not lb["up"])
        keep = [s for s in self.journal["out"]
                if s["lb"] in down or (server_key(s) in seen and seen[server_key(s)]["admin"] != "ready")
                or (server_key(s) not in seen and s.get("removed"))]
        if keep != self.journal["out"]:
            self.journal = dict(self.journal, out=keep)
            if not self.check_mode:
                self.write_journal()

    def plan_once_a_peer_serves(self, observed):
        """The rollout's plan. A unit that would leave its backend with no server serving, only because another
        server's health check is DOWN while that server's container serves (a check that timed out on a busy host, a
        server just put back), is planned again on fresh observations of the servers until that server is UP, for at
        most up_timeout seconds; then, or at once for any other reason, the rollout is refused."""
        deadline = time.monotonic() + self.params["up_timeout"]
        started = time.monotonic()
        units = dict((u["name"], u) for u in self.units + self.orphans)
        waited_for = None
        while True:
            try:
                plan = plan_rollout(observed, self.journal, self.params["require_serving_peer"])
            except NoServingPeer as exc:
                if not exc.recovering:
                    raise RolloutFailed(str(exc))
                if time.monotonic() >= deadline:
                    raise RolloutFailed("%s The other servers' health checks stayed DOWN for %.0f s (up_timeout)."
                                        % (exc, time.monotonic() - started))
                waited_for = waited_for or str(exc).split(":", 1)[0]
            except PlanError as exc:
                raise RolloutFailed(str(exc))
            else:
                if waited_for:
                    self.warnings.append("waited %.1f s for another server's health check to come UP (%s)"
                                         % (time.monotonic() - started, waited_for))
                return plan
            time.sleep(PEER_POLL_SECONDS)
            for unit in observed:
                unit["servers"] = self.observe_servers(units[unit["name"]])

    # ------------------------------------------------------------ run

    def run(self):
        self.check_params()
        self.client = DockerClient.from_params(self.params).connect()
        lock = None
        if not self.check_mode:
            lock = HostLock(os.path.join(self.params["state_dir"], "%s.lock" % self.app),
                            dict(app=self.app, version=self.version), timeout=self.params["lock_timeout"])
            try:
                lock.acquire()
            except LockTimeout as exc:
                raise RolloutFailed("%s. Nothing was changed." % exc)
            except (IOError, OSError) as exc:
                raise RolloutFailed("cannot take the lock in %s: %s" % (self.params["state_dir"], exc))
            self.result["lock_waited"] = round(lock.waited, 3)
        try:
            return self.locked_run()
        finally:
            if lock is not None:
                lock.release()

    def locked_run(self):
        self.resolve_container_sockets()
        self.check_load_balancers()
        self.resolve_release()
        observed = [self.plan_unit(unit) for unit in self.units]
        self.check_missing_load_balancers(observed)
        self.check_health_checks(observed)
        self.orphans = self.find_orphans()
        observed.extend(dict(name=o["name"], change="remove", serving=o["serving"], servers=self.observe_servers(o))
                        for o in self.orphans)
        self.journal = self.read_journal()
        self.forget_servers_back_in_rotation(observed)
        plan = self.plan_once_a_peer_serves(observed)
        self.result["plan"] = plan["steps"]
        self.result["held"] = plan["held"]
        for message in plan["held"]:
            self.warnings.append("%s is out of rotation and no rollout of %s put it there: it is left as it is"
                                 % (message, self.app))
        # A rollout acts on the servers in rotation and on those a run of ours took out; a server someone else put
        # in drain or maintenance stays as it is, even when its unit is replaced.
        ours = set(server_key(s) for s in self.journal["out"])
        self.servers = dict((o["name"], [s for s in o["servers"] if s["admin"] == "ready" or server_key(s) in ours])
                            for o in observed)
        if self.module._diff:
            self.result["diff"] = self.diff()
        release = dict(version=self.version, image=self.image.name if self.image else None,
                       image_id=self.result["image"].get("id") or "", **release_config(self.params))
        if self.params["release_id"]:
            release["release_id"] = self.params["release_id"]
        path = record_path(self.params["state_dir"], self.app)
        if self.params["record"]:
            self.result["recorded"] = self.read_recorded(path)
        self.result["changed"] = bool(plan["steps"])
        if self.check_mode:
            self.report()
            return self.result
        for step in plan["steps"]:
            unit = next(u for u in self.units + self.orphans if u["name"] == step["unit"])
            self.execute(unit, step["action"])
        self.report()
        if self.params["record"]:
            self.record(path, release)
        return self.result

    def report(self):
        self.result["units"] = [self.unit_result(u) for u in self.units + self.orphans]
        self.result["timeline"] = step_timeline(self.events)
        self.result["summary"] = summary_lines(self.result["units"], self.result["timeline"], self.result["restored"],
                                               self.check_mode)

    def unit_result(self, unit):
        swap = self.swaps.get(unit["name"]) or unit.get("planned") or {}
        summary = unit_summary(dict(swap, slot=unit["name"]))
        summary["action"] = swap.get("action", "none")
        if not self.check_mode and unit["name"] not in self.swaps and summary["action"] != "none":
            summary["action"] = "not reached"  # planned, but the rollout stopped before this unit
        summary["server"] = unit["server"]
        if unit["name"] in self.shutdowns:
            summary["sessions_shut_down"] = self.shutdowns[unit["name"]]
        return summary

    def diff(self):
        before, after = {}, {}
        for unit in self.units + self.orphans:
            planned = unit["planned"].get("diff")
            if planned and planned.get("before") != planned.get("after"):
                before[unit["name"]] = planned["before"]
                after[unit["name"]] = planned["after"]
        return dict(before=before, after=after)

    def read_recorded(self, path):
        """The releases the host's record names before this run: ``current`` and ``previous``."""
        try:
            old = read_record(path) or {}
        except ReleaseRecordError as exc:
            raise RolloutFailed("%s. Nothing was changed." % exc)
        return dict(current=old.get("current"), previous=old.get("previous"))

    def record(self, path, release):
        try:
            release = dict(release, deployed_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            record, changed = next_record(read_record(path), self.app, release,
                                          [u for u in self.result["units"] if u["slot"] in self.swaps],
                                          self.params["history_size"])
            if changed:
                write_record(path, record)
        except ReleaseRecordError as exc:
            raise RolloutFailed("every unit runs %s, but %s" % (self.image, exc))
        self.result["record_changed"] = changed
        self.result["release"] = record.get("current")
        self.result["changed"] = self.result["changed"] or changed

    # ------------------------------------------------------------ steps

    def save_journal(self, servers, action, unit):
        out = journal_after(self.journal.get("out") or [], servers, action)
        if out == (self.journal.get("out") or []) and action not in ("drain", "maint"):
            return
        self.journal = dict(app=self.app, version=self.version, pid=os.getpid(), unit=unit, action=action, out=out)
        self.write_journal()

    def write_journal(self):
        try:
            if self.journal.get("out"):
                atomic_write(self.journal_path, json_text(self.journal))
            else:
                remove_file(self.journal_path)
        except (IOError, OSError) as exc:
            raise RolloutFailed("cannot write the rollout journal %s: %s" % (self.journal_path, exc))

    def execute(self, unit, action):
        started = time.time()
        servers = self.servers[unit["name"]]
        if action in ("drain", "maint"):
            self.save_journal(servers, action, unit["name"])
        getattr(self, "step_" + action)(unit, servers)
        if action in ("ready", "restore"):
            self.save_journal(servers, action, unit["name"])
        self.events.append(dict(unit=unit["name"], action=action, started=started, ended=time.time()))

    def lb_of(self, server):
        return next(lb for lb in self.lbs if lb["spec"] == server["lb"])

    def set_all(self, servers, state, keep_going=False):
        """Set every server's admin state. With keep_going, try them all and return the (server, error) failures
        instead of raising at the first."""
        failed = []
        for server in servers:
            try:
                self.lb_of(server)["runtime"].set_state(server["backend"], server["server"], state)
            except HAProxyError as exc:
                if not keep_going:
                    raise load_balancer_failed(server["lb"], exc)
                failed.append((server, str(exc)))
        return failed

    def back_in_rotation(self, unit, servers, exc):
        """After a failed drain or maintenance (the container untouched): the unit's servers go back to ready on every
        load balancer that answers; the journal keeps the others for the next run. Returns the RolloutFailed."""
        failed = self.set_all(servers, "ready", keep_going=True)
        left = set(server_key(server) for server, _error in failed)
        self.save_journal([s for s in servers if server_key(s) not in left], "ready", unit["name"])
        if not failed:
            return RolloutFailed("%s; %s is back in rotation and unchanged" % (exc, unit["name"]))
        return RolloutFailed("%s; %s is unchanged and back in rotation except on %s (%s); the next run puts it back "
                             "there" % (exc, unit["name"], ", ".join(server["lb"] for server, _e in failed),
                                        "; ".join(error for _s, error in failed)))

    def wait_all_up(self, servers, timeout):
        for server in servers:
            try:
                self.lb_of(server)["runtime"].wait_for_up(server["backend"], server["server"], timeout=timeout)
            except HAProxyError as exc:
                raise load_balancer_failed(server["lb"], exc)

    def step_drain(self, unit, servers):
        """Drain everywhere and wait, within one drain_timeout for all load balancers, until no session is left.
        Sessions still open at the timeout are shut down deliberately and reported (on_drain_timeout=shutdown), or
        the unit goes back in rotation unchanged and the rollout stops (abort)."""
        # A server an interrupted run of ours left in maintenance stays there: draining it would let it out.
        draining = [s for s in servers if s["admin"] != "maint"]
        started = time.monotonic()
        deadline = started + self.params["drain_timeout"]
        overrun = []
        try:
            self.set_all(draining, "drain")
            for server in draining:
                runtime = self.lb_of(server)["runtime"]
                try:
                    runtime.wait_for_drained(server["backend"], server["server"],
                                             timeout=max(0.0, deadline - time.monotonic()))
                except HAProxyTimeout as exc:
                    overrun.append((server, exc))
                except HAProxyError as exc:
                    raise load_balancer_failed(server["lb"], exc)
            if overrun and self.params["on_drain_timeout"] == "abort":
                raise load_balancer_failed(overrun[0][0]["lb"], overrun[0][1])
        except RolloutFailed as exc:
            raise self.back_in_rotation(unit, servers, exc)
        if overrun:
            self.shut_down_sessions(unit, overrun, time.monotonic() - started)

    def shut_down_sessions(self, unit, overrun, waited):
        """``shutdown sessions server`` on each load balancer where sessions outlived the drain, counted first."""
        count = 0
        where = []
        for server, exc in overrun:
            runtime = self.lb_of(server)["runtime"]
            name = "%s/%s" % (server["backend"], server["server"])
            try:
                left = runtime.server(server["backend"], server["server"]).sessions
                answer = runtime.command("shutdown sessions server %s" % name).strip()
            except HAProxyError as err:
                raise load_balancer_failed(server["lb"], err)
            if answer:
                raise RolloutFailed("load balancer %s refused to shut down the sessions of %s: %s"
                                    % (server["lb"], name, answer[:300]))
            count += left
            where.append("%d on %s" % (left, server["lb"]))
        report = dict(count=count, after_seconds=round(waited, 2), where=where)
        self.shutdowns[unit["name"]] = report
        self.warnings.append("%s: %d session(s) still open after the drain timeout (%.1f s) were shut down (%s)"
                             % (unit["name"], count, waited, ", ".join(where)))

    def step_maint(self, unit, servers):
        """Maintenance everywhere, read back before the container is touched; if that fails, the unit goes back in
        rotation untouched."""
        try:
            self.set_all(servers, "maint")
            for server in servers:
                try:
                    admin = self.lb_of(server)["runtime"].server(server["backend"], server["server"]).admin_state
                except HAProxyError as exc:
                    raise load_balancer_failed(server["lb"], exc)
                if admin != "maint":
                    raise RolloutFailed("load balancer %s reports %s/%s in %s after it was put in maintenance"
                                        % (server["lb"], server["backend"], server["server"], admin))
        except RolloutFailed as exc:
            raise self.back_in_rotation(unit, servers, exc)

    def step_swap(self, unit, servers):
        swapper = ContainerSwap(UnitView(unit["params"], False, False, self.warnings), self.client)
        try:
            self.swaps[unit["name"]] = swapper.run()
        except (ParamError, DockerClientError, SwapFailed) as exc:
            self.swaps[unit["name"]] = swapper.result
            message = "%s: %s" % (unit["name"], exc)
            # Whatever runs in the unit now (the old container put back, or the one that was never touched) returns
            # to rotation only when it proves healthy.
            if servers and self.healthy(swapper, unit):
                try:
                    self.step_ready(unit, servers)
                    self.save_journal(servers, "ready", unit["name"])
                    message += " It is back in rotation."
                except RolloutFailed as back:
                    message += " Putting it back in rotation failed too: %s" % back
            elif servers:
                message += " It stays out of rotation (the next run puts it back once it is healthy)."
            self.report()
            raise RolloutFailed(message)
        # A recovery that kept the container an interrupted run had started was not health-checked by this run.
        if servers and self.swaps[unit["name"]].get("seconds_to_healthy") is None and not self.healthy(swapper, unit):
            self.report()
            raise RolloutFailed("%s: the container a killed run left in the unit is not healthy; it stays out of "
                                "rotation" % unit["name"])

    def healthy(self, swapper, unit):
        """Whether the unit's container runs and proves healthy now (False too when the engine does not answer)."""
        try:
            container = get_container(self.client, unit["name"])
            if not is_running(container):
                return False
            swapper.wait_healthy(container["Id"], swapper.mode_of(container["Id"]))
        except (UnhealthyError, DockerClientError):
            return False
        return True

    def step_remove(self, unit, servers):
        swapper = ContainerSwap(UnitView(unit["params"], False, False, self.warnings), self.client)
        try:
            self.swaps[unit["name"]] = swapper.run()
        except (ParamError, DockerClientError, SwapFailed) as exc:
            self.report()
            raise RolloutFailed("%s (to remove): %s" % (unit["name"], exc))
        self.save_journal(servers, "remove", unit["name"])

    def step_ready(self, unit, servers):
        self.set_all(servers, "ready")
        self.wait_all_up(servers, self.params["up_timeout"])

    def step_restore(self, unit, servers):
        swapper = ContainerSwap(UnitView(unit["params"], False, False, self.warnings), self.client)
        swapper.check_params()
        if not self.healthy(swapper, unit):
            raise RolloutFailed("%s: an interrupted run left it out of rotation and it is not healthy, so it stays "
                                "out" % unit["name"])
        self.step_ready(unit, servers)
        self.result["restored"].append(unit["name"])

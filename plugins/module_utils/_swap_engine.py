# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Executes the swap of one slot's container, as baton.docker.container_swap and baton.docker.rollout run it: the
decisions come from _swap_plan.py (pure), the settings from _container_settings.py, the calls go to the engine here.

``ContainerSwap`` takes an object with ``params`` (validated against ``SWAP_ARGS`` plus the Docker
connection and pull options), ``check_mode``, ``_diff`` and ``warn``: an AnsibleModule, or the rollout
engine's view of one unit.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.baton.docker.plugins.module_utils._containers import (
    DEFAULT_LOG_LINES,
    container_logs,
    container_state,
    create_container,
    get_container,
    host_port_in_use,
    inspect_container,
    is_running,
    network_exists,
    published_host_ports,
    referenced_container,
    remove_container,
    rename_container,
    resolve_host,
    start_container,
    stop_container,
)
from ansible_collections.baton.docker.plugins.module_utils._docker_client import (
    DockerClient,
    DockerClientError,
    is_local_engine,
)
from ansible_collections.baton.docker.plugins.module_utils._health import UnhealthyError, wait_until_healthy
from ansible_collections.baton.docker.plugins.module_utils._images import image_for_run
from ansible_collections.baton.docker.plugins.module_utils._container_settings import (
    config_differences,
    create_labels,
    effective_config,
    effective_from_container,
    explicit_from_container,
    explicit_from_params,
    merge_config,
    setting_options,
)
from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError
from ansible_collections.baton.docker.plugins.module_utils._image_ref import ImageRef
from ansible_collections.baton.docker.plugins.module_utils._params import (
    LABEL_IMAGE,
    PREVIOUS_SUFFIX,
    ParamError,
    check_non_negative,
    check_positive,
    check_slot_name,
)
from ansible_collections.baton.docker.plugins.module_utils._swap_plan import (
    check_health_url_port,
    check_references,
    display_config,
    first_restart_policy,
    health_mode,
    parse_health_url,
    ports_to_check,
    recovery_action,
    referenced_containers,
    repo_digest,
    reported_action,
    slot_action,
    tail_text,
)

RECOVERY_DONE = {"restore": "restored", "discard": "discarded", "replace": "replaced"}


class SwapFailed(BatonError):
    """The swap failed after changes began; the result says what state the slot is in."""


class ContainerSwap(object):
    def __init__(self, module, client=None):
        self.module = module
        self.params = module.params
        self.name = self.params["name"]
        self.previous_name = self.name + PREVIOUS_SUFFIX
        self.state = self.params["state"]
        self.update = self.params["update"]
        self.health = self.params["health"]
        self.client = client
        self.image = None
        self.requested = None
        self.url = None
        self.stopped_links = []
        self.result = dict(changed=False, created=False, rolled_back=False, recovery=None, action="none",
                           container=dict(name=self.name, old_id=None, new_id=None),
                           image=dict(ref=None, old_ref=None, old_id=None, new_id=None, old_digest=None,
                                      new_digest=None))

    # ------------------------------------------------------------ pre-checks

    def check_params(self):
        """Everything that can be refused without the engine."""
        params = self.params
        check_slot_name(self.name)
        check_non_negative({"stop_timeout": params["stop_timeout"], "restart_retries": params["restart_retries"],
                            "log_lines": params["log_lines"]})
        check_positive({"api_timeout": params["api_timeout"], "health.interval": self.health["interval"],
                        "health.timeout": self.health["timeout"], "health.retries": self.health["retries"]})
        check_non_negative({"health.settle": self.health["settle"]})
        if not 100 <= self.health["status"] <= 599:
            raise ParamError("health.status: %d is not an HTTP status code" % self.health["status"])
        if self.state == "absent":
            return
        self.image = ImageRef.parse(params["image"])
        self.result["image"]["ref"] = self.image.name
        auth = params["pull_auth"]
        if auth and auth.get("registry"):
            if auth["registry"].rstrip("/").split("://")[-1] != self.image.registry:
                raise ParamError("pull_auth.registry: %s is not the registry of image %s (%s)"
                                 % (auth["registry"], self.image, self.image.registry))
        self.requested = explicit_from_params(params)
        if self.health["url"] and self.state == "started":
            self.url = self.health["url"].strip()
            _scheme, self.url_host, self.url_port, _path = parse_health_url(self.url)

    def check_environment(self, desired, held_ids, held_ports):
        """Pre-checks that need the engine or the host; none of them changes anything."""
        if self.url:
            check_health_url_port(self.url, self.url_host, self.url_port, desired["ports"])
            problem = resolve_host(self.url_host)
            if problem:
                raise ParamError("health.url: the host %s of %s does not resolve: %s" % (self.url_host, self.url, problem))
        if desired["network"] and not network_exists(self.client, desired["network"]):
            raise ParamError("network: there is no Docker network called %s" % desired["network"])
        for option, name in referenced_containers(desired):
            target = referenced_container(self.client, option, name, self.module.check_mode, self.module.warn)
            if target is None:  # check mode: an earlier task of the run may create it
                continue
            if option == "links" and not is_running(target):
                self.stopped_links.append(name)
        if self.state != "started":  # a container that is only created binds no host port
            return
        wanted = ports_to_check(desired["ports"], held_ports)
        if not wanted:
            return
        published = [p for p in published_host_ports(self.client) if p["id"] not in held_ids]
        local = is_local_engine(self.params["docker_host"])
        for ip, port, proto in wanted:
            for other in published:
                if other["port"] == port and other["proto"] == proto:
                    raise ParamError("ports: host port %d/%s is already published by container %s"
                                     % (port, proto, other["name"]))
            problem = host_port_in_use(ip, port, proto) if local else None
            if problem:
                raise ParamError("ports: host port %s%d/%s is already in use on the Docker host by another process (%s)"
                                 % (ip + ":" if ip else "", port, proto, problem))

    def resolve_image(self):
        """Inspect data of the image to run; None in check mode when it would be pulled."""
        image = self.image
        try:
            return image_for_run(self.client, image, self.params["pull"], self.params["pull_auth"],
                                 self.module.check_mode)[0]
        except DockerClientError as exc:
            raise ParamError("image %s" % exc)

    # ------------------------------------------------------------ the run

    def run(self):
        self.check_params()
        if self.client is None:
            self.client = DockerClient.from_params(self.params).connect()

        slot = get_container(self.client, self.name)
        previous = get_container(self.client, self.previous_name)
        if self.state == "absent":
            return self.remove(slot, previous)
        recovery = recovery_action(_brief(slot), _brief(previous), self.state)
        current = previous if recovery in ("restore", "replace") else slot
        carried = self.read_old(current)
        desired = merge_config(self.requested, carried, first_restart_policy(self.state))
        check_references(desired, self.name)

        new_image = None
        if self.update or current is None:
            held = [c for c in (slot, previous) if c is not None]
            held_ports = [spec for c in held if is_running(c) for spec in effective_from_container(c)["ports"]]
            self.check_environment(desired, [c["Id"] for c in held], held_ports)
            new_image = self.resolve_image()
            if new_image is not None:
                self.result["image"]["new_id"] = new_image["Id"]
                digests = new_image.get("RepoDigests")
                self.result["image"]["new_digest"] = repo_digest(digests, self.image.repository)

        action = slot_action(self.state, self.update, current is not None, is_running(current),
                             self.outdated(current, new_image, desired))
        if self.stopped_links and self.state == "started" and action in ("create", "replace"):
            raise ParamError("links: container %s does not run; the engine starts a container only when the "
                             "containers it links to run" % self.stopped_links[0])
        self.result["created"] = current is None
        self.result["recovery"] = RECOVERY_DONE.get(recovery)
        self.result["action"] = reported_action(action, recovery)
        self.result["changed"] = self.result["action"] != "none"
        if self.module._diff:
            self.result["diff"] = self.diff(current, carried, desired, action)
        replacing = action in ("create", "replace")
        if not replacing:
            self.result["container"]["new_id"] = current["Id"]
        if not self.result["changed"] or self.module.check_mode:
            return self.result

        if recovery == "discard":
            remove_container(self.client, previous["Id"])
        elif recovery == "replace":
            remove_container(self.client, slot["Id"])
        if replacing and self.state == "created":
            self.recreate(current, desired)
        elif replacing:
            self.swap(current, new_image, desired,
                      was_running=is_running(current) or recovery in ("restore", "replace"))
        elif recovery in ("restore", "replace"):  # the previous container goes back into the slot
            if self.state == "started":
                self.put_back(current)
            else:
                self.into_slot(current["Id"])
        elif action == "start":
            self.start_kept(current)
        return self.result

    def read_old(self, current, warn=True):
        """Fill the result's old_* values; return the explicit config carried from ``current`` (None if empty)."""
        if current is None:
            return None
        old_image = self.client.image_attrs(current["Image"])
        if old_image is None and warn:
            self.module.warn("the image %s of container %s is no longer present: its defaults cannot be told "
                             "from the slot's own settings, so all of its env, labels, command and healthcheck "
                             "are carried over" % (current["Image"], current["Name"].lstrip("/")))
        self.result["container"]["old_id"] = current["Id"]
        self.result["image"]["old_id"] = current["Image"]
        self.result["image"]["old_ref"] = (current.get("Config") or {}).get("Image")
        self.result["image"]["old_digest"] = repo_digest((old_image or {}).get("RepoDigests"),
                                                         _repository_of(current))
        return explicit_from_container(current, (old_image or {}).get("Config"))

    def outdated(self, current, new_image, desired):
        """Whether the slot's container differs from the wanted image or configuration (only when it may be replaced)."""
        if current is None or not self.update:
            return False
        if new_image is None or new_image["Id"] != current["Image"]:
            return True
        wanted = effective_config(desired, new_image.get("Config"), self.name)
        return bool(config_differences(wanted, effective_from_container(current)))

    def view(self, container, carried):
        """A container as shown in the diff."""
        shown = dict(image=_ref_of(container), image_id=container["Image"], status=_status(container))
        shown.update(display_config(carried))
        return shown

    def diff(self, current, carried, desired, action):
        if action in ("create", "replace"):
            after = dict(image=self.image.name, image_id=self.result["image"]["new_id"],
                         status="running" if self.state == "started" else "created")
            after.update(display_config(desired))
            return dict(before={} if current is None else self.view(current, carried), after=after)
        before = self.view(current, carried)
        after = dict(before)
        if self.state == "started":
            after["status"] = "running"
        return dict(before=before, after=after)

    def remove(self, slot, previous):
        """state=absent: stop the slot's containers gracefully and remove them."""
        current = slot if slot is not None else previous
        carried = self.read_old(current, warn=False)
        action = slot_action(self.state, self.update, current is not None, False, False)
        self.result["action"] = action
        self.result["changed"] = action != "none"
        self.result["recovery"] = RECOVERY_DONE["discard"] if previous is not None else None
        if self.module._diff:
            self.result["diff"] = dict(before={} if current is None else self.view(current, carried), after={})
        if not self.result["changed"] or self.module.check_mode:
            return self.result
        for container in (slot, previous):
            if container is None:
                continue
            if is_running(container):
                stop_container(self.client, container["Id"], container["Config"].get("StopTimeout"))
            remove_container(self.client, container["Id"])
        return self.result

    # ------------------------------------------------------------ changes

    def wait_healthy(self, container_id, mode):
        return wait_until_healthy(self.client, container_id, mode, url=self.url, status=self.health["status"],
                                  interval=self.health["interval"], timeout=self.health["timeout"],
                                  retries=self.health["retries"], validate_certs=self.health["validate_certs"],
                                  settle=self.health["settle"])

    def mode_of(self, container_id):
        attrs = inspect_container(self.client, container_id)
        return health_mode(self.url, effective_from_container(attrs)["healthcheck"])

    def into_slot(self, container_id):
        if inspect_container(self.client, container_id).get("Name", "").lstrip("/") != self.name:
            rename_container(self.client, container_id, self.name)

    def put_back(self, old):
        """Move the kept-aside container into the slot and run it again (rollback and recovery)."""
        self.into_slot(old["Id"])
        start_container(self.client, old["Id"])
        try:
            self.wait_healthy(old["Id"], self.mode_of(old["Id"]))
        except UnhealthyError as exc:
            raise SwapFailed("the previous container %s is back in slot %s but is not healthy either: %s"
                             % (old["Id"][:12], self.name, exc))

    def create_in_slot(self, old, desired):
        """Put ``old`` (if any) aside and create the new container in the slot; return its ID.

        When the engine refuses to create it, ``old`` goes back into the slot.
        """
        aside = False
        if old is not None and old["Name"].lstrip("/") == self.name:
            rename_container(self.client, old["Id"], self.previous_name)
            aside = True
        labels = create_labels(desired["labels"], self.name, self.image.name)
        try:
            return create_container(self.client, self.name, self.image.name, desired, labels)
        except DockerClientError:
            if aside:
                self.into_slot(old["Id"])
            raise

    def swap(self, old, new_image, desired, was_running):
        new_id = self.create_in_slot(old, desired)
        try:
            if old is not None and is_running(old):
                self.stop_old(old)
            start_container(self.client, new_id)
            seconds = self.wait_healthy(new_id, self.mode_of(new_id))
        except DockerClientError as exc:
            raise self.roll_back(old, new_id, was_running, exc)
        self.result["container"]["new_id"] = new_id
        self.result["seconds_to_healthy"] = round(seconds, 2)
        if old is not None:
            try:
                remove_container(self.client, old["Id"])
            except DockerClientError as exc:
                self.module.warn("the new container is healthy but the previous one could not be removed "
                                 "(the next run removes it): %s" % exc)

    def stop_old(self, old):
        """Stop the previous container; say so when it ignored its stop signal and was killed at its stop timeout."""
        timeout = old["Config"].get("StopTimeout")
        started = time.monotonic()
        stop_container(self.client, old["Id"], timeout)
        state = container_state(self.client, old["Id"])
        if state.get("ExitCode") == 137 and not state.get("OOMKilled"):
            seconds = round(time.monotonic() - started, 1)
            self.result["killed_at_stop_timeout"] = seconds
            self.module.warn("the previous container %s did not stop on its stop signal and was killed after %s s "
                             "(its stop timeout)" % (old["Id"][:12], seconds))

    def recreate(self, old, desired):
        """state=created: a new created container takes the place of ``old`` (if any); nothing is started."""
        new_id = self.create_in_slot(old, desired)
        self.result["container"]["new_id"] = new_id
        if old is None:
            return
        try:
            if is_running(old):
                stop_container(self.client, old["Id"], old["Config"].get("StopTimeout"))
            remove_container(self.client, old["Id"])
        except DockerClientError as exc:
            self.module.warn("the new container is created but the previous one could not be removed "
                             "(the next run removes it): %s" % exc)

    def start_kept(self, container):
        """update=false: start the slot's container as it is and wait until it proves healthy."""
        start_container(self.client, container["Id"])
        try:
            seconds = self.wait_healthy(container["Id"], self.mode_of(container["Id"]))
        except UnhealthyError as exc:
            try:
                logs = container_logs(self.client, container["Id"], self.params["log_lines"])
            except DockerClientError as err:
                logs = ["(logs unavailable: %s)" % err]
            self.result["logs"] = logs
            what = ("the container %s in slot %s (%s) was started but is not healthy: %s. It stays in the slot as it "
                    "is (update=false)." % (container["Id"][:12], self.name, _ref_of(container), exc))
            if logs:
                what += " Last %d log line(s):\n%s" % (len(logs), tail_text(logs))
            raise SwapFailed(what)
        self.result["seconds_to_healthy"] = round(seconds, 2)

    def roll_back(self, old, new_id, was_running, reason):
        """Remove the failed new container, put the old one back; return the SwapFailed to raise."""
        try:
            logs = container_logs(self.client, new_id, self.params["log_lines"])
        except DockerClientError as exc:
            logs = ["(logs unavailable: %s)" % exc]
        self.result["logs"] = logs
        what = "the new container for slot %s (%s) is not healthy: %s." % (self.name, self.image, reason)
        try:
            remove_container(self.client, new_id)
            if old is None:
                what += " It was removed; the slot stays empty."
            elif was_running:
                self.put_back(old)
            else:
                self.into_slot(old["Id"])
        except SwapFailed as exc:  # back in the slot and started, but not healthy
            self.result["rolled_back"] = True
            self.result["container"]["new_id"] = old["Id"]
            what += " Rolled back, but %s." % exc
        except DockerClientError as exc:
            what += " Rolling back failed: %s." % exc
        else:
            if old is not None:
                self.result["rolled_back"] = True
                self.result["container"]["new_id"] = old["Id"]
                what += " Rolled back: container %s (%s) is in the slot again." % (old["Id"][:12], _ref_of(old))
        if logs:
            what += " Last %d log line(s) of the new container:\n%s" % (len(logs), tail_text(logs))
        return SwapFailed(what)


def _brief(attrs):
    return None if attrs is None else dict(running=is_running(attrs))


def _status(attrs):
    return ((attrs or {}).get("State") or {}).get("Status") or "unknown"


def _ref_of(container):
    """The image reference a container was created from."""
    return (container["Config"].get("Labels") or {}).get(LABEL_IMAGE) or container["Config"].get("Image") or ""


def _repository_of(container):
    """Repository part of the reference a container was created from."""
    try:
        return ImageRef.parse(_ref_of(container)).repository
    except ParamError:
        return None


SWAP_ARGS = dict(
    name=dict(type="str", required=True),
    image=dict(type="str"),
    state=dict(type="str", default="started", choices=["started", "created", "absent"]),
    update=dict(type="bool", default=True),
    health=dict(type="dict", default={}, options=dict(
        url=dict(type="str"),
        status=dict(type="int", default=200),
        interval=dict(type="float", default=1.0),
        timeout=dict(type="float", default=2.0),
        retries=dict(type="int", default=30),
        validate_certs=dict(type="bool", default=True),
        settle=dict(type="float", default=0.0),
    )),
    log_lines=dict(type="int", default=DEFAULT_LOG_LINES),
    **setting_options()
)

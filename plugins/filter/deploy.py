# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters that give the deploy role its migrations and notifications (see roles/deploy)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.baton.docker.plugins.filter.rollout import image_tag

# Plan actions that give an entry a new container.
NEW_CONTAINER_ACTIONS = ("create", "replace")


def _spec_entry(spec, name):
    for entry in spec["containers"]:
        if entry["name"] == name:
            return entry
    raise AnsibleFilterError("stack spec: no container entry named %r" % (name,))


def _first_container(containers, name):
    for container in containers:
        if container["entry"] == name:
            return container
    raise AnsibleFilterError("stack spec: entry %r has no container on this host" % (name,))


def stack_migration(spec, name, containers, plan):
    """The one-off run of entry ``name``'s migration: its command, the settings of the entry's first container, and
    ``changing`` when the plan (a check-mode baton.docker.rollout result) gives one of its containers a new one."""
    command = _spec_entry(spec, name)["migration"]
    first = _first_container(containers, name)
    slots = set(container["name"] for container in containers if container["entry"] == name)
    changing = any(unit.get("slot") in slots and unit.get("action") in NEW_CONTAINER_ACTIONS
                   for unit in plan.get("units") or [])
    run = dict((key, first[key]) for key in ("image", "entrypoint", "env", "volumes", "volumes_from", "links",
                                             "network"))
    run.update(command=command, changing=changing)
    return run


def stack_rollbar(spec, name, containers, version=""):
    """The Rollbar deploy of entry ``name``: its access token, environment and revision.

    The environment is the entry's first container's value of the rollbar env_var, else the rollbar environment, else
    production; the revision its value of rev_var, else ``version``, else the tag of the entry's image.
    """
    rollbar = _spec_entry(spec, name)["rollbar"] or {}
    first = _first_container(containers, name)
    env = first.get("env") or {}
    return dict(
        access_token=rollbar.get("access_token"),
        environment=env.get(rollbar.get("env_var")) or rollbar.get("environment") or "production",
        revision=env.get(rollbar.get("rev_var")) or version or image_tag(first["image"]),
    )


def stack_version(containers, version=""):
    """The version a deploy reports: ``version``, else what follows the last ':' of the first image that is not a
    manual entry's ('' when there is none)."""
    if version:
        return version
    images = [container.get("image") for container in containers or [] if container.get("kind") != "manual"]
    return str(images[0] or "").rsplit(":", 1)[-1] if images else ""


class FilterModule(object):
    def filters(self):
        return {"stack_migration": stack_migration, "stack_rollbar": stack_rollbar, "stack_version": stack_version}

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: release_cleanup
short_description: Keep the images of an application's last releases on a host, remove the older ones
version_added: 0.1.0
description:
  - After a release, removes from the Docker host the images that belonged only to older releases of O(app), and
    prunes the history of its release record (C(<state_dir>/<app>.json), written by M(baton.docker.rollout) and
    M(baton.docker.release_record)) to the releases kept.
  - Kept are the images of the O(keep_releases) newest releases of the record's history, always those of the current
    release and of the previous one (the release a revert goes back to), even with O(keep_releases=1), and every
    image any container uses, running or stopped.
  - Only images of the application are considered - images that carry a tag or digest of a repository one of the
    record's releases names, or whose ID a release of the record names. Every other image on the host is left alone.
  - An image is removed by its ID, never forced (an image carrying tags of several of the application's
    repositories loses them one by one, the last one taking the image). When an image to remove also carries a tag
    or digest of another repository, only the application's tags and digests are removed and the image stays for
    the other repository.
    An image an older release shares with a kept release (the same image ID, or one of its tags) is kept, with all
    its tags.
  - The images are removed before the record is written, so that a run stopped half way leaves a record that still
    names what it has not removed yet. When the engine refuses to remove an image (a container created since, or an
    image built from it), the image is reported as kept with the engine's reason and a warning; the run goes on.
  - Changes are made under the application's host lock (C(<state_dir>/<app>.lock), the lock of
    M(baton.docker.rollout)), waiting for it at most 60 seconds, so that a rollout and a cleanup of the same
    application never interleave. A run with nothing to change takes no lock.
  - Without a record (nothing was deployed with it yet) there is nothing to do.
author:
  - baton.docker maintainers (@baton-docker)
extends_documentation_fragment:
  - baton.docker.attributes
  - baton.docker.docker
attributes:
  check_mode:
    description: Reports the images that would be removed and kept and whether the record would be pruned; changes
      nothing.
  diff_mode:
    description: The application's images (ID and references) and the versions of the record's history, before and
      after.
  platform:
    description: Runs on the Docker host that keeps the release record.
options:
  app:
    description:
      - The application; its release record is C(<state_dir>/<app>.json).
      - Letters, digits, C(_), C(.) or C(-), starting with a letter or digit.
    type: str
    required: true
  state_dir:
    description: The directory of the release records (the O(baton.docker.rollout#module:state_dir) of the rollout).
    type: path
    default: /var/lib/baton
  keep_releases:
    description:
      - How many of the newest releases of the record's history keep their images (a release deployed again, after
        a revert, counts once). The current and the previous release are kept in any case. At least 1.
    type: int
    default: 3
"""

EXAMPLES = r"""
- name: Keep the images of the three latest releases of mobile
  baton.docker.release_cleanup:
    app: mobile

- name: Keep only what runs now and what a revert needs
  baton.docker.release_cleanup:
    app: mobile
    keep_releases: 1
  register: cleanup

- name: Show what a cleanup would remove, changing nothing
  baton.docker.release_cleanup:
    app: mobile
    state_dir: /srv/baton/state
    keep_releases: 2
  check_mode: true
  diff: true
"""

RETURN = r"""
removed:
  description:
    - The images removed (in check mode, that would be removed).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The image ID.
      type: str
      returned: always
    tags:
      description: The application's tags and digests the image carried.
      type: list
      elements: str
      returned: always
    version:
      description: The release of the record whose image it was, V(null) for an image of the application's
        repositories that no release of the record names.
      type: str
      returned: always
    action:
      description: V(delete) when the image was removed, V(untag) when only the application's tags and digests
        were removed (the image carries references of other repositories too and stays).
      type: str
      returned: always
  sample:
    - {id: "sha256:4f2c...", tags: ["registry.example.com/clay/mobile:v1.0.0"], version: v1.0.0, action: delete}
kept:
  description: The application's images that stay, and why.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The image ID.
      type: str
      returned: always
    tags:
      description: Every tag and digest of the image.
      type: list
      elements: str
      returned: always
    version:
      description: The release of the record whose image it is (a kept one when several share it), V(null) when no
        release of the record names it.
      type: str
      returned: always
    reason:
      description: Why it stays (current or previous release, among the newest, used by a container, refused by the
        engine), several joined by C(; ).
      type: str
      returned: always
  sample:
    - {id: "sha256:9b8c...", tags: ["registry.example.com/clay/mobile:v1.0.2"], version: v1.0.2,
       reason: "release v1.0.2 is the current release"}
record_pruned:
  description: Whether the record's history was (in check mode, would be) pruned to the kept releases.
  returned: always
  type: bool
  sample: true
history:
  description: The versions of the record's history after the task, newest first.
  returned: always
  type: list
  elements: str
  sample: [v1.0.2, v1.0.1, v1.0.0]
record_path:
  description: The release record of the application.
  returned: always
  type: str
  sample: /var/lib/baton/mobile.json
msg:
  description: What the task found or did, in one sentence.
  returned: always
  type: str
  sample: "removed 2 images of mobile; the record keeps 3 releases"
"""

import os
import re

from ansible_collections.baton.docker.plugins.module_utils._cleanup_plan import (
    CleanupPlanError,
    images_after,
    plan_cleanup,
    reference_repository,
)
from ansible_collections.baton.docker.plugins.module_utils._containers import images_in_use
from ansible_collections.baton.docker.plugins.module_utils._docker_client import DockerClient
from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError
from ansible_collections.baton.docker.plugins.module_utils._files import HostLock, LockTimeout
from ansible_collections.baton.docker.plugins.module_utils._images import ImageConflict, list_images, remove_image
from ansible_collections.baton.docker.plugins.module_utils._module import ModuleRunner, run_module
from ansible_collections.baton.docker.plugins.module_utils._release import (
    ReleaseRecordError,
    read_record,
    record_path,
    write_record,
)

APP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# Seconds a cleanup waits for the application's host lock (a rollout of the same application holding it).
LOCK_WAIT = 60.0


class CleanupFailed(BatonError):
    pass


def _image_lines(images):
    """The diff view of images: one line per image, its ID and references."""
    return sorted("%s %s" % (image["id"], " ".join(image["tags"] + image["digests"]) or "(no reference)")
                  for image in images)


def _versions(record):
    return [entry.get("version") if isinstance(entry, dict) else None for entry in (record or {}).get("history") or []]


class ReleaseCleanup(ModuleRunner):
    client = None

    def __init__(self, module):
        super(ReleaseCleanup, self).__init__(module)
        self.warnings = []
        self.path = record_path(self.params["state_dir"], self.params["app"])
        self.result = dict(changed=False, removed=[], kept=[], record_pruned=False, history=[], record_path=self.path)

    def observe(self):
        """(record, images, plan) as the host is now; (None, None, None) without a record."""
        record = read_record(self.path)
        if record is None:
            return None, None, None
        if self.client is None:
            self.client = DockerClient.from_params(self.params).connect()
        images = list_images(self.client)
        try:
            plan = plan_cleanup(record, self.params["keep_releases"], images, images_in_use(self.client))
        except CleanupPlanError as exc:
            raise ReleaseRecordError("the release record %s cannot be used: %s" % (self.path, exc))
        return record, images, plan

    def nothing(self):
        self.result["msg"] = ("no release record at %s: nothing was deployed here with it yet, nothing to clean up"
                              % self.path)
        return self.result

    def run(self):
        params = self.params
        record, images, plan = self.observe()
        if record is None:
            return self.nothing()
        lock = None
        if (plan["remove"] or plan["record_pruned"]) and not self.module.check_mode:
            lock = HostLock(os.path.join(params["state_dir"], "%s.lock" % params["app"]),
                            dict(app=params["app"], operation="release cleanup"), timeout=LOCK_WAIT)
            try:
                lock.acquire()
            except LockTimeout as exc:
                raise CleanupFailed("%s. Nothing was changed." % exc)
            except (IOError, OSError) as exc:
                raise CleanupFailed("cannot take the lock in %s: %s" % (params["state_dir"], exc))
        try:
            if lock is not None:  # planned again: a rollout may have changed the host while this run waited
                record, images, plan = self.observe()
                if record is None:
                    return self.nothing()
            return self.apply(record, images, plan)
        finally:
            if lock is not None:
                lock.release()

    def apply(self, record, images, plan):
        result = self.result
        removed, kept = [], list(plan["keep"])
        result.update(removed=removed, kept=kept)  # what a failure half way reports
        for item in plan["remove"]:
            if not self.module.check_mode:
                try:
                    self.remove(item)
                except ImageConflict as exc:
                    self.warnings.append(str(exc))
                    kept.append(dict(id=item["id"], tags=item["tags"], version=item["version"],
                                     reason="the engine refused its removal: %s" % exc))
                    continue
            removed.append(item)
        result["record_pruned"] = plan["record_pruned"]
        if plan["record_pruned"] and not self.module.check_mode:
            write_record(self.path, plan["record"])
        result["history"] = _versions(plan["record"])
        result["changed"] = bool(removed) or plan["record_pruned"]
        if self.module._diff:
            ours = set(item["id"] for item in removed + kept)
            before = [image for image in images if image["id"] in ours]
            result["diff"] = dict(
                before=dict(images=_image_lines(images_after(before, []))),
                after=dict(images=_image_lines(images_after(before, removed))))
            result["diff"]["before"]["history"] = _versions(record)
            result["diff"]["after"]["history"] = result["history"]
        count, kept_count = len(removed), len(result["history"])
        result["msg"] = "%s %d image%s of %s; the record %s %d release%s" % (
            "would remove" if self.module.check_mode else "removed", count, "" if count == 1 else "s",
            self.params["app"], "would keep" if self.module.check_mode else "keeps", kept_count,
            "" if kept_count == 1 else "s")
        return result

    def remove(self, item):
        """Remove one image of the plan: by ID, or only the application's references (untag).

        The engine refuses to remove by ID an image that carries references of several repositories (unless forced):
        an image of several of the application's repositories loses its references one by one, the last one taking
        the image with it."""
        if item["action"] == "delete" and len(set(reference_repository(ref) for ref in item["tags"])) <= 1:
            remove_image(self.client, item["id"])
            return
        for ref in item["tags"]:
            remove_image(self.client, ref)
        if item["action"] == "delete":
            remove_image(self.client, item["id"])  # already gone, unless no reference was left to take it


def validate(params):
    if not APP_NAME.match(params["app"] or ""):
        return "app: %r must be letters, digits, '_', '.' or '-' (it names files in state_dir)" % params["app"]
    if params["keep_releases"] is None or params["keep_releases"] < 1:
        return "keep_releases: must be at least 1, got %r" % params["keep_releases"]
    return None


def argument_spec():
    return dict(
        app=dict(type="str", required=True),
        state_dir=dict(type="path", default="/var/lib/baton"),
        keep_releases=dict(type="int", default=3),
    )


def main():
    run_module(argument_spec(), ReleaseCleanup, connection="docker", validate=validate, absolute_paths=("state_dir",))


if __name__ == "__main__":
    main()

# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a release cleanup removes from a host and what it keeps (no I/O here): ``plan_cleanup`` takes an app's
release record, how many releases to keep, the host's images and the images its containers use, and returns the
images to remove, the images kept with their reasons, and the record after pruning.

The rules, in order:
  - only images of the app are considered: an image carrying a tag or digest of a repository that a release of the
    record names, or whose ID a release of the record names; every other image is left alone and not reported;
  - the releases kept are the ``keep_releases`` newest distinct releases of the history, plus the current and the
    previous release (the one a revert goes back to) wherever they are;
  - an image is kept when its ID is the image ID of a kept release, or when it carries the reference (tag or digest)
    of a kept release, or when any container uses it, running or not;
  - every other image of the app is removed: by its ID when all its tags and digests belong to the app's
    repositories; when it also carries a tag or digest of another repository, only the app's references are removed
    (untagged) and the image stays for the other repository (an image of an old release that carries only
    references of other repositories is kept as it is);
  - the record's history keeps the entries of the kept releases only, in their order; ``current`` and ``previous``
    stay as they are.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError
from ansible_collections.baton.docker.plugins.module_utils._image_ref import ImageRef
from ansible_collections.baton.docker.plugins.module_utils._params import ParamError

NO_REFERENCE = ("<none>:<none>", "<none>@<none>")


class CleanupPlanError(BatonError):
    """A release record whose content cannot be planned from (the caller names the file)."""


def familiar(repository):
    """A repository name as the engine lists it: without ``docker.io/`` and, for official images, ``library/``."""
    for prefix in ("docker.io/", "index.docker.io/"):
        if repository.startswith(prefix):
            repository = repository[len(prefix):]
            if repository.startswith("library/") and repository.count("/") == 1:
                repository = repository[len("library/"):]
            break
    return repository


def reference_repository(reference):
    """The repository of a tag (``repo:tag``) or digest (``repo@sha256:...``) reference as the engine lists them."""
    if "@" in reference:
        return familiar(reference.split("@", 1)[0])
    slash, colon = reference.rfind("/"), reference.rfind(":")
    return familiar(reference[:colon] if colon > slash else reference)


def release_key(release):
    """What tells two releases apart here: their version and image ID. (_release.same_release also tells two
    configurations of one image apart; they keep the same image, which is all a cleanup decides on.)"""
    return (release.get("version"), release.get("image_id"))


def release_references(release):
    """The references (``repo:tag`` and ``repo@digest``, as the engine lists them) a release's image is known by."""
    ref = release["_ref"]
    if ref is None:
        return set()
    repository = familiar(ref.repository)
    found = set()
    if ref.tag:
        found.add("%s:%s" % (repository, ref.tag))
    if ref.digest:
        found.add("%s@%s" % (repository, ref.digest))
    return found


def _checked_release(value, where):
    """A copy of one release of the record with its parsed reference (``_ref``, None when it names none)."""
    if not isinstance(value, dict):
        raise CleanupPlanError("%s is not an object" % where)
    for key in ("version", "image", "image_id"):
        if value.get(key) is not None and not isinstance(value.get(key), str):
            raise CleanupPlanError("%s.%s is not a string" % (where, key))
    release = dict(value)
    release["_ref"] = None
    if release.get("image"):
        try:
            release["_ref"] = ImageRef.parse(release["image"])
        except ParamError as exc:
            raise CleanupPlanError("%s.image %r is not an image reference (%s)"
                                   % (where, release["image"], str(exc).split(": ", 1)[-1]))
    if not release.get("image_id") and release["_ref"] is None:
        raise CleanupPlanError("%s names neither an image nor an image ID" % where)
    return release


def record_releases(record):
    """The releases of a record: (history, current, previous), each checked; history newest first, current and
    previous None when the record has none."""
    if not isinstance(record, dict):
        raise CleanupPlanError("the record is not an object")
    history = record.get("history")
    if history is None:
        history = []
    if not isinstance(history, list):
        raise CleanupPlanError("history is not a list")
    releases = [_checked_release(entry, "history[%d]" % index) for index, entry in enumerate(history)]
    current = record.get("current")
    previous = record.get("previous")
    current = _checked_release(current, "current") if current is not None else None
    previous = _checked_release(previous, "previous") if previous is not None else None
    return releases, current, previous


def kept_releases(history, current, previous, keep_releases):
    """{release key: reason} of the releases kept: the ``keep_releases`` newest distinct releases of ``history``,
    the current and the previous release."""
    if keep_releases < 1:
        raise CleanupPlanError("keep_releases: must be at least 1, got %d" % keep_releases)
    kept = {}
    for release in history:
        key = release_key(release)
        if key not in kept and len(kept) < keep_releases:
            kept[key] = "release %s is among the %d newest" % (release.get("version"), keep_releases)
    if previous is not None:
        kept[release_key(previous)] = "release %s is the previous release (a revert goes back to it)" % previous.get("version")
    if current is not None:
        kept[release_key(current)] = "release %s is the current release" % current.get("version")
    return kept


def _image_entry(image):
    tags = [t for t in image.get("tags") or [] if t not in NO_REFERENCE]
    digests = [d for d in image.get("digests") or [] if d not in NO_REFERENCE]
    return dict(id=image["id"], tags=sorted(tags), digests=sorted(digests))


def plan_cleanup(record, keep_releases, images, used_by=None):
    """The cleanup of one app on one host.

    ``record``: the app's release record (see _release.py). ``keep_releases``: at least 1. ``images``: the host's
    images, each {id, tags (repo:tag), digests (repo@sha256:...)}. ``used_by``: {image ID: [container names]} of every
    container, running or not.

    Returns a dict:
      remove: [{id, tags (the references removed), version, action}] in the order of ``images``; ``action`` is
        ``delete`` (the image goes: removed by its ID, or reference by reference when it carries references of
        several of the app's repositories, which the engine refuses to remove by ID unforced) or ``untag`` (remove only the app's references; the image carries
        references of other repositories and stays);
      keep: [{id, tags, version, reason}] of the app's images that stay;
      record: the record after pruning; record_pruned: whether its history changed;
      repositories: the app's repositories (sorted).
    """
    used_by = used_by or {}
    history, current, previous = record_releases(record)
    every = history + [r for r in (current, previous) if r is not None]
    kept = kept_releases(history, current, previous, keep_releases)

    repositories = set(familiar(r["_ref"].repository) for r in every if r["_ref"] is not None)

    remove, keep = [], []
    for image in images:
        entry = _image_entry(image)
        references = entry["tags"] + entry["digests"]
        ours = [ref for ref in references if reference_repository(ref) in repositories]
        # The releases this image is (newest first): by image ID, or by one of the references it carries.
        matching = [r for r in every if (r.get("image_id") and r["image_id"] == entry["id"])
                    or release_references(r).intersection(ours)]
        if not ours and not matching:
            continue  # not an image of this app
        reasons = []
        for release in matching:
            reason = kept.get(release_key(release))
            if reason is not None and reason not in reasons:
                reasons.append(reason)
        if used_by.get(entry["id"]):
            reasons.append("used by container %s" % ", ".join(sorted(used_by[entry["id"]])))
        named = [r for r in matching if release_key(r) in kept] or matching
        version = named[0].get("version") if named else None
        if reasons:
            keep.append(dict(id=entry["id"], tags=references, version=version, reason="; ".join(reasons)))
        elif references and not ours:
            keep.append(dict(id=entry["id"], tags=references, version=version,
                             reason="carries only references of other repositories"))
        elif [ref for ref in references if ref not in ours]:
            remove.append(dict(id=entry["id"], tags=ours, version=version, action="untag"))
        else:
            remove.append(dict(id=entry["id"], tags=ours, version=version, action="delete"))

    pruned = dict(record)
    pruned["history"] = [entry for entry, release in zip(record.get("history") or [], history)
                         if release_key(release) in kept]
    return dict(remove=remove, keep=keep, record=pruned,
                record_pruned=pruned["history"] != (record.get("history") or []),
                repositories=sorted(repositories))


def images_after(images, remove):
    """The host's images once ``remove`` (plan_cleanup's) is carried out."""
    gone = dict((item["id"], item) for item in remove)
    after = []
    for image in images:
        entry = _image_entry(image)
        item = gone.get(entry["id"])
        if item is not None and item["action"] == "delete":
            continue
        if item is not None:
            entry = dict(entry, tags=[t for t in entry["tags"] if t not in item["tags"]],
                         digests=[d for d in entry["digests"] if d not in item["tags"]])
        after.append(entry)
    return after

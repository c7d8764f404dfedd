# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Local images: whether one is present, its ID, the image a container is to run from, pulled as the ``pull``
option says, the list of local images and their removal."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.baton.docker.plugins.module_utils._docker_client import (
    DockerClientError,
    docker_errors,
    expect_object,
    expect_object_list,
    shown,
)
from ansible_collections.baton.docker.plugins.module_utils._image_ref import ImageRef
from ansible_collections.baton.docker.plugins.module_utils._params import ParamError


def image_id_of(client, ref):
    """The ID of a local image, or None when it is not present."""
    attrs = client.image_attrs(ref)
    if attrs is None:
        return None
    image_id = expect_object(attrs, "inspect data of image %s" % ref, required=True).get("Id")
    if not isinstance(image_id, str) or not image_id:
        raise DockerClientError("inspect data of image %s: expected a string Id, got %s" % (ref, shown(image_id)))
    return image_id


def image_present(client, ref):
    return client.image_attrs(ref) is not None


def image_for_run(client, image, pull, auth=None, check_mode=False):
    """Inspect data of the image (an ImageRef) a container is to run from, pulled as ``pull`` says; and whether it
    was pulled.

    ``pull``: never, missing or always. In check mode nothing is pulled: the tag
    is looked up in its registry instead (so a tag that does not exist fails
    there too), and the data is None when a pull would bring a new image. A
    reference by digest names content that cannot change: present locally, it
    is neither pulled nor looked up, whatever ``pull`` says. Error messages
    start with the reference (callers put the option's name first).
    """
    ref = image.name
    local = client.image_attrs(ref)
    if pull == "never":
        if local is None:
            raise DockerClientError("%s is not present locally and pull is never" % ref)
        return local, False
    if local is not None and (pull == "missing" or image.digest):
        return local, False
    if check_mode:
        try:
            remote = client.distribution_digest(ref, auth)
        except DockerClientError as exc:
            raise DockerClientError("%s %s could not be found in its registry: %s"
                                    % (ref, "is not present locally and" if local is None else "is present locally but",
                                       exc))
        if local is not None and remote and any(d.endswith("@" + remote) for d in local.get("RepoDigests") or []):
            return local, False
        return None, False
    try:
        return client.pull_image(image, auth), True
    except DockerClientError as exc:
        raise DockerClientError("%s %scould not be pulled: %s"
                                % (ref, "is not present locally and " if local is None else "", exc))


def ensure_image(client, image):
    """Make sure ``image`` is present locally, pulling it when it is not."""
    if image_present(client, image):
        return
    try:
        ref = ImageRef.parse(image)
    except ParamError as exc:
        raise DockerClientError(str(exc))
    try:
        client.pull_image(ref)
    except DockerClientError as exc:
        raise DockerClientError("image %s is not present and cannot be pulled: %s" % (image, exc))


class ImageConflict(DockerClientError):
    """The engine refused to remove an image (a container or a child image depends on it)."""


def _strings(value, what):
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise DockerClientError("%s: expected a list of strings, got %s" % (what, shown(value)))
    return list(value)


def list_images(client):
    """The host's images (intermediate layers left out): a list of {id, tags (repo:tag), digests (repo@sha256:...)}."""
    rows = expect_object_list(client.call("cannot list images", client.api.images), "image list")
    found = []
    for row in rows:
        image_id = row.get("Id")
        if not isinstance(image_id, str) or not image_id:
            raise DockerClientError("image list: an entry has no Id: %s" % shown(row))
        found.append(dict(id=image_id, tags=_strings(row.get("RepoTags"), "image list: RepoTags of %s" % image_id),
                          digests=_strings(row.get("RepoDigests"), "image list: RepoDigests of %s" % image_id)))
    return found


def remove_image(client, ref):
    """Remove a local image by ID, or one of its references (``repo:tag``, ``repo@digest``: only that reference
    goes when the image has others), never forced. Returns False when it was already gone; ImageConflict when the
    engine refuses (a container or a child image depends on it)."""
    try:
        client.api.remove_image(ref, force=False)
    except docker_errors.NotFound:
        return False
    except docker_errors.APIError as exc:
        if exc.status_code == 409:
            raise ImageConflict("cannot remove image %s: %s" % (ref, client.explain(exc)))
        raise DockerClientError("cannot remove image %s: %s" % (ref, client.explain(exc)))
    except DockerClientError:
        raise
    except Exception as exc:
        raise DockerClientError("cannot remove image %s: %s" % (ref, client.explain(exc)))
    return True

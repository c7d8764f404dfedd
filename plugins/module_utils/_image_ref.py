# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""An image reference as one value (no I/O here): ``ImageRef.parse(text)`` validates it with Docker's grammar,
``str(ref)`` (or ``ref.name``) formats it, ``ref.registry`` names the registry it is pulled from.

``repository`` includes the registry part when the reference names one (``127.0.0.1:5000/demo/app``), as the
engine's pull and inspect calls take it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.baton.docker.plugins.module_utils._params import ParamError

DEFAULT_TAG = "latest"
DEFAULT_REGISTRY = "docker.io"

_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# Docker's reference grammar: an optional registry (a host name or address, with an optional port), then path
# components of lowercase letters and digits joined by single separators (".", "_", "__", runs of "-").
_REGISTRY = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
                       r"|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?$")
_PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")


def registry_of(repository):
    """The registry part of a repository name (``docker.io`` when it names none)."""
    first = repository.split("/", 1)[0]
    if "/" in repository and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        return first
    return DEFAULT_REGISTRY


class ImageRef(object):
    """repository, tag (or None) and digest (or None) of one image; immutable, compared and hashed by value."""

    __slots__ = ("repository", "tag", "digest")

    def __init__(self, repository, tag=None, digest=None):
        object.__setattr__(self, "repository", repository)
        object.__setattr__(self, "tag", tag)
        object.__setattr__(self, "digest", digest)

    def __setattr__(self, name, value):
        raise AttributeError("an ImageRef cannot be changed")

    @classmethod
    def parse(cls, text, default_tag=DEFAULT_TAG):
        """The reference ``text`` names; ParamError (about the ``image`` option) naming what is wrong.

        ``repo`` alone means ``repo:latest`` as with ``docker pull``; with ``default_tag=None`` the tag stays None
        (the reference as written)."""
        body = (text or "").strip()
        if not body or any(c.isspace() for c in body):
            raise ParamError("image: %r is not an image reference (expected repository:tag or "
                             "repository@sha256:...)" % (text,))
        digest = None
        if "@" in body:
            body, digest = body.split("@", 1)
            if not _DIGEST.match(digest):
                raise ParamError("image: %r has an invalid digest %r" % (text, digest))
        tag = None
        slash = body.rfind("/")
        colon = body.rfind(":")
        if colon > slash:
            body, tag = body[:colon], body[colon + 1:]
            if not _TAG.match(tag):
                raise ParamError("image: %r has an invalid tag %r" % (text, tag))
        _check_repository(text, body)
        if tag is None and digest is None:
            tag = default_tag
        return cls(body, tag, digest)

    @property
    def registry(self):
        """The registry the image is pulled from (``docker.io`` when the reference names none)."""
        return registry_of(self.repository)

    @property
    def name(self):
        """The canonical text: ``repository:tag``, ``repository@digest`` or ``repository:tag@digest``."""
        named = self.repository if not self.tag else "%s:%s" % (self.repository, self.tag)
        return "%s@%s" % (named, self.digest) if self.digest else named

    def __str__(self):
        return self.name

    def __repr__(self):
        return "ImageRef(%r)" % self.name

    def __eq__(self, other):
        return isinstance(other, ImageRef) and self._key() == other._key()

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self._key())

    def _key(self):
        return (self.repository, self.tag, self.digest)


def _check_repository(text, repository):
    if not repository or repository.endswith("/") or repository.startswith("/") or "//" in repository:
        raise ParamError("image: %r has no valid repository name" % (text,))
    parts = repository.split("/")
    if registry_of(repository) != DEFAULT_REGISTRY or parts[0] == DEFAULT_REGISTRY:
        if not _REGISTRY.match(parts[0]):
            raise ParamError("image: %r has an invalid registry %r" % (text, parts[0]))
        parts = parts[1:]
    for part in parts:
        if not _PATH_COMPONENT.match(part):
            raise ParamError("image: %r: the repository name part %r must be lowercase letters and digits, "
                             "separated by '.', '_', '__' or '-'" % (text, part))

# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters that read the registries role's list of private registries (see roles/registries)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.plugins.filter.core import to_bool

# What may be shown of an entry: everything but its username and password.
PUBLIC_KEYS = frozenset(("registry", "ecr", "empty", "region", "registry_id", "profile", "endpoint_url"))


def _text(value):
    """A setting as the role compares it: missing, empty, false, 0 and null all read as ''."""
    return str(value) if value else ""


def _raw_entries(registries):
    """The map form ({HOST: settings}) or the list form ([settings or HOST]) as a list of mappings."""
    if isinstance(registries, Mapping):
        return [dict(settings if isinstance(settings, Mapping) else {}, registry=host)
                for host, settings in registries.items()]
    try:
        return [dict(settings) if isinstance(settings, Mapping) else {"registry": settings} for settings in registries]
    except TypeError:
        raise AnsibleFilterError("registries_list: expected a map or a list of registries, got %s"
                                 % type(registries).__name__)


def registry_entries(registries):
    """One entry per registry: ``registry`` as a string, ``ecr`` as a bool, ``empty`` when credentials are missing."""
    entries = []
    for entry in _raw_entries(registries):
        ecr = to_bool(entry.get("ecr") or False)
        empty = not ecr and (not _text(entry.get("username")) or not _text(entry.get("password")))
        entries.append(dict(entry, registry=_text(entry.get("registry")), ecr=ecr, empty=empty))
    return entries


def registry_public(entries):
    """The entries of registry_entries without what may not be shown (username, password, any other key)."""
    return [dict((key, value) for key, value in entry.items() if key in PUBLIC_KEYS) for entry in entries]


class FilterModule(object):
    def filters(self):
        return {"registry_entries": registry_entries, "registry_public": registry_public}

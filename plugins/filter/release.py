# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters that locate what baton.docker keeps on a host about its releases."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.baton.docker.plugins.module_utils._release import record_path


def release_record_path(state_dir, app):
    """The release record baton.docker.rollout keeps of ``app`` in ``state_dir``."""
    if not state_dir or not app:
        raise AnsibleFilterError("release_record_path: needs a state directory and an application name, got %r and %r"
                                 % (state_dir, app))
    return record_path(str(state_dir), str(app))


class FilterModule(object):
    def filters(self):
        return {"release_record_path": release_record_path}

# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters used by the roles to read image references."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.baton.docker.plugins.module_utils._swap import ParamError
from ansible_collections.baton.docker.plugins.module_utils._swap import image_tag as _image_tag


def image_tag(ref):
    """The tag an image reference deploys (the collection's one image-reference parser)."""
    try:
        return _image_tag(str(ref))
    except ParamError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"image_tag": image_tag}

# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters used by the roles to read image references."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.baton.docker.plugins.module_utils._image_ref import ImageRef
from ansible_collections.baton.docker.plugins.module_utils._params import ParamError


def image_tag(ref):
    """The tag an image reference deploys: ``latest`` when it names neither tag nor digest, None for a digest only
    (read by the collection's one image-reference value)."""
    try:
        return ImageRef.parse(str(ref)).tag
    except ParamError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"image_tag": image_tag}

# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    """The attributes every baton.docker module documents. A module states its own check mode and diff support,
    and says where it runs, under the same keys; what it leaves out is taken from here. The action group a module
    belongs to comes with its backend's fragment (docker, haproxy, aws)."""

    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check mode and report what would change without changing it.
    support: full
  diff_mode:
    description: Reports what changed, or would change in check mode, in diff mode.
    support: full
  platform:
    description: Runs on the managed host.
    platforms: posix
    support: full
"""

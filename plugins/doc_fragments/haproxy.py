# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    """Options of every module that talks to the HAProxy runtime API."""

    DOCUMENTATION = r"""
attributes:
  action_group:
    description: Use C(group/baton.docker.haproxy) in C(module_defaults) to set the HAProxy options of every
      HAProxy module of the collection at once.
    membership:
      - baton.docker.haproxy
    support: full
options:
  socket:
    description:
      - The HAProxy runtime API to talk to, as configured by a C(stats socket) line of HAProxy's C(global) section.
      - Either the path of a unix socket (C(/run/haproxy/admin.sock), C(unix@/path) also works) or a TCP address
        C(host:port) (C(127.0.0.1:9999), C([::1]:9999); HAProxy's C(ipv4@) and C(ipv6@) prefixes are accepted).
      - Reading works on any level; changing a server needs C(level admin) on that C(stats socket) line.
    type: str
    default: /run/haproxy/admin.sock
  socket_timeout:
    description:
      - Seconds allowed to connect to the runtime API and to read each answer. A socket that does not answer in
        time fails the task instead of hanging it.
    type: float
    default: 5.0
"""

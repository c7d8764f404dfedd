# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:

    # Connection options shared by every module that talks to the Docker engine
    # (argument spec: DOCKER_COMMON_ARGS in plugins/module_utils/_docker_client.py).
    DOCUMENTATION = r"""
attributes:
  action_group:
    description: Use C(group/baton.docker.docker) in C(module_defaults) to set the Docker options of every
      Docker module of the collection at once.
    membership:
      - baton.docker.docker
    support: full
options:
  docker_host:
    description:
      - Address of the Docker engine API, for example V(unix:///var/run/docker.sock) or V(tcp://192.0.2.10:2375).
      - When the task does not set it, the E(DOCKER_HOST) environment variable of the managed host is used, and
        V(unix:///var/run/docker.sock) when that is not set either.
    type: str
    default: unix:///var/run/docker.sock
    aliases: [docker_url]
  api_timeout:
    description:
      - Seconds to wait for an answer to one Docker API call.
      - Stopping a container waits for its stop timeout on top of this.
    type: int
    default: 60
requirements:
  - docker (the Docker SDK for Python) >= 7.0 on the managed host
notes:
  - The module runs on the managed host and talks to the Docker engine from there.
"""

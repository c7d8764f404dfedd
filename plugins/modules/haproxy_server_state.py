#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: haproxy_server_state
short_description: Save HAProxy's server states so that a reload keeps them
version_added: 0.1.0
description:
  - Writes the answer of the runtime API's C(show servers state) to O(path), the C(server-state-file) that HAProxy
    reads at start-up when C(load-server-state-from-file) is set.
  - "Run it right before a reload: servers put in maintenance or drain (for example in the middle of a rollout) and
    servers found DOWN by their health checks come back in the same state in the new worker, instead of all being
    considered UP."
  - The file is replaced atomically and only when its content changes.
author:
  - baton.docker maintainers (@baton-docker)
extends_documentation_fragment:
  - baton.docker.attributes
  - baton.docker.haproxy
attributes:
  check_mode:
    description: Reads the states and reports whether the file would change; writes nothing.
  diff_mode:
    description: Returns the state file's content before and after.
  platform:
    description: Runs on the HAProxy host.
options:
  path:
    description: The server state file, as named by C(server-state-file) in HAProxy's C(global) section.
    type: path
    required: true
  config:
    description:
      - The configuration HAProxy is about to load. Only servers it still has, at the same address and port, keep
        their state, since HAProxy would otherwise apply a saved address and port over a changed configuration.
    type: path
"""

EXAMPLES = r"""
- name: Keep runtime server states across the reload
  baton.docker.haproxy_server_state:
    socket: /run/haproxy/admin.sock
    path: /var/lib/haproxy/server-state
    config: /etc/haproxy/haproxy.cfg
"""

RETURN = r"""
path:
  description: The state file.
  returned: always
  type: str
  sample: /var/lib/haproxy/server-state
servers:
  description: How many servers the file describes.
  returned: always
  type: int
  sample: 4
"""


from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError
from ansible_collections.baton.docker.plugins.module_utils._files import atomic_write
from ansible_collections.baton.docker.plugins.module_utils._haproxy_client import (
    HAProxyRuntime,
)
from ansible_collections.baton.docker.plugins.module_utils._haproxy_stat import filter_server_state
from ansible_collections.baton.docker.plugins.module_utils._module import ModuleRunner, run_module


class StateFileError(BatonError):
    """The configuration could not be read or the state file could not be written."""


class ServerStateFile(ModuleRunner):
    """Writes HAProxy's server state (``show servers state``) to a file, when it differs from the file."""

    def run(self):
        params = self.params
        path = params["path"]
        text = HAProxyRuntime(params["socket"], timeout=params["socket_timeout"]).servers_state_text()
        if params["config"]:
            try:
                with open(params["config"]) as handle:
                    text = filter_server_state(text, handle.read())
            except OSError as exc:
                raise StateFileError("cannot read the HAProxy configuration %s: %s" % (params["config"], exc))
        try:
            with open(path) as handle:
                current = handle.read()
        except OSError:
            current = None
        changed = current != text
        if changed and not self.module.check_mode:
            try:
                atomic_write(path, text, 0o640)
            except OSError as exc:
                raise StateFileError("cannot write the HAProxy server state file %s: %s" % (path, exc))
        servers = len([line for line in text.splitlines()[2:] if line.strip() and not line.startswith("#")])
        result = dict(changed=changed, path=path, servers=servers)
        if self.module._diff:
            result["diff"] = dict(before=current or "", after=text, before_header=path, after_header=path)
        return result


def argument_spec():
    return dict(path=dict(type="path", required=True), config=dict(type="path"))


def main():
    run_module(argument_spec(), ServerStateFile, connection="haproxy")


if __name__ == "__main__":
    main()

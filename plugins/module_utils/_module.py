# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The main() every baton.docker module of the Docker engine shares: each module only declares its spec."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.baton.docker.plugins.module_utils._docker import DOCKER_COMMON_ARGS, require_docker


def run_docker_module(argument_spec, runner, errors, **module_kwargs):
    """Build the AnsibleModule (``argument_spec`` plus the engine connection options; check mode supported), check
    the Docker SDK is there, run ``runner(module).run()`` and exit with its result. An exception of ``errors`` fails
    the task with its message and the runner's ``result`` so far; the runner's ``warnings`` are shown either way."""
    spec = dict(argument_spec)
    spec.update(DOCKER_COMMON_ARGS)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True, **module_kwargs)
    require_docker(module)
    instance = runner(module)
    try:
        result = instance.run()
    except errors as exc:
        _warn(module, instance)
        module.fail_json(**dict(getattr(instance, "result", None) or {}, msg=str(exc)))
    _warn(module, instance)
    module.exit_json(**result)


def _warn(module, instance):
    for warning in getattr(instance, "warnings", None) or []:
        module.warn(warning)

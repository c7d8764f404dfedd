# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The main() every baton.docker module of the Docker engine shares: each module only declares its spec."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.baton.docker.plugins.module_utils._docker_client import DOCKER_COMMON_ARGS, require_docker


# Longest socket or wait timeout accepted (a day): socket timeouts beyond what time_t holds crash the socket layer.
MAX_SECONDS = 86400.0
CONTAINER_NAME = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


def seconds_error(name, value, maximum=MAX_SECONDS):
    """An error message when ``value`` is not a number of seconds in (0, maximum] (NaN included), else None."""
    if value is None or 0 < value <= maximum:
        return None
    if value > maximum:
        return "%s must be at most %d seconds, got %s" % (name, maximum, value)
    return "%s must be a positive number of seconds, got %s" % (name, value)


def nul_error(params, path=""):
    """An error message naming the first string parameter (or nested key) that holds a NUL character, else None: no
    path, name, command or engine field can carry one, and the OS calls raise ValueError on it."""
    if isinstance(params, dict):
        items = (((path + "." if path else "") + str(key), value) for key, value in params.items())
    elif isinstance(params, list):
        items = (("%s[%d]" % (path, index), value) for index, value in enumerate(params))
    else:
        return "%s: cannot hold a NUL character" % path if isinstance(params, str) and "\x00" in params else None
    for where, value in items:
        error = nul_error(value, where)
        if error:
            return error
    return None


def run_docker_module(argument_spec, runner, errors, validate=None, **module_kwargs):
    """Build the AnsibleModule (``argument_spec`` plus the engine connection options; check mode supported), check
    the Docker SDK is there, run ``runner(module).run()`` and exit with its result. An exception of ``errors`` fails
    the task with its message and the runner's ``result`` so far; the runner's ``warnings`` are shown either way.
    ``validate(params)``: checks the spec cannot express, run first (after nul_error); an error message fails the
    task."""
    spec = dict(argument_spec)
    spec.update(DOCKER_COMMON_ARGS)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True, **module_kwargs)
    error = nul_error(module.params) or (validate(module.params) if validate else None)
    if error:
        module.fail_json(msg=error, changed=False)
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

# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The main() every baton.docker module shares: a module declares its argument spec and a runner class, and
run_module does the rest (the connection options of its backend, the library check, the input checks every module
gets, the run, and the one way a failure is reported)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError


# Longest socket or wait timeout accepted (a day): socket timeouts beyond what time_t holds crash the socket layer.
MAX_SECONDS = 86400.0
CONTAINER_NAME = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
# Options holding a number of seconds, found by name among the int and float options of a spec.
SECONDS_OPTION = re.compile(r"timeout|interval|seconds")

CONNECTIONS = ("docker", "haproxy", "aws")


def backend(name):
    """The options backend ``name`` adds to a module (documented by the doc fragment of the same name), the
    AnsibleModule constraints that come with them, and the check that its Python library is installed (None when it
    needs none). A backend's client is imported only by the modules that talk to it."""
    if name == "docker":
        from ansible_collections.baton.docker.plugins.module_utils._docker_client import (
            DOCKER_COMMON_ARGS, DOCKER_REQUIRED_TOGETHER, require_docker,
        )
        return dict(argument_spec=DOCKER_COMMON_ARGS, required_together=DOCKER_REQUIRED_TOGETHER, require=require_docker)
    if name == "haproxy":
        from ansible_collections.baton.docker.plugins.module_utils._haproxy_client import HAPROXY_COMMON_ARGS
        return dict(argument_spec=HAPROXY_COMMON_ARGS, require=None)
    if name == "aws":
        from ansible_collections.baton.docker.plugins.module_utils._aws import (
            AWS_COMMON_ARGS, AWS_MUTUALLY_EXCLUSIVE, AWS_REQUIRED_TOGETHER, require_boto3,
        )
        return dict(argument_spec=AWS_COMMON_ARGS, required_together=AWS_REQUIRED_TOGETHER,
                    mutually_exclusive=AWS_MUTUALLY_EXCLUSIVE, require=require_boto3)
    raise ValueError("unknown connection %r (one of %s)" % (name, ", ".join(CONNECTIONS)))


def seconds_error(name, value, maximum=MAX_SECONDS):
    """An error message when ``value`` is not a number of seconds in (0, maximum] (NaN included), else None."""
    if value is None or 0 < value <= maximum:
        return None
    if value > maximum:
        return "%s must be at most %d seconds, got %s" % (name, maximum, value)
    return "%s must be a positive number of seconds, got %s" % (name, value)


def unbounded_seconds_error(name, value, maximum=MAX_SECONDS):
    """seconds_error for an option whose lower bound is checked elsewhere: only NaN, infinity and more than
    ``maximum`` are errors here."""
    if value is None or value <= maximum:
        return None
    return seconds_error(name, value, maximum)


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


def seconds_options(spec, params, path=""):
    """(name as shown, value) of every seconds option of ``spec`` (nested options and list elements included) that
    ``params`` sets, in the spec's order."""
    for name, entry in spec.items():
        value = (params or {}).get(name) if isinstance(params, dict) else None
        where = (path + "." if path else "") + name
        if entry.get("type") in ("int", "float") and SECONDS_OPTION.search(name):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                yield where, value
        elif entry.get("options") and isinstance(value, dict):
            yield from seconds_options(entry["options"], value, where)
        elif entry.get("options") and isinstance(value, list):
            for index, item in enumerate(value):
                yield from seconds_options(entry["options"], item, "%s[%d]" % (where, index))


def seconds_errors(spec, params, checked=()):
    """The first error among the seconds options of ``spec``, else None. An option listed in ``checked`` (its name
    as shown, list indexes left out) has its lower bound checked by the module itself: only NaN, infinity and more
    than a day are refused here."""
    for where, value in seconds_options(spec, params):
        check = unbounded_seconds_error if re.sub(r"\[\d+\]", "", where) in checked else seconds_error
        error = check(where, value)
        if error:
            return error
    return None


def absolute_path_error(params, names):
    """An error message for the first of ``names`` whose value is not an absolute path, else None."""
    for name in names:
        if not os.path.isabs(params[name] or ""):
            return "%s: %r is not an absolute path" % (name, params[name])
    return None


def connection_names(connections):
    if connections is None:
        return ()
    return (connections,) if isinstance(connections, str) else tuple(connections)


def module_arguments(argument_spec, connection=None, **module_kwargs):
    """The AnsibleModule keywords of a module: its own ``argument_spec`` and constraints, then the options and
    constraints of each backend it talks to (``connection``: "docker", "haproxy", "aws", several, or None)."""
    spec = dict(argument_spec)
    kwargs = dict(module_kwargs)
    for name in connection_names(connection):
        common = backend(name)
        spec.update(common["argument_spec"])
        for key in ("required_together", "mutually_exclusive"):
            if common.get(key):
                kwargs[key] = list(kwargs.get(key) or []) + list(common[key])
    kwargs["argument_spec"] = spec
    return kwargs


def require_library(module, name):
    """Fail the task when the Python library backend ``name`` needs is not installed on the host."""
    check = backend(name)["require"]
    if check:
        check(module)


class ModuleRunner:
    """What run_module builds and runs: ``run()`` returns the result. Its ``result`` attribute, when set, is the
    result so far that a failure reports; its ``warnings`` are shown either way."""

    def __init__(self, module):
        self.module = module
        self.params = module.params

    def run(self):
        raise NotImplementedError


def run_module(argument_spec, runner, connection=None, validate=None, checked_seconds=(), absolute_paths=(),
               failure=None, require=None, **module_kwargs):
    """Build the AnsibleModule (``argument_spec`` plus the options of ``connection``; check mode supported), check
    the input, run ``runner(module).run()`` and exit with its result.

    The input checks, in this order; the first error fails the task before the runner is built:
      - no string anywhere in the parameters holds a NUL character;
      - ``validate(params)``: the module's own rules, returning an error message or None;
      - every seconds option (a ``*timeout*``, ``*interval*`` or ``*seconds*`` option of type int or float) is a
        positive number of seconds of at most a day (``checked_seconds``: options whose lower bound the runner
        checks itself, with its own wording);
      - each option of ``absolute_paths`` is an absolute path.
    Then the Python library of each backend of ``connection`` must be installed (``require`` names the backends
    to check instead, when the runner checks the others itself).

    A BatonError from the runner fails the task with its message, on top of
    ``failure(params)`` (result keys every failure reports), the runner's ``result`` so far and the error's
    ``details``. The runner's ``warnings`` are shown either way."""
    module = AnsibleModule(supports_check_mode=True, **module_arguments(argument_spec, connection, **module_kwargs))
    params = module.params
    base = dict(changed=False)
    base.update(failure(params) if failure else {})
    error = (nul_error(params) or (validate(params) if validate else None)
             or seconds_errors(module.argument_spec, params, checked_seconds)
             or absolute_path_error(params, absolute_paths))
    if error:
        module.fail_json(msg=error, **base)
    for name in connection_names(connection) if require is None else require:
        require_library(module, name)
    instance = None
    try:
        instance = runner(module)
        result = instance.run()
    except BatonError as exc:
        _warn(module, instance)
        base.update(getattr(instance, "result", None) or {})
        base.update(getattr(exc, "details", None) or {})
        base["msg"] = str(exc)
        module.fail_json(**base)
    _warn(module, instance)
    module.exit_json(**result)


def _warn(module, instance):
    for warning in getattr(instance, "warnings", None) or []:
        module.warn(warning)

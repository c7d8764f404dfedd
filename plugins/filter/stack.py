# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters that turn a stack document into what the stack roles deploy (see module_utils/_stack.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.baton.docker.plugins.module_utils._stack import (
    StackError,
    expand_containers,
    normalize_stack,
    rollout_units,
    secret_envs,
)


def _wrap(func):
    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except StackError as exc:
            raise AnsibleFilterError("stack spec: %s" % exc)
    run.__name__ = func.__name__
    run.__doc__ = func.__doc__
    return run


def stack_spec(document, app=None):
    """Validate a stack document and return its normalised form."""
    return normalize_stack(_plain(document), app)


def stack_containers(spec, host, public_ip=None, stack_name=None, database=None, redeploy=None, prefix=""):
    """The containers one host runs, in order (no secret values)."""
    return expand_containers(spec, host, public_ip=public_ip or None, stack_name=stack_name or None,
                             database=_plain(database) or None, redeploy=redeploy, prefix=prefix or "")


def stack_secret_env(spec, database=None):
    """Secret environment per entry name (secret_env and DB_* variables)."""
    return secret_envs(spec, _plain(database) or None)


def stack_rollout_units(containers, secret_env=None, health_interval=0.5):
    """baton.docker.rollout's units for a host's containers (stack_containers), secrets from stack_secret_env."""
    return rollout_units(_plain(containers), _plain(secret_env) or None, float(health_interval))


def _plain(value):
    """Ansible's lazy containers and tagged strings as plain Python data."""
    if isinstance(value, dict):
        return dict((str(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


class FilterModule(object):
    def filters(self):
        return dict((name, _wrap(func)) for name, func in (
            ("stack_spec", stack_spec),
            ("stack_containers", stack_containers),
            ("stack_secret_env", stack_secret_env),
            ("stack_rollout_units", stack_rollout_units),
        ))

"""Drive a module's main() in-process, as the module unit tests do (see tests/unit/plugins/modules/conftest.py)."""

import types

import pytest

from ansible.module_utils.testing import patch_module_args


class Exit(Exception):
    """What main() ended with: kind "exit" or "fail", and the result it returned."""

    def __init__(self, kind, result):
        super().__init__(kind)
        self.kind = kind
        self.result = result


def call_main(main, args):
    """Run ``main`` with module ``args``; return the Exit it ended with."""
    with patch_module_args(args):
        with pytest.raises(Exit) as info:
            main()
    return info.value


def engine_factory(make):
    """What a unit test puts in place of a module's DockerClient: ``DockerClient.from_params(params)`` returns
    ``make(params)``."""
    return types.SimpleNamespace(from_params=make)


def full_argument_spec(module, monkeypatch):
    """The argument spec ``module``'s main() hands AnsibleModule, its backends' options included."""
    from ansible_collections.baton.docker.plugins.module_utils import _module
    calls = []
    monkeypatch.setattr(module, "run_module", lambda spec, runner, **kwargs: calls.append((spec, kwargs)))
    module.main()
    spec, kwargs = calls[0]
    return _module.module_arguments(spec, kwargs.get("connection"))["argument_spec"]

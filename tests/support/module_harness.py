"""Drive a module's main() in-process, as the module unit tests do (see tests/unit/plugins/modules/conftest.py)."""

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

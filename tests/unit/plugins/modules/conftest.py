"""Module unit tests run main() with module args; exit_json/fail_json raise Exit instead of exiting.

A test module that sets REAL_EXITS = True keeps Ansible's own exit_json/fail_json
(to read the JSON a module prints, with no_log values masked as Ansible masks them).
"""

import pytest

from ansible.module_utils import basic

from tests.support.module_harness import Exit


@pytest.fixture(autouse=True)
def patched_exits(request, monkeypatch):
    if getattr(request.module, "REAL_EXITS", False):
        return

    def exit_json(self, **kwargs):
        raise Exit("exit", kwargs)

    def fail_json(self, **kwargs):
        raise Exit("fail", kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)

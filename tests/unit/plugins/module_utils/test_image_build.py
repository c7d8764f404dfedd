"""Unit tests of the pure part of module_utils/_image_build.py (test command parsing).

Building, testing, tagging and pushing against the real engine and a real
registry are covered by tests/integration/test_build_push.py.
"""

import pytest

from ansible_collections.baton.docker.plugins.module_utils._docker_client import DockerClientError
from ansible_collections.baton.docker.plugins.module_utils._image_build import command_argv


@pytest.mark.parametrize("command,argv", [
    ("make docker_test", ["make", "docker_test"]),
    ("sh -c 'exit 3'", ["sh", "-c", "exit 3"]),
    (["python3", "-m", "pytest", "-q"], ["python3", "-m", "pytest", "-q"]),
    ([1, "x"], ["1", "x"]),
    (None, None),
])
def test_command_argv(command, argv):
    assert command_argv(command) == argv


@pytest.mark.parametrize("command,needle", [("", "must not be empty"), ([], "must not be empty"),
                                            ("sh -c 'unterminated", "cannot split")])
def test_command_argv_rejects(command, needle):
    with pytest.raises(DockerClientError, match=needle):
        command_argv(command)

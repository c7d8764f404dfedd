"""Unit tests of the pure parts of module_utils/_health.py, as tables: when a container counts as stopped or
restarted, and how the engine's last health check is reported. The waits themselves run against a scripted
container in tests/unit/plugins/modules/test_container_swap.py and against the real engine in tests/integration."""

import pytest

from ansible_collections.baton.docker.plugins.module_utils._docker_client import DockerClientError
from ansible_collections.baton.docker.plugins.module_utils._health import (
    UnhealthyError,
    _check_still_running,
    _last_check,
)

RUNNING = {"Status": "running", "Running": True, "Restarting": False, "StartedAt": "t0"}


@pytest.mark.parametrize("state, first, reason", [
    (RUNNING, None, None),
    (RUNNING, RUNNING, None),
    (dict(RUNNING, StartedAt="t1", ExitCode=137), RUNNING, "it restarted (last exit code 137)"),
    (dict(RUNNING, Restarting=True, ExitCode=1), None, "it restarted (last exit code 1)"),
    (dict(RUNNING, StartedAt="t1", ExitCode=0), RUNNING, "it exited and the engine started it again at t1"),
    ({"Status": "exited", "Running": False, "ExitCode": 3}, None, "it exited with code 3"),
    ({"Status": "dead", "Running": False, "ExitCode": 137, "Error": "oom"}, None, "it exited with code 137 (oom)"),
    ({"Status": "created", "Running": False}, None, "it is created"),
    ({"Running": False}, None, "it is not running"),
    ({"Status": "paused", "Running": False, "Error": "x"}, None, "it is paused (x)"),
])
def test_check_still_running(state, first, reason):
    if reason is None:
        _check_still_running(state, first)
    else:
        with pytest.raises(UnhealthyError) as caught:
            _check_still_running(state, first)
        assert str(caught.value) == reason


@pytest.mark.parametrize("health, text", [
    ({}, "none ran yet"),
    ({"Log": None}, "none ran yet"),
    ({"Log": [{"ExitCode": 1, "Output": "curl: (7) refused\n"}]}, "exit code 1, curl: (7) refused"),
    ({"Log": [{"ExitCode": 0, "Output": "first\nlast\n"}]}, "exit code 0, last"),
    ({"Log": [{"ExitCode": 1, "Output": ""}]}, "exit code 1"),
    ({"Log": [{"ExitCode": 1, "Output": None}]}, "exit code 1"),
    ({"Log": [{"ExitCode": 1, "Output": "x" * 400}]}, "exit code 1, " + "x" * 300),
    ({"Log": "garbage"}, "unreadable ('garbage')"),
    ({"Log": [["exit 1"]]}, "unreadable ([['exit 1']])"),
])
def test_last_check(health, text):
    assert _last_check(health) == text


def test_unhealthy_is_a_docker_client_error():
    assert issubclass(UnhealthyError, DockerClientError)

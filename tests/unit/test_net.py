"""tests/support/net.py: every xdist worker gets free ports of its own share, whatever the number of workers."""

import pytest

from tests.support import net


@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_every_worker_gets_ports_of_its_own_share(monkeypatch, count):
    given = {}
    for index in range(count):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw%d" % index)
        monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(count))
        ports = [net.free_port() for _attempt in range(5)]
        assert len(set(ports)) == 5, ports
        assert all((port >> 1) % count == index for port in ports), (index, ports)
        given[index] = set(ports)
    for index in given:
        for other in given:
            if other != index:
                assert not given[index] & given[other]

"""Fixtures of the integration tests that need a whole local site (HAProxy through the haproxy role)."""

import pytest

from tests.support import lab as _lab
from tests.support.fleet import FleetLab
from tests.support.site import Site


# The module-level rollout lab's fixtures (tests/support/lab.py).
lab = _lab.lab
lab_deployed = _lab.lab_deployed


@pytest.fixture
def site(tmp_path):
    """One application host behind a fresh HAProxy; everything it started is stopped afterwards."""
    s = Site(tmp_path)
    s.setup_lb()
    yield s
    s.teardown()


@pytest.fixture
def deployed(site):
    """The site with v1 deployed through playbooks/deploy.yml and every server UP."""
    run = site.deploy("v1")
    assert run.rc == 0, run.output[-4000:]
    site.wait_all_up()
    return site


@pytest.fixture(scope="module")
def deployed_unchanged(tmp_path_factory):
    """The site with v1 deployed and every server UP, shared by the tests of one file that must leave it as they
    found it (each asserts that nothing changed): one deploy for all of them instead of one each."""
    s = Site(tmp_path_factory.mktemp("deployed"))
    s.setup_lb()
    try:
        run = s.deploy("v1")
        assert run.rc == 0, run.output[-4000:]
        s.wait_all_up()
        yield s
    finally:
        s.teardown()


@pytest.fixture(scope="session")
def fleet_lab(tmp_path_factory):
    """One fleet lab per worker (tests/support/fleet.py): 10 application hosts and two load balancer hosts over the
    lab's own sshd, two HAProxy instances, a registry with fleet/app:v1..v3; nothing deployed yet (deploy_initial)."""
    with FleetLab(tmp_path_factory.mktemp("fleet"), hosts=10) as lab:
        yield lab

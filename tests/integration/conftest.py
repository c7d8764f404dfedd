"""Fixtures of the integration tests that need a whole local site (HAProxy through the haproxy role)."""

import pytest

from tests.support.site import Site


@pytest.fixture
def site(tmp_path):
    """One application host behind a fresh HAProxy; everything it started is stopped afterwards."""
    s = Site(tmp_path)
    s.setup_lb()
    yield s
    s.teardown()

"""Fixtures shared by every test: the real Docker engine, free ports, a real registry."""

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
# Unit tests import the collection as ansible_collections.baton.docker (see scripts/bootstrap.sh).
sys.path.insert(0, os.path.join(ROOT, "build", "collections"))

from tests.support.net import free_port  # noqa: E402
from tests.support.registry import Registry  # noqa: E402


@pytest.fixture(scope="session")
def docker_client():
    docker = pytest.importorskip("docker")
    client = docker.from_env()
    client.ping()
    yield client
    client.close()


@pytest.fixture
def port():
    return free_port()


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    reg = Registry(str(tmp_path_factory.mktemp("registry"))).start()
    yield reg
    reg.stop()

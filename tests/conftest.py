"""Fixtures shared by every test: the real Docker engine, free ports, a real registry."""

import os
import sys
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
# Unit tests import the collection as ansible_collections.baton.docker (see scripts/bootstrap.sh).
sys.path.insert(0, os.path.join(ROOT, "build", "collections"))

from tests.support.net import free_port  # noqa: E402
from tests.support.registry import Registry  # noqa: E402


@pytest.fixture(scope="session")
def docker_client():
    import docker
    client = docker.from_env()
    client.ping()
    yield client
    client.close()


@pytest.fixture
def docker_names(docker_client):
    """Factory of unique names, ``docker_names(prefix)``. In teardown, the containers of those names (and
    of their slots, kept-aside ones included), volumes and networks are removed."""
    from docker import errors
    names = []

    def make(prefix):
        names.append(prefix + uuid.uuid4().hex[:10])
        return names[-1]

    yield make
    for name in names:
        found = docker_client.containers.list(all=True, filters={"label": "baton.slot=%s" % name})
        found += docker_client.containers.list(all=True, filters={"name": "^/%s(\\.baton-previous)?$" % name})
        for container in found:
            try:
                container.remove(force=True, v=True)
            except errors.NotFound:
                pass
        for kind in ("volumes", "networks"):
            try:
                getattr(docker_client, kind).get(name).remove()
            except errors.NotFound:
                pass


@pytest.fixture
def port():
    return free_port()


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    reg = Registry(str(tmp_path_factory.mktemp("registry"))).start()
    yield reg
    reg.stop()

"""The README's own-site example, run as a user would: its inventory and its playbook, taken from the README itself,
against a local site (tests/support/site.py) under load.

The README's inventory is the first inventory source; a second one, the site's, gives each of its hosts what only
this machine can (a local connection, the site's ports, socket, state directory and image, no become, the runtime
API on a unix socket instead of TLS), as a later inventory source does for a user's own test environment. The
playbook runs unchanged: v1, then v2 under load with no failed request."""

import os
import re

import docker
import pytest
import yaml

from tests.support.ansible import ROOT, run_playbook
from tests.support.site import IMAGE, Site, under_load

HOSTS = ("web1.example.com", "web2.example.com")


def readme_example(kind):
    """The YAML code block that follows the README's ``<!-- README example: KIND ... -->`` marker, parsed."""
    with open(os.path.join(ROOT, "README.md")) as handle:
        text = handle.read()
    found = re.search(r"<!-- README example: %s\b[^>]*-->\n```yaml\n(.*?)```" % re.escape(kind), text, re.S)
    assert found, "README.md has no %s example" % kind
    return yaml.safe_load(found.group(1))


@pytest.fixture
def site(tmp_path):
    s = Site(tmp_path, app_hosts=HOSTS)
    yield s
    client = docker.from_env()
    for name in HOSTS:
        try:
            client.containers.get("%s-%s-worker" % (s.app, name)).remove(force=True)
        except docker.errors.NotFound:
            pass
    s.teardown()


def local_inventory(site):
    """The site's inventory, its load balancer under the README's name, with what the README sets for the real site
    replaced by this machine's settings."""
    inventory = site.inventory()
    inventory["all"]["children"]["lb"]["hosts"] = {"lb1.example.com": {}}
    inventory["all"]["vars"].update(ansible_become=False, rollout_load_balancers=[], haproxy_runtime_tls_bind="",
                                    haproxy_runtime_tls_cert="", haproxy_runtime_tls_client_ca="")
    return inventory


def test_the_readme_site_example_rolls_out_under_load(site, tmp_path):
    inventory = readme_example("inventory")
    playbook = readme_example("playbook")
    assert set(inventory["all"]["children"]["app"]["children"]["production"]["hosts"]) == set(HOSTS)
    readme_inventory = tmp_path / "inventory.yml"
    readme_inventory.write_text(yaml.safe_dump(inventory))
    local = tmp_path / "local.yml"
    local.write_text(yaml.safe_dump(local_inventory(site)))

    def release(version):
        return run_playbook(playbook, inventory=str(readme_inventory), extra_vars={"version": version},
                            args=("-i", str(local)))

    first = release("v1")
    assert first.rc == 0, first.output[-5000:]
    site.wait_all_up()
    run, load = under_load(site, lambda: release("v2"))
    assert run.rc == 0, run.output[-5000:]
    assert load["failed"] == 0, load
    for host in HOSTS:
        assert site.slot_version(host, "master") == "v2" and site.slot_version(host, "backup") == "v2"
        assert run.result("Read the release the host runs now", host)["record"]["current"]["version"] == "v2"
        worker = docker.from_env().containers.get("%s-%s-worker" % (site.app, host))
        assert worker.image.tags == ["%s:v2" % IMAGE] and worker.status == "running"
    assert "runs v2" in run.output

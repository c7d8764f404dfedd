"""Where the release record of an application is: the path the rollout engine records to."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.baton.docker.plugins.filter.release import FilterModule, release_record_path


def test_filter_is_registered():
    assert FilterModule().filters() == {"release_record_path": release_record_path}


@pytest.mark.parametrize("state_dir, app, path", [
    ("/var/lib/baton", "app", "/var/lib/baton/app.json"),
    ("/var/lib/baton/", "shop-web.v2", "/var/lib/baton/shop-web.v2.json"),
    ("/srv/state", "it1234-app1", "/srv/state/it1234-app1.json"),
])
def test_path(state_dir, app, path):
    assert release_record_path(state_dir, app) == path


@pytest.mark.parametrize("state_dir, app", [("", "app"), ("/var/lib/baton", ""), (None, "app")])
def test_missing_parts_are_refused(state_dir, app):
    with pytest.raises(AnsibleFilterError) as info:
        release_record_path(state_dir, app)
    assert "needs a state directory and an application name" in str(info.value)

import pytest

from ansible_collections.baton.docker.plugins.filter.rollout import FilterModule, image_tag, rollout_summary


def test_filter_is_registered():
    assert FilterModule().filters()["rollout_summary"] is rollout_summary


@pytest.mark.parametrize("swap, expected", [
    ({"slot": "shop-master", "seconds_to_healthy": 1.5, "rolled_back": False,
      "image": {"old_ref": "shop:v1", "old_id": "sha256:" + "a" * 64, "ref": "shop:v2"}},
     {"slot": "shop-master", "old": "shop:v1", "new": "shop:v2", "seconds_to_healthy": 1.5, "rolled_back": False}),
    ({"container": {"name": "shop-backup"}, "image": {"old_ref": None, "old_id": None, "ref": "shop:v1"}},
     {"slot": "shop-backup", "old": "(new slot)", "new": "shop:v1", "seconds_to_healthy": None, "rolled_back": False}),
    ({"slot": "s", "image": {"old_id": "sha256:" + "b" * 64, "new_id": "sha256:" + "c" * 64}, "rolled_back": True},
     {"slot": "s", "old": "sha256:bbbbbbbbbbbb", "new": "sha256:cccccccccccc", "seconds_to_healthy": None,
      "rolled_back": True}),
])
def test_summary(swap, expected):
    assert rollout_summary(swap) == expected


@pytest.mark.parametrize("ref, tag", [
    ("shop", "latest"), ("127.0.0.1:5000/shop:v2", "v2"), ("shop@sha256:" + "a" * 64, None),
    ("reg.example.com/a/shop:git_cf7edb2@sha256:" + "b" * 64, "git_cf7edb2"),
])
def test_image_tag(ref, tag):
    assert FilterModule().filters()["image_tag"](ref) == tag


def test_image_tag_of_a_bad_reference_names_it():
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError) as info:
        image_tag("Shop:v2")
    assert "'Shop' must be lowercase" in str(info.value)

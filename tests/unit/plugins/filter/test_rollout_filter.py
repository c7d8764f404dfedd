import pytest

from ansible_collections.baton.docker.plugins.filter.rollout import FilterModule, image_tag


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

"""The registries role's list of private registries: both forms -> entries, and what may be shown of them."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.baton.docker.plugins.filter.registries import FilterModule, registry_entries, registry_public

ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


def test_filters_are_registered():
    filters = FilterModule().filters()
    assert filters["registry_entries"] is registry_entries
    assert filters["registry_public"] is registry_public


@pytest.mark.parametrize("registries, expected", [
    ({}, []),
    ([], []),
    # the map form: the key names the registry, settings that are not a mapping count as none
    ({"reg.example.com:5000": {"username": "deploy", "password": "s3cret"}},
     [{"username": "deploy", "password": "s3cret", "registry": "reg.example.com:5000", "ecr": False, "empty": False}]),
    ({"quay.io": {"username": "", "password": ""}, "ghcr.io": None},
     [{"username": "", "password": "", "registry": "quay.io", "ecr": False, "empty": True},
      {"registry": "ghcr.io", "ecr": False, "empty": True}]),
    # the key wins over a registry setting in the map form
    ({"a.example.com": {"registry": "b.example.com", "username": "u", "password": "p"}},
     [{"registry": "a.example.com", "username": "u", "password": "p", "ecr": False, "empty": False}]),
    # the list form: mappings as they are, bare names as registries
    ([{"registry": "reg.example.com", "username": "u", "password": "p"}, "plain.example.com"],
     [{"registry": "reg.example.com", "username": "u", "password": "p", "ecr": False, "empty": False},
      {"registry": "plain.example.com", "ecr": False, "empty": True}]),
    # one missing credential is enough; null, false and 0 count as missing; numbers count as text
    ([{"registry": "r1", "username": "u"}, {"registry": "r2", "password": "p"},
      {"registry": "r3", "username": None, "password": "p"}, {"registry": "r4", "username": 0, "password": "p"},
      {"registry": "r5", "username": 7, "password": 1234}],
     [{"registry": "r1", "username": "u", "ecr": False, "empty": True},
      {"registry": "r2", "password": "p", "ecr": False, "empty": True},
      {"registry": "r3", "username": None, "password": "p", "ecr": False, "empty": True},
      {"registry": "r4", "username": 0, "password": "p", "ecr": False, "empty": True},
      {"registry": "r5", "username": 7, "password": 1234, "ecr": False, "empty": False}]),
    # ecr as Ansible reads booleans; an ECR entry needs no credentials
    ([{"registry": ECR, "ecr": True, "region": "eu-west-1"}, {"registry": ECR, "ecr": "yes"},
      {"registry": ECR, "ecr": "False"}, {"registry": ECR, "ecr": None}, {"registry": ECR, "ecr": 1}],
     [{"registry": ECR, "ecr": True, "region": "eu-west-1", "empty": False},
      {"registry": ECR, "ecr": True, "empty": False},
      {"registry": ECR, "ecr": False, "empty": True},
      {"registry": ECR, "ecr": False, "empty": True},
      {"registry": ECR, "ecr": True, "empty": False}]),
    # registry as text; missing, null or empty: '' (the role's check then names the entry)
    ([{"username": "u", "password": "p"}, {"registry": None, "ecr": True}, {"registry": 5000, "ecr": True}],
     [{"username": "u", "password": "p", "registry": "", "ecr": False, "empty": False},
      {"registry": "", "ecr": True, "empty": False},
      {"registry": "5000", "ecr": True, "empty": False}]),
])
def test_entries(registries, expected):
    entries = registry_entries(registries)
    assert entries == expected
    assert [list(entry) for entry in entries] == [list(entry) for entry in expected]  # key order kept


def test_entries_leave_the_input_alone():
    registries = [{"registry": "r", "username": "u", "password": "p"}]
    registry_entries(registries)
    assert registries == [{"registry": "r", "username": "u", "password": "p"}]


@pytest.mark.parametrize("registries", [None, 5])
def test_entries_of_something_else_are_refused(registries):
    with pytest.raises(AnsibleFilterError) as info:
        registry_entries(registries)
    assert "registries_list: expected a map or a list of registries" in str(info.value)


@pytest.mark.parametrize("entries, expected", [
    ([], []),
    ([{"username": "deploy", "password": "s3cret", "registry": "r", "ecr": False, "empty": False}],
     [{"registry": "r", "ecr": False, "empty": False}]),
    ([{"registry": ECR, "ecr": True, "empty": False, "region": "eu-west-1", "registry_id": "123456789012",
       "profile": "prod", "endpoint_url": "http://127.0.0.1:5001", "token": "t", "username": "ignored"}],
     [{"registry": ECR, "ecr": True, "empty": False, "region": "eu-west-1", "registry_id": "123456789012",
       "profile": "prod", "endpoint_url": "http://127.0.0.1:5001"}]),
])
def test_public(entries, expected):
    public = registry_public(entries)
    assert public == expected
    assert [list(entry) for entry in public] == [list(entry) for entry in expected]


def test_public_entries_hold_no_credential():
    entries = registry_entries({"r": {"username": "deploy-user", "password": "pa55word"}})
    assert "deploy-user" not in repr(registry_public(entries))
    assert "pa55word" not in repr(registry_public(entries))

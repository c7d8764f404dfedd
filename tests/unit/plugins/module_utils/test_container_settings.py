"""The container settings table (plugins/module_utils/_container_settings.py): task values, merge with the slot's
settings, read-back from inspect data, image defaults, comparison, the create call."""

import copy

import pytest

from ansible_collections.baton.docker.plugins.module_utils import _container_settings as cs
from ansible_collections.baton.docker.plugins.module_utils import _params as pr
from ansible_collections.baton.docker.plugins.module_utils import _swap_plan as sp

from tests.unit.plugins.module_utils.container_data import (
    CARRIED_V1,
    CONTAINER_V1,
    HEALTH_TEST,
    IMAGE_HEALTH,
    IMAGE_V1,
    IMAGE_V2,
    container,
)


def asked(**settings):
    """An explicit_from_params answer: the settings a task gives (a setting it leaves to the slot is absent)."""
    return dict(settings)


def params(**overrides):
    base = dict(env=None, secret_env=None, labels=None, ports=None, volumes=None, restart_policy=None,
                restart_retries=None, command=None, entrypoint=None, network=None, stop_timeout=None, healthcheck=None,
                volumes_from=None, links=None, hostname=None)
    base.update(overrides)
    return base


def test_explicit_from_params_leaves_unset_options_to_the_slot():
    assert cs.explicit_from_params(params()) == asked()


def test_explicit_from_params_joins_env_and_secret_env():
    requested = cs.explicit_from_params(params(env={"A": "1"}, secret_env={"TOKEN": "s3cr3t"}))
    assert requested["env"] == {"A": "1", "TOKEN": "s3cr3t"}


@pytest.mark.parametrize("given", [dict(env={}), dict(secret_env={})])
def test_explicit_from_params_empty_env_clears(given):
    assert cs.explicit_from_params(params(**given))["env"] == {}


def test_explicit_from_params_refuses_a_variable_in_both_env_and_secret_env():
    with pytest.raises(pr.ParamError) as err:
        cs.explicit_from_params(params(env={"TOKEN": "x", "A": "1"}, secret_env={"TOKEN": "s3cr3t"}))
    assert "env and secret_env both set TOKEN" in str(err.value)
    assert "s3cr3t" not in str(err.value)


@pytest.mark.parametrize("label", ["baton.managed", "baton.slot", "baton.image"])
def test_explicit_from_params_refuses_own_labels(label):
    with pytest.raises(pr.ParamError, match="labels: %s is set by the module itself" % label):
        cs.explicit_from_params(params(labels={label: "x"}))


@pytest.mark.parametrize("given, key, expected", [
    (dict(volumes_from=["static:ro", "socks:rw"]), "volumes_from", ["socks", "static:ro"]),
    (dict(volumes_from=[]), "volumes_from", []),
    (dict(links=["db"]), "links", ["db:db"]),
    (dict(hostname="app0.shop"), "hostname", "app0.shop"),
    (dict(hostname=""), "hostname", None),
    (dict(command="run --fast"), "command", ["run", "--fast"]),
    (dict(command=[]), "command", None),
    (dict(entrypoint=["/bin/sh", "-c"]), "entrypoint", ["/bin/sh", "-c"]),
    (dict(ports=["8081:8000"]), "ports", ["8081:8000/tcp"]),
    (dict(volumes=["/a:/b:ro"]), "volumes", ["/a:/b:ro"]),
])
def test_explicit_from_params_normalizes(given, key, expected):
    assert cs.explicit_from_params(params(**given))[key] == expected


@pytest.mark.parametrize("given, key, present", [
    (dict(hostname=""), "hostname", True),
    (dict(command=[]), "command", True),
    (dict(healthcheck={}), "healthcheck", True),
    (dict(env={}), "env", True),
    (dict(secret_env={}), "env", True),
    (dict(), "hostname", False),
    (dict(env=None), "env", False),
])
def test_explicit_from_params_an_empty_option_counts_as_given(given, key, present):
    assert (key in cs.explicit_from_params(params(**given))) is present


def test_explicit_from_params_refuses_empty_network():
    with pytest.raises(pr.ParamError, match="network: must not be empty"):
        cs.explicit_from_params(params(network=" "))


def test_merge_first_deploy_defaults():
    desired = cs.merge_config(asked(), None)
    assert desired == dict(env={}, labels={}, ports=[], volumes=[], restart_policy="unless-stopped", restart_retries=0,
                           command=None, entrypoint=None, network=None, stop_timeout=None, healthcheck=None,
                           volumes_from=[], links=[], hostname=None)


@pytest.mark.parametrize("state, policy", [("started", "unless-stopped"), ("created", "no")])
def test_first_deploy_restart_policy_depends_on_the_state(state, policy):
    assert cs.merge_config(asked(), None, sp.first_restart_policy(state))["restart_policy"] == policy
    assert cs.merge_config(asked(), CARRIED_V1, sp.first_restart_policy(state))["restart_policy"] == (
        "unless-stopped")


def test_merge_keeps_the_slot_config_when_nothing_is_requested():
    assert cs.merge_config(asked(), CARRIED_V1) == CARRIED_V1


@pytest.mark.parametrize("requested, key, expected", [
    (dict(env={"BAR": "1"}), "env", {"BAR": "1"}),
    (dict(env={}), "env", {}),
    (dict(ports=[]), "ports", []),
    (dict(ports=["9090:8000/tcp"]), "ports", ["9090:8000/tcp"]),
    (dict(stop_timeout=0), "stop_timeout", 0),
    (dict(network="backend"), "network", "backend"),
    (dict(command=["serve"]), "command", ["serve"]),
    (dict(healthcheck=None), "healthcheck", None),
    (dict(volumes_from=["static:ro"]), "volumes_from", ["static:ro"]),
    (dict(links=["db:database"]), "links", ["db:database"]),
    (dict(hostname="app0.shop"), "hostname", "app0.shop"),
])
def test_merge_requested_option_replaces_the_whole_setting(requested, key, expected):
    desired = cs.merge_config(asked(**requested), CARRIED_V1)
    assert desired[key] == expected
    assert all(desired[k] == CARRIED_V1[k] for k in cs.RUN_KEYS if k != key)


@pytest.mark.parametrize("requested, expected", [
    (dict(), (["socks", "static:ro"], ["db:database"], "app0.shop")),
    (dict(volumes_from=[], links=[]), ([], [], "app0.shop")),
    (dict(hostname=None), (["socks", "static:ro"], ["db:database"], None)),
])
def test_merge_carries_volumes_from_links_and_hostname(requested, expected):
    carried = dict(CARRIED_V1, volumes_from=["socks", "static:ro"], links=["db:database"], hostname="app0.shop")
    desired = cs.merge_config(asked(**requested), carried)
    assert (desired["volumes_from"], desired["links"], desired["hostname"]) == expected


def test_merge_command_reset_goes_back_to_the_image():
    carried = dict(CARRIED_V1, command=["old", "args"])
    assert cs.merge_config(asked(command=None), carried)["command"] is None
    assert cs.merge_config(asked(), carried)["command"] == ["old", "args"]


@pytest.mark.parametrize("requested, carried_policy, expected", [
    (dict(restart_policy="on-failure", restart_retries=4), "always", ("on-failure", 4)),
    (dict(restart_retries=2), "on-failure", ("on-failure", 2)),
    (dict(), "on-failure", ("on-failure", 7)),
    (dict(restart_policy="always"), "on-failure", ("always", 0)),
    (dict(restart_policy="on-failure"), "no", ("on-failure", 0)),
])
def test_merge_restart_retries(requested, carried_policy, expected):
    carried = dict(CARRIED_V1, restart_policy=carried_policy, restart_retries=7 if carried_policy == "on-failure" else 0)
    desired = cs.merge_config(asked(**requested), carried)
    assert (desired["restart_policy"], desired["restart_retries"]) == expected


@pytest.mark.parametrize("requested, carried", [
    (dict(restart_retries=3), CARRIED_V1),
    (dict(restart_retries=3, restart_policy="always"), CARRIED_V1),
    (dict(restart_retries=3), None),
])
def test_merge_refuses_retries_without_on_failure(requested, carried):
    with pytest.raises(pr.ParamError, match="restart_retries only applies with restart_policy=on-failure"):
        cs.merge_config(asked(**requested), carried)


def test_merge_does_not_share_mutable_values_with_the_carried_config():
    carried = copy.deepcopy(CARRIED_V1)
    desired = cs.merge_config(asked(), carried)
    desired["env"]["NEW"] = "x"
    desired["ports"].append("1:2/tcp")
    desired["volumes_from"].append("x")
    desired["links"].append("x:x")
    assert carried == CARRIED_V1


def test_explicit_from_container_keeps_only_what_the_image_does_not_provide():
    assert cs.explicit_from_container(CONTAINER_V1, IMAGE_V1) == CARRIED_V1


def test_carried_env_lets_the_new_image_defaults_win():
    desired = cs.merge_config(asked(), cs.explicit_from_container(CONTAINER_V1, IMAGE_V1))
    wanted = cs.effective_config(desired, IMAGE_V2, "app-a")
    assert wanted["env"]["APP_VERSION"] == "v2"
    assert wanted["env"]["FOO"] == "bar"


def test_explicit_from_container_keeps_an_env_override_of_an_image_value():
    attrs = container(Config__Env=[e.replace("APP_PORT=8000", "APP_PORT=9000") for e in CONTAINER_V1["Config"]["Env"]])
    assert cs.explicit_from_container(attrs, IMAGE_V1)["env"] == {"FOO": "bar", "APP_PORT": "9000"}


@pytest.mark.parametrize("changes, key, expected", [
    (dict(Config__Cmd=["python3", "/app/server.py", "--debug"]), "command", ["python3", "/app/server.py", "--debug"]),
    (dict(Config__Entrypoint=["/bin/sh", "-c"], Config__Cmd=["exec python3 /app/server.py"]),
     "command", ["exec python3 /app/server.py"]),
    (dict(Config__Entrypoint=["/bin/sh", "-c"], Config__Cmd=["exec python3 /app/server.py"]),
     "entrypoint", ["/bin/sh", "-c"]),
    (dict(Config__Entrypoint=["tini", "--"], Config__Cmd=None), "command", None),
    (dict(Config__Healthcheck={"Test": ["NONE"]}), "healthcheck",
     dict(test=["NONE"], interval=0, timeout=0, retries=0, start_period=0)),
    (dict(Config__Healthcheck=dict(IMAGE_HEALTH, Interval=5000000000)), "healthcheck",
     dict(test=HEALTH_TEST, interval=5000000000, timeout=2000000000, retries=3, start_period=1000000000)),
    (dict(Config__Labels={"baton.source-sha": "0000", "baton.managed": "true"}), "labels", {"baton.source-sha": "0000"}),
    (dict(Config__StopTimeout=None), "stop_timeout", None),
    (dict(HostConfig__NetworkMode="backend"), "network", "backend"),
    (dict(HostConfig__NetworkMode="bridge"), "network", None),
    (dict(HostConfig__RestartPolicy={"Name": "on-failure", "MaximumRetryCount": 4}), "restart_retries", 4),
    (dict(HostConfig__RestartPolicy={"Name": "", "MaximumRetryCount": 0}), "restart_policy", "no"),
    (dict(HostConfig__PortBindings={"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8081"},
                                                 {"HostIp": "0.0.0.0", "HostPort": "8082"}],
                                    "53/udp": [{"HostIp": "", "HostPort": ""}]}),
     "ports", ["127.0.0.1:8081:8000/tcp", "53/udp", "8082:8000/tcp"]),
    (dict(HostConfig__Binds=["/a:/b:ro,z", "vol:/c:rw", "/d:/e"]), "volumes", ["/a:/b:ro", "/d:/e", "vol:/c"]),
    (dict(HostConfig__Binds=None, HostConfig__Mounts=[
        {"Type": "bind", "Source": "/srv", "Target": "/srv", "ReadOnly": True},
        {"Type": "volume", "Source": "cache", "Target": "/cache"},
        {"Type": "tmpfs", "Target": "/tmp"}]), "volumes", ["/srv:/srv:ro", "cache:/cache"]),
])
def test_explicit_from_container_reads_each_setting(changes, key, expected):
    assert cs.explicit_from_container(container(**changes), IMAGE_V1)[key] == expected


@pytest.mark.parametrize("entries, expected", [
    (None, []),
    (["socks"], ["socks"]),
    (["static:ro", "socks:rw"], ["socks", "static:ro"]),
    (["static:ro,z"], ["static:ro"]),
])
def test_volumes_from_engine(entries, expected):
    assert cs.volumes_from_engine(entries) == expected


@pytest.mark.parametrize("entries, expected", [
    (None, []),
    (["/db:/app-a/database"], ["db:database"]),
    (["/db:/app-a/db", "/redis:/app-a.baton-previous/cache"], ["db:db", "redis:cache"]),
    (["db:database"], ["db:database"]),  # endpoint links on a user-defined network
    (["db"], ["db:db"]),
])
def test_links_from_engine(entries, expected):
    assert cs.links_from_engine(entries) == expected


@pytest.mark.parametrize("changes, expected", [
    (dict(), None),
    (dict(Config__Hostname="app0.shop"), "app0.shop"),
    (dict(Config__Hostname="app0", Config__Domainname="shop.internal"), "app0.shop.internal"),
    (dict(Config__Hostname=""), None),
    (dict(Config__Hostname="docker-host-7", HostConfig__NetworkMode="host"), None),
    (dict(Config__Hostname="app0", HostConfig__NetworkMode="container:abc"), None),
])
def test_hostname_from_engine(changes, expected):
    assert cs.hostname_from_engine(container(**changes)) == expected


@pytest.mark.parametrize("changes, key, expected", [
    (dict(HostConfig__VolumesFrom=["static:ro", "socks"]), "volumes_from", ["socks", "static:ro"]),
    (dict(HostConfig__Links=["/db:/app-a/database"]), "links", ["db:database"]),
    (dict(HostConfig__NetworkMode="backend", NetworkSettings__Networks={"backend": {"Links": ["db:database"]}}),
     "links", ["db:database"]),
    (dict(Config__Hostname="app0.shop"), "hostname", "app0.shop"),
    (dict(Config__Hostname="6278238f84af"), "hostname", None),
])
def test_new_settings_are_read_back_and_carried(changes, key, expected):
    attrs = container(**changes)
    assert cs.effective_from_container(attrs)[key] == expected
    assert cs.explicit_from_container(attrs, IMAGE_V1)[key] == expected


def test_explicit_from_container_without_the_old_image_keeps_everything():
    explicit = cs.explicit_from_container(CONTAINER_V1, None)
    assert explicit["env"]["APP_VERSION"] == "v1"
    assert explicit["command"] == ["python3", "/app/server.py"]


def test_same_image_same_config_has_no_difference():
    desired = cs.merge_config(asked(), cs.explicit_from_container(CONTAINER_V1, IMAGE_V1))
    wanted = cs.effective_config(desired, IMAGE_V1, "app-a")
    assert cs.config_differences(wanted, cs.effective_from_container(CONTAINER_V1)) == []


def test_requesting_an_image_default_explicitly_is_no_difference():
    requested = asked(env={"FOO": "bar", "APP_VERSION": "v1"}, command=["python3", "/app/server.py"])
    desired = cs.merge_config(requested, CARRIED_V1)
    wanted = cs.effective_config(desired, IMAGE_V1, "app-a")
    assert cs.config_differences(wanted, cs.effective_from_container(CONTAINER_V1)) == []


def test_baton_image_label_does_not_count():
    attrs = container(Config__Labels=dict(CONTAINER_V1["Config"]["Labels"], **{"baton.image": "other/ref:x"}))
    wanted = cs.effective_config(CARRIED_V1, IMAGE_V1, "app-a")
    assert cs.config_differences(wanted, cs.effective_from_container(attrs)) == []


def test_a_container_without_our_labels_is_adopted_once():
    labels = {"baton.source-sha": "eec1848c8e6f491f", "baton.test": "1"}
    wanted = cs.effective_config(CARRIED_V1, IMAGE_V1, "app-a")
    assert cs.config_differences(wanted, cs.effective_from_container(container(Config__Labels=labels))) == ["labels"]


@pytest.mark.parametrize("requested, differs", [
    (dict(env={"FOO": "baz"}), ["env"]),
    (dict(labels={"team": "shop", "baton.test": "1"}), ["labels"]),
    (dict(ports=["8082:8000/tcp"]), ["ports"]),
    (dict(volumes=[]), ["volumes"]),
    (dict(restart_policy="always"), ["restart_policy"]),
    (dict(restart_policy="on-failure", restart_retries=3), ["restart_policy", "restart_retries"]),
    (dict(command=["python3", "-m", "http.server"]), ["command"]),
    (dict(entrypoint=["/bin/sh", "-c"]), ["command", "entrypoint"]),
    (dict(network="backend"), ["network"]),
    (dict(stop_timeout=30), ["stop_timeout"]),
    (dict(healthcheck=dict(test=["CMD", "true"], interval=0, timeout=0, retries=0, start_period=0)), ["healthcheck"]),
    (dict(volumes_from=["socks"]), ["volumes_from"]),
    (dict(links=["db:db"]), ["links"]),
    (dict(hostname="app0.shop"), ["hostname"]),
])
def test_each_requested_change_is_a_difference(requested, differs):
    desired = cs.merge_config(asked(**requested), CARRIED_V1)
    wanted = cs.effective_config(desired, IMAGE_V1, "app-a")
    assert cs.config_differences(wanted, cs.effective_from_container(CONTAINER_V1)) == differs


@pytest.mark.parametrize("changes, requested, differs", [
    (dict(HostConfig__VolumesFrom=["static:ro"]), dict(), []),
    (dict(HostConfig__VolumesFrom=["static:ro"]), dict(volumes_from=["static:ro"]), []),
    (dict(HostConfig__VolumesFrom=["static:ro"]), dict(volumes_from=["static"]), ["volumes_from"]),
    (dict(HostConfig__VolumesFrom=["static:ro"]), dict(volumes_from=[]), ["volumes_from"]),
    (dict(HostConfig__Links=["/db:/app-a/db"]), dict(links=pr.parse_links(["db"])), []),
    (dict(HostConfig__Links=["/db:/app-a/db"]), dict(links=["db:database"]), ["links"]),
    (dict(Config__Hostname="app0"), dict(hostname="app0"), []),
    (dict(Config__Hostname="app0"), dict(hostname=None), ["hostname"]),
    (dict(), dict(hostname=None), []),
])
def test_new_settings_compared_against_the_running_container(changes, requested, differs):
    attrs = container(**changes)
    desired = cs.merge_config(asked(**requested), cs.explicit_from_container(attrs, IMAGE_V1))
    wanted = cs.effective_config(desired, IMAGE_V1, "app-a")
    assert cs.config_differences(wanted, cs.effective_from_container(attrs)) == differs


def test_partial_healthcheck_is_merged_with_the_image_like_the_engine_does():
    explicit = pr.normalize_healthcheck(dict(interval=5))
    stored = dict(IMAGE_HEALTH, Interval=5000000000)  # what the engine stores for --health-interval 5s
    desired = dict(CARRIED_V1, healthcheck=explicit)
    wanted = cs.effective_config(desired, IMAGE_V1, "app-a")
    current = cs.effective_from_container(container(Config__Healthcheck=stored))
    assert cs.config_differences(wanted, current) == []


def test_effective_config_with_an_explicit_entrypoint_drops_the_image_command():
    wanted = cs.effective_config(dict(CARRIED_V1, entrypoint=["/bin/sh", "-c"]), IMAGE_V1, "app-a")
    assert (wanted["entrypoint"], wanted["command"]) == (["/bin/sh", "-c"], None)


def test_create_labels():
    assert cs.create_labels({"team": "shop"}, "app-a", "baton-demo/app:v2") == {
        "team": "shop", "baton.managed": "true", "baton.slot": "app-a", "baton.image": "baton-demo/app:v2"}


# ---------------------------------------------------------------- the table

# A value other than the first-deploy default for every setting, in explicit form (shared with the round trip on the
# real engine, tests/integration/test_container_settings.py).
from tests.unit.plugins.module_utils.container_data import NON_DEFAULT  # noqa: E402


def test_every_setting_has_every_part():
    assert len(set(cs.RUN_KEYS)) == len(cs.SETTINGS)
    for setting in cs.SETTINGS:
        assert setting.options and all("type" in spec for spec in setting.options.values()), setting.name
        for part in cs.Setting.PARTS:
            assert hasattr(setting, part), (setting.name, part)
        for part in ("from_params", "read", "explicit", "effective", "write", "compare", "merge"):
            assert callable(getattr(setting, part)), (setting.name, part)
        # the image's default applies (a reader of the image's Config) or it does not (None)
        assert setting.from_image is None or callable(setting.from_image), setting.name
        assert setting.image_default_applies is (setting.from_image is not None)


def test_every_setting_has_a_non_default_sample():
    assert sorted(NON_DEFAULT) == sorted(cs.RUN_KEYS)
    defaults = cs.first_deploy_config()
    assert [key for key in cs.RUN_KEYS if NON_DEFAULT[key] == defaults[key]] == []


def test_the_forms_hold_exactly_the_settings():
    keys = sorted(cs.RUN_KEYS)
    assert sorted(cs.first_deploy_config()) == keys
    assert sorted(cs.effective_from_container(CONTAINER_V1)) == keys
    assert sorted(cs.explicit_from_container(CONTAINER_V1, IMAGE_V1)) == keys
    assert sorted(cs.effective_config(CARRIED_V1, IMAGE_V1, "app-a")) == keys
    assert sorted(cs.image_defaults(IMAGE_V1)) == keys


def test_every_option_of_a_setting_is_read_from_the_task():
    options = cs.setting_options()
    for setting in cs.SETTINGS:
        for option in setting.options:
            assert option in options
            value = {"dict": {}, "list": [], "str": "x", "int": 1, "raw": "x"}[setting.options[option]["type"]]
            assert setting.name in cs.explicit_from_params(params(**{option: value})), (setting.name, option)


def test_the_module_options_are_the_settings_options():
    from ansible_collections.baton.docker.plugins.module_utils._swap_engine import SWAP_ARGS
    for option, spec in cs.setting_options().items():
        assert SWAP_ARGS[option] == spec
    assert cs.setting_options()["restart_policy"]["choices"] == list(pr.RESTART_POLICIES)


@pytest.mark.parametrize("key", sorted(NON_DEFAULT))
def test_each_setting_is_written_at_create(key):
    base = cs.first_deploy_config()
    changed = dict(base, **{key: NON_DEFAULT[key]})
    if key == "restart_retries":  # retries only exist with on-failure
        base["restart_policy"] = changed["restart_policy"] = "on-failure"
    assert cs.create_arguments(changed) != cs.create_arguments(base)


@pytest.mark.parametrize("key", sorted(NON_DEFAULT))
def test_each_setting_is_compared(key):
    wanted = cs.effective_config(CARRIED_V1, IMAGE_V1, "app-a")
    other = cs.effective_config(dict(CARRIED_V1, **{key: NON_DEFAULT[key]}), IMAGE_V1, "app-a")
    if key == "restart_retries":
        wanted = cs.effective_config(dict(CARRIED_V1, restart_policy="on-failure"), IMAGE_V1, "app-a")
        other["restart_policy"] = "on-failure"
    # an entrypoint of the slot's own drops the image's command with it
    assert cs.config_differences(other, wanted) == (["command", key] if key == "entrypoint" else [key])


def test_lists_compare_as_collections():
    wanted = cs.effective_config(dict(CARRIED_V1, links=["a:a", "b:b"]), IMAGE_V1, "app-a")
    assert cs.config_differences(dict(wanted, links=["b:b", "a:a"]), wanted) == []


def test_create_arguments_of_a_slot():
    create = cs.create_arguments(dict(CARRIED_V1, labels={"baton.slot": "app-a"}))
    assert create == dict(
        container=dict(environment=["FOO=bar"], labels={"baton.slot": "app-a"}, ports=[(8000, "tcp")], command=None,
                       entrypoint=None, stop_timeout=5, healthcheck=None, hostname=None),
        host=dict(port_bindings={"8000/tcp": [{"HostIp": "", "HostPort": "8081"}]}, binds=["/srv/data:/data:ro"],
                  restart_policy={"Name": "unless-stopped"}, network_mode=None, volumes_from=None, links=None),
        network=None, endpoint_links=None)


@pytest.mark.parametrize("changes, part, key, expected", [
    (dict(ports=["127.0.0.1:8081:8000/tcp", "8082:8000/tcp", "9000/udp"]), "host", "port_bindings",
     {"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8081"}, {"HostIp": "", "HostPort": "8082"}],
      "9000/udp": [{"HostIp": "", "HostPort": ""}]}),
    (dict(ports=["127.0.0.1:8081:8000/tcp", "8082:8000/tcp", "9000/udp"]), "container", "ports",
     [(8000, "tcp"), (9000, "udp")]),
    (dict(ports=["[::1]:8081:8000/tcp"]), "host", "port_bindings", {"8000/tcp": [{"HostIp": "::1", "HostPort": "8081"}]}),
    (dict(ports=[]), "container", "ports", None),
    (dict(env={}), "container", "environment", None),
    (dict(env={"B": "2", "A": "x=y"}), "container", "environment", ["A=x=y", "B=2"]),
    (dict(restart_policy="no"), "host", "restart_policy", {"Name": ""}),
    (dict(restart_policy="on-failure", restart_retries=3), "host", "restart_policy",
     {"Name": "on-failure", "MaximumRetryCount": 3}),
    (dict(restart_policy="on-failure", restart_retries=None), "host", "restart_policy",
     {"Name": "on-failure", "MaximumRetryCount": 0}),
    (dict(network="host"), "host", "network_mode", "host"),
    (dict(network="host"), None, "network", None),
    (dict(network="backend"), None, "network", "backend"),
    (dict(links=["db:database"]), "host", "links", [("db", "database")]),
    (dict(links=["db:database"], network="backend"), "host", "links", None),
    (dict(links=["db:database"], network="backend"), None, "endpoint_links", [("db", "database")]),
    (dict(volumes_from=["static:ro"]), "host", "volumes_from", ["static:ro"]),
    (dict(hostname="app0.shop"), "container", "hostname", "app0.shop"),
    (dict(command=["a", "b"], entrypoint=["/bin/sh", "-c"]), "container", "entrypoint", ["/bin/sh", "-c"]),
    (dict(healthcheck=dict(test=["CMD", "true"], interval=1, timeout=2, retries=3, start_period=4)), "container",
     "healthcheck", {"Test": ["CMD", "true"], "Interval": 1, "Timeout": 2, "Retries": 3, "StartPeriod": 4}),
])
def test_create_arguments(changes, part, key, expected):
    create = cs.create_arguments(dict(CARRIED_V1, **changes))
    assert (create[part] if part else create)[key] == expected

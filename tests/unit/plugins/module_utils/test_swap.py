"""Unit tests of the pure decisions of container_swap (plugins/module_utils/_swap.py).

IMAGE_V1 / IMAGE_V2 are the Config blocks of ``docker image inspect`` of the
demo images (scripts/build_images.sh); CONTAINER_V1 is ``docker inspect`` of a
container the engine (20.10) created from v1 with env FOO, a published port,
a bind mount, restart policy unless-stopped and a stop timeout (no hostname
given: the engine set the ID's first 12 characters).
"""

import copy

import pytest

from ansible_collections.baton.docker.plugins.module_utils import _swap as sw

HEALTH_TEST = ["CMD", "python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"]
IMAGE_HEALTH = {"Test": HEALTH_TEST, "Interval": 2000000000, "Timeout": 2000000000,
                "StartPeriod": 1000000000, "Retries": 3}
IMAGE_V1 = {
    "Cmd": ["python3", "/app/server.py"],
    "Entrypoint": None,
    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONUNBUFFERED=1",
            "APP_NAME=demo", "APP_VERSION=v1", "APP_BROKEN=", "APP_PORT=8000"],
    "Healthcheck": IMAGE_HEALTH,
    "Labels": {"baton.source-sha": "eec1848c8e6f491f"},
}
IMAGE_V2 = dict(IMAGE_V1, Env=[e.replace("APP_VERSION=v1", "APP_VERSION=v2") for e in IMAGE_V1["Env"]])

CONTAINER_V1 = {
    "Id": "6278238f84afd9d961c69a87f3f4536cf9e4535d0e9dfe33c6f2e74ac380d470",
    "Name": "/app-a",
    "Image": "sha256:bd6c94ae805ab4aad4d42e5d84232174fa4cb23e7b39914752dec54e1bfcb99c",
    "State": {"Status": "running", "Running": True, "Restarting": False},
    "Config": {
        "Env": ["FOO=bar", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONUNBUFFERED=1",
                "APP_NAME=demo", "APP_VERSION=v1", "APP_BROKEN=", "APP_PORT=8000"],
        "Cmd": ["python3", "/app/server.py"],
        "Entrypoint": None,
        "Healthcheck": IMAGE_HEALTH,
        "Hostname": "6278238f84af",
        "Domainname": "",
        "Image": "baton-demo/app:v1",
        "Labels": {"baton.source-sha": "eec1848c8e6f491f", "baton.test": "1", "baton.managed": "true",
                   "baton.slot": "app-a", "baton.image": "baton-demo/app:v1"},
        "StopTimeout": 5,
    },
    "HostConfig": {
        "Binds": ["/srv/data:/data:ro"],
        "PortBindings": {"8000/tcp": [{"HostIp": "", "HostPort": "8081"}]},
        "RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0},
        "NetworkMode": "default",
        "VolumesFrom": None,
        "Links": None,
    },
    "NetworkSettings": {"Networks": {"bridge": {"Links": None, "IPAddress": "172.17.0.2"}}},
}

CARRIED_V1 = dict(env={"FOO": "bar"}, labels={"baton.test": "1"}, ports=["8081:8000/tcp"], volumes=["/srv/data:/data:ro"],
                  restart_policy="unless-stopped", restart_retries=0, command=None, entrypoint=None, network=None,
                  stop_timeout=5, healthcheck=None, volumes_from=[], links=[], hostname=None)


def nothing_requested(**overrides):
    requested = dict(env=None, labels=None, ports=None, volumes=None, restart_policy=None, restart_retries=None,
                     command=None, command_set=False, entrypoint=None, entrypoint_set=False, network=None,
                     stop_timeout=None, healthcheck=None, healthcheck_set=False, volumes_from=None, links=None,
                     hostname=None, hostname_set=False)
    requested.update(overrides)
    return requested


def params(**overrides):
    base = dict(env=None, secret_env=None, labels=None, ports=None, volumes=None, restart_policy=None,
                restart_retries=None, command=None, entrypoint=None, network=None, stop_timeout=None, healthcheck=None,
                volumes_from=None, links=None, hostname=None)
    base.update(overrides)
    return base


def container(**changes):
    """CONTAINER_V1 with Config / HostConfig keys replaced."""
    attrs = copy.deepcopy(CONTAINER_V1)
    for key, value in changes.items():
        section, field = key.split("__", 1)
        attrs[section][field] = value
    return attrs


# ---------------------------------------------------------------- parameters

@pytest.mark.parametrize("ref, expected", [
    ("baton-demo/app:v1", ("baton-demo/app", "v1", None)),
    ("baton-demo/app", ("baton-demo/app", "latest", None)),
    ("127.0.0.1:5000/demo/app:v1", ("127.0.0.1:5000/demo/app", "v1", None)),
    ("127.0.0.1:5000/demo/app", ("127.0.0.1:5000/demo/app", "latest", None)),
    ("app@sha256:" + "a" * 64, ("app", None, "sha256:" + "a" * 64)),
    ("reg.example.com/app:v2@sha256:" + "b" * 64, ("reg.example.com/app", "v2", "sha256:" + "b" * 64)),
    ("Registry.Example.com:443/team__x/my-app.v2:Tag_1", ("Registry.Example.com:443/team__x/my-app.v2", "Tag_1", None)),
    ("localhost/app", ("localhost/app", "latest", None)),
    ("[::1]:5000/app:v1", ("[::1]:5000/app", "v1", None)),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:git_cf7edb2",
     ("123456789012.dkr.ecr.us-east-1.amazonaws.com/shop", "git_cf7edb2", None)),
])
def test_parse_image_ref(ref, expected):
    assert sw.parse_image_ref(ref) == expected


@pytest.mark.parametrize("ref, fragment", [
    ("", "not an image reference"),
    ("app :v1", "not an image reference"),
    ("app@sha256:xyz", "invalid digest"),
    ("app:v1!", "invalid tag"),
    (":v1", "no valid repository"),
    ("/app:v1", "no valid repository"),
    ("Shop:v2", "the repository name part 'Shop' must be lowercase"),
    ("team/App", "'App' must be lowercase"),
    ("app-/x", "'app-' must be lowercase"),
    ("-bad.example.com/app", "invalid registry '-bad.example.com'"),
    ("reg.example.com:port/app", "invalid registry 'reg.example.com:port'"),
])
def test_parse_image_ref_refuses(ref, fragment):
    with pytest.raises(sw.ParamError) as err:
        sw.parse_image_ref(ref)
    assert str(err.value).startswith("image: ")
    assert fragment in str(err.value)


@pytest.mark.parametrize("parts, ref", [
    (("app", "v1", None), "app:v1"),
    (("app", None, "sha256:" + "c" * 64), "app@sha256:" + "c" * 64),
    (("app", "v1", "sha256:" + "c" * 64), "app:v1@sha256:" + "c" * 64),
])
def test_image_ref(parts, ref):
    assert sw.image_ref(*parts) == ref


@pytest.mark.parametrize("name", ["app", "app-a", "app_1.blue", "A9"])
def test_check_slot_name_accepts(name):
    assert sw.check_slot_name(name) == name


@pytest.mark.parametrize("name, fragment", [
    ("", "not a valid container name"),
    ("-app", "not a valid container name"),
    ("app/a", "not a valid container name"),
    ("app.baton-previous", "reserved"),
])
def test_check_slot_name_refuses(name, fragment):
    with pytest.raises(sw.ParamError) as err:
        sw.check_slot_name(name)
    assert str(err.value).startswith("name: ") and fragment in str(err.value)


@pytest.mark.parametrize("spec, expected", [
    ("8080:8000", dict(ip="", host=8080, container=8000, proto="tcp")),
    ("8080:8000/udp", dict(ip="", host=8080, container=8000, proto="udp")),
    ("127.0.0.1:8080:8000", dict(ip="127.0.0.1", host=8080, container=8000, proto="tcp")),
    ("0.0.0.0:8080:8000/TCP", dict(ip="", host=8080, container=8000, proto="tcp")),
    ("[::1]:8080:8000", dict(ip="::1", host=8080, container=8000, proto="tcp")),
    ("8000", dict(ip="", host=None, container=8000, proto="tcp")),
    (8000, dict(ip="", host=None, container=8000, proto="tcp")),
])
def test_parse_port(spec, expected):
    assert sw.parse_port(spec) == expected


@pytest.mark.parametrize("spec, fragment", [
    ("http:8000", "host port 'http' is not a number"),
    ("8080:web", "container port 'web' is not a number"),
    ("70000:8000", "host port 70000 is outside 1-65535"),
    ("8080:0", "container port 0 is outside"),
    ("8080:8000/icmp", "protocol must be tcp, udp or sctp"),
    ("1:2:3:4", "expected host:container"),
    (":8080:8000", "empty IP address"),
    ("[::1:8080:8000", "expected [ipv6]:host:container"),
])
def test_parse_port_refuses(spec, fragment):
    with pytest.raises(sw.ParamError) as err:
        sw.parse_port(spec)
    assert str(err.value).startswith("ports: ") and fragment in str(err.value)


@pytest.mark.parametrize("specs, expected", [
    (["8080:8000", "127.0.0.1:9090:9000/udp"], ["127.0.0.1:9090:9000/udp", "8080:8000/tcp"]),
    (["8080:8000", "0.0.0.0:8080:8000"], ["8080:8000/tcp"]),
    (["8080:8000/tcp", "8080:8000/udp"], ["8080:8000/tcp", "8080:8000/udp"]),
    (["127.0.0.1:8080:8000", "127.0.0.2:8080:8001"], ["127.0.0.1:8080:8000/tcp", "127.0.0.2:8080:8001/tcp"]),
    (["[::1]:8080:8000"], ["[::1]:8080:8000/tcp"]),
    ([], []),
])
def test_parse_ports_canonical(specs, expected):
    assert sw.parse_ports(specs) == expected


@pytest.mark.parametrize("specs", [
    ["8080:8000", "8080:9000"],
    ["127.0.0.1:8080:8000", "8080:9000"],
])
def test_parse_ports_refuses_a_host_port_twice(specs):
    with pytest.raises(sw.ParamError, match="ports: host port 8080/tcp is published twice"):
        sw.parse_ports(specs)


@pytest.mark.parametrize("spec, expected", [
    ("/srv/data:/data", "/srv/data:/data"),
    ("/srv/data/:/data/:rw", "/srv/data:/data"),
    ("/srv/data:/data:ro", "/srv/data:/data:ro"),
    ("appdata:/var/lib/app", "appdata:/var/lib/app"),
    ("/:/host:ro", "/:/host:ro"),
])
def test_parse_volume(spec, expected):
    assert sw.parse_volume(spec) == expected


@pytest.mark.parametrize("spec, fragment", [
    ("data/app:/data", "is a relative path"),
    ("./data:/data", "is a relative path"),
    ("~/data:/data", "is a relative path"),
    ("/srv/data:data", "must be an absolute path in the container"),
    ("/srv/data:/data:z", "mode must be ro or rw"),
    ("/srv/data", "expected source:destination"),
    (":/data", "expected source:destination"),
])
def test_parse_volume_refuses(spec, fragment):
    with pytest.raises(sw.ParamError) as err:
        sw.parse_volume(spec)
    assert str(err.value).startswith("volumes: ") and fragment in str(err.value)


def test_parse_volumes_refuses_a_destination_twice():
    with pytest.raises(sw.ParamError, match="volumes: /data is mounted more than once"):
        sw.parse_volumes(["/a:/data", "b:/data:ro"])


@pytest.mark.parametrize("specs, expected", [
    (["data"], ["data"]),
    (["data:rw", "static:ro"], ["data", "static:ro"]),
    (["static:ro", "/data"], ["data", "static:ro"]),
    ([" socks "], ["socks"]),
    ([], []),
])
def test_parse_volumes_from(specs, expected):
    assert sw.parse_volumes_from(specs) == expected


@pytest.mark.parametrize("specs, message", [
    (["data:z"], "volumes_from: 'data:z': mode must be ro or rw, not 'z'"),
    (["data:ro:rw"], "volumes_from: 'data:ro:rw': mode must be ro or rw, not 'ro:rw'"),
    ([":ro"], "volumes_from: ':ro': '' is not a valid container name"),
    (["my data"], "volumes_from: 'my data': 'my data' is not a valid container name"),
    (["data", "data:ro"], "volumes_from: container data is given more than once"),
])
def test_parse_volumes_from_refuses(specs, message):
    with pytest.raises(sw.ParamError) as err:
        sw.parse_volumes_from(specs)
    assert str(err.value) == message


@pytest.mark.parametrize("specs, expected", [
    (["db"], ["db:db"]),
    (["db:database", "redis"], ["db:database", "redis:redis"]),
    (["/db:database"], ["db:database"]),
    (["app0:app", "app1:backup"], ["app0:app", "app1:backup"]),
    ([], []),
])
def test_parse_links(specs, expected):
    assert sw.parse_links(specs) == expected


@pytest.mark.parametrize("specs, message", [
    (["db:a:b"], "links: 'db:a:b': expected container or container:alias"),
    (["bad name"], "links: 'bad name': 'bad name' is not a valid container name"),
    (["db:-alias"], "links: 'db:-alias': '-alias' is not a valid alias"),
    (["db:"], "links: 'db:': '' is not a valid alias"),
    (["db:store", "cache:store"], "links: alias store is used more than once"),
    (["db", "db"], "links: alias db is used more than once"),
])
def test_parse_links_refuses(specs, message):
    with pytest.raises(sw.ParamError) as err:
        sw.parse_links(specs)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize("value, expected", [
    (None, None),
    ("", None),
    ("app0", "app0"),
    ("app0.shop-production", "app0.shop-production"),
    ("a", "a"),
    ("9lives", "9lives"),
    ("x" * 63, "x" * 63),
    (".".join(["a" * 63] * 3) + "." + "b" * 61, ".".join(["a" * 63] * 3) + "." + "b" * 61),
])
def test_normalize_hostname(value, expected):
    assert sw.normalize_hostname(value) == expected


@pytest.mark.parametrize("value", [
    "App0", "app_0", "-app", "app-", "app..shop", ".app", "app.", "x" * 64, ".".join(["a" * 63] * 4) + ".b",
    "app 0", "ap\u00e9",
])
def test_normalize_hostname_refuses(value):
    with pytest.raises(sw.ParamError) as err:
        sw.normalize_hostname(value)
    assert str(err.value).startswith("hostname: %r is not a valid hostname (RFC 1123" % (value,))


@pytest.mark.parametrize("desired, message", [
    (dict(volumes_from=["app-a"]), "volumes_from: 'app-a' names the slot's own container"),
    (dict(volumes_from=["app-a.baton-previous:ro"]), "volumes_from: 'app-a.baton-previous:ro' names the slot's own"),
    (dict(links=["app-a:self"]), "links: 'app-a:self' names the slot's own container"),
    (dict(hostname="app0", network="host"), "hostname: cannot be set with network=host"),
])
def test_check_references_refuses(desired, message):
    with pytest.raises(sw.ParamError) as err:
        sw.check_references(dict(CARRIED_V1, **desired), "app-a")
    assert str(err.value).startswith(message)


def test_check_references_accepts_other_containers():
    sw.check_references(dict(CARRIED_V1, volumes_from=["app-ab", "data:ro"], links=["db:app-a"], hostname="app-a"),
                        "app-a")


def test_referenced_containers():
    desired = dict(CARRIED_V1, volumes_from=["socks", "static:ro"], links=["db:database"])
    assert sw.referenced_containers(desired) == [("volumes_from", "socks"), ("volumes_from", "static"),
                                                 ("links", "db")]


@pytest.mark.parametrize("mapping, expected", [
    ({"A": "x y", "B": 3, "C": 1.5, "D": ""}, {"A": "x y", "B": "3", "C": "1.5", "D": ""}),
    ({}, {}),
    (None, {}),
])
def test_normalize_mapping(mapping, expected):
    assert sw.normalize_mapping("env", mapping, env=True) == expected


@pytest.mark.parametrize("mapping, fragment", [
    ({"DEBUG": True}, "the value of DEBUG is a boolean; quote it (for example 'true')"),
    ({"EMPTY": None}, "EMPTY has no value"),
    ({"LIST": [1]}, "must be a string, not a list"),
    ({"A=B": "x"}, "'A=B' is not a valid variable name"),
    ({"": "x"}, "is not a valid variable name"),
])
def test_normalize_mapping_refuses(mapping, fragment):
    with pytest.raises(sw.ParamError) as err:
        sw.normalize_mapping("env", mapping, env=True)
    assert str(err.value).startswith("env: ") and fragment in str(err.value)


@pytest.mark.parametrize("value, expected", [
    (None, None),
    ("python3 /app/server.py --flag", ["python3", "/app/server.py", "--flag"]),
    ("sh -c 'echo $HOME; exit 3'", ["sh", "-c", "echo $HOME; exit 3"]),
    (["sleep", 600], ["sleep", "600"]),
    ([], None),
    ("", None),
])
def test_normalize_command(value, expected):
    assert sw.normalize_command("command", value) == expected


def test_normalize_command_refuses_unbalanced_quotes():
    with pytest.raises(sw.ParamError, match="command: .* cannot be split into arguments"):
        sw.normalize_command("command", "sh -c 'echo")


@pytest.mark.parametrize("option, expected", [
    (None, None),
    ({}, None),
    (dict(test=["curl", "-f", "http://localhost/"]),
     dict(test=["CMD", "curl", "-f", "http://localhost/"], interval=0, timeout=0, retries=0, start_period=0)),
    (dict(test="curl -f http://localhost/ || exit 1", interval=2, timeout=0.5, retries=4, start_period=10),
     dict(test=["CMD-SHELL", "curl -f http://localhost/ || exit 1"], interval=2000000000, timeout=500000000,
          retries=4, start_period=10000000000)),
    (dict(test=["CMD-SHELL", "true"]), dict(test=["CMD-SHELL", "true"], interval=0, timeout=0, retries=0, start_period=0)),
    (dict(test=["NONE"], interval=3), dict(test=["NONE"], interval=0, timeout=0, retries=0, start_period=0)),
    (dict(interval=5), dict(test=[], interval=5000000000, timeout=0, retries=0, start_period=0)),
])
def test_normalize_healthcheck(option, expected):
    assert sw.normalize_healthcheck(option) == expected


@pytest.mark.parametrize("option, name", [
    (dict(interval=-1), "healthcheck.interval"),
    (dict(start_period=-0.5), "healthcheck.start_period"),
    (dict(retries=-2), "healthcheck.retries"),
])
def test_normalize_healthcheck_refuses_negative(option, name):
    with pytest.raises(sw.ParamError, match="^%s must not be negative" % name):
        sw.normalize_healthcheck(option)


@pytest.mark.parametrize("check, values, message", [
    (sw.check_non_negative, {"stop_timeout": -1, "log_lines": 5}, "stop_timeout must not be negative (got -1)"),
    (sw.check_non_negative, {"log_lines": -3}, "log_lines must not be negative (got -3)"),
    (sw.check_positive, {"health.interval": 0}, "health.interval must be greater than 0 (got 0)"),
    (sw.check_positive, {"health.retries": -1, "api_timeout": 5}, "health.retries must be greater than 0 (got -1)"),
])
def test_number_checks_refuse(check, values, message):
    with pytest.raises(sw.ParamError) as err:
        check(values)
    assert str(err.value) == message


@pytest.mark.parametrize("check, values", [
    (sw.check_non_negative, {"stop_timeout": 0, "log_lines": None}),
    (sw.check_positive, {"health.interval": 0.1, "health.retries": None}),
])
def test_number_checks_accept(check, values):
    check(values)


def test_explicit_from_params_leaves_unset_options_to_the_slot():
    assert sw.explicit_from_params(params()) == nothing_requested()


def test_explicit_from_params_joins_env_and_secret_env():
    requested = sw.explicit_from_params(params(env={"A": "1"}, secret_env={"TOKEN": "s3cr3t"}))
    assert requested["env"] == {"A": "1", "TOKEN": "s3cr3t"}


@pytest.mark.parametrize("given", [dict(env={}), dict(secret_env={})])
def test_explicit_from_params_empty_env_clears(given):
    assert sw.explicit_from_params(params(**given))["env"] == {}


def test_explicit_from_params_refuses_a_variable_in_both_env_and_secret_env():
    with pytest.raises(sw.ParamError) as err:
        sw.explicit_from_params(params(env={"TOKEN": "x", "A": "1"}, secret_env={"TOKEN": "s3cr3t"}))
    assert "env and secret_env both set TOKEN" in str(err.value)
    assert "s3cr3t" not in str(err.value)


@pytest.mark.parametrize("label", ["baton.managed", "baton.slot", "baton.image"])
def test_explicit_from_params_refuses_own_labels(label):
    with pytest.raises(sw.ParamError, match="labels: %s is set by the module itself" % label):
        sw.explicit_from_params(params(labels={label: "x"}))


@pytest.mark.parametrize("given, key, expected", [
    (dict(volumes_from=["static:ro", "socks:rw"]), "volumes_from", ["socks", "static:ro"]),
    (dict(volumes_from=[]), "volumes_from", []),
    (dict(links=["db"]), "links", ["db:db"]),
    (dict(hostname="app0.shop"), "hostname", "app0.shop"),
    (dict(hostname=""), "hostname", None),
    (dict(hostname=""), "hostname_set", True),
    (dict(), "hostname_set", False),
    (dict(command="run --fast"), "command", ["run", "--fast"]),
    (dict(command=[]), "command", None),
    (dict(entrypoint=["/bin/sh", "-c"]), "entrypoint", ["/bin/sh", "-c"]),
    (dict(ports=["8081:8000"]), "ports", ["8081:8000/tcp"]),
    (dict(volumes=["/a:/b:ro"]), "volumes", ["/a:/b:ro"]),
])
def test_explicit_from_params_normalizes(given, key, expected):
    assert sw.explicit_from_params(params(**given))[key] == expected


def test_explicit_from_params_refuses_empty_network():
    with pytest.raises(sw.ParamError, match="network: must not be empty"):
        sw.explicit_from_params(params(network=" "))


# ---------------------------------------------------------------- merge

def test_merge_first_deploy_defaults():
    desired = sw.merge_config(nothing_requested(), None)
    assert desired == dict(env={}, labels={}, ports=[], volumes=[], restart_policy="unless-stopped", restart_retries=0,
                           command=None, entrypoint=None, network=None, stop_timeout=None, healthcheck=None,
                           volumes_from=[], links=[], hostname=None)


@pytest.mark.parametrize("state, policy", [("started", "unless-stopped"), ("created", "no")])
def test_first_deploy_restart_policy_depends_on_the_state(state, policy):
    assert sw.merge_config(nothing_requested(), None, sw.first_restart_policy(state))["restart_policy"] == policy
    assert sw.merge_config(nothing_requested(), CARRIED_V1, sw.first_restart_policy(state))["restart_policy"] == (
        "unless-stopped")


def test_merge_keeps_the_slot_config_when_nothing_is_requested():
    assert sw.merge_config(nothing_requested(), CARRIED_V1) == CARRIED_V1


@pytest.mark.parametrize("requested, key, expected", [
    (dict(env={"BAR": "1"}), "env", {"BAR": "1"}),
    (dict(env={}), "env", {}),
    (dict(ports=[]), "ports", []),
    (dict(ports=["9090:8000/tcp"]), "ports", ["9090:8000/tcp"]),
    (dict(stop_timeout=0), "stop_timeout", 0),
    (dict(network="backend"), "network", "backend"),
    (dict(command=["serve"], command_set=True), "command", ["serve"]),
    (dict(healthcheck=None, healthcheck_set=True), "healthcheck", None),
    (dict(volumes_from=["static:ro"]), "volumes_from", ["static:ro"]),
    (dict(links=["db:database"]), "links", ["db:database"]),
    (dict(hostname="app0.shop", hostname_set=True), "hostname", "app0.shop"),
])
def test_merge_requested_option_replaces_the_whole_setting(requested, key, expected):
    desired = sw.merge_config(nothing_requested(**requested), CARRIED_V1)
    assert desired[key] == expected
    assert all(desired[k] == CARRIED_V1[k] for k in sw.RUN_KEYS if k != key)


@pytest.mark.parametrize("requested, expected", [
    (dict(), (["socks", "static:ro"], ["db:database"], "app0.shop")),
    (dict(volumes_from=[], links=[]), ([], [], "app0.shop")),
    (dict(hostname=None, hostname_set=True), (["socks", "static:ro"], ["db:database"], None)),
])
def test_merge_carries_volumes_from_links_and_hostname(requested, expected):
    carried = dict(CARRIED_V1, volumes_from=["socks", "static:ro"], links=["db:database"], hostname="app0.shop")
    desired = sw.merge_config(nothing_requested(**requested), carried)
    assert (desired["volumes_from"], desired["links"], desired["hostname"]) == expected


def test_merge_command_reset_goes_back_to_the_image():
    carried = dict(CARRIED_V1, command=["old", "args"])
    assert sw.merge_config(nothing_requested(command=None, command_set=True), carried)["command"] is None
    assert sw.merge_config(nothing_requested(), carried)["command"] == ["old", "args"]


@pytest.mark.parametrize("requested, carried_policy, expected", [
    (dict(restart_policy="on-failure", restart_retries=4), "always", ("on-failure", 4)),
    (dict(restart_retries=2), "on-failure", ("on-failure", 2)),
    (dict(), "on-failure", ("on-failure", 7)),
    (dict(restart_policy="always"), "on-failure", ("always", 0)),
    (dict(restart_policy="on-failure"), "no", ("on-failure", 0)),
])
def test_merge_restart_retries(requested, carried_policy, expected):
    carried = dict(CARRIED_V1, restart_policy=carried_policy, restart_retries=7 if carried_policy == "on-failure" else 0)
    desired = sw.merge_config(nothing_requested(**requested), carried)
    assert (desired["restart_policy"], desired["restart_retries"]) == expected


@pytest.mark.parametrize("requested, carried", [
    (dict(restart_retries=3), CARRIED_V1),
    (dict(restart_retries=3, restart_policy="always"), CARRIED_V1),
    (dict(restart_retries=3), None),
])
def test_merge_refuses_retries_without_on_failure(requested, carried):
    with pytest.raises(sw.ParamError, match="restart_retries only applies with restart_policy=on-failure"):
        sw.merge_config(nothing_requested(**requested), carried)


def test_merge_does_not_share_mutable_values_with_the_carried_config():
    carried = copy.deepcopy(CARRIED_V1)
    desired = sw.merge_config(nothing_requested(), carried)
    desired["env"]["NEW"] = "x"
    desired["ports"].append("1:2/tcp")
    desired["volumes_from"].append("x")
    desired["links"].append("x:x")
    assert carried == CARRIED_V1


# ---------------------------------------------------------------- read-back

def test_explicit_from_container_keeps_only_what_the_image_does_not_provide():
    assert sw.explicit_from_container(CONTAINER_V1, IMAGE_V1) == CARRIED_V1


def test_carried_env_lets_the_new_image_defaults_win():
    desired = sw.merge_config(nothing_requested(), sw.explicit_from_container(CONTAINER_V1, IMAGE_V1))
    wanted = sw.effective_config(desired, IMAGE_V2, "app-a")
    assert wanted["env"]["APP_VERSION"] == "v2"
    assert wanted["env"]["FOO"] == "bar"


def test_explicit_from_container_keeps_an_env_override_of_an_image_value():
    attrs = container(Config__Env=[e.replace("APP_PORT=8000", "APP_PORT=9000") for e in CONTAINER_V1["Config"]["Env"]])
    assert sw.explicit_from_container(attrs, IMAGE_V1)["env"] == {"FOO": "bar", "APP_PORT": "9000"}


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
    assert sw.explicit_from_container(container(**changes), IMAGE_V1)[key] == expected


@pytest.mark.parametrize("entries, expected", [
    (None, []),
    (["socks"], ["socks"]),
    (["static:ro", "socks:rw"], ["socks", "static:ro"]),
    (["static:ro,z"], ["static:ro"]),
])
def test_volumes_from_engine(entries, expected):
    assert sw.volumes_from_engine(entries) == expected


@pytest.mark.parametrize("entries, expected", [
    (None, []),
    (["/db:/app-a/database"], ["db:database"]),
    (["/db:/app-a/db", "/redis:/app-a.baton-previous/cache"], ["db:db", "redis:cache"]),
    (["db:database"], ["db:database"]),  # endpoint links on a user-defined network
    (["db"], ["db:db"]),
])
def test_links_from_engine(entries, expected):
    assert sw.links_from_engine(entries) == expected


@pytest.mark.parametrize("changes, expected", [
    (dict(), None),
    (dict(Config__Hostname="app0.shop"), "app0.shop"),
    (dict(Config__Hostname="app0", Config__Domainname="shop.internal"), "app0.shop.internal"),
    (dict(Config__Hostname=""), None),
    (dict(Config__Hostname="docker-host-7", HostConfig__NetworkMode="host"), None),
    (dict(Config__Hostname="app0", HostConfig__NetworkMode="container:abc"), None),
])
def test_hostname_from_engine(changes, expected):
    assert sw.hostname_from_engine(container(**changes)) == expected


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
    assert sw.effective_from_container(attrs)[key] == expected
    assert sw.explicit_from_container(attrs, IMAGE_V1)[key] == expected


def test_explicit_from_container_without_the_old_image_keeps_everything():
    explicit = sw.explicit_from_container(CONTAINER_V1, None)
    assert explicit["env"]["APP_VERSION"] == "v1"
    assert explicit["command"] == ["python3", "/app/server.py"]


# ---------------------------------------------------------------- comparison

def test_same_image_same_config_has_no_difference():
    desired = sw.merge_config(nothing_requested(), sw.explicit_from_container(CONTAINER_V1, IMAGE_V1))
    wanted = sw.effective_config(desired, IMAGE_V1, "app-a")
    assert sw.config_differences(wanted, sw.effective_from_container(CONTAINER_V1)) == []


def test_requesting_an_image_default_explicitly_is_no_difference():
    requested = nothing_requested(env={"FOO": "bar", "APP_VERSION": "v1"},
                                  command=["python3", "/app/server.py"], command_set=True)
    desired = sw.merge_config(requested, CARRIED_V1)
    wanted = sw.effective_config(desired, IMAGE_V1, "app-a")
    assert sw.config_differences(wanted, sw.effective_from_container(CONTAINER_V1)) == []


def test_baton_image_label_does_not_count():
    attrs = container(Config__Labels=dict(CONTAINER_V1["Config"]["Labels"], **{"baton.image": "other/ref:x"}))
    wanted = sw.effective_config(CARRIED_V1, IMAGE_V1, "app-a")
    assert sw.config_differences(wanted, sw.effective_from_container(attrs)) == []


def test_a_container_without_our_labels_is_adopted_once():
    labels = {"baton.source-sha": "eec1848c8e6f491f", "baton.test": "1"}
    wanted = sw.effective_config(CARRIED_V1, IMAGE_V1, "app-a")
    assert sw.config_differences(wanted, sw.effective_from_container(container(Config__Labels=labels))) == ["labels"]


@pytest.mark.parametrize("requested, differs", [
    (dict(env={"FOO": "baz"}), ["env"]),
    (dict(labels={"team": "shop", "baton.test": "1"}), ["labels"]),
    (dict(ports=["8082:8000/tcp"]), ["ports"]),
    (dict(volumes=[]), ["volumes"]),
    (dict(restart_policy="always"), ["restart_policy"]),
    (dict(restart_policy="on-failure", restart_retries=3), ["restart_policy", "restart_retries"]),
    (dict(command=["python3", "-m", "http.server"], command_set=True), ["command"]),
    (dict(entrypoint=["/bin/sh", "-c"], entrypoint_set=True), ["command", "entrypoint"]),
    (dict(network="backend"), ["network"]),
    (dict(stop_timeout=30), ["stop_timeout"]),
    (dict(healthcheck=dict(test=["CMD", "true"], interval=0, timeout=0, retries=0, start_period=0),
          healthcheck_set=True), ["healthcheck"]),
    (dict(volumes_from=["socks"]), ["volumes_from"]),
    (dict(links=["db:db"]), ["links"]),
    (dict(hostname="app0.shop", hostname_set=True), ["hostname"]),
])
def test_each_requested_change_is_a_difference(requested, differs):
    desired = sw.merge_config(nothing_requested(**requested), CARRIED_V1)
    wanted = sw.effective_config(desired, IMAGE_V1, "app-a")
    assert sw.config_differences(wanted, sw.effective_from_container(CONTAINER_V1)) == differs


@pytest.mark.parametrize("changes, requested, differs", [
    (dict(HostConfig__VolumesFrom=["static:ro"]), dict(), []),
    (dict(HostConfig__VolumesFrom=["static:ro"]), dict(volumes_from=["static:ro"]), []),
    (dict(HostConfig__VolumesFrom=["static:ro"]), dict(volumes_from=["static"]), ["volumes_from"]),
    (dict(HostConfig__VolumesFrom=["static:ro"]), dict(volumes_from=[]), ["volumes_from"]),
    (dict(HostConfig__Links=["/db:/app-a/db"]), dict(links=sw.parse_links(["db"])), []),
    (dict(HostConfig__Links=["/db:/app-a/db"]), dict(links=["db:database"]), ["links"]),
    (dict(Config__Hostname="app0"), dict(hostname="app0", hostname_set=True), []),
    (dict(Config__Hostname="app0"), dict(hostname=None, hostname_set=True), ["hostname"]),
    (dict(), dict(hostname=None, hostname_set=True), []),
])
def test_new_settings_compared_against_the_running_container(changes, requested, differs):
    attrs = container(**changes)
    desired = sw.merge_config(nothing_requested(**requested), sw.explicit_from_container(attrs, IMAGE_V1))
    wanted = sw.effective_config(desired, IMAGE_V1, "app-a")
    assert sw.config_differences(wanted, sw.effective_from_container(attrs)) == differs


def test_partial_healthcheck_is_merged_with_the_image_like_the_engine_does():
    explicit = sw.normalize_healthcheck(dict(interval=5))
    stored = dict(IMAGE_HEALTH, Interval=5000000000)  # what the engine stores for --health-interval 5s
    desired = dict(CARRIED_V1, healthcheck=explicit)
    wanted = sw.effective_config(desired, IMAGE_V1, "app-a")
    current = sw.effective_from_container(container(Config__Healthcheck=stored))
    assert sw.config_differences(wanted, current) == []


def test_effective_config_with_an_explicit_entrypoint_drops_the_image_command():
    wanted = sw.effective_config(dict(CARRIED_V1, entrypoint=["/bin/sh", "-c"]), IMAGE_V1, "app-a")
    assert (wanted["entrypoint"], wanted["command"]) == (["/bin/sh", "-c"], None)


def test_create_labels():
    assert sw.create_labels({"team": "shop"}, "app-a", "baton-demo/app:v2") == {
        "team": "shop", "baton.managed": "true", "baton.slot": "app-a", "baton.image": "baton-demo/app:v2"}


# ---------------------------------------------------------------- decisions

@pytest.mark.parametrize("slot, previous, action", [
    (None, None, None),
    (dict(running=True), None, None),
    (dict(running=False), None, None),
    (None, dict(running=False), "restore"),
    (None, dict(running=True), "restore"),
    (dict(running=True), dict(running=False), "discard"),
    (dict(running=True), dict(running=True), "discard"),
    (dict(running=False), dict(running=False), "replace"),
])
def test_recovery_action(slot, previous, action):
    assert sw.recovery_action(slot, previous) == action


@pytest.mark.parametrize("slot, previous, action", [
    (None, None, None),
    (None, dict(running=False), "restore"),
    (dict(running=True), dict(running=False), "discard"),
    (dict(running=False), dict(running=False), "discard"),  # a created slot container is the newer one
])
def test_recovery_action_for_created(slot, previous, action):
    assert sw.recovery_action(slot, previous, "created") == action


@pytest.mark.parametrize("state, update, exists, running, outdated, action", [
    ("started", True, False, False, False, "create"),
    ("started", False, False, False, False, "create"),
    ("started", True, True, True, False, "none"),
    ("started", True, True, True, True, "replace"),
    ("started", True, True, False, False, "replace"),
    ("started", False, True, True, True, "none"),
    ("started", False, True, False, True, "start"),
    ("started", False, True, False, False, "start"),
    ("created", True, False, False, False, "create"),
    ("created", True, True, False, False, "none"),
    ("created", True, True, True, False, "none"),
    ("created", True, True, False, True, "replace"),
    ("created", True, True, True, True, "replace"),
    ("created", False, True, False, True, "none"),
    ("created", False, False, False, False, "create"),
    ("absent", True, True, True, False, "remove"),
    ("absent", False, True, False, True, "remove"),
    ("absent", True, False, False, False, "none"),
])
def test_slot_action(state, update, exists, running, outdated, action):
    assert sw.slot_action(state, update, exists, running, outdated) == action


@pytest.mark.parametrize("action, recovery, reported", [
    ("none", None, "none"),
    ("none", "restore", "recover"),
    ("none", "discard", "recover"),
    ("start", "restore", "recover"),
    ("start", None, "start"),
    ("replace", "restore", "replace"),
    ("create", None, "create"),
    ("remove", None, "remove"),
])
def test_reported_action(action, recovery, reported):
    assert sw.reported_action(action, recovery) == reported


@pytest.mark.parametrize("url, healthcheck, mode", [
    ("http://127.0.0.1:8081/health", None, "http"),
    ("http://127.0.0.1:8081/health", dict(test=["CMD", "true"]), "http"),
    (None, dict(test=["CMD", "true"]), "docker"),
    (None, dict(test=["NONE"]), "running"),
    (None, None, "running"),
    ("", dict(test=[]), "running"),
])
def test_health_mode(url, healthcheck, mode):
    assert sw.health_mode(url, healthcheck) == mode


@pytest.mark.parametrize("url, expected", [
    ("http://127.0.0.1:8081/health", ("http", "127.0.0.1", 8081, "/health")),
    ("https://app.example.com/ready?deep=1", ("https", "app.example.com", 443, "/ready?deep=1")),
    ("http://localhost", ("http", "localhost", 80, "/")),
    ("http://[::1]:8081/", ("http", "::1", 8081, "/")),
])
def test_parse_health_url(url, expected):
    assert sw.parse_health_url(url) == expected


@pytest.mark.parametrize("url, fragment", [
    ("ftp://127.0.0.1/health", "must start with http:// or https://"),
    ("127.0.0.1:8081/health", "must start with http:// or https://"),
    ("http://127.0.0.1:99999/health", "cannot be parsed"),
    ("http://127.0.0.1:port/health", "cannot be parsed"),
    ("http:///health", "has no host"),
])
def test_parse_health_url_refuses(url, fragment):
    with pytest.raises(sw.ParamError) as err:
        sw.parse_health_url(url)
    assert str(err.value).startswith("health.url: ") and fragment in str(err.value)


@pytest.mark.parametrize("host, port, ports", [
    ("127.0.0.1", 8081, ["8081:8000/tcp"]),
    ("localhost", 8081, ["127.0.0.1:8081:8000/tcp", "9000/tcp"]),
    ("app.example.com", 443, []),
    ("172.17.0.5", 8000, []),
])
def test_check_health_url_port_accepts(host, port, ports):
    sw.check_health_url_port("http://%s:%d/" % (host, port), host, port, ports)


@pytest.mark.parametrize("host, port, ports, fragment", [
    ("127.0.0.1", 8000, ["8081:8000/tcp"], "the slot publishes host port(s) 8081"),
    ("localhost", 8081, [], "the slot publishes no TCP host port"),
    ("127.0.0.2", 8081, ["8081:8000/udp"], "no TCP host port"),
    ("::1", 8082, ["8081:8000/tcp"], "targets port 8082 on ::1"),
])
def test_check_health_url_port_refuses(host, port, ports, fragment):
    with pytest.raises(sw.ParamError) as err:
        sw.check_health_url_port("http://x/", host, port, ports)
    assert str(err.value).startswith("health.url: ") and fragment in str(err.value)
    assert "published host ports" in str(err.value)


@pytest.mark.parametrize("wanted, held, expected", [
    (["8081:8000/tcp"], ["8081:8000/tcp"], []),
    (["8081:8000/tcp", "8082:8001/tcp"], ["8081:8000/tcp"], [("", 8082, "tcp")]),
    (["127.0.0.1:8081:8000/tcp"], [], [("127.0.0.1", 8081, "tcp")]),
    (["8081:8000/udp"], ["8081:8000/tcp"], [("", 8081, "udp")]),
    (["8000/tcp"], [], []),
])
def test_ports_to_check(wanted, held, expected):
    assert sw.ports_to_check(wanted, held) == expected


def test_mask_env_hides_values_but_shows_changes():
    secret = "pa$$ 'w0rd' $(id)\nline2"
    masked = sw.mask_env({"A": secret, "B": secret, "C": "other"})
    assert secret not in repr(masked)
    assert masked["A"] == masked["B"] != masked["C"]
    assert masked["A"].startswith("sha256:") and len(masked["A"]) == len("sha256:") + 10


def test_display_config_shows_the_new_settings():
    shown = sw.display_config(dict(CARRIED_V1, volumes_from=["static:ro"], links=["db:database"], hostname="app0"))
    assert (shown["volumes_from"], shown["links"], shown["hostname"]) == (["static:ro"], ["db:database"], "app0")


def test_display_config_masks_env_and_shows_seconds():
    explicit = dict(CARRIED_V1, env={"TOKEN": "s3cr3t"},
                    healthcheck=sw.normalize_healthcheck(dict(test=["CMD", "true"], interval=1.5)))
    shown = sw.display_config(explicit)
    assert "s3cr3t" not in repr(shown)
    assert shown["healthcheck"] == dict(test=["CMD", "true"], interval=1.5, timeout=None, retries=None,
                                        start_period=None)
    assert explicit["env"] == {"TOKEN": "s3cr3t"}


@pytest.mark.parametrize("digests, repository, expected", [
    (["127.0.0.1:5000/demo/app@sha256:aa", "other/app@sha256:bb"], "other/app", "other/app@sha256:bb"),
    (["127.0.0.1:5000/demo/app@sha256:aa"], "baton-demo/app", "127.0.0.1:5000/demo/app@sha256:aa"),
    ([], "baton-demo/app", None),
    (None, None, None),
])
def test_repo_digest(digests, repository, expected):
    assert sw.repo_digest(digests, repository) == expected


@pytest.mark.parametrize("lines, limit, expected", [
    (["a", "b"], 100, "a\nb"),
    (["0123456789", "abcdefghij"], 5, "...\nfghij"),
    ([], 10, ""),
])
def test_tail_text(lines, limit, expected):
    assert sw.tail_text(lines, limit) == expected

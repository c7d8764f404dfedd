"""The parameter rules (plugins/module_utils/_params.py): names, ports, volumes, links, hostnames, mappings,
commands, healthchecks, number checks."""

import pytest

from ansible_collections.baton.docker.plugins.module_utils import _params as pr


@pytest.mark.parametrize("name", ["app", "app-a", "app_1.blue", "A9"])
def test_check_slot_name_accepts(name):
    assert pr.check_slot_name(name) == name


@pytest.mark.parametrize("name, fragment", [
    ("", "not a valid container name"),
    ("-app", "not a valid container name"),
    ("app/a", "not a valid container name"),
    ("app.baton-previous", "reserved"),
])
def test_check_slot_name_refuses(name, fragment):
    with pytest.raises(pr.ParamError) as err:
        pr.check_slot_name(name)
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
    assert pr.parse_port(spec) == expected


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
    with pytest.raises(pr.ParamError) as err:
        pr.parse_port(spec)
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
    assert pr.parse_ports(specs) == expected


@pytest.mark.parametrize("specs", [
    ["8080:8000", "8080:9000"],
    ["127.0.0.1:8080:8000", "8080:9000"],
])
def test_parse_ports_refuses_a_host_port_twice(specs):
    with pytest.raises(pr.ParamError, match="ports: host port 8080/tcp is published twice"):
        pr.parse_ports(specs)


@pytest.mark.parametrize("spec, expected", [
    ("/srv/data:/data", "/srv/data:/data"),
    ("/srv/data/:/data/:rw", "/srv/data:/data"),
    ("/srv/data:/data:ro", "/srv/data:/data:ro"),
    ("appdata:/var/lib/app", "appdata:/var/lib/app"),
    ("/:/host:ro", "/:/host:ro"),
])
def test_parse_volume(spec, expected):
    assert pr.parse_volume(spec) == expected


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
    with pytest.raises(pr.ParamError) as err:
        pr.parse_volume(spec)
    assert str(err.value).startswith("volumes: ") and fragment in str(err.value)


def test_parse_volumes_refuses_a_destination_twice():
    with pytest.raises(pr.ParamError, match="volumes: /data is mounted more than once"):
        pr.parse_volumes(["/a:/data", "b:/data:ro"])


@pytest.mark.parametrize("specs, expected", [
    (["data"], ["data"]),
    (["data:rw", "static:ro"], ["data", "static:ro"]),
    (["static:ro", "/data"], ["data", "static:ro"]),
    ([" socks "], ["socks"]),
    ([], []),
])
def test_parse_volumes_from(specs, expected):
    assert pr.parse_volumes_from(specs) == expected


@pytest.mark.parametrize("specs, message", [
    (["data:z"], "volumes_from: 'data:z': mode must be ro or rw, not 'z'"),
    (["data:ro:rw"], "volumes_from: 'data:ro:rw': mode must be ro or rw, not 'ro:rw'"),
    ([":ro"], "volumes_from: ':ro': '' is not a valid container name"),
    (["my data"], "volumes_from: 'my data': 'my data' is not a valid container name"),
    (["data", "data:ro"], "volumes_from: container data is given more than once"),
])
def test_parse_volumes_from_refuses(specs, message):
    with pytest.raises(pr.ParamError) as err:
        pr.parse_volumes_from(specs)
    assert str(err.value) == message


@pytest.mark.parametrize("specs, expected", [
    (["db"], ["db:db"]),
    (["db:database", "redis"], ["db:database", "redis:redis"]),
    (["/db:database"], ["db:database"]),
    (["app0:app", "app1:backup"], ["app0:app", "app1:backup"]),
    ([], []),
])
def test_parse_links(specs, expected):
    assert pr.parse_links(specs) == expected


@pytest.mark.parametrize("specs, message", [
    (["db:a:b"], "links: 'db:a:b': expected container or container:alias"),
    (["bad name"], "links: 'bad name': 'bad name' is not a valid container name"),
    (["db:-alias"], "links: 'db:-alias': '-alias' is not a valid alias"),
    (["db:"], "links: 'db:': '' is not a valid alias"),
    (["db:store", "cache:store"], "links: alias store is used more than once"),
    (["db", "db"], "links: alias db is used more than once"),
])
def test_parse_links_refuses(specs, message):
    with pytest.raises(pr.ParamError) as err:
        pr.parse_links(specs)
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
    assert pr.normalize_hostname(value) == expected


@pytest.mark.parametrize("value", [
    "App0", "app_0", "-app", "app-", "app..shop", ".app", "app.", "x" * 64, ".".join(["a" * 63] * 4) + ".b",
    "app 0", "ap\u00e9",
])
def test_normalize_hostname_refuses(value):
    with pytest.raises(pr.ParamError) as err:
        pr.normalize_hostname(value)
    assert str(err.value).startswith("hostname: %r is not a valid hostname (RFC 1123" % (value,))


@pytest.mark.parametrize("mapping, expected", [
    ({"A": "x y", "B": 3, "C": 1.5, "D": ""}, {"A": "x y", "B": "3", "C": "1.5", "D": ""}),
    ({}, {}),
    (None, {}),
])
def test_normalize_mapping(mapping, expected):
    assert pr.normalize_mapping("env", mapping, env=True) == expected


@pytest.mark.parametrize("mapping, fragment", [
    ({"DEBUG": True}, "the value of DEBUG is a boolean; quote it (for example 'true')"),
    ({"EMPTY": None}, "EMPTY has no value"),
    ({"LIST": [1]}, "must be a string, not a list"),
    ({"A=B": "x"}, "'A=B' is not a valid variable name"),
    ({"": "x"}, "is not a valid variable name"),
])
def test_normalize_mapping_refuses(mapping, fragment):
    with pytest.raises(pr.ParamError) as err:
        pr.normalize_mapping("env", mapping, env=True)
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
    assert pr.normalize_command("command", value) == expected


def test_normalize_command_refuses_unbalanced_quotes():
    with pytest.raises(pr.ParamError, match="command: .* cannot be split into arguments"):
        pr.normalize_command("command", "sh -c 'echo")


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
    assert pr.normalize_healthcheck(option) == expected


@pytest.mark.parametrize("option, name", [
    (dict(interval=-1), "healthcheck.interval"),
    (dict(start_period=-0.5), "healthcheck.start_period"),
    (dict(retries=-2), "healthcheck.retries"),
])
def test_normalize_healthcheck_refuses_negative(option, name):
    with pytest.raises(pr.ParamError, match="^%s must not be negative" % name):
        pr.normalize_healthcheck(option)


@pytest.mark.parametrize("check, values, message", [
    (pr.check_non_negative, {"stop_timeout": -1, "log_lines": 5}, "stop_timeout must not be negative (got -1)"),
    (pr.check_non_negative, {"log_lines": -3}, "log_lines must not be negative (got -3)"),
    (pr.check_positive, {"health.interval": 0}, "health.interval must be greater than 0 (got 0)"),
    (pr.check_positive, {"health.retries": -1, "api_timeout": 5}, "health.retries must be greater than 0 (got -1)"),
])
def test_number_checks_refuse(check, values, message):
    with pytest.raises(pr.ParamError) as err:
        check(values)
    assert str(err.value) == message


@pytest.mark.parametrize("check, values", [
    (pr.check_non_negative, {"stop_timeout": 0, "log_lines": None}),
    (pr.check_positive, {"health.interval": 0.1, "health.retries": None}),
])
def test_number_checks_accept(check, values):
    check(values)


@pytest.mark.parametrize("value, valid", [
    ("shop-production", True),
    ("a", True),
    ("App_1.v2", True),
    ("a" * 128, True),
    ("a" * 129, False),
    ("", False),
    (".", False),
    ("..", False),
    (".hidden", False),
    ("-dash", False),
    ("a/b", False),
    ("a b", False),
    ("shop\n", False),
    ("caf\u00e9", False),
    (None, False),
])
def test_state_name_error(value, valid):
    error = pr.state_name_error("name", value)
    if valid:
        assert error is None
    else:
        assert error.startswith("name: %r is not a valid name" % (value,))

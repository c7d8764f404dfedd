# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stack spec: parsing both shapes, validation errors by path, interpolation, env_from, orphans."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import random

import pytest

from ansible_collections.baton.docker.plugins.module_utils._stack import (
    StackError,
    database_env,
    expand_containers,
    image_with_tag,
    merged_env,
    normalize_stack,
    opsworks_name,
    rollout_units,
    secret_envs,
    slugify,
    systemd_calendar,
)
from ansible_collections.baton.docker.plugins.module_utils._rollout_plan import orphans

# Seed 000's stack JSON, as published (values blanked as there).
SEED = json.loads("""
{
  "logrotate": {"forwarder": "logspout0"},
  "deploy": {
    "amazing application": {
      "data_volumes": [
        {"socks": {"volumes": ["/var/run", "/var/lib/haproxy/socks"]},
         "static": {"volumes": ["/var/static"]}}
      ],
      "containers": [
        {"app": {"deploy": "auto", "image": "quay.io/mikamai/awesome-app", "database": true, "containers": 2,
                 "volumes_from": ["socks", "static"], "entrypoint": "/app/bin/entrypoint.sh",
                 "command": "bundle exec unicorn -c config/unicorn.rb -l /var/lib/haproxy/socks/%{app_name}.sock",
                 "migration": "bundle exec rake db:migrate", "startup_time": 60, "env": {"RANDOM_VAR": "foo"},
                 "notifications": {"rollbar": {"access_token": "", "env_var": "RACK_ENV", "rev_var": "GIT_REVISION"}}}},
        {"cron": {"deploy": "cron", "image": "quay.io/mikamai/awesome-app", "database": true, "containers": 1,
                  "env_from": "app", "command": "bundle exec rake cron:run", "cron": {"minute": 59}}},
        {"sidekiq": {"deploy": "auto", "image": "quay.io/mikamai/awesome-app", "database": true, "containers": 1,
                     "env_from": "app", "command": "bundle exec sidekiq"}},
        {"haproxy": {"deploy": "manual", "hostname": "opsworks", "image": "quay.io/mikamai/configured-haproxy",
                     "volumes_from": ["socks"], "env": {"REMOTE_SYSLOG": "logs.papertrailapp.com:1234"}}},
        {"nginx": {"deploy": "manual", "image": "quay.io/mikamai/configured-nginx", "ports": ["80:80", "443:443"],
                   "volumes_from": ["socks", "static"]}},
        {"logspout": {"deploy": "manual", "hostname": "%{opsworks}", "image": "progrium/logspout",
                      "volumes": ["/var/run/docker.sock:/tmp/docker.sock"],
                      "command": "syslog://logs.papertrailapp.com:1234"}}
      ]
    }
  },
  "docker": {"registries": {"quay.io": {"password": "", "username": ""}}}
}
""")
DB = {"adapter": "postgresql", "database": "amazing", "host": "db", "password": "p'a\"s $(s) %w\nd",
      "port": 5432, "username": "app"}


def app_spec(**containers):
    return {"containers": [{name: spec} for name, spec in containers.items()]}


def error_of(document, **kwargs):
    with pytest.raises(StackError) as info:
        normalize_stack(document, **kwargs)
    return str(info.value)


def test_seed_document_parses_in_order():
    stack = normalize_stack(SEED)
    assert stack["name"] == "amazing application"
    assert stack["slug"] == "amazing-application"
    assert [e["name"] for e in stack["containers"]] == ["app", "cron", "sidekiq", "haproxy", "nginx", "logspout"]
    assert [(v["name"], v["volumes"], v["kind"]) for v in stack["data_volumes"]] == [
        ("socks", ["/var/run", "/var/lib/haproxy/socks"], "container"), ("static", ["/var/static"], "container")]
    assert stack["logrotate"] == {"forwarder": "logspout0"}
    assert stack["registries"] == {"quay.io": {"password": "", "username": ""}}
    app = stack["containers"][0]
    assert app["image"] == "quay.io/mikamai/awesome-app:latest"
    assert app["count"] == 2 and app["startup_time"] == 60 and app["database"] is True
    assert app["rollbar"] == {"access_token": "", "env_var": "RACK_ENV", "rev_var": "GIT_REVISION", "environment": None}
    assert stack["containers"][1]["cron"] == {"minute": "59", "hour": "*", "day": "*", "month": "*", "weekday": "*"}


def test_plain_map_form_equals_list_form():
    listed = normalize_stack(SEED)
    app = SEED["deploy"]["amazing application"]
    mapped = {"data_volumes": {"socks": app["data_volumes"][0]["socks"], "static": app["data_volumes"][0]["static"]},
              "containers": dict(list(item.items())[0] for item in app["containers"])}
    plain = normalize_stack(mapped, app="amazing application")
    for key in ("containers", "data_volumes", "slug", "name"):
        strip = (lambda es: [dict((k, v) for k, v in e.items() if k != "path") for e in es]) if key == "containers" else (lambda x: x)
        assert strip(plain[key]) == strip(listed[key])


def test_seed_expands_to_the_cookbook_containers():
    stack = normalize_stack(SEED)
    containers = expand_containers(stack, "Web 1", public_ip="10.0.0.7", database=DB)
    assert [(c["name"], c["kind"]) for c in containers] == [
        ("app0", "worker"), ("app1", "worker"), ("cron0", "cron"), ("sidekiq0", "worker"),
        ("haproxy0", "manual"), ("nginx0", "manual"), ("logspout0", "manual")]
    app1 = containers[1]
    assert app1["command"] == "bundle exec unicorn -c config/unicorn.rb -l /var/lib/haproxy/socks/app1.sock"
    assert app1["hostname"] == "app1.web-1"
    assert containers[6]["hostname"] == "amazing-application-web-1"
    assert containers[4]["hostname"] == "opsworks"
    assert app1["labels"] == {"baton.stack": "amazing-application", "baton.entry": "app", "baton.replica": "1",
                              "baton.kind": "worker"}
    # secret values never appear in the expanded containers
    assert "DB_PASSWORD" in app1["secret_keys"] and "DB_PASSWORD" not in app1["env"]
    assert DB["password"] not in json.dumps(containers)
    assert containers[3]["env"] == {"RANDOM_VAR": "foo"}  # env_from app


def test_default_hostname_is_replica_dot_host():
    stack = normalize_stack(app_spec(web={"image": "x"}))
    assert expand_containers(stack, "Node7")[0]["hostname"] == "web0.node7"


def test_bad_hostname_after_interpolation_is_refused():
    stack = normalize_stack(app_spec(web={"image": "x", "hostname": "%{app_name}_bad"}))
    with pytest.raises(StackError, match=r"containers\[0\]\.web\.hostname: 'web0_bad' is not a valid hostname"):
        expand_containers(stack, "h")


def test_public_ip_needs_a_value():
    stack = normalize_stack(app_spec(web={"image": "x", "hostname": "%{public_ip}"}))
    with pytest.raises(StackError, match=r"%\{public_ip\} has no value on this host"):
        expand_containers(stack, "h")
    assert expand_containers(stack, "h", public_ip="10.1.2.3")[0]["hostname"] == "10.1.2.3"


@pytest.mark.parametrize("containers, message", [
    ({"a": {"image": "x"}, "sidekiq": {"image": "x", "env_from": "app2"}},
     r"containers\[1\]\.sidekiq\.env_from: 'app2' is not a container in this stack"),
    ({"a": {"image": "x", "deploy": "sometimes"}}, r"containers\[0\]\.a\.deploy: unknown deploy mode 'sometimes'"),
    ({"a": {"image": "x", "volumes_from": ["nope"]}},
     r"containers\[0\]\.a\.volumes_from\[0\]: 'nope' is not a data volume or container in this stack"),
    ({"a": {"image": "x", "env_from": "b"}, "b": {"image": "x", "env_from": "a"}},
     r"containers\[0\]\.a\.env_from: env_from cycle: a -> b -> a"),
    ({"a": {"image": "x", "containers": 0}}, r"containers\[0\]\.a\.containers: must be at least 1"),
    ({"a": {"image": "x", "containers": "two"}}, r"containers\[0\]\.a\.containers: must be a whole number"),
    ({"a": {"deploy": "auto"}}, r"containers\[0\]\.a: needs an image"),
    ({"a": {"image": "x", "colour": "red"}}, r"containers\[0\]\.a: unknown key\(s\) colour"),
    ({"a": {"image": "x", "command": "run %{nope}"}}, r"containers\[0\]\.a\.command: unknown placeholder %\{nope\}"),
    ({"a": {"image": "x", "deploy": "cron"}}, r"containers\[0\]\.a\.cron: a deploy: cron entry needs a schedule"),
    ({"a": {"image": "x", "deploy": "cron", "cron": {"minute": 61}}}, r"a\.cron\.minute: 61 is out of range 0-59"),
    ({"a": {"image": "x", "deploy": "cron", "cron": {"weekday": "funday"}}}, r"a\.cron\.weekday: 'funday' is not"),
    ({"a": {"image": "x", "deploy": "cron", "cron": {"minute": "*/5", "second": 1}}}, r"a\.cron: unknown key\(s\) second"),
    ({"a": {"image": "x", "cron": {"minute": 1}}}, r"a\.cron: a schedule needs deploy: cron"),
    ({"a": {"image": "x", "env": {"A": {"b": 1}}}}, r"a\.env\.A: must be a scalar value, not a mapping"),
    ({"a": {"image": "x", "env": {"A B": "1"}}}, r"a\.env\.A B: is not a valid environment variable name"),
    ({"a": {"image": "x", "startup_time": -1}}, r"a\.startup_time: must be at least 1"),
    ({"a": {"image": "x:1", "tag": "2"}}, r"a\.image: 'x:1' already names a tag or digest and tag is '2'"),
    ({"a": {"image": "x", "haproxy": {}}}, r"a\.haproxy: needs a backend"),
    ({"a": {"image": "x", "deploy": "manual", "haproxy": {"backend": "b"}}}, r"a\.haproxy: a manual entry is never"),
    ({"a": {"image": "x", "deploy": "manual", "migration": "m"}}, r"a\.migration: only an auto entry runs a migration"),
    ({"a": {"image": "x", "links": ["b"]}, "b": {"image": "x"}}, r"a\.links\[0\]: 'b' is an entry; link one of its"),
    ({"a": {"image": "x", "labels": {"baton.kind": "x"}}}, r"a\.labels: labels starting with 'baton\.'"),
    ({"a": {"image": "x", "restart": "sometimes"}}, r"a\.restart: 'sometimes' is not a restart policy"),
    ({"a": {"image": "x", "env": {"A": "1"}, "secret_env": {"A": "2"}}}, r"a\.secret_env: A also set in env"),
    ({"a": {"image": "x", "notifications": {"slack": {}}}}, r"a\.notifications: unknown notification\(s\) slack"),
    ({"a b": {"image": "x"}}, r"containers\[0\]\.a b: 'a b' is not a valid container name"),
])
def test_errors_name_the_path(containers, message):
    assert pytest.raises(StackError, normalize_stack, app_spec(**containers)).match(message)


def test_duplicate_names_are_refused():
    doc = {"containers": [{"app": {"image": "x"}}, {"app": {"image": "y"}}]}
    assert "containers[1].app: container 'app' is defined twice (first at containers[0].app)" in error_of(doc)
    doc = {"data_volumes": [{"v": {"volumes": ["/a"]}}, {"v": {}}], "containers": {"a": {"image": "x"}}}
    assert "data_volumes[1].v: data volume 'v' is defined twice" in error_of(doc)


def test_volumes_from_rules():
    doc = {"data_volumes": {"named": {}, "box": {"volumes": ["/data"]}},
           "containers": {"a": {"image": "x", "volumes_from": ["named"]}}}
    assert "'named' is a named volume; mount it with volumes: ['named:/path']" in error_of(doc)
    doc["containers"]["a"]["volumes_from"] = ["box:ro"]
    assert normalize_stack(doc)["containers"][0]["volumes_from"] == ["box:ro"]
    doc = {"containers": {"db": {"image": "x", "containers": 2}, "a": {"image": "x", "volumes_from": ["db"]}}}
    assert "'db' is an entry; name one of its containers (db0, db1)" in error_of(doc)
    doc["containers"]["a"]["volumes_from"] = ["db1"]
    assert normalize_stack(doc)["containers"][1]["volumes_from"] == ["db1"]
    doc = {"data_volumes": {"v": {"volumes": ["relative"]}}, "containers": {"a": {"image": "x"}}}
    assert "data_volumes[0].v.volumes[0]: 'relative' is not an absolute container path" in error_of(doc)


def test_document_selection():
    assert "holds several applications (a, b); choose one" in error_of(
        {"deploy": {"a": {"containers": {"x": {"image": "i"}}}, "b": {"containers": {"x": {"image": "i"}}}}})
    assert normalize_stack({"deploy": {"a": {"containers": {"x": {"image": "i"}}},
                                       "b": {"containers": {"y": {"image": "i"}}}}}, app="b")["name"] == "b"
    assert "has no application 'c'" in error_of({"deploy": {"a": {"containers": {"x": {"image": "i"}}}}}, app="c")
    assert "has neither 'deploy'" in error_of({"colour": 1})
    assert "stack: must be a mapping, not a list" in error_of([])
    assert "containers: lists no container" in error_of({"containers": []})


def test_env_from_merges_chain_and_own_keys_win():
    stack = normalize_stack(app_spec(
        base={"image": "x", "env": {"A": "base", "B": "base"}, "secret_env": {"S": "1"}},
        mid={"image": "x", "env_from": "base", "env": {"B": "mid", "C": "mid"}},
        top={"image": "x", "env_from": "mid", "env": {"C": "top"}}))
    top = stack["containers"][2]
    assert merged_env(top, stack["containers"]) == {"A": "base", "B": "mid", "C": "top"}
    assert secret_envs(stack)["top"] == {"S": "1"}


def test_env_values_are_kept_verbatim():
    odd = "it's \"quoted\" 100% $(rm -rf /) `x`\nline two  "
    stack = normalize_stack(app_spec(a={"image": "x", "env": {"ODD": odd, "ON": True, "N": 5}}))
    env = expand_containers(stack, "h")[0]["env"]
    assert env == {"ODD": odd, "ON": "true", "N": "5"}


def test_database_env():
    assert database_env(DB) == {"DB_ADAPTER": "postgresql", "DB_DATABASE": "amazing", "DB_HOST": "db",
                                "DB_PASSWORD": DB["password"], "DB_PORT": "5432", "DB_RECONNECT": "true",
                                "DB_USERNAME": "app"}
    with pytest.raises(StackError, match="database: unknown key"):
        database_env({"pass": "x"})
    stack = normalize_stack(SEED)
    with pytest.raises(StackError, match=r"containers\[0\]\.app\.database: is true but no database is configured"):
        expand_containers(stack, "h")
    assert secret_envs(stack, DB)["sidekiq"]["DB_PASSWORD"] == DB["password"]
    assert secret_envs(stack, DB)["nginx"] == {}


def test_redeploy_forces_manual_entries_only():
    stack = normalize_stack(SEED)
    kinds = dict((c["name"], c["kind"]) for c in expand_containers(stack, "h", database=DB, redeploy=["haproxy"]))
    assert kinds["haproxy0"] == "worker" and kinds["nginx0"] == "manual"
    with pytest.raises(StackError, match=r"redeploy\[0\]: 'app' is not a manual entry"):
        expand_containers(stack, "h", database=DB, redeploy=["app"])
    with pytest.raises(StackError, match=r"redeploy\[0\]: 'redis' is not a container in this stack"):
        expand_containers(stack, "h", database=DB, redeploy=["redis"])


def test_haproxy_entries_are_http_with_server_names_and_labels():
    stack = normalize_stack(app_spec(app={"image": "x", "containers": 2, "haproxy": {"backend": "web"}}))
    items = expand_containers(stack, "h", prefix="s1-")
    assert [(c["name"], c["kind"], c["haproxy"]) for c in items] == [
        ("s1-app0", "http", {"backend": "web", "server": "s1-app0"}),
        ("s1-app1", "http", {"backend": "web", "server": "s1-app1"})]
    assert items[1]["labels"]["baton.haproxy-server"] == "s1-app1"


def test_prefix_applies_to_stack_references_only():
    stack = normalize_stack({"data_volumes": {"v": {"volumes": ["/d"]}},
                             "containers": {"db": {"image": "x"},
                                            "a": {"image": "x", "volumes_from": ["v", "db0:ro"],
                                                  "links": ["db0:db", "external:ext"]}}})
    a = expand_containers(stack, "h", prefix="p-")[1]
    assert a["volumes_from"] == ["v", "p-db0:ro"]
    assert a["links"] == ["p-db0:db", "external:ext"]


@pytest.mark.parametrize("image, tag, expected", [
    ("repo/app", None, "repo/app:latest"), ("repo/app", "v2", "repo/app:v2"), ("host:5000/app", None, "host:5000/app:latest"),
    ("host:5000/app:v1", None, "host:5000/app:v1"), ("app@sha256:" + "a" * 64, None, "app@sha256:" + "a" * 64),
])
def test_image_with_tag(image, tag, expected):
    assert image_with_tag("p", image, tag) == expected


def test_names():
    assert slugify("Amazing  Application!") == "amazing-application"
    assert opsworks_name("My Stack", "Web 1") == "my-stack-web-1"


def test_orphans_are_our_containers_the_spec_dropped():
    existing = [
        {"name": "app0", "labels": {"baton.stack": "s", "baton.kind": "http", "baton.entry": "app"}},
        {"name": "app2", "labels": {"baton.stack": "s", "baton.kind": "http", "baton.entry": "app",
                                    "baton.haproxy-backend": "app", "baton.haproxy-server": "app2"}},
        {"name": "app2.baton-previous", "labels": {"baton.stack": "s", "baton.kind": "http", "baton.slot": "app2"}},
        {"name": "old-cron0", "labels": {"baton.stack": "s", "baton.kind": "cron", "baton.entry": "old-cron"}},
        {"name": "socks", "labels": {"baton.stack": "s", "baton.kind": "data"}},
        {"name": "cron0-run-1", "labels": {"baton.stack": "s", "baton.kind": "cron-run"}},
        {"name": "other0", "labels": {"baton.stack": "another", "baton.kind": "http"}},
        {"name": "stranger", "labels": {}},
    ]
    assert orphans(existing, ["app0", "app1"], {"baton.stack": "s"}) == [
        {"name": "app2", "entry": "app", "kind": "http", "backend": "app", "server": "app2"},
        {"name": "old-cron0", "entry": "old-cron", "kind": "cron", "backend": None, "server": None}]


# ------------------------------------------------------------- malformed specs at random

JUNK = [None, True, 0, -3, 2.5, "", " ", "x", "%{", "%{nope}", "a b", "/abs", "rel/path", [], [1], ["x"], {}, {"k": "v"},
        {"": 1}, {1: 2}, [{}], [{"a": 1, "b": 2}], "::", "\n", "auto", "cron", "manual", "app", "socks", 10 ** 9]


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, prefix + (index,))


def _mutate(document, rng):
    doc = copy.deepcopy(document)
    for _attempt in range(rng.randint(1, 3)):
        paths = [p for p in _paths(doc) if p]
        path = rng.choice(paths)
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        action = rng.random()
        if action < 0.6:
            parent[path[-1]] = copy.deepcopy(rng.choice(JUNK))
        elif action < 0.8 and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[rng.choice(["extra", "deploy", "image", "cron", "env_from", 7])] = copy.deepcopy(rng.choice(JUNK))
        else:
            parent.append(copy.deepcopy(rng.choice(JUNK)))
    return doc


def test_random_malformed_specs_get_clear_errors_never_tracebacks():
    rng = random.Random(20261122)
    outcomes = {"error": 0, "valid": 0}
    for _attempt in range(1500):
        doc = _mutate(SEED, rng)
        try:
            stack = normalize_stack(doc)
            expand_containers(stack, "host", public_ip="10.0.0.1", database=DB)
            outcomes["valid"] += 1
        except StackError as exc:
            message = str(exc)
            assert message and ":" in message and "Traceback" not in message
            outcomes["error"] += 1
    # the mutations hit both outcomes, so the check above exercised the error paths
    assert outcomes["error"] > 500 and outcomes["valid"] > 10


@pytest.mark.parametrize("schedule, expected", [
    ({"minute": "59"}, ["*-*-* *:59:00"]),
    ({"minute": "*/15", "hour": "9-17"}, ["*-*-* 09,10,11,12,13,14,15,16,17:00,15,30,45:00"]),
    ({"minute": "0", "hour": "3", "weekday": "mon-fri"}, ["Mon,Tue,Wed,Thu,Fri *-*-* 03:00:00"]),
    ({"minute": "0", "hour": "0", "weekday": "7"}, ["Sun *-*-* 00:00:00"]),
    ({"minute": "30", "hour": "6", "day": "1,15", "month": "jan,jul"}, ["*-01,07-01,15 06:30:00"]),
    ({"minute": "0", "hour": "12", "day": "1", "weekday": "1"}, ["Mon *-*-* 12:00:00", "*-*-01 12:00:00"]),
    ({"minute": "5-20/5", "hour": "*"}, ["*-*-* *:05,10,15,20:00"]),
])
def test_systemd_calendar_matches_the_cron_schedule(schedule, expected):
    stack = normalize_stack(app_spec(job={"image": "x", "deploy": "cron", "cron": schedule}))
    assert systemd_calendar(stack["containers"][0]["cron"]) == expected


def test_rollout_units_carry_the_stack_rules_per_kind():
    stack = normalize_stack({"containers": {
        "app": {"image": "reg.example.com/app", "tag": "v2", "deploy": "auto", "containers": 2, "startup_time": 3,
                "haproxy": {"backend": "web"}, "secret_env": {"TOKEN": "t"}},
        "worker": {"image": "reg.example.com/app", "tag": "v2", "deploy": "auto", "command": "work %{app_name}"},
        "extra": {"image": "reg.example.com/tool"},
        "nightly": {"image": "reg.example.com/app", "tag": "v2", "deploy": "cron", "cron": {"minute": "5"}},
        "lb": {"image": "haproxy", "deploy": "manual", "network": "front"},
    }})
    containers = expand_containers(stack, "h")
    units = rollout_units(containers, secret_envs(stack), health_interval=0.5)
    by_name = dict((u["name"], u) for u in units)
    assert [u["name"] for u in units] == ["app0", "app1", "worker0", "extra0", "nightly0", "lb0"]
    assert by_name["app0"]["server"] == "app0" and by_name["app0"]["backend"] == "web"
    assert by_name["app0"]["secret_env"] == {"TOKEN": "t"}
    assert by_name["app0"]["container"]["health"] == {"interval": 0.5, "retries": 6}
    assert by_name["app0"]["container"]["image"] == "reg.example.com/app:v2"
    assert "server" not in by_name["worker0"] and by_name["worker0"]["container"]["command"] == "work worker0"
    assert by_name["nightly0"]["container"]["state"] == "created"
    assert by_name["nightly0"]["container"]["restart_policy"] == "no"
    assert by_name["lb0"]["container"]["update"] is False and by_name["lb0"]["container"]["network"] == "front"
    assert by_name["extra0"]["container"]["update"] is False  # no deploy key: created when missing, then left alone
    assert all(u["container"]["update"] for u in units if u["name"] not in ("lb0", "extra0"))
    with pytest.raises(StackError) as info:
        rollout_units(containers, health_interval=0)
    assert "health_interval: must be a positive number" in str(info.value)


# ------------------------------------------------------------- the files of the cron schedule

CRON = {"name": "cron0", "entry": "cron", "image": "baton-stack/app:v2", "kind": "cron",
        "cron": {"minute": "0", "hour": "3", "day": "1", "month": "*", "weekday": "mon-fri"}}


def test_cron_file_has_one_line_per_template_run_as_root_with_its_log():
    from ansible_collections.baton.docker.plugins.module_utils._stack import cron_file_text, cron_runs
    crons = cron_runs([dict(CRON), {"name": "app0", "kind": "http"}])
    text = cron_file_text("amazing application", "amazing-application", crons, "/usr/bin/python3", "/opt/runner",
                          3600, "/var/log/baton/")
    lines = [line for line in text.splitlines() if line and not line.startswith(("#", "SHELL=", "PATH="))]
    assert lines == ["0 3 1 * mon-fri root /usr/bin/python3 /opt/runner --timeout 3600 cron0 "
                     ">>/var/log/baton/amazing-application-cron0.log 2>&1"]
    assert "# cron (baton-stack/app:v2)" in text.splitlines()


def test_systemd_units_of_a_cron_entry():
    from ansible_collections.baton.docker.plugins.module_utils._stack import (
        cron_service_text, cron_timer_text, systemd_unit_name)
    timer = cron_timer_text("amazing application", CRON)
    assert [line for line in timer.splitlines() if line.startswith("OnCalendar=")] == [
        "OnCalendar=Mon,Tue,Wed,Thu,Fri *-*-* 03:00:00", "OnCalendar=*-*-01 03:00:00"]
    assert "WantedBy=timers.target" in timer.splitlines()
    service = cron_service_text("amazing application", CRON, "/usr/bin/python3", "/usr/local/libexec/baton-stack-cron",
                                3600)
    assert ("ExecStart=/usr/bin/python3 /usr/local/libexec/baton-stack-cron --timeout 3600 cron0"
            in service.splitlines())
    assert "Type=oneshot" in service.splitlines()
    assert systemd_unit_name("shop", CRON) == "baton-shop-cron0"

"""Unit tests of the runner every module's main() calls (module_utils/_module.py): the input checks every module
gets, the options each backend adds (as its doc fragment documents them), and how a run's end is reported."""

import importlib
import math

import pytest
import yaml

from ansible.module_utils import basic

from ansible_collections.baton.docker.plugins.module_utils import _module
from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError
from tests.support.module_harness import call_main

MODULES = ["container_info", "container_run", "container_swap", "data_volume", "eb_deploy", "eb_dockerrun",
           "ecr_tag_exists", "fleet_lock", "haproxy_backend", "haproxy_server_state", "image_pull", "image_release",
           "registry_login", "release_audit", "release_canary", "release_cleanup", "release_record", "rollout",
           "stack_cron"]


def plugin(name):
    return importlib.import_module("ansible_collections.baton.docker.plugins.modules." + name)


def fragment(name):
    source = importlib.import_module("ansible_collections.baton.docker.plugins.doc_fragments." + name)
    return yaml.safe_load(source.ModuleDocFragment.DOCUMENTATION)


# -- the pure checks ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    (None, None),
    (0.001, None),
    (60, None),
    (86400, None),
    (0, "t must be a positive number of seconds, got 0"),
    (-1, "t must be a positive number of seconds, got -1"),
    (float("-inf"), "t must be a positive number of seconds, got -inf"),
    (float("nan"), "t must be a positive number of seconds, got nan"),
    (86401, "t must be at most 86400 seconds, got 86401"),
    (float("inf"), "t must be at most 86400 seconds, got inf"),
    (2 ** 63, "t must be at most 86400 seconds, got %d" % 2 ** 63),
])
def test_seconds_error(value, expected):
    assert _module.seconds_error("t", value) == expected


@pytest.mark.parametrize("value,expected", [
    (None, None),
    (0, None),
    (-1, None),
    (float("-inf"), None),
    (86400, None),
    (float("nan"), "t must be a positive number of seconds, got nan"),
    (float("inf"), "t must be at most 86400 seconds, got inf"),
    (90000, "t must be at most 86400 seconds, got 90000"),
])
def test_unbounded_seconds_error(value, expected):
    assert _module.unbounded_seconds_error("t", value) == expected


SPEC = dict(
    name=dict(type="str"),
    wait_timeout=dict(type="float"),
    retries=dict(type="int"),
    poll_interval=dict(type="int"),
    flag_seconds=dict(type="bool"),
    health=dict(type="dict", options=dict(interval=dict(type="float"), status=dict(type="int"))),
    balancers=dict(type="list", elements="dict", options=dict(timeout=dict(type="float"))),
)


@pytest.mark.parametrize("params,checked,expected", [
    (dict(wait_timeout=1.0, retries=-5, poll_interval=3), (), None),
    (dict(wait_timeout=-1.0), (), "wait_timeout must be a positive number of seconds, got -1.0"),
    (dict(wait_timeout=-1.0), ("wait_timeout",), None),
    (dict(wait_timeout=math.nan), ("wait_timeout",), "wait_timeout must be a positive number of seconds, got nan"),
    (dict(poll_interval=100000), (), "poll_interval must be at most 86400 seconds, got 100000"),
    (dict(flag_seconds=True), (), None),
    (dict(health=dict(interval=0.0, status=-1)), (), "health.interval must be a positive number of seconds, got 0.0"),
    (dict(health=dict(interval=0.0)), ("health.interval",), None),
    (dict(balancers=[dict(timeout=2.0), dict(timeout=math.inf)]), (),
     "balancers[1].timeout must be at most 86400 seconds, got inf"),
    (dict(balancers=[dict(timeout=-2.0)]), ("balancers.timeout",), None),
    (dict(wait_timeout=-1.0, poll_interval=0), (), "wait_timeout must be a positive number of seconds, got -1.0"),
    (dict(balancers="not a list", health=None), (), None),
])
def test_seconds_errors(params, checked, expected):
    assert _module.seconds_errors(SPEC, params, checked) == expected


@pytest.mark.parametrize("params,expected", [
    (dict(a="x", b=["y", {"c": "z"}], d=3), None),
    (dict(a="x\x00"), "a: cannot hold a NUL character"),
    (dict(b=["y", {"c": "z\x00"}]), "b[1].c: cannot hold a NUL character"),
    (dict(env={"K": ["ok", "n\x00"]}), "env.K[1]: cannot hold a NUL character"),
    (dict(a=None, b=1.5, c=True), None),
])
def test_nul_error(params, expected):
    assert _module.nul_error(params) == expected


@pytest.mark.parametrize("params,expected", [
    (dict(a="/var/lib", b="/x"), None),
    (dict(a="var/lib", b="/x"), "a: 'var/lib' is not an absolute path"),
    (dict(a="/var", b=None), "b: None is not an absolute path"),
    (dict(a="/var", b=""), "b: '' is not an absolute path"),
])
def test_absolute_path_error(params, expected):
    assert _module.absolute_path_error(params, ("a", "b")) == expected


# -- the options each backend adds ------------------------------------------------------------------------------------

def test_module_arguments_add_each_backend_and_its_constraints():
    arguments = _module.module_arguments(dict(image=dict(type="str")), ("docker", "aws"),
                                         mutually_exclusive=[["tag", "digest"]], required_if=[["a", 1, ["b"]]])
    assert list(arguments["argument_spec"])[0] == "image"
    assert {"docker_host", "api_timeout", "region", "access_key", "endpoint_url"} <= set(arguments["argument_spec"])
    assert arguments["mutually_exclusive"] == [["tag", "digest"], ["profile", "access_key"],
                                               ["profile", "session_token"]]
    assert arguments["required_together"] == [["client_cert", "client_key"], ["access_key", "secret_key"]]
    assert arguments["required_if"] == [["a", 1, ["b"]]]
    assert _module.module_arguments(dict(x=dict(type="str")), None) == dict(argument_spec=dict(x=dict(type="str")))


def test_an_unknown_backend_is_a_programming_error():
    with pytest.raises(ValueError):
        _module.module_arguments({}, "ssh")


@pytest.mark.parametrize("backend", _module.CONNECTIONS)
def test_each_backend_adds_the_options_its_doc_fragment_documents(backend):
    spec = _module.backend(backend)["argument_spec"]
    documented = fragment(backend)["options"]
    assert sorted(spec) == sorted(documented)
    for name, entry in spec.items():
        doc = documented[name]
        assert doc["type"] == entry["type"], name
        assert doc.get("default") == entry.get("default"), name
        assert sorted(doc.get("aliases") or []) == sorted(entry.get("aliases") or []), name


def _documentation(name):
    return yaml.safe_load(plugin(name).DOCUMENTATION)


def test_each_action_group_holds_exactly_the_modules_of_its_backend_and_says_so():
    """An action group per backend: its members are the modules that extend that backend's doc fragment (so every
    option module_defaults sets for the group fits each of them), and each documents its membership."""
    import os
    root = os.path.dirname(os.path.abspath(_module.__file__))
    with open(os.path.join(root, "..", "..", "meta", "runtime.yml")) as handle:
        groups = yaml.safe_load(handle)["action_groups"]
    assert sorted(groups) == ["aws", "docker", "haproxy"]
    extends = dict((name, _documentation(name)["extends_documentation_fragment"]) for name in MODULES)
    for group, members in groups.items():
        assert sorted(members) == sorted(n for n in MODULES if "baton.docker.%s" % group in extends[n]), group
        assert fragment(group)["attributes"]["action_group"]["membership"] == ["baton.docker.%s" % group]
    assert "action_group" not in fragment("attributes")["attributes"]
    for name in MODULES:
        wanted = sorted("baton.docker.%s" % group for group, members in groups.items() if name in members)
        own = (_documentation(name).get("attributes") or {}).get("action_group")
        if own is not None:  # a module in several groups states them all
            assert sorted(own["membership"]) == wanted, name
        else:
            assert len(wanted) <= 1, name


# -- every module's main() ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", MODULES)
def test_main_runs_the_module_level_spec_through_the_shared_runner(name, monkeypatch):
    """main() hands the shared runner the module-level argument_spec() and the backends its documentation extends
    (whose options the doc fragments document), nothing else builds an AnsibleModule."""
    module = plugin(name)
    calls = []
    monkeypatch.setattr(module, "run_module", lambda spec, runner, **kwargs: calls.append((spec, runner, kwargs)))
    monkeypatch.setattr(basic.AnsibleModule, "__init__", lambda *a, **kw: pytest.fail("main() built a module"))
    module.main()
    assert len(calls) == 1
    spec, runner, kwargs = calls[0]
    assert spec == module.argument_spec()
    assert callable(getattr(runner, "run", None))
    doc = yaml.safe_load(module.DOCUMENTATION)
    extended = [fragment.rsplit(".", 1)[-1] for fragment in doc["extends_documentation_fragment"]]
    assert "attributes" in extended
    assert sorted(_module.connection_names(kwargs.get("connection"))) == sorted(
        set(extended) & set(_module.CONNECTIONS))
    documented = set(doc["options"])
    for name in extended:
        documented.update(fragment(name).get("options") or {})
    built = _module.module_arguments(spec, kwargs.get("connection"))["argument_spec"]
    assert sorted(built) == sorted(documented)


# -- run_module: input checks, library check, the run and its end -------------------------------------------------

class Oops(BatonError):
    pass


class Other(Exception):
    pass


class Runner:
    behaviour = {}

    def __init__(self, module):
        self.module = module
        self.result = dict(changed=False, step="built")
        self.warnings = ["watch out"]

    def run(self):
        self.result["step"] = "ran"
        raise_it = self.behaviour.get("raise")
        if raise_it:
            raise raise_it
        return dict(changed=True, name=self.module.params["name"])


def run(args, monkeypatch, behaviour=None, **kwargs):
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, text: warnings.append(text))
    monkeypatch.setattr(Runner, "behaviour", behaviour or {})
    spec = dict(name=dict(type="str"), wait_timeout=dict(type="float", default=5.0), dest=dict(type="path"))
    outcome = call_main(lambda: _module.run_module(spec, Runner, **kwargs), args)
    return outcome.kind, outcome.result, warnings


def test_a_run_exits_with_its_result_and_shows_its_warnings(monkeypatch):
    assert run(dict(name="a"), monkeypatch) == ("exit", dict(changed=True, name="a"), ["watch out"])


def test_a_baton_error_fails_with_its_message_details_the_result_so_far_and_the_failure_keys(monkeypatch):
    kind, result, warnings = run(dict(name="a"), monkeypatch, {"raise": Oops("no", dict(
        extra=1, step="details win"))}, failure=lambda params: dict(name=params["name"], step="base"))
    assert kind == "fail"
    assert result == dict(changed=False, name="a", step="details win", extra=1, msg="no")
    assert warnings == ["watch out"]


def test_an_error_that_is_not_a_baton_error_propagates(monkeypatch):
    with pytest.raises(Other):
        run(dict(name="a"), monkeypatch, {"raise": Other("not ours")})


@pytest.mark.parametrize("args,kwargs,message", [
    (dict(name="a\x00"), dict(validate=lambda params: "never asked"), "name: cannot hold a NUL character"),
    (dict(name="b"), dict(validate=lambda params: "b is refused" if params["name"] == "b" else None), "b is refused"),
    (dict(name="c", wait_timeout=-1), {}, "wait_timeout must be a positive number of seconds, got -1.0"),
    (dict(name="c", wait_timeout=float("inf")), dict(checked_seconds=("wait_timeout",)),
     "wait_timeout must be at most 86400 seconds, got inf"),
    (dict(name="d", dest="rel/path"), dict(absolute_paths=("dest",)), "dest: 'rel/path' is not an absolute path"),
    (dict(name="e", wait_timeout=-1, dest="rel"), dict(validate=lambda params: "own rule first",
                                                       absolute_paths=("dest",)), "own rule first"),
])
def test_refusals_come_before_the_runner_is_built(args, kwargs, message, monkeypatch):
    kind, result, warnings = run(args, monkeypatch, failure=lambda params: dict(name="shown"), **kwargs)
    assert (kind, result, warnings) == ("fail", dict(changed=False, name="shown", msg=message), [])


def test_a_lower_bound_checked_by_the_module_is_left_to_it(monkeypatch):
    kind, result, _warnings = run(dict(name="a", wait_timeout=-1), monkeypatch, checked_seconds=("wait_timeout",))
    assert kind == "exit"


@pytest.mark.parametrize("version, too_old", [
    ("4.4.4", True), ("5.0.2", True), ("5.0.3", False), ("6.1.3", False), ("7.2.0", False), ("10.0", False),
    ("unknown", True),
])
def test_a_docker_sdk_older_than_the_oldest_tested_is_refused(version, too_old, monkeypatch):
    from ansible_collections.baton.docker.plugins.module_utils import _docker_client
    monkeypatch.setattr(_docker_client.docker, "__version__", version)
    kind, result, _warnings = run(dict(name="a"), monkeypatch, connection="docker")
    if too_old:
        assert kind == "fail"
        assert result["msg"] == _docker_client.docker_sdk_error(version)
        assert "is %s; baton.docker needs 5.0.3 or later" % version in result["msg"]
    else:
        assert kind == "exit", result


def test_the_library_of_each_backend_is_checked_before_the_run(monkeypatch):
    from ansible_collections.baton.docker.plugins.module_utils import _aws
    monkeypatch.setattr(_aws, "HAS_BOTO3", False)
    kind, result, _warnings = run(dict(name="a"), monkeypatch, connection="aws")
    assert kind == "fail" and "boto3" in result["msg"]
    kind, _result, _warnings = run(dict(name="a"), monkeypatch, connection="aws", require=())
    assert kind == "exit"

"""One name per concept across the modules: where a module used another name for a concept, that name is still an
alias of the one name, so a user's existing tasks keep working (tests/integration use the old names too)."""

import importlib

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from tests.support.module_harness import full_argument_spec

# (module, arguments with the earlier name, the option it sets, the value it must hold)
EARLIER_NAMES = [
    ("image_pull", dict(image="shop:v1", expected_id="sha256:" + "a" * 64), "expected_image_id", "sha256:" + "a" * 64),
    ("haproxy_backend", dict(backend="app", server="s1", state="drain", wait_interval=0.5), "poll_interval", 0.5),
    ("rollout", dict(app="shop", units=[dict(name="m")], load_balancers=[dict(socket="/lb.sock", timeout=2)]),
     "load_balancers", None),
    ("release_canary", dict(backend="app", canary_servers=["a"], load_balancers=[dict(socket="/lb.sock", timeout=2)]),
     "load_balancers", None),
    ("stack_cron", dict(stack="shop", title="Shop", containers=[], runner_content="#!/bin/sh\n", backend="cron",
                        cron_file="/etc/cron.d/shop"),
     "scheduler", "cron"),
    ("container_info", dict(docker_url="tcp://127.0.0.1:2376", tls_verify=True, cacert_path="/ca.pem",
                            cert_path="/cert.pem", key_path="/key.pem", docker_api_version="1.41"),
     "validate_certs", True),
]


@pytest.mark.parametrize("name, args, option, value", EARLIER_NAMES, ids=[case[0] for case in EARLIER_NAMES])
def test_an_earlier_name_still_sets_the_option(name, args, option, value, monkeypatch):
    module = importlib.import_module("ansible_collections.baton.docker.plugins.modules." + name)
    result = ArgumentSpecValidator(full_argument_spec(module, monkeypatch)).validate(args)
    assert not result.error_messages, result.error_messages
    params = result.validated_parameters
    if option == "load_balancers":
        assert params["load_balancers"][0]["socket_timeout"] == 2.0
    else:
        assert params[option] == value
    if name == "container_info":
        assert (params["docker_host"], params["ca_path"], params["client_cert"], params["client_key"],
                params["api_version"]) == ("tcp://127.0.0.1:2376", "/ca.pem", "/cert.pem", "/key.pem", "1.41")

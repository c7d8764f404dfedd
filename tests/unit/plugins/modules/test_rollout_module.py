"""Unit tests of baton.docker.rollout's main(): bad arguments are refused, naming what is wrong and where, before the
engine, a load balancer or the lock is touched; secrets stay out of the output."""

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.baton.docker.plugins.module_utils import _rollout_engine
from ansible_collections.baton.docker.plugins.modules import rollout
from tests.support.module_harness import engine_factory

REAL_EXITS = True
SECRET = "s3cr3t 'quoted' $(id)"
UNITS = [dict(name="shop-master", server="web1_master", container=dict(ports=["50000:3000"])),
         dict(name="shop-backup", server="web1_backup", container=dict(ports=["50001:3000"]))]
BASE = dict(app="shop", image="registry.example.com/shop:v2", units=UNITS,
            load_balancers=[dict(socket="/run/haproxy/admin.sock")], secret_env={"DB_PASSWORD": SECRET})


def run_main(args, monkeypatch, capsys, tmp_path):
    calls = []

    def refuse(*a, **kw):
        calls.append(a)
        raise AssertionError("main() reached the engine with invalid arguments")

    monkeypatch.setattr(_rollout_engine, "DockerClient", engine_factory(refuse))
    args = dict(args, state_dir=str(tmp_path / "state"))
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            rollout.main()
    out = capsys.readouterr().out
    return json.loads(out), bool(calls), out


@pytest.mark.parametrize("args, fragment", [
    (dict(BASE, image="Shop:V2"), "Shop:V2"),
    (dict(BASE, units=[]), "units: at least one unit is needed"),
    (dict(BASE, units=[UNITS[0], UNITS[0]]), "units: shop-master is listed more than once"),
    (dict(BASE, units=[dict(name="w", container=dict(stop_timeout="soon"))]), "units[0] (w).container: "),
    (dict(BASE, units=[dict(name="w", container=dict(state="absent"))]), "units[0] (w).container.state"),
    (dict(BASE, units=[dict(name="w", container=dict(secret_env={"A": "b"}))]),
     "units[0].container.secret_env: use the secret_env option"),
    (dict(BASE, container=dict(docker_host="tcp://x:2375")), "container.docker_host: set by the rollout itself"),
    (dict(BASE, load_balancers=[dict(socket="no:such:endpoint")]), "load_balancers[0].socket: "),
    (dict(BASE, load_balancers=[]), "load_balancers: units with a server need at least one load balancer"),
    (dict(BASE, load_balancers=[dict(socket="/run/lb.sock", backend="shop"), dict(socket="/run/lb.sock")]),
     "load_balancers[1]: socket /run/lb.sock with backend shop is load_balancers[0] again"),
    (dict(BASE, drain_timeout=-1), "drain_timeout: must be 0 or more seconds"),
    (dict(BASE, history_size=0), "history_size: must be at least 1"),
    (dict(BASE, units=[dict(server="x")]), "missing required arguments: name found in units"),
])
def test_bad_arguments_are_named_before_anything_is_touched(args, fragment, monkeypatch, capsys, tmp_path):
    result, connected, out = run_main(args, monkeypatch, capsys, tmp_path)
    assert result["failed"] is True
    assert fragment in result["msg"], result["msg"]
    assert not connected
    assert not (tmp_path / "state").exists()
    assert SECRET not in out


@pytest.mark.parametrize("args, fragment", [
    (dict(BASE, app="../etc"), "app: '../etc' must be letters, digits"),
    (dict(BASE, units=[dict(name="lb-template", server="s", container=dict(state="created"))]),
     "units[0] (lb-template): a unit behind a load balancer runs"),
])
def test_more_bad_arguments(args, fragment, monkeypatch, capsys, tmp_path):
    result, connected, _out = run_main(args, monkeypatch, capsys, tmp_path)
    assert fragment in result["msg"], result["msg"]
    assert not connected

"""The Docker modules and the rollout reach an engine over TLS, as an engine started with --tlsverify on a TCP port
expects: community.docker's option names (validate_certs, ca_path, client_cert, client_key, tls_hostname) and the
Docker CLI's environment (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH).

The engine is one the test starts (tests/support/engine.py), listening on its unix socket and on a loopback TCP port
with a server certificate of a test CA. A client certificate of that CA works; none, one of another CA, a CA that did
not sign the engine's certificate or a name the certificate does not carry is refused with an error naming the
endpoint. The client keys never reach Ansible's output."""

import os
import shutil

import pytest

from tests.support.ansible import run_playbook
from tests.support.engine import DockerEngine
from tests.support.net import free_port
from tests.support.tls import CertificateAuthority

IMAGE = "baton-base/busybox:latest"
ENGINE_NAME = "docker-engine.test"


@pytest.fixture(scope="module")
def tls_engine(tmp_path_factory):
    base = tmp_path_factory.mktemp("docker-tls")
    ca = CertificateAuthority(base / "ca", name="engine-ca")
    server_cert, server_key, _pem = ca.issue("engine", "serverAuth", san="IP:127.0.0.1,DNS:%s" % ENGINE_NAME)
    client_cert, client_key, _pem = ca.issue("client", "clientAuth")
    other = CertificateAuthority(base / "other", name="other-ca")
    other_cert, other_key, _pem = other.issue("client", "clientAuth")
    cert_path = base / "docker-cert-path"  # the Docker CLI's layout
    cert_path.mkdir()
    for source, name in ((ca.ca, "ca.pem"), (client_cert, "cert.pem"), (client_key, "key.pem")):
        shutil.copy(source, str(cert_path / name))
    port = free_port()
    engine = DockerEngine(tls=(port, ca.ca, server_cert, server_key))
    try:
        engine.setup()
        engine.load_images([IMAGE])
        yield dict(host="tcp://127.0.0.1:%d" % port, ca=ca.ca, cert=client_cert, key=client_key, other_ca=other.ca,
                   other_cert=other_cert, other_key=other_key, cert_path=str(cert_path),
                   keys=[_key_body(client_key), _key_body(other_key)])
    finally:
        engine.stop()


def _key_body(path):
    with open(path) as handle:
        lines = [line.strip() for line in handle if line.strip() and not line.startswith("-----")]
    return lines[len(lines) // 2]  # a line from the middle of the key: it never appears in output by chance


def _task(name, module, args, check=False):
    return {"name": name, "baton.docker." + module: args, "check_mode": check, "ignore_errors": True}


def _rollout_args(tmp_path):
    return {"app": "tls-app", "image": IMAGE, "state_dir": str(tmp_path / "state"),
            "units": [{"name": "tls-app-master", "container": {"command": ["sleep", "600"]}}]}


def test_tls_options_reach_the_engine_and_wrong_credentials_are_refused_naming_it(tls_engine, tmp_path):
    e = tls_engine
    verified = {"docker_host": e["host"], "validate_certs": True, "ca_path": e["ca"]}
    client = dict(verified, client_cert=e["cert"], client_key=e["key"])
    tasks = [
        _task("signed client", "container_info", client),
        _task("engine name checked", "container_info", dict(client, tls_hostname=ENGINE_NAME)),
        _task("rollout plan over tls", "rollout", dict(_rollout_args(tmp_path), **client), check=True),
        _task("no client certificate", "container_info", verified),
        _task("client certificate of another CA", "container_info",
              dict(verified, client_cert=e["other_cert"], client_key=e["other_key"])),
        _task("engine certificate not signed by the CA given", "container_info", dict(client, ca_path=e["other_ca"])),
        _task("a name the engine certificate does not carry", "container_info",
              dict(client, tls_hostname="elsewhere.test")),
        _task("no tls to a tls port", "container_info", {"docker_host": e["host"]}),
        _task("key without its certificate", "container_info", dict(verified, client_key=e["key"])),
    ]
    run = run_playbook([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}])
    for ok in ("signed client", "engine name checked", "rollout plan over tls"):
        result = run.result(ok)
        assert not result.get("failed"), (ok, result)
    assert run.result("signed client")["containers"] == []
    assert run.result("rollout plan over tls")["plan"] == [{"unit": "tls-app-master", "action": "swap"}]
    for refused in ("no client certificate", "client certificate of another CA",
                    "engine certificate not signed by the CA given", "a name the engine certificate does not carry"):
        result = run.result(refused)
        assert result.get("failed"), (refused, result)
        assert "TLS with the Docker engine at %s failed" % e["host"] in result["msg"], (refused, result["msg"])
    plain = run.result("no tls to a tls port")
    assert plain.get("failed") and e["host"] in plain["msg"], plain
    lone_key = run.result("key without its certificate")
    assert lone_key.get("failed") and "client_cert" in lone_key["msg"] and "client_key" in lone_key["msg"], lone_key
    for key in e["keys"]:
        assert key not in run.output


def test_the_docker_cli_environment_reaches_the_engine_over_tls(tls_engine, tmp_path):
    e = tls_engine
    env = {"DOCKER_HOST": e["host"], "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": e["cert_path"]}
    tasks = [
        _task("engine from the environment", "container_info", {}),
        _task("rollout plan from the environment", "rollout", _rollout_args(tmp_path), check=True),
    ]
    run = run_playbook([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], env=env)
    assert run.result("engine from the environment").get("failed") is not True, run.output[-3000:]
    assert run.result("engine from the environment")["containers"] == []
    plan = run.result("rollout plan from the environment")
    assert plan.get("failed") is not True and plan["plan"] == [{"unit": "tls-app-master", "action": "swap"}], plan
    for key in e["keys"]:
        assert key not in run.output
    # a DOCKER_CERT_PATH without the client certificate is named before any connection
    os.rename(os.path.join(e["cert_path"], "cert.pem"), os.path.join(e["cert_path"], "cert.pem.away"))
    try:
        refused = run_playbook([{"hosts": "localhost", "gather_facts": False,
                                 "tasks": [_task("no certificate in DOCKER_CERT_PATH", "container_info", {})]}], env=env)
    finally:
        os.rename(os.path.join(e["cert_path"], "cert.pem.away"), os.path.join(e["cert_path"], "cert.pem"))
    result = refused.result("no certificate in DOCKER_CERT_PATH")
    assert result.get("failed") and "client_cert" in result["msg"] and e["cert_path"] in result["msg"], result

"""The haproxy role on a running site: a changed server list is reloaded without dropping requests."""

import time

from bench.loadgen import LoadGenerator
from tests.support.net import free_port


def master_pid(site):
    return int(open(site.pid_file).read().split()[0])


def test_rerun_changes_nothing(site):
    run = site.playbook("lb.yml")
    assert run.rc == 0, run.output[-3000:]
    assert run.changed() == 0, run.changed_tasks()


def test_socket_mode_and_config_validation(site):
    import os
    import stat
    mode = stat.S_IMODE(os.stat(site.socket).st_mode)
    assert mode == 0o600
    assert stat.S_ISSOCK(os.stat(site.socket).st_mode)


def test_adding_a_host_reloads_without_dropping_a_request(site):
    assert site.deploy("v1").rc == 0
    site.wait_all_up()
    pid = master_pid(site)
    load = LoadGenerator("http://127.0.0.1:%d/" % site.frontend_port, connections=4, period=0.02,
                         max_seconds=120).start()
    time.sleep(1.0)
    site.hosts["app2"] = {"master": free_port(), "backup": free_port()}
    site.production.append("app2")
    run = site.playbook("lb.yml")
    time.sleep(2.0)
    load.stop()
    assert run.rc == 0, run.output[-3000:]
    assert "Reload the haproxy master process" in " ".join(run.changed_tasks())
    summary = LoadGenerator.summary(load.window())
    assert summary["failed"] == 0, summary
    assert summary["total"] > 100
    assert master_pid(site) == pid
    stats = site.server_stats()
    assert {"app2_master", "app2_backup"} <= set(stats)
    assert stats["app1_master"]["status"].startswith("UP"), stats["app1_master"]  # "UP 1/2": serving, one check missed


def test_reload_keeps_a_slot_in_maintenance(site):
    from tests.support.haproxy import runtime_command
    assert site.deploy("v1").rc == 0
    site.wait_all_up()
    assert runtime_command(site.socket, "set server %s/app1_master state maint" % site.app).strip() == ""
    site.hosts["app2"] = {"master": free_port(), "backup": free_port()}
    site.production.append("app2")
    run = site.playbook("lb.yml")
    assert run.rc == 0, run.output[-3000:]
    assert "Reload the haproxy master process" in " ".join(run.changed_tasks())
    stats = site.server_stats()
    assert {"app2_master", "app2_backup"} <= set(stats)
    assert stats["app1_master"]["status"] == "MAINT"
    assert stats["app1_backup"]["status"] == "UP"


def test_second_instance_on_the_frontend_port_is_refused(site):
    import os
    import signal
    # Our HAProxy stops; something else takes its port; the role must not start a second listener beside it.
    os.kill(master_pid(site), signal.SIGTERM)
    import socket
    deadline = time.monotonic() + 10
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    while True:
        try:
            blocker.bind(("127.0.0.1", site.frontend_port))
            break
        except OSError:
            assert time.monotonic() < deadline, "old HAProxy still holds the port"
            time.sleep(0.1)
    blocker.listen(1)
    try:
        run = site.playbook("lb.yml")
    finally:
        blocker.close()
    assert run.rc != 0
    assert "Something already listens on 127.0.0.1:%d" % site.frontend_port in run.output


def test_runtime_api_over_tls_verifies_clients(site, tmp_path):
    """The role's TLS endpoint in front of the runtime API: a client of the CA is served, a stranger is refused."""
    import os
    from tests.support.tls import CertificateAuthority
    from ansible_collections.baton.docker.plugins.module_utils._haproxy_client import HAProxyError, HAProxyRuntime
    ca = CertificateAuthority(tmp_path / "ca")
    server = ca.issue("lb", "serverAuth", "IP:127.0.0.1")[2]
    cert, key, _pem = ca.issue("app-host", "clientAuth")
    port = free_port()
    site.extra_vars.update(haproxy_runtime_tls_bind="127.0.0.1:%d" % port, haproxy_runtime_tls_cert=open(server).read(),
                           haproxy_runtime_tls_client_ca=open(ca.ca).read(),
                           haproxy_runtime_tls_dir=str(tmp_path / "runtime-tls"))
    run = site.playbook("lb.yml")
    assert run.rc == 0, run.output[-3000:]
    assert "BEGIN" not in run.output  # the key stays out of the output
    assert oct(os.stat(str(tmp_path / "runtime-tls" / "server.pem")).st_mode & 0o777) == "0o600"
    runtime = HAProxyRuntime("127.0.0.1:%d" % port, tls=dict(ca_file=ca.ca, cert_file=cert, key_file=key))
    deadline = time.monotonic() + 10
    while True:
        try:
            assert site.app in runtime.backends()
            break
        except HAProxyError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    stranger = CertificateAuthority(tmp_path / "other", name="stranger-ca")
    bad_cert, bad_key, _pem = stranger.issue("intruder", "clientAuth")
    try:
        HAProxyRuntime("127.0.0.1:%d" % port, tls=dict(ca_file=ca.ca, cert_file=bad_cert, key_file=bad_key)).backends()
    except HAProxyError as exc:
        assert "TLS" in str(exc), exc
    else:
        raise AssertionError("a client certificate of another CA was accepted")

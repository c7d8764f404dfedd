"""The pure decisions of a swap (plugins/module_utils/_swap_plan.py)."""

import pytest

from ansible_collections.baton.docker.plugins.module_utils import _params as pr
from ansible_collections.baton.docker.plugins.module_utils import _swap_plan as sp

from tests.unit.plugins.module_utils.container_data import CARRIED_V1


@pytest.mark.parametrize("desired, message", [
    (dict(volumes_from=["app-a"]), "volumes_from: 'app-a' names the slot's own container"),
    (dict(volumes_from=["app-a.baton-previous:ro"]), "volumes_from: 'app-a.baton-previous:ro' names the slot's own"),
    (dict(links=["app-a:self"]), "links: 'app-a:self' names the slot's own container"),
    (dict(hostname="app0", network="host"), "hostname: cannot be set with network=host"),
])
def test_check_references_refuses(desired, message):
    with pytest.raises(pr.ParamError) as err:
        sp.check_references(dict(CARRIED_V1, **desired), "app-a")
    assert str(err.value).startswith(message)


def test_check_references_accepts_other_containers():
    sp.check_references(dict(CARRIED_V1, volumes_from=["app-ab", "data:ro"], links=["db:app-a"], hostname="app-a"),
                        "app-a")


def test_referenced_containers():
    desired = dict(CARRIED_V1, volumes_from=["socks", "static:ro"], links=["db:database"])
    assert sp.referenced_containers(desired) == [("volumes_from", "socks"), ("volumes_from", "static"),
                                                 ("links", "db")]


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
    assert sp.recovery_action(slot, previous) == action


@pytest.mark.parametrize("slot, previous, action", [
    (None, None, None),
    (None, dict(running=False), "restore"),
    (dict(running=True), dict(running=False), "discard"),
    (dict(running=False), dict(running=False), "discard"),  # a created slot container is the newer one
])
def test_recovery_action_for_created(slot, previous, action):
    assert sp.recovery_action(slot, previous, "created") == action


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
    assert sp.slot_action(state, update, exists, running, outdated) == action


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
    assert sp.reported_action(action, recovery) == reported


@pytest.mark.parametrize("url, healthcheck, mode", [
    ("http://127.0.0.1:8081/health", None, "http"),
    ("http://127.0.0.1:8081/health", dict(test=["CMD", "true"]), "http"),
    (None, dict(test=["CMD", "true"]), "docker"),
    (None, dict(test=["NONE"]), "running"),
    (None, None, "running"),
    ("", dict(test=[]), "running"),
])
def test_health_mode(url, healthcheck, mode):
    assert sp.health_mode(url, healthcheck) == mode


@pytest.mark.parametrize("url, expected", [
    ("http://127.0.0.1:8081/health", ("http", "127.0.0.1", 8081, "/health")),
    ("https://app.example.com/ready?deep=1", ("https", "app.example.com", 443, "/ready?deep=1")),
    ("http://localhost", ("http", "localhost", 80, "/")),
    ("http://[::1]:8081/", ("http", "::1", 8081, "/")),
])
def test_parse_health_url(url, expected):
    assert sp.parse_health_url(url) == expected


@pytest.mark.parametrize("url, fragment", [
    ("ftp://127.0.0.1/health", "must start with http:// or https://"),
    ("127.0.0.1:8081/health", "must start with http:// or https://"),
    ("http://127.0.0.1:99999/health", "cannot be parsed"),
    ("http://127.0.0.1:port/health", "cannot be parsed"),
    ("http:///health", "has no host"),
])
def test_parse_health_url_refuses(url, fragment):
    with pytest.raises(pr.ParamError) as err:
        sp.parse_health_url(url)
    assert str(err.value).startswith("health.url: ") and fragment in str(err.value)


@pytest.mark.parametrize("host, port, ports", [
    ("127.0.0.1", 8081, ["8081:8000/tcp"]),
    ("localhost", 8081, ["127.0.0.1:8081:8000/tcp", "9000/tcp"]),
    ("app.example.com", 443, []),
    ("172.17.0.5", 8000, []),
])
def test_check_health_url_port_accepts(host, port, ports):
    sp.check_health_url_port("http://%s:%d/" % (host, port), host, port, ports)


@pytest.mark.parametrize("host, port, ports, fragment", [
    ("127.0.0.1", 8000, ["8081:8000/tcp"], "the slot publishes host port(s) 8081"),
    ("localhost", 8081, [], "the slot publishes no TCP host port"),
    ("127.0.0.2", 8081, ["8081:8000/udp"], "no TCP host port"),
    ("::1", 8082, ["8081:8000/tcp"], "targets port 8082 on ::1"),
])
def test_check_health_url_port_refuses(host, port, ports, fragment):
    with pytest.raises(pr.ParamError) as err:
        sp.check_health_url_port("http://x/", host, port, ports)
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
    assert sp.ports_to_check(wanted, held) == expected


def test_mask_env_hides_values_but_shows_changes():
    secret = "pa$$ 'w0rd' $(id)\nline2"
    masked = sp.mask_env({"A": secret, "B": secret, "C": "other"})
    assert secret not in repr(masked)
    assert masked["A"] == masked["B"] != masked["C"]
    assert masked["A"].startswith("sha256:") and len(masked["A"]) == len("sha256:") + 10


def test_display_config_shows_the_new_settings():
    shown = sp.display_config(dict(CARRIED_V1, volumes_from=["static:ro"], links=["db:database"], hostname="app0"))
    assert (shown["volumes_from"], shown["links"], shown["hostname"]) == (["static:ro"], ["db:database"], "app0")


def test_display_config_masks_env_and_shows_seconds():
    explicit = dict(CARRIED_V1, env={"TOKEN": "s3cr3t"},
                    healthcheck=pr.normalize_healthcheck(dict(test=["CMD", "true"], interval=1.5)))
    shown = sp.display_config(explicit)
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
    assert sp.repo_digest(digests, repository) == expected


@pytest.mark.parametrize("lines, limit, expected", [
    (["a", "b"], 100, "a\nb"),
    (["0123456789", "abcdefghij"], 5, "...\nfghij"),
    ([], 10, ""),
])
def test_tail_text(lines, limit, expected):
    assert sp.tail_text(lines, limit) == expected

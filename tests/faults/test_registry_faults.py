"""Registry faults during the release pull of a rollout (baton.docker.rollout through ansible-playbook, ``pull`` and
``pull_auth``), under steady load through both HAProxy instances of the lab. The release image is pushed to a real
docker-registry (htpasswd auth) and its local tag removed, so the rollout has to pull it.

Faults: the registry down (its process stopped), stalling (reached through a TCP forwarder that accepts and never
answers; the pull is bounded by the module's api_timeout), and refusing the credentials. In every case the rollout
stops before anything changes: both slots keep serving the old release, no server's state moves on either load
balancer, the error names the registry, and the password appears nowhere in the -vvv output.
"""

import time
import uuid

import docker

import pytest

from bench.loadgen import LoadGenerator
from tests.faults.test_load_balancer_faults import CONTAINER, SERVERS, assert_converges, deployed
from tests.support import secrets
from tests.support.ansible import run_playbook
from tests.support.haproxy import FaultProxy, StateSampler
from tests.support.lab import TASK
from tests.support.registry import Registry

PASSWORD = secrets.plant("fault_registry_password")
WRONG = secrets.plant("fault_registry_wrong_password")
API_TIMEOUT = 6


class Release:
    """A real registry holding baton-demo/app:v2 as <registry>/<repository>:v2 (pushed once for the module: ~15 s)."""

    def __init__(self, workdir):
        self.registry = Registry(workdir, password=PASSWORD).start()
        self.repository = "baton-faults/app%s" % uuid.uuid4().hex[:8]
        self.client = docker.from_env()
        ref = self.ref(self.registry.address)
        self.client.images.get("baton-demo/app:v2").tag(ref)
        for line in self.client.api.push(ref, auth_config=dict(username="baton", password=PASSWORD), stream=True,
                                         decode=True):
            assert "error" not in line, line
        self.refs = [ref]
        self.untag()

    def ref(self, address):
        return "%s/%s:v2" % (address, self.repository)

    def via(self, address):
        """The release image named through another address of the same registry (a forwarder in front of it)."""
        self.refs.append(self.ref(address))
        return self.refs[-1]

    def untag(self):
        """Drop the local tags of the release, so that nothing of it is local but the layers."""
        for ref in self.refs:
            try:
                self.client.images.remove(ref)
            except docker.errors.NotFound:
                pass


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    made = Release(str(tmp_path_factory.mktemp("registry")))
    yield made
    made.registry.stop()
    made.untag()


@pytest.fixture
def registry(release):
    """The module's registry, running, with no local tag of the release."""
    if release.registry.proc is None or release.registry.proc.poll() is not None:
        release.registry.start()
    release.untag()
    return release.registry


def verbose_rollout(flab, image, auth, pull="always", api_timeout=API_TIMEOUT):
    """The rollout of ``image`` with -vvv; returns (result, run)."""
    play = flab.lab.play("v2", container=CONTAINER, load_balancers=flab.balancers(), image=image, pull=pull,
                         pull_auth=auth, api_timeout=api_timeout)
    run = run_playbook(play, args=["-vvv"])
    results = run.results(TASK)
    return (results[-1]["result"] if results else {}), run


def under_load_unchanged(flab, action):
    """``action()`` under load through both frontends; asserts that no request failed and that every sample of both
    load balancers showed both servers UP (no server state changed). Returns (outcome, load summary, seconds)."""
    lab = flab.lab
    loads = [LoadGenerator("http://127.0.0.1:%d/" % lb["frontend"], connections=3, period=0.02, max_seconds=120,
                           max_requests=30000) for lb in lab.lbs]
    sampler = StateSampler(flab.observers, lab.app, SERVERS).start()
    ids = dict((role, lab.container(role).id) for role in ("master", "backup"))
    for load in loads:
        load.start()
    time.sleep(0.5)
    started = time.monotonic()
    try:
        outcome = action()
    finally:
        seconds = time.monotonic() - started
        time.sleep(0.5)
        for load in loads:
            load.stop()
        sampler.stop()
    load = LoadGenerator.summary([r for load in loads for r in load.window()])
    assert load["failed"] == 0 and load["total"] > 100, load
    moved = [s for s in sampler.samples if s[2] is None or set(s[2].values()) != {"UP"}]
    assert not moved and len(sampler.samples) > 10, moved[:5]
    assert dict((role, lab.container(role).id) for role in ("master", "backup")) == ids
    assert lab.version("master") == "v1" and lab.version("backup") == "v1"
    return outcome, load, seconds


def assert_secret_free(run):
    for secret in (PASSWORD, WRONG):
        assert secret not in run.output
    assert "<localhost> EXEC" in run.output or "ESTABLISH LOCAL CONNECTION" in run.output, run.output[-2000:]


def test_registry_down_during_the_pull(lab, registry, release):
    """The registry process stopped before the rollout pulls the release.

    What happens: the pull fails at once (connection refused); the rollout stops with "image <registry>/...
    could not be pulled" and changes nothing. Started again, the next run pulls and completes. Measured (load
    average ~19): 0 failed of 1119-2191 requests, the failed rollout 15-16 s, the test 55 s (plus 17 s of module
    setup: the push of the release)."""
    flab = deployed(lab)
    image = release.ref(registry.address)
    auth = dict(username="baton", password=PASSWORD, registry=registry.address)
    registry.stop()
    (result, run), load, seconds = under_load_unchanged(flab, lambda: verbose_rollout(flab, image, auth))
    print("registry down: rollout rc %s in %.1fs, load %s: %s" % (run.rc, seconds, load, result.get("msg")))
    assert run.rc != 0
    assert registry.address in result["msg"] and "could not be pulled" in result["msg"], result["msg"]
    assert "Nothing was changed" in result["msg"], result["msg"]
    assert_secret_free(run)
    registry.start()
    assert_converges(flab, image=image, pull="always", pull_auth=auth)


def test_registry_stalls_during_the_pull(lab, registry, release):
    """The registry reached through a forwarder that accepts every connection and never answers.

    What happens: the engine waits on the registry; the module's api_timeout (6 s here) bounds the pull, and the
    rollout stops naming the image of that registry and the timeout, changing nothing. Before the pull read the
    engine's progress in a thread, the SDK's pull had no timeout at all and the run waited 40 s for the engine's own.
    Measured: 0 failed of 3987 requests, the failed rollout 15 s (6 s of it the bound), the test 45 s."""
    flab = deployed(lab)
    host, port = registry.address.split(":")
    proxy = FaultProxy((host, int(port))).start()
    try:
        image = release.via(proxy.address)
        auth = dict(username="baton", password=PASSWORD, registry=proxy.address)
        proxy.set_mode("stall")
        (result, run), load, seconds = under_load_unchanged(flab, lambda: verbose_rollout(flab, image, auth))
        print("registry stalls: rollout rc %s in %.1fs, load %s: %s" % (run.rc, seconds, load, result.get("msg")))
        assert run.rc != 0
        assert proxy.accepted["stall"] >= 1
        assert seconds < API_TIMEOUT + 15, seconds
        assert proxy.address in result["msg"] and "could not be pulled" in result["msg"], result["msg"]
        assert "no progress for" in result["msg"] and "(api_timeout)" in result["msg"], result["msg"]
        assert "the registry %s does not answer" % proxy.address in result["msg"], result["msg"]
        assert_secret_free(run)
        proxy.set_mode("forward")
        assert_converges(flab, image=image, pull="always", pull_auth=auth)
    finally:
        proxy.stop()


def test_registry_refuses_the_credentials(lab, registry, release):
    """pull_auth with a wrong password.

    What happens: the registry answers 401, the engine reports it; the rollout stops naming the image of that
    registry and the refusal, changing nothing; neither password is in the -vvv output. Measured: 0 failed of
    1704-1854 requests, the failed rollout 7-12 s, the test 45-49 s."""
    flab = deployed(lab)
    image = release.ref(registry.address)
    auth = dict(username="baton", password=WRONG, registry=registry.address)
    (result, run), load, seconds = under_load_unchanged(flab, lambda: verbose_rollout(flab, image, auth))
    print("bad credentials: rollout rc %s in %.1fs, load %s: %s" % (run.rc, seconds, load, result.get("msg")))
    assert run.rc != 0
    assert registry.address in result["msg"] and "could not be pulled" in result["msg"], result["msg"]
    assert "unauthorized" in result["msg"].lower() or "authentication" in result["msg"].lower(), result["msg"]
    assert_secret_free(run)
    assert_converges(flab, image=image, pull="always", pull_auth=dict(auth, password=PASSWORD))

"""Unit tests of baton.docker.container_run and the one-off runner of the shared Docker client.

main() is driven with module args: bad values must fail before the engine is
contacted. The runner and the module's flows run against FakeAPI, a scripted
stand-in for the SDK's low-level client recording every call, so that the
timeout, start-failure and removal paths can be forced; the real engine runs
in tests/integration/test_container_run.py.
"""

import re

import pytest

from ansible.module_utils import basic

from ansible_collections.baton.docker.plugins.module_utils import _docker_client
from ansible_collections.baton.docker.plugins.module_utils import _image_build
from ansible_collections.baton.docker.plugins.module_utils import _oneoff
from ansible_collections.baton.docker.plugins.modules import container_run
from tests.support.module_harness import call_main, engine_factory

BUSYBOX = "baton-base/busybox:latest"
IMAGE_ID = "sha256:" + "ab" * 32


class Timeout(Exception):
    """What requests raises when a read times out (one of several types)."""


class FakeAPI:
    """Scripted low-level SDK client: records calls, answers from ``script``."""

    def __init__(self, clock=None, exit_code=0, logs=b"", wait_error=None, start_error=None, remove_error=None,
                 containers=None, networks=("bridge",), image_config=None):
        self.calls = []
        self.clock = clock
        self.exit_code = exit_code
        self.log_data = logs
        self.wait_error = wait_error
        self.start_error = start_error
        self.remove_error = remove_error
        self.containers_by_name = dict(containers or {})
        self.networks = set(networks)
        self.image_config = image_config or {"Cmd": ["/bin/sh"]}

    # container lifecycle
    def create_host_config(self, **kwargs):
        self.calls.append(("host_config", kwargs))
        return dict(kwargs)

    def create_networking_config(self, config):
        return config

    def create_endpoint_config(self, **kwargs):
        return kwargs

    def create_container(self, image, **kwargs):
        self.calls.append(("create", image, kwargs))
        return {"Id": "c0ffee" * 10 + "abcd"}

    def start(self, container_id):
        self.calls.append(("start", container_id))
        if self.start_error:
            raise self.start_error

    def wait(self, container_id, timeout=None):
        self.calls.append(("wait", timeout))
        if self.wait_error:
            if self.clock is not None and isinstance(self.wait_error, Timeout):
                self.clock.now += timeout
            raise self.wait_error
        if self.clock is not None:
            self.clock.now += 1.5
        return {"StatusCode": self.exit_code, "Error": None}

    def kill(self, container_id):
        self.calls.append(("kill", container_id))

    def logs(self, container_id, **kwargs):
        self.calls.append(("logs", kwargs.get("tail")))
        return self.log_data

    def remove_container(self, container_id, **kwargs):
        self.calls.append(("remove", kwargs))
        if self.remove_error:
            raise self.remove_error

    # reads
    def inspect_container(self, name):
        if name in self.containers_by_name:
            return self.containers_by_name[name]
        if name.startswith("c0ffee"):
            return {"Name": "/engine_picked", "Id": name}
        raise _docker_client.docker_errors.NotFound("no such container")

    def inspect_image(self, ref):
        if ref == BUSYBOX:
            return {"Id": IMAGE_ID, "Config": self.image_config, "RepoDigests": []}
        raise _docker_client.docker_errors.NotFound("no such image")

    def inspect_network(self, name):
        if name not in self.networks:
            raise _docker_client.docker_errors.NotFound("no such network")
        return {"Name": name}

    def kinds(self):
        return [call[0] for call in self.calls]


class FakeClient(_docker_client.DockerClient):
    """A DockerClient over FakeAPI that remembers being closed."""

    def __init__(self, api):
        super().__init__(api=api)
        self.closed = False

    def close(self):
        self.closed = True


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


# ---------------------------------------------------------------- pure helpers

@pytest.mark.parametrize("config, entrypoint, command, argv", [
    ({"Cmd": ["/bin/sh"]}, None, None, ["/bin/sh"]),
    ({"Cmd": ["/bin/sh"]}, None, ["echo", "hi"], ["echo", "hi"]),
    ({"Entrypoint": ["/entry.sh"], "Cmd": ["serve"]}, None, None, ["/entry.sh", "serve"]),
    ({"Entrypoint": ["/entry.sh"], "Cmd": ["serve"]}, None, ["migrate"], ["/entry.sh", "migrate"]),
    ({"Entrypoint": ["/entry.sh"], "Cmd": ["serve"]}, ["rake"], None, ["rake"]),
    ({"Entrypoint": ["/entry.sh"], "Cmd": ["serve"]}, ["rake"], ["db:migrate"], ["rake", "db:migrate"]),
    (None, None, None, []),
    ({"Cmd": None, "Entrypoint": None}, None, [], []),
])
def test_effective_argv(config, entrypoint, command, argv):
    assert _oneoff.effective_argv(config, entrypoint, command) == argv


def test_oneoff_labels_and_name():
    assert _oneoff.oneoff_labels({"team": "ops"}) == {"team": "ops", "baton.managed": "true", "baton.oneoff": "true"}
    assert _oneoff.oneoff_labels(None) == {"baton.managed": "true", "baton.oneoff": "true"}
    names = set(_oneoff.oneoff_name() for dummy in range(20))
    assert all(re.match(r"^baton-run-[0-9a-f]{8}$", name) for name in names)
    assert len(names) > 1


# ---------------------------------------------------------------- the runner

def test_runner_success_passes_everything_and_removes():
    clock = FakeClock()
    api = FakeAPI(clock=clock, exit_code=0, logs=b"one\ntwo\n")
    run = _oneoff.run_oneoff(FakeClient(api), BUSYBOX, command=["echo", "x"], entrypoint=["/e"],
                             environment={"B": "2 $(x)", "A": "it's"}, labels={"l": "v"}, name="baton-run-0a1b2c3d",
                             volumes=["/srv:/srv:ro"], volumes_from=[("data", "ro"), ("socks", None)],
                             links=[("db0", "db")], network="bridge", working_dir="/app", user="1000", timeout=30,
                             log_lines=5, clock=clock)
    assert run == dict(name="baton-run-0a1b2c3d", id="c0ffee" * 10 + "abcd", rc=0, output=["one", "two"], seconds=1.5,
                       remove_error=None)
    create = [c for c in api.calls if c[0] == "create"][0]
    assert create[1] == BUSYBOX
    kwargs = create[2]
    assert kwargs["environment"] == ["A=it's", "B=2 $(x)"]
    assert kwargs["command"] == ["echo", "x"] and kwargs["entrypoint"] == ["/e"]
    assert kwargs["working_dir"] == "/app" and kwargs["user"] == "1000" and kwargs["name"] == "baton-run-0a1b2c3d"
    host = [c for c in api.calls if c[0] == "host_config"][0][1]
    assert host["binds"] == ["/srv:/srv:ro"]
    assert host["volumes_from"] == ["data:ro", "socks"]
    assert host["links"] == {"db0": "db"} and host["network_mode"] == "bridge"
    assert ("wait", 30) in api.calls and ("logs", 5) in api.calls
    assert api.kinds()[-1] == "remove" and api.calls[-1][1] == {"force": True, "v": True}


def test_runner_links_go_to_the_endpoint_on_a_user_network():
    api = FakeAPI()
    _oneoff.run_oneoff(FakeClient(api), BUSYBOX, links=[("db0", "db")], network="backend")
    host = [c for c in api.calls if c[0] == "host_config"][0][1]
    assert host["links"] is None and host["network_mode"] == "backend"
    create = [c for c in api.calls if c[0] == "create"][0][2]
    assert create["networking_config"] == {"backend": {"links": {"db0": "db"}}}


def test_runner_returns_a_nonzero_exit_code():
    api = FakeAPI(exit_code=7, logs=b"boom\n")
    run = _oneoff.run_oneoff(FakeClient(api), BUSYBOX, command=["false"])
    assert run["rc"] == 7 and run["output"] == ["boom"]
    assert run["name"] == "engine_picked"
    assert api.kinds()[-1] == "remove"


def test_runner_timeout_kills_and_removes():
    clock = FakeClock()
    api = FakeAPI(clock=clock, wait_error=Timeout("Read timed out"), logs=b"started\n")
    with pytest.raises(_oneoff.OneOffFailed) as info:
        _oneoff.run_oneoff(FakeClient(api), BUSYBOX, command=["sleep", "60"], name="baton-run-00000000", timeout=2,
                           clock=clock)
    exc = info.value
    assert exc.stage == "timeout" and exc.output == ["started"] and exc.seconds == 2
    assert str(exc) == "the one-off container baton-run-00000000 did not finish within 2 s and was killed"
    assert api.kinds()[-3:] == ["kill", "logs", "remove"]


def test_runner_engine_error_while_waiting_is_not_called_a_timeout():
    clock = FakeClock()
    api = FakeAPI(clock=clock, wait_error=_docker_client.docker_errors.APIError("engine went away"))
    with pytest.raises(_oneoff.OneOffFailed) as info:
        _oneoff.run_oneoff(FakeClient(api), BUSYBOX, name="baton-run-00000000", timeout=600, clock=clock)
    assert info.value.stage == "wait"
    assert "engine went away" in str(info.value)
    assert api.kinds()[-1] == "remove"


def test_runner_start_failure_removes_the_container():
    api = FakeAPI(start_error=_docker_client.docker_errors.APIError("exec: no such file"))
    with pytest.raises(_oneoff.OneOffFailed) as info:
        _oneoff.run_oneoff(FakeClient(api), BUSYBOX, command=["/nope"], name="baton-run-00000000")
    assert info.value.stage == "start" and "exec: no such file" in info.value.reason
    assert "wait" not in api.kinds()
    assert api.kinds()[-1] == "remove"


def test_runner_create_failure_has_nothing_to_remove():
    api = FakeAPI()

    def refuse(image, **kwargs):
        raise _docker_client.docker_errors.APIError("Conflict. The container name is already in use")

    api.create_container = refuse
    with pytest.raises(_oneoff.OneOffFailed) as info:
        _oneoff.run_oneoff(FakeClient(api), BUSYBOX, name="x")
    assert info.value.stage == "create"
    assert str(info.value).startswith("cannot create a one-off container x from %s: " % BUSYBOX)
    assert "remove" not in api.kinds()


def test_runner_reports_a_failed_removal_without_failing():
    api = FakeAPI(remove_error=_docker_client.docker_errors.APIError("device busy"))
    run = _oneoff.run_oneoff(FakeClient(api), BUSYBOX, name="baton-run-00000000")
    assert run["rc"] == 0
    assert run["remove_error"].startswith("cannot remove the one-off container baton-run-00000000: ")


def test_runner_log_lines_zero_reads_no_logs():
    api = FakeAPI(logs=b"ignored\n")
    run = _oneoff.run_oneoff(FakeClient(api), BUSYBOX, log_lines=0)
    assert run["output"] == [] and "logs" not in api.kinds()


@pytest.mark.parametrize("exit_code, error", [(1, None), (None, "timeout")])
def test_run_tests_keeps_its_messages(exit_code, error, monkeypatch):
    clock = FakeClock()
    api = FakeAPI(clock=clock, exit_code=exit_code or 0, logs=b"1 failed\n",
                  wait_error=Timeout("read timed out") if error else None)
    original = _oneoff.run_oneoff

    def with_clock(*args, **kwargs):
        kwargs["clock"] = clock
        return original(*args, **kwargs)

    monkeypatch.setattr(_image_build, "run_oneoff", with_clock)
    with pytest.raises(_image_build.TestsFailed) as info:
        _image_build.run_tests(FakeClient(api), IMAGE_ID, ["make", "test"], timeout=5)
    if error:
        assert str(info.value) == "the test command make test did not finish within 5 s"
        assert info.value.exit_code is None
    else:
        assert str(info.value) == "the test command make test failed with exit code 1"
        assert info.value.exit_code == 1
    assert info.value.output == ["1 failed"]
    assert api.kinds()[-1] == "remove"


# ---------------------------------------------------------------- main()

def run_main(args, monkeypatch, api=None):
    """Run main(); its DockerClient is FakeClient(api), or the test fails when api is None."""
    clients = []

    def fake_client(*a, **kw):
        if api is None:
            raise AssertionError("main() reached the engine with invalid arguments")
        clients.append(FakeClient(api))
        return clients[-1]

    monkeypatch.setattr(container_run, "DockerClient", engine_factory(fake_client))
    return call_main(container_run.main, args), clients


BASE = dict(image=BUSYBOX, command=["true"])


@pytest.mark.parametrize("args, fragment", [
    (dict(command=["true"]), "missing required arguments: image"),
    (dict(BASE, timeout="soon"), "argument 'timeout' is of type str"),
    (dict(BASE, pull="sometimes"), "value of pull must be one of: missing, always, never"),
    (dict(BASE, flavour=1), "Unsupported parameters"),
    (dict(BASE, timeout=0), "timeout must be greater than 0 (got 0)"),
    (dict(BASE, timeout=-1), "timeout must be greater than 0 (got -1)"),
    (dict(BASE, log_lines=-1), "log_lines must not be negative (got -1)"),
    (dict(BASE, api_timeout=0), "api_timeout must be greater than 0 (got 0)"),
    (dict(BASE, image="two words"), "image: 'two words' is not an image reference"),
    (dict(BASE, volumes=["data"]), "volumes: 'data': expected source:destination[:ro]"),
    (dict(BASE, volumes=["rel/dir:/x"]), "volumes: 'rel/dir:/x': the source 'rel/dir' is a relative path"),
    (dict(BASE, volumes=["/a:x"]), "volumes: '/a:x': the destination 'x' must be an absolute path"),
    (dict(BASE, volumes=["/a:/x", "/b:/x"]), "volumes: /x is mounted more than once"),
    (dict(BASE, volumes_from=["data:rx"]), "volumes_from: 'data:rx': mode must be ro or rw, not 'rx'"),
    (dict(BASE, links=["a:b:c"]), "links: 'a:b:c': expected container or container:alias"),
    (dict(BASE, links=["db0:x", "cache0:x"]), "links: alias x is used more than once"),
    (dict(BASE, env={"DEBUG": True}), "env: the value of DEBUG is a boolean"),
    (dict(BASE, env={"A=B": "x"}), "env: 'A=B' is not a valid variable name"),
    (dict(BASE, env={"A": "1"}, secret_env={"A": "2"}), "env and secret_env both set A"),
    (dict(BASE, labels={"baton.managed": "no"}), "labels: baton.managed is set by the module itself"),
    (dict(BASE, working_dir="app"), "working_dir: 'app' must be an absolute path in the container"),
    (dict(BASE, network=" "), "network: must not be empty"),
    (dict(BASE, name="bad name"), "name: 'bad name' is not a valid container name"),
    (dict(BASE, command="echo 'open"), "command: \"echo 'open\" cannot be split into arguments"),
])
def test_bad_values_fail_before_the_engine_is_contacted(args, fragment, monkeypatch):
    outcome, clients = run_main(args, monkeypatch)
    assert outcome.kind == "fail"
    assert fragment in outcome.result["msg"], outcome.result["msg"]
    assert not outcome.result.get("changed")
    assert not clients


@pytest.mark.parametrize("args, message", [
    (dict(BASE, volumes_from=["data"]), "volumes_from: there is no container called data"),
    (dict(BASE, links=["db0:db"]), "links: there is no container called db0"),
    (dict(BASE, links=["stopped:db"]), "links: container stopped is not running; a link needs a running container"),
    (dict(BASE, network="backend"), "network: there is no Docker network called backend"),
    (dict(BASE, name="taken"), "name: a container called taken already exists"),
    (dict(BASE, image="baton-base/absent:v1", pull="never"), "image: baton-base/absent:v1 is not present locally and pull is never"),
])
@pytest.mark.parametrize("check_mode", [False, True])
def test_engine_checks_fail_before_anything_runs(args, message, check_mode, monkeypatch):
    api = FakeAPI(containers={"stopped": {"Name": "/stopped", "State": {"Running": False}},
                              "taken": {"Name": "/taken", "State": {"Running": True}}})
    outcome, clients = run_main(dict(args, _ansible_check_mode=check_mode), monkeypatch, api)
    if check_mode and "there is no container called" in message:
        # a check run only warns: an earlier task of the same run may create the container
        assert outcome.kind == "exit", outcome.result
        assert outcome.result["ran"] is False and "create" not in api.kinds()
        return
    assert outcome.kind == "fail"
    assert outcome.result["msg"] == message
    assert outcome.result["changed"] is False and outcome.result["ran"] is False
    assert "create" not in api.kinds()
    assert clients[0].closed


def test_check_mode_creates_nothing(monkeypatch):
    api = FakeAPI(image_config={"Entrypoint": ["/entry"], "Cmd": ["serve"]})
    outcome, _clients = run_main(dict(BASE, command=None, name="baton-run-feedf00d", _ansible_check_mode=True),
                                 monkeypatch, api)
    assert outcome.kind == "exit", outcome.result
    result = outcome.result
    assert result["changed"] is True and result["ran"] is False
    assert result["command"] == ["/entry", "serve"] and result["image_id"] == IMAGE_ID
    assert result["msg"] == "check mode: would run /entry serve in a one-off container baton-run-feedf00d of %s" % BUSYBOX
    assert api.calls == []


def test_success_returns_rc_output_and_seconds(monkeypatch):
    api = FakeAPI(logs=b"migrated 3\n")
    outcome, _clients = run_main(dict(BASE, command="rake db:migrate", env={"RAILS_ENV": "production"},
                                      secret_env={"DB_PASSWORD": "pw"}), monkeypatch, api)
    assert outcome.kind == "exit", outcome.result
    result = outcome.result
    assert result["changed"] is True and result["ran"] is True
    assert result["rc"] == 0 and result["output"] == ["migrated 3"] and result["pulled"] is False
    assert re.match(r"^baton-run-[0-9a-f]{8}$", result["container"])
    assert result["msg"].startswith("rake db:migrate in %s exited with code 0 after " % BUSYBOX)
    create = [c for c in api.calls if c[0] == "create"][0]
    assert create[1] == BUSYBOX
    assert create[2]["environment"] == ["DB_PASSWORD=pw", "RAILS_ENV=production"]
    assert create[2]["labels"] == {"baton.managed": "true", "baton.oneoff": "true"}
    assert create[2]["name"] == result["container"]


def test_nonzero_exit_fails_naming_image_command_code_and_output(monkeypatch):
    api = FakeAPI(exit_code=2, logs=b"rake aborted!\nPG::ConnectionBad\n")
    outcome, _clients = run_main(dict(BASE, command=["rake", "db:migrate"], name="baton-run-0000beef"), monkeypatch, api)
    assert outcome.kind == "fail"
    result = outcome.result
    assert result["rc"] == 2 and result["changed"] is True and result["ran"] is True
    assert result["output"] == ["rake aborted!", "PG::ConnectionBad"]
    assert result["msg"].startswith("rake db:migrate in %s exited with code 2 after " % BUSYBOX)
    assert result["msg"].endswith("(container baton-run-0000beef); last 2 line(s) of output:\nrake aborted!\nPG::ConnectionBad")
    assert api.kinds()[-1] == "remove"


def test_silent_failure_says_it_printed_nothing(monkeypatch):
    api = FakeAPI(exit_code=1, logs=b"")
    outcome, _clients = run_main(dict(BASE, command=["false"]), monkeypatch, api)
    assert outcome.kind == "fail"
    assert outcome.result["msg"].endswith("; it printed nothing")


def test_failed_removal_is_a_warning(monkeypatch):
    api = FakeAPI(remove_error=_docker_client.docker_errors.APIError("device busy"))
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, text: warnings.append(text))
    outcome, _clients = run_main(dict(BASE, name="baton-run-0000beef"), monkeypatch, api)
    assert outcome.kind == "exit"
    assert len(warnings) == 1 and warnings[0].startswith("cannot remove the one-off container baton-run-0000beef")

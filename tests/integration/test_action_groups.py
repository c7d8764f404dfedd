"""module_defaults for each action group of meta/runtime.yml reach every module of the group.

One play sets, per group, the backend's endpoint: for Docker and HAProxy a unix socket path that does not exist, on
which every module of the group must fail naming it; for AWS a local HTTP endpoint that records each request (with
the access key and region its signature names) and refuses it. Every module of a group must accept the options (no
"Unsupported parameters"), and its failure shows the values came from module_defaults. Each task gives a module only
what it needs to get as far as its backend."""

import http.server
import os
import threading
import zipfile

import pytest
import yaml

from tests.support.ansible import ROOT, run_playbook

DOCKER_HOST = "unix:///nonexistent/baton-group-docker.sock"
HAPROXY_SOCKET = "/nonexistent/baton-group-haproxy.sock"
ACCESS_KEY = "AKIAEXAMPLEGROUP"
REGION = "eu-west-3"
IMAGE = "baton-base/busybox:latest"


class _Refusing(http.server.BaseHTTPRequestHandler):
    """Records each AWS request's signature and answers it with an error AWS does not retry."""

    def _refuse(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.seen.append(self.headers.get("Authorization", ""))
        body = b'{"__type": "AccessDeniedException", "message": "refused by the action group test"}'
        self.send_response(403)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = _refuse

    def log_message(self, *args):
        pass


@pytest.fixture
def aws_endpoint():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _groups():
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        return yaml.safe_load(handle)["action_groups"]


def _tasks(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    (source / "Dockerfile").write_text("FROM %s\n" % IMAGE)
    bundle = tmp_path / "bundle.zip"
    with zipfile.ZipFile(str(bundle), "w") as archive:
        archive.writestr("Dockerrun.aws.json", '{"AWSEBDockerrunVersion": "1"}')
    state_dir = str(tmp_path / "state")
    return {
        "docker": {
            "container_info": {},
            "container_run": {"image": IMAGE, "command": ["true"]},
            "container_swap": {"name": "baton-group-slot", "image": IMAGE},
            "data_volume": {"name": "baton-group-data"},
            "image_pull": {"image": IMAGE},
            "image_release": {"repository": "baton-group/app", "source": str(source), "tag": "git_0"},
            "registry_login": {"registry": "127.0.0.1:9", "username": "deploy", "password": "not-a-secret"},
            "release_cleanup": {"app": "baton-group", "state_dir": state_dir},
            "rollout": {"app": "baton-group", "image": IMAGE, "state_dir": state_dir,
                        "units": [{"name": "baton-group-master"}]},
        },
        "haproxy": {
            "haproxy_backend": {"backend": "app", "server": "master", "state": "ready"},
            "haproxy_server_state": {"path": str(tmp_path / "server-state")},
        },
        "aws": {
            "ecr_tag_exists": {"repository": "shop", "tag": "v1"},
            "eb_deploy": {"application": "shop", "bucket": "shop-bundles", "bundle": str(bundle),
                          "environment": "shop-prod", "version_label": "v1"},
            "registry_login": {"ecr": True},
        },
    }


def test_module_defaults_of_each_group_reach_every_module_of_it(tmp_path, aws_endpoint):
    groups = _groups()
    tasks = _tasks(tmp_path)
    assert {group: sorted(members) for group, members in groups.items()} == \
        {group: sorted(calls) for group, calls in tasks.items()}
    state_dir = tasks["docker"]["release_cleanup"]["state_dir"]
    play_tasks = [{
        # a record for release_cleanup to clean up after, so that it goes to the engine
        "name": "record a release", "baton.docker.release_record": {
            "path": os.path.join(state_dir, "baton-group.json"), "app": "baton-group",
            "release": {"version": "v1", "image": IMAGE, "image_id": "sha256:" + "0" * 64}},
    }]
    for group, calls in tasks.items():
        for module, args in calls.items():
            play_tasks.append({"name": "%s %s" % (group, module), "baton.docker." + module: args,
                               "ignore_errors": True})
    play = [{
        "hosts": "localhost", "gather_facts": False,
        "module_defaults": {
            "group/baton.docker.docker": {"docker_host": DOCKER_HOST, "api_timeout": 7},
            "group/baton.docker.haproxy": {"socket": HAPROXY_SOCKET, "socket_timeout": 3},
            "group/baton.docker.aws": {"region": REGION, "endpoint_url": "http://127.0.0.1:%d" % aws_endpoint.server_port,
                                       "access_key": ACCESS_KEY, "secret_key": "example-group-secret"},
        },
        "tasks": play_tasks,
    }]
    run = run_playbook(play)
    assert run.result("record a release").get("failed") is not True, run.output[-3000:]
    endpoint = {"docker": DOCKER_HOST, "haproxy": HAPROXY_SOCKET, "aws": "refused by the action group test"}
    for group, calls in tasks.items():
        for module in calls:
            result = run.result("%s %s" % (group, module))
            message = result.get("msg", "")
            assert result.get("failed") is True, (group, module, result)
            assert "Unsupported parameters" not in message, (group, module, message)
            assert endpoint[group] in message, (group, module, message)
    # each AWS module signed its requests with the group's access key, for the group's region
    assert len(aws_endpoint.seen) >= len(tasks["aws"]), aws_endpoint.seen
    for authorization in aws_endpoint.seen:
        assert "Credential=%s/" % ACCESS_KEY in authorization and "/%s/" % REGION in authorization, authorization

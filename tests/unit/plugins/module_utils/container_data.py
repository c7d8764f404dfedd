"""Inspect data the container settings tests share.

IMAGE_V1 / IMAGE_V2 are the Config blocks of ``docker image inspect`` of the
demo images (scripts/build_images.sh); CONTAINER_V1 is ``docker inspect`` of a
container the engine (20.10) created from v1 with env FOO, a published port,
a bind mount, restart policy unless-stopped and a stop timeout (no hostname
given: the engine set the ID's first 12 characters); CARRIED_V1 is its explicit
config.
"""

import copy

HEALTH_TEST = ["CMD", "python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"]
IMAGE_HEALTH = {"Test": HEALTH_TEST, "Interval": 2000000000, "Timeout": 2000000000,
                "StartPeriod": 1000000000, "Retries": 3}
IMAGE_V1 = {
    "Cmd": ["python3", "/app/server.py"],
    "Entrypoint": None,
    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONUNBUFFERED=1",
            "APP_NAME=demo", "APP_VERSION=v1", "APP_BROKEN=", "APP_PORT=8000"],
    "Healthcheck": IMAGE_HEALTH,
    "Labels": {"baton.source-sha": "eec1848c8e6f491f"},
}
IMAGE_V2 = dict(IMAGE_V1, Env=[e.replace("APP_VERSION=v1", "APP_VERSION=v2") for e in IMAGE_V1["Env"]])

CONTAINER_V1 = {
    "Id": "6278238f84afd9d961c69a87f3f4536cf9e4535d0e9dfe33c6f2e74ac380d470",
    "Name": "/app-a",
    "Image": "sha256:bd6c94ae805ab4aad4d42e5d84232174fa4cb23e7b39914752dec54e1bfcb99c",
    "State": {"Status": "running", "Running": True, "Restarting": False},
    "Config": {
        "Env": ["FOO=bar", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONUNBUFFERED=1",
                "APP_NAME=demo", "APP_VERSION=v1", "APP_BROKEN=", "APP_PORT=8000"],
        "Cmd": ["python3", "/app/server.py"],
        "Entrypoint": None,
        "Healthcheck": IMAGE_HEALTH,
        "Hostname": "6278238f84af",
        "Domainname": "",
        "Image": "baton-demo/app:v1",
        "Labels": {"baton.source-sha": "eec1848c8e6f491f", "baton.test": "1", "baton.managed": "true",
                   "baton.slot": "app-a", "baton.image": "baton-demo/app:v1"},
        "StopTimeout": 5,
    },
    "HostConfig": {
        "Binds": ["/srv/data:/data:ro"],
        "PortBindings": {"8000/tcp": [{"HostIp": "", "HostPort": "8081"}]},
        "RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0},
        "NetworkMode": "default",
        "VolumesFrom": None,
        "Links": None,
    },
    "NetworkSettings": {"Networks": {"bridge": {"Links": None, "IPAddress": "172.17.0.2"}}},
}

CARRIED_V1 = dict(env={"FOO": "bar"}, labels={"baton.test": "1"}, ports=["8081:8000/tcp"], volumes=["/srv/data:/data:ro"],
                  restart_policy="unless-stopped", restart_retries=0, command=None, entrypoint=None, network=None,
                  stop_timeout=5, healthcheck=None, volumes_from=[], links=[], hostname=None)


def container(**changes):
    """CONTAINER_V1 with Config / HostConfig keys replaced."""
    attrs = copy.deepcopy(CONTAINER_V1)
    for key, value in changes.items():
        section, field = key.split("__", 1)
        attrs[section][field] = value
    return attrs


# One value other than the first-deploy default for every container setting, in explicit form: what the settings
# table tests and the round trip on the real engine (tests/integration/test_container_settings.py) walk.
NON_DEFAULT = dict(
    env={"BATON_SETTING": "on"},
    labels={"baton.test.setting": "on"},
    ports=["127.0.0.1::8000/tcp"],
    volumes=["/srv:/mnt/srv:ro"],
    restart_policy="always",
    restart_retries=3,
    command=["sleep", "300"],
    entrypoint=["/bin/sh", "-c", "exec \"$@\"", "entry"],
    network="host",
    stop_timeout=7,
    healthcheck=dict(test=["CMD", "true"], interval=5000000000, timeout=3000000000, retries=2,
                     start_period=1000000000),
    volumes_from=["baton-settings-source:ro"],
    links=["baton-settings-target:peer"],
    hostname="baton-setting.example",
)

"""A fleet lab reached over real SSH: N application hosts and two load balancer hosts in an Ansible inventory, all
served by sshd processes of the lab's own, for tests and benchmarks of releases that roll out over many hosts.

What ``FleetLab(workdir, hosts=N).start()`` builds, everything under ``workdir`` and on this machine:

- **sshd**: its own ``/usr/sbin/sshd -D -e -f <lab>/ssh/sshd<K>_config`` (not the system service; one process per 16
  inventory hosts, sshd's limit of listen sockets), with an ed25519 host key and a client key generated in the lab
  dir, key-only root login (``AuthorizedKeysFile`` in the lab dir, no PAM, no password), listening on one free port on
  one loopback address per inventory host: ``h01..hNN`` on 127.0.10.1.., ``lb0``/``lb1`` on 127.0.11.1/2 (one
  address with a port per host where 127.x addresses do not bind). Stopped by PID.
- **inventory** (``lab.inventory``, ``<lab>/inventory.yml``): group ``app`` (h01..hNN) and group ``lb`` (lb0, lb1),
  every host reached with the ssh connection as root with the client key, host keys not checked, the Python of the
  test run as interpreter (it has the Docker SDK). Each app host carries the ``baton.docker.rollout`` role's
  variables: its own app name ``<app>-hNN`` (container names, release record), the ONE backend ``<app>`` shared on
  both load balancers with its servers ``hNN_master``/``hNN_backup``, its own slot ports on 127.0.0.1, its own state
  dir ``<lab>/hosts/hNN/state``, both load balancers' admin sockets, labels marking the lab's containers, and fast
  health and drain settings. Each lb host has ``release_state_dir`` = ``<lab>/lbN/baton`` (where a fleet lock and
  audit live). Group ``all``: ``release_app``, ``rollout_image`` = ``<registry>/fleet/app``,
  ``release_lock_host: lb0``, and the registry credentials the rollout pulls with (``rollout_pull: always``).
- **two HAProxy processes** (``lab.lbs``: lb0, lb1), each a frontend on a free port and the backend ``<app>`` with
  ``hNN_master`` and ``hNN_backup`` (backup flag) for every host, health checks every second, and an admin socket.
- **a registry** of its own (tests/support/registry.py) holding the lab's own copies of ``baton-demo/app:v1/v2/v3``
  (``baton-fleet/app:v1``..., one label more: image IDs no other test's container runs) as
  ``<registry>/fleet/app:v1``... (its storage copied from a cached seed, tests/support/registry.seed_storage: the
  layers are pushed once per image build, not at every start); ``lab.push(tag, source_tag)`` re-points a tag through
  a real push, ``lab.digest(tag)`` reads its manifest digest from the registry.

Then ``lab.deploy_initial("v1")`` runs the rollout role on every app host at once (forks >= hosts) and waits until
every server is UP on both load balancers; ``lab.under_load(action)`` runs an action under paced load through both
frontends; ``lab.run(playbook, extra_vars)`` runs any playbook on the lab's inventory; ``lab.teardown()`` (or leaving
the ``with`` block) removes the lab's containers and image tags and stops sshd, HAProxy and the registry by PID.

The session fixture ``fleet_lab`` (tests/integration/conftest.py) gives each pytest-xdist worker one started lab.
"""

import base64
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import docker
import yaml

from ansible_collections.baton.docker.plugins.module_utils._haproxy_client import HAProxyError, HAProxyRuntime
from bench.loadgen import under_load as _under_load

from . import secrets
from .ansible import ROOT, run_playbook
from .haproxy import HAProxyProcess, render_config
from .lab import descendants
from .net import free_port, wait_for_port
from .registry import Registry, seed_storage

SSHD = "/usr/sbin/sshd"
MAX_LISTEN_SOCKS = 16  # OpenSSH's limit of listen sockets per sshd
SOURCE = "baton-demo/app"  # the images `make images` builds
LAB_IMAGE = "baton-fleet/app"  # the lab's own copies of them (see FleetLab._build_images)
REPOSITORY = "fleet/app"
TAGS = ("v1", "v2", "v3")
LABEL = "baton.fleet"
ROLE_PLAY_TASK = "Roll the release out to this host's master and backup"


def loopback_aliases_work():
    """Whether 127.x addresses other than 127.0.0.1 can be bound here (Linux routes all of 127.0.0.0/8 to lo)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.10.1", 0))
        return True
    except OSError:
        return False


def container_env(container):
    """A container's environment as a dict (its Config.Env entries split at the first =)."""
    return dict(item.split("=", 1) for item in container.attrs["Config"].get("Env") or [] if "=" in item)


class FleetLab:
    """N application hosts and two load balancer hosts, reached over the lab's own sshd (see the module docstring)."""

    def __init__(self, workdir, hosts=10, app=None, tags=TAGS, connections=2):
        if not 1 <= hosts <= 250:
            raise ValueError("hosts must be between 1 and 250, not %r" % (hosts,))
        self.workdir = os.path.abspath(str(workdir))
        self.app = app or "fl%s" % uuid.uuid4().hex[:8]
        self.tags = tuple(tags)
        self.connections = connections
        self.names = ["h%02d" % number for number in range(1, hosts + 1)]
        self.lb_names = ["lb0", "lb1"]
        self.forks = hosts + len(self.lb_names)
        aliases = loopback_aliases_work()
        self.ssh_port = free_port()
        # inventory host -> (address, port) sshd listens on for it
        self.endpoints = {}
        for index, name in enumerate(self.names, 1):
            self.endpoints[name] = ("127.0.10.%d" % index, self.ssh_port) if aliases else ("127.0.0.1", free_port())
        for index, name in enumerate(self.lb_names, 1):
            self.endpoints[name] = ("127.0.11.%d" % index, self.ssh_port) if aliases else ("127.0.0.1", free_port())
        self.ports = {name: {"master": free_port(), "backup": free_port()} for name in self.names}
        self.ssh_dir = os.path.join(self.workdir, "ssh")
        self.client_key = os.path.join(self.ssh_dir, "client_ed25519")
        self.inventory = os.path.join(self.workdir, "inventory.yml")
        self.docker = docker.from_env()
        self.registry = None
        self.lbs = []
        self.sshds = []
        self.timings = {}

    # -- paths ------------------------------------------------------------------------------
    def host_dir(self, name):
        return os.path.join(self.workdir, "hosts", name)

    def state_dir(self, name):
        return os.path.join(self.host_dir(name), "state")

    def baton_dir(self, lb_index):
        return os.path.join(self.workdir, "lb%d" % lb_index, "baton")

    def host_app(self, name):
        return "%s-%s" % (self.app, name)

    def ref(self, tag):
        return "%s/%s:%s" % (self.registry.address, REPOSITORY, tag)

    # -- start / stop -----------------------------------------------------------------------
    def start(self):
        started = time.monotonic()
        os.makedirs(self.workdir, exist_ok=True)
        try:
            self._start_sshd()
            self._start_lbs()
            self._build_images()
            self._start_registry()
            self._write_inventory()
        except BaseException:
            self.teardown()
            raise
        self.timings["start"] = round(time.monotonic() - started, 2)
        return self

    def stop(self):
        self.teardown()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.teardown()
        return False

    def _start_sshd(self):
        os.makedirs(self.ssh_dir, mode=0o700, exist_ok=True)
        host_key = os.path.join(self.ssh_dir, "host_ed25519")
        for path, comment in ((host_key, "fleet-lab-host"), (self.client_key, "fleet-lab-client")):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        shutil.copyfile(self.client_key + ".pub", os.path.join(self.ssh_dir, "authorized_keys"))
        # sshd's privilege separation directory; the packaged service creates it, the lab's own sshd needs it too.
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        listen = sorted(set(self.endpoints.values()))
        # One sshd listens on at most 16 sockets (MAX_LISTEN_SOCKS): a larger fleet gets one sshd per 16 hosts.
        for number, first in enumerate(range(0, len(listen), MAX_LISTEN_SOCKS)):
            self._start_one_sshd(number, listen[first:first + MAX_LISTEN_SOCKS], host_key)

    def _start_one_sshd(self, number, listen, host_key):
        base = os.path.join(self.ssh_dir, "sshd%d" % number)
        config, log_path = base + "_config", base + ".log"
        lines = ["ListenAddress %s:%d" % endpoint for endpoint in listen] + [
            "HostKey %s" % host_key,
            "PidFile %s.pid" % base,
            "AuthorizedKeysFile %s" % os.path.join(self.ssh_dir, "authorized_keys"),
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            # Every fork of a run opens its connections at once: do not drop unauthenticated ones past the default 10.
            "MaxStartups 500",
            "MaxSessions 100",
            "PrintMotd no",
            "UseDNS no",
            "X11Forwarding no",
            "Subsystem sftp internal-sftp",
            "LogLevel ERROR",
        ]
        with open(config, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        check = subprocess.run([SSHD, "-t", "-f", config], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True, check=False)
        if check.returncode != 0:
            raise RuntimeError("sshd rejects %s:\n%s" % (config, check.stdout))
        log = open(log_path, "ab")
        try:
            proc = subprocess.Popen([SSHD, "-D", "-e", "-f", config], stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            log.close()
        self.sshds.append(proc)
        for address, port in listen:
            if proc.poll() is not None:
                break
            wait_for_port(port, host=address, timeout=15)
        if proc.poll() is not None:
            with open(log_path) as handle:
                raise RuntimeError("sshd exited with %s:\n%s" % (proc.returncode, handle.read()[-3000:]))

    def _start_lbs(self):
        servers = []
        for name in self.names:
            servers.append(dict(name="%s_master" % name, port=self.ports[name]["master"]))
            servers.append(dict(name="%s_backup" % name, port=self.ports[name]["backup"], options="backup"))
        for index in range(len(self.lb_names)):
            lbdir = os.path.join(self.workdir, "lb%d" % index)
            os.makedirs(os.path.join(lbdir, "baton"), exist_ok=True)
            frontend = free_port()
            socket_path = os.path.join(lbdir, "admin.sock")
            config = render_config(frontend, servers, socket_path, backend=self.app, check_inter="1s")
            proc = HAProxyProcess(lbdir, config).start()
            self.lbs.append(dict(name=self.lb_names[index], frontend=frontend, socket=socket_path, proc=proc,
                                 url="http://127.0.0.1:%d/" % frontend))

    def _start_registry(self):
        regdir = os.path.join(self.workdir, "registry")
        os.makedirs(regdir, exist_ok=True)
        seed_storage(os.path.join(regdir, "data"), {"%s:%s" % (REPOSITORY, tag): self.source(tag)
                                                    for tag in self.tags}, client=self.docker)
        self.registry = Registry(regdir, password=secrets.REGISTRY_PASSWORD).start()

    def _build_images(self):
        """The lab's own image of each tag: the demo image with one label more, so that no container outside the lab
        (other tests on the same engine) runs an image ID the lab's releases run: a release cleanup rightly keeps an
        image any container uses. A label on top of an unchanged image comes from the build cache: the same ID."""
        for tag in self.tags:
            dockerfile = "FROM %s:%s\nLABEL baton.fleet.image=%s\n" % (SOURCE, tag, tag)
            self.docker.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=self.source(tag), rm=True)

    def source(self, tag):
        """The lab's local image of ``tag`` (what the registry's ``fleet/app:<tag>`` starts as)."""
        return "%s:%s" % (LAB_IMAGE, tag)

    def _write_inventory(self):
        document = self.inventory_data()
        secrets.register_input(self.inventory)
        fd = os.open(self.inventory, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            yaml.safe_dump(document, handle, sort_keys=False)
        with open(self.inventory) as handle:
            secrets.record_uses_in(handle.read())  # the registry password the hosts pull with

    # -- inventory --------------------------------------------------------------------------
    def connection_vars(self, name):
        address, port = self.endpoints[name]
        return {
            "ansible_host": address,
            "ansible_port": port,
            "ansible_user": "root",
            "ansible_ssh_private_key_file": self.client_key,
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
            "ansible_python_interpreter": sys.executable,
        }

    def host_vars(self, name):
        variables = self.connection_vars(name)
        variables.update({
            "rollout_app": self.host_app(name),
            "rollout_haproxy_backend": self.app,
            "rollout_haproxy_server_prefix": name,
            "rollout_master_port": self.ports[name]["master"],
            "rollout_backup_port": self.ports[name]["backup"],
            "rollout_bind_address": "127.0.0.1",
            "rollout_state_dir": self.state_dir(name),
            "rollout_load_balancers": [{"socket": lb["socket"]} for lb in self.lbs],
        })
        return variables

    def inventory_data(self):
        common = {
            "release_app": self.app,
            "release_lock_host": "lb0",
            "rollout_image": "%s/%s" % (self.registry.address, REPOSITORY),
            "rollout_pull": "always",
            "rollout_pull_auth": {"username": self.registry.username, "password": self.registry.password},
            "rollout_container_port": 8000,
            "rollout_labels": {"baton.test": "1", LABEL: self.app},
            "rollout_stop_timeout": 5,
            # The image's own healthcheck execs a Python in every container every 2 s: with 2N slots on one small
            # machine that alone takes a core. The rollout gates on its HTTP probe, HAProxy on its checks.
            "rollout_healthcheck": {"test": ["NONE"]},
            # 20 containers start at once on a busy machine: up to 30 s for each to answer its first probe
            "rollout_health_retries": 150,
            "rollout_drain_timeout": 20,
            "rollout_up_timeout": 20,
            "rollout_lock_timeout": 30,
        }
        lbs = {}
        for index, name in enumerate(self.lb_names):
            lbs[name] = dict(self.connection_vars(name), release_state_dir=self.baton_dir(index))
        return {"all": {"vars": common, "children": {
            "app": {"hosts": {name: self.host_vars(name) for name in self.names}},
            "lb": {"hosts": lbs},
        }}}

    # -- images -----------------------------------------------------------------------------
    def _auth(self):
        return {"username": self.registry.username, "password": self.registry.password}

    def push(self, tag, source_tag):
        """Point ``<registry>/fleet/app:<tag>`` at the lab's image of ``source_tag`` and push it; its digest."""
        ref = self.ref(tag)
        self.docker.images.get(self.source(source_tag)).tag(ref)
        for line in self.docker.api.push(ref, auth_config=self._auth(), stream=True, decode=True):
            if "error" in line:
                raise RuntimeError("pushing %s: %s" % (ref, line["error"]))
        return self.digest(tag)

    def digest(self, tag):
        """The manifest digest the registry serves for ``tag`` (its Docker-Content-Digest)."""
        request = urllib.request.Request(
            "http://%s/v2/%s/manifests/%s" % (self.registry.address, REPOSITORY, tag), method="HEAD",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json",
                     "Authorization": "Basic " + base64.b64encode(
                         ("%s:%s" % (self.registry.username, self.registry.password)).encode()).decode()})
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.headers["Docker-Content-Digest"]

    # -- actions ----------------------------------------------------------------------------
    def run(self, playbook, extra_vars=None, limit=None, forks=None, args=(), **kwargs):
        """ansible-playbook on the lab's inventory (``playbook``: a path, relative to the repository root or absolute,
        or a list of plays), with forks enough for every host at once. A PlaybookRun."""
        if isinstance(playbook, str) and not os.path.isabs(playbook):
            playbook = os.path.join(ROOT, playbook)
        args = ["--forks", str(forks or self.forks)] + list(args)
        return run_playbook(playbook, extra_vars=extra_vars, inventory=self.inventory, limit=limit, args=args,
                            **kwargs)

    def deploy_initial(self, version="v1", timeout=60):
        """Every app host to ``version`` through the rollout role, all hosts at once; waits until every server is UP on
        both load balancers. The PlaybookRun."""
        started = time.monotonic()
        play = [{"name": "initial release", "hosts": "app", "gather_facts": False,
                 "roles": [{"role": "baton.docker.rollout"}]}]
        run = self.run(play, extra_vars={"version": version})
        if run.rc != 0:
            raise AssertionError("initial rollout of %s failed (rc %s):\n%s" % (version, run.rc, run.output[-4000:]))
        self.wait_all_up(timeout)
        self.timings["deploy_initial"] = round(time.monotonic() - started, 2)
        return run

    def under_load(self, action, connections=None, settle=1.0, after=0.5):
        """``action()`` under paced load through both frontends (``connections`` per frontend): (its outcome, the
        load summary: total, failed, failures, p50_ms, p99_ms, bodies)."""
        return _under_load([lb["url"] for lb in self.lbs], action, connections=connections or self.connections,
                           settle=settle, after=after)

    # -- observations -----------------------------------------------------------------------
    def server_stats(self, lb_index=0):
        """The backend's servers on one load balancer, by name: their ``show stat`` rows, read with the collection's
        runtime client."""
        rows = HAProxyRuntime(self.lbs[lb_index]["socket"], timeout=5.0).show_stat(self.app)
        return {row["svname"]: row for row in rows}

    def statuses(self):
        """Per load balancer, every server's status ({name: status})."""
        return [{name: row["status"] for name, row in self.server_stats(index).items()} for index in range(len(self.lbs))]

    def wait_all_up(self, timeout=60):
        """Wait until all 2 * hosts servers are UP on every load balancer."""
        deadline = time.monotonic() + timeout
        views = None
        while time.monotonic() < deadline:
            try:
                views = self.statuses()
            except HAProxyError:
                views = None
            if views and all(len(view) == 2 * len(self.names) and set(view.values()) == {"UP"} for view in views):
                return views
            time.sleep(0.2)
        raise AssertionError("not every server UP on both load balancers within %ss: %s" % (
            timeout, [{n: s for n, s in (view or {}).items() if s != "UP"} for view in (views or [])]))

    def slot_name(self, host, role):
        return "%s-%s" % (self.host_app(host), role)

    def container(self, host, role):
        try:
            return self.docker.containers.get(self.slot_name(host, role))
        except docker.errors.NotFound:
            return None

    def slot_version(self, host, role):
        """The demo build a slot runs (its container's APP_VERSION), None when the slot has no container."""
        container = self.container(host, role)
        if container is None:
            return None
        return container_env(container).get("APP_VERSION")

    def versions(self):
        """{host: (master's version, backup's version)} over the fleet."""
        return {name: (self.slot_version(name, "master"), self.slot_version(name, "backup")) for name in self.names}

    def record(self, host):
        """The host's release record (``<state_dir>/<app>-hNN.json``)."""
        with open(os.path.join(self.state_dir(host), "%s.json" % self.host_app(host))) as handle:
            return json.load(handle)

    def containers(self):
        return self.docker.containers.list(all=True, filters={"label": "%s=%s" % (LABEL, self.app)})

    # -- teardown ---------------------------------------------------------------------------
    def _remove_container(self, name):
        try:
            self.docker.containers.get(name).remove(force=True)
        except docker.errors.NotFound:
            pass

    def teardown(self):
        """Remove the lab's containers (by label and by slot name) and image tags; stop sshd, HAProxy and the
        registry by PID. Safe to call more than once."""
        names = {container.name for container in self.containers()}
        names.update(self.slot_name(name, role) + suffix for name in self.names for role in ("master", "backup")
                     for suffix in ("", ".baton-previous"))
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(self._remove_container, sorted(names)))
        if self.registry is not None:
            for image in self.docker.images.list(name="%s/%s" % (self.registry.address, REPOSITORY)):
                for ref in image.tags:
                    if ref.startswith(self.registry.address + "/"):
                        try:
                            self.docker.images.remove(ref, noprune=True)
                        except docker.errors.APIError:
                            pass
            self.registry.stop()
        for lb in self.lbs:
            lb["proc"].stop()
        self.lbs = []
        for proc in self.sshds:
            if proc.poll() is None:
                # the per-connection sshd processes (ssh clients' ControlPersist masters keep them open) go first
                for pid in descendants(proc.pid):
                    try:
                        os.kill(pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.sshds = []

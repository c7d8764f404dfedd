"""A second Docker engine that a test starts, restarts and stops itself, beside the machine's own (never touched).

It has its own data root (optionally on a small loop-mounted ext4 filesystem, to run out of space for real), exec
root, pid file, unix socket, containerd namespace and Linux bridge in an unused private subnet. It leaves iptables
alone (--iptables=false): ports published on 127.0.0.1 are served by the userland proxy. ``stop`` removes every
trace: processes by PID, mounts, the loop device, the bridge and the directories."""

import ipaddress
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

import docker


def _run(*cmd):
    return subprocess.run(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=True)


def _used_networks():
    """Every IPv4 network this host has an address or a route in."""
    found = []
    for line in _run("ip", "-4", "-o", "addr", "show").stdout.splitlines() + _run("ip", "-4", "route").stdout.splitlines():
        for word in line.split():
            if "/" in word and word[0].isdigit():
                try:
                    found.append(ipaddress.ip_network(word, strict=False))
                except ValueError:
                    pass
    return found


def _free_subnet():
    used = _used_networks()
    for _attempt in range(200):
        candidate = ipaddress.ip_network("10.%d.%d.0/24" % (200 + os.urandom(1)[0] % 50, os.urandom(1)[0]))
        if not any(candidate.overlaps(net) for net in used):
            return candidate
    raise AssertionError("no free private /24 for the test engine's bridge")


def _mounts_under(path):
    """Mount points at or below ``path``, deepest first."""
    found = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            point = line.split()[4].replace("\\040", " ")
            if point == path or point.startswith(path.rstrip("/") + "/"):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def _pids_mentioning(text):
    """PIDs of processes whose command line mentions ``text`` (this engine's own directories)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                cmdline = handle.read().decode("utf-8", "replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry))
    return found


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


class DockerEngine:
    """``DockerEngine(disk_mb=...)``: data root on a loop-mounted filesystem of that size (None: a plain directory)."""

    def __init__(self, disk_mb=None, tls=None):
        """``tls``: (port, CA file, server certificate, server key) to listen on 127.0.0.1:port as well, with
        ``--tlsverify`` (clients need a certificate of that CA)."""
        self.disk_mb = disk_mb
        self.tls = tls
        self.root = tempfile.mkdtemp(prefix="baton-engine-")
        self.tag = uuid.uuid4().hex[:8]
        self.data_root = os.path.join(self.root, "data")
        self.exec_root = os.path.join(self.root, "exec")
        self.pidfile = os.path.join(self.root, "docker.pid")
        self.socket = os.path.join(self.root, "docker.sock")
        self.url = "unix://" + self.socket
        self.log_path = os.path.join(self.root, "dockerd.log")
        self.bridge = "bt" + self.tag
        self.loop = None
        self.proc = None
        self.live_restore = False
        self.subnet = None

    # ------------------------------------------------------------ set up

    def setup(self, live_restore=False):
        os.makedirs(self.data_root)
        if self.disk_mb:
            image = os.path.join(self.root, "disk.img")
            _run("truncate", "-s", "%dM" % self.disk_mb, image)
            # No blocks reserved for root: the engine runs as root, so "full" must mean full for it too.
            _run("mkfs.ext4", "-q", "-m", "0", "-E", "lazy_itable_init=0,lazy_journal_init=0", image)
            self.loop = _run("losetup", "--find", "--show", image).stdout.strip()
            _run("mount", self.loop, self.data_root)
        self.subnet = _free_subnet()
        _run("ip", "link", "add", self.bridge, "type", "bridge")
        _run("ip", "addr", "add", "%s/%d" % (self.subnet.network_address + 1, self.subnet.prefixlen), "dev", self.bridge)
        _run("ip", "link", "set", self.bridge, "up")
        self.start(live_restore)
        return self

    def command(self):
        cmd = ["dockerd", "--data-root", self.data_root, "--exec-root", self.exec_root, "--pidfile", self.pidfile,
               "--host", self.url, "--bridge", self.bridge, "--iptables=false", "--ip-forward=false",
               "--ip-masq=false", "--userland-proxy=true", "--storage-driver", "overlay2",
               "--containerd-namespace", "baton-" + self.tag, "--containerd-plugins-namespace", "baton-plugins-" + self.tag]
        if self.live_restore:
            cmd.append("--live-restore")
        if self.tls:
            port, ca, cert, key = self.tls
            cmd += ["--host", "tcp://127.0.0.1:%d" % port, "--tlsverify", "--tlscacert", ca, "--tlscert", cert,
                    "--tlskey", key]
        return cmd

    def start(self, live_restore=None, timeout=20):
        if live_restore is not None:
            self.live_restore = live_restore
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("the test engine exited (%s) at start:\n%s" % (self.proc.returncode, self.log_tail()))
            if self.answers():
                return self
            time.sleep(0.05)
        raise AssertionError("the test engine does not answer on %s after %ss:\n%s" % (self.url, timeout, self.log_tail()))

    def answers(self):
        try:
            client = docker.DockerClient(base_url=self.url, timeout=2)
            try:
                return client.ping()
            finally:
                client.close()
        except Exception:  # connection refused, missing socket, half-started engine
            return False

    def client(self, timeout=60):
        return docker.DockerClient(base_url=self.url, timeout=timeout)

    def load_images(self, refs, source=None):
        """``docker save`` of ``refs`` on the machine's engine, streamed into ``docker load`` of this one."""
        source = source or docker.from_env(timeout=300)
        target = self.api()
        try:
            saved = source.api._get(source.api._url("/images/get"), params={"names": list(refs)}, stream=True)
            source.api._raise_for_status(saved)
            for message in target.load_image(saved.iter_content(chunk_size=1 << 20)):
                if "error" in message:
                    raise AssertionError("docker load on the test engine: %s" % message["error"])
        finally:
            target.close()
        missing = [ref for ref in refs if not self.client().images.list(name=ref)]
        assert not missing, "images missing on the test engine after the load: %s" % missing

    def api(self):
        return docker.APIClient(base_url=self.url, timeout=300)

    def log_tail(self, lines=30):
        try:
            with open(self.log_path) as handle:
                return "".join(handle.readlines()[-lines:])
        except OSError:
            return ""

    # ------------------------------------------------------------ faults

    def stop_daemon(self, timeout=30):
        """SIGTERM, as a service manager stops it: without live-restore the engine stops its containers first."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        # Its managed containerd goes with it; wait so that the next start does not find it still there.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in self._daemon_pids()):
            time.sleep(0.05)

    def _daemon_pids(self):
        return [p for p in _pids_mentioning(self.exec_root) if "containerd-shim" not in self._cmdline(p)]

    @staticmethod
    def _cmdline(pid):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                return handle.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def restart(self, live_restore=None, down_for=0.0):
        """Stop the engine, leave it down for ``down_for`` seconds, start it again. Returns (stopping began, stopped,
        answering again), monotonic times."""
        began = time.monotonic()
        self.stop_daemon()
        stopped = time.monotonic()
        time.sleep(down_for)
        self.start(live_restore)
        return began, stopped, time.monotonic()

    def fill_disk(self, leave_mb=3):
        """Fill the data root's filesystem until only ``leave_mb`` MB are free for the engine."""
        assert self.loop, "fill_disk needs an engine on its own filesystem (disk_mb)"
        stat = os.statvfs(self.data_root)
        size = stat.f_bavail * stat.f_frsize - leave_mb * 1024 * 1024
        path = os.path.join(self.data_root, "filler")
        with open(path, "wb") as handle:
            if size > 0:
                os.posix_fallocate(handle.fileno(), 0, size)
        return path

    def free_mb(self):
        stat = os.statvfs(self.data_root)
        return stat.f_bavail * stat.f_frsize / 1024.0 / 1024.0

    # ------------------------------------------------------------ tear down

    def stop(self):
        """Remove every container, stop the engine, then everything it left: shims (by PID), mounts, the loop device,
        the bridge, the directories."""
        if self.proc is not None and self.proc.poll() is None and self.answers():
            client = self.client()
            try:
                for container in client.containers.list(all=True):
                    try:
                        container.remove(force=True, v=True)
                    except docker.errors.APIError:
                        pass
            finally:
                client.close()
        self.live_restore = False
        self.stop_daemon()
        for pid in _pids_mentioning(self.exec_root):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for point in _mounts_under(self.root):
            subprocess.run(["umount", point], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        for point in _mounts_under(self.root):
            subprocess.run(["umount", "-l", point], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if self.loop:
            subprocess.run(["losetup", "-d", self.loop], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=False)
        subprocess.run(["ip", "link", "del", self.bridge], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)
        shutil.rmtree(self.root, ignore_errors=True)
        left = _mounts_under(self.root)
        assert not left, "mounts left behind by the test engine: %s" % left

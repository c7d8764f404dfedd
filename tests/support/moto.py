"""A real moto server (the `moto_server` of the virtualenv) on 127.0.0.1, for ECR, S3 and Elastic Beanstalk.

`moto_server` is started as a child process; the process that really listens
on the port is found through /proc (it may be the child itself or one of its
descendants when moto_server is a wrapper), and stop() signals that PID and
then the child, waiting for both.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request

from .net import free_port, wait_for_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Fake credentials and region for boto3 in tests only: moto does not check them.
TEST_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # Keep the real user's AWS files out of the tests.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _moto_server_binary():
    for candidate in (os.path.join(os.path.dirname(sys.executable), "moto_server"),
                      os.path.join(ROOT, ".venv", "bin", "moto_server")):
        if os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("moto_server not found next to %s nor in .venv/bin" % sys.executable)


def _listen_inodes(port):
    """Socket inodes listening on TCP `port` (IPv4 and IPv6)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as handle:
                next(handle)
                for line in handle:
                    fields = line.split()
                    local, state, inode = fields[1], fields[3], fields[9]
                    if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                        inodes.add(inode)
        except IOError:
            continue
    return inodes


def _descendants(pid):
    """pid and every process below it."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                stat = handle.read()
        except IOError:
            continue
        # the command name is in parentheses and may hold spaces
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def listener_pid(port, root_pid):
    """PID, among root_pid and its descendants, of the process listening on port (or None)."""
    inodes = _listen_inodes(port)
    if not inodes:
        return None
    for pid in _descendants(root_pid):
        fd_dir = "/proc/%d/fd" % pid
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                return pid
    return None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except IOError:
        return False


class MotoServer:
    def __init__(self, workdir):
        self.workdir = workdir
        self.port = None
        self.proc = None
        self.server_pid = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self, timeout=30.0):
        self.port = free_port()
        self.log_path = os.path.join(self.workdir, "moto.log")
        log = open(self.log_path, "w")
        env = dict(os.environ)
        env.update(TEST_AWS_ENV)
        self.proc = subprocess.Popen([_moto_server_binary(), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.workdir)
        log.close()
        try:
            wait_for_port(self.port, timeout=timeout)
            deadline = time.monotonic() + timeout
            while self.server_pid is None and time.monotonic() < deadline:
                self.server_pid = listener_pid(self.port, self.proc.pid)
                if self.server_pid is None:
                    time.sleep(0.05)
            if self.server_pid is None:
                raise RuntimeError("no process under PID %d listens on port %d" % (self.proc.pid, self.port))
            self._wait_http(deadline)
        except Exception:
            self.stop()
            raise
        return self

    def _wait_http(self, deadline):
        last = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/moto-api/data.json", timeout=2) as answer:
                    answer.read()
                    return
            except Exception as exc:  # not answering yet
                last = exc
                time.sleep(0.1)
        raise RuntimeError("moto_server on %s does not answer: %s" % (self.url, last))

    def reset(self):
        """Forget every resource (moto's own reset API)."""
        request = urllib.request.Request(self.url + "/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()

    def stop(self):
        pids = []
        if self.server_pid and self.server_pid != (self.proc.pid if self.proc else None):
            pids.append(self.server_pid)
        if self.proc is not None:
            pids.append(self.proc.pid)
        for pid in pids:
            if _alive(pid):
                try:
                    os.kill(pid, signal.SIGTERM)
                except OSError:
                    pass
        deadline = time.monotonic() + 10
        for pid in pids:
            while _alive(pid) and time.monotonic() < deadline:
                if self.proc is not None and pid == self.proc.pid and self.proc.poll() is not None:
                    break
                time.sleep(0.05)
            if _alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        if self.proc is not None:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.server_pid = None

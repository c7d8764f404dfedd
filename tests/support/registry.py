"""A real registry (Debian's docker-registry, distribution 2.8) with htpasswd auth on 127.0.0.1, and
``seed_storage``: a registry's storage pre-filled with local images, cached, so that a test setup that needs images in a
registry does not push the same layers again each time."""

import errno
import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import textwrap

from .net import free_port, wait_for_port


class Registry:
    def __init__(self, workdir, username="baton", password="s3cr3t pa$$ 'w0rd'"):
        """The registry keeps its files in ``workdir`` (its storage in ``<workdir>/data``, see seed_storage)."""
        self.workdir = workdir
        self.username = username
        self.password = password
        self.port = free_port()
        self.address = "127.0.0.1:%d" % self.port
        self.proc = None

    def start(self):
        htpasswd = os.path.join(self.workdir, "htpasswd")
        # htpasswd -i reads the password on stdin: it never appears in argv.
        subprocess.run(["htpasswd", "-iBc", htpasswd, self.username],
                       input=self.password, universal_newlines=True, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        config = os.path.join(self.workdir, "config.yml")
        with open(config, "w") as handle:
            handle.write(textwrap.dedent("""\
                version: 0.1
                log:
                  level: warn
                storage:
                  filesystem:
                    rootdirectory: {root}
                  delete:
                    enabled: true
                http:
                  addr: {addr}
                  secret: baton-test-secret
                auth:
                  htpasswd:
                    realm: baton-test
                    path: {htpasswd}
                """).format(root=os.path.join(self.workdir, "data"), addr=self.address,
                            htpasswd=htpasswd))
        log = open(os.path.join(self.workdir, "registry.log"), "w")
        self.proc = subprocess.Popen(["docker-registry", "serve", config], stdout=log,
                                     stderr=subprocess.STDOUT)
        wait_for_port(self.port)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


BLOBS = os.path.join("docker", "registry", "v2", "blobs")
CACHE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "build",
                     "registry-seeds")


def _push(client, source, ref, auth):
    client.images.get(source).tag(ref)
    try:
        for line in client.api.push(ref, auth_config=auth, stream=True, decode=True):
            if "error" in line:
                raise RuntimeError("pushing %s: %s" % (ref, line["error"]))
    finally:
        client.images.remove(ref, noprune=True)


def seed_storage(data_dir, images, client=None, cache=CACHE):
    """Fill ``data_dir`` (a Registry's ``<workdir>/data``, not yet started) with ``images``: {"repository:tag":
    local source image}, as if each had been pushed.

    The first call for a given set of images (keyed by their image IDs) pushes them once into a storage kept under
    ``cache``; every call then copies that storage: the blobs (content-addressed, never rewritten in place) as hard
    links, the repositories (tags, links the registry rewrites) as real copies. Other seeds in ``cache`` are removed
    when a new one is made. Safe across processes (a file lock)."""
    import docker

    client = client or docker.from_env()
    ids = ["%s=%s" % (ref, client.images.get(source).id) for ref, source in sorted(images.items())]
    key = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
    os.makedirs(cache, exist_ok=True)
    seed = os.path.join(cache, key)
    with open(os.path.join(cache, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(seed, "complete")):
            for old in os.listdir(cache):
                if old != ".lock":
                    shutil.rmtree(os.path.join(cache, old), ignore_errors=True)
            work = tempfile.mkdtemp(prefix="seed-", dir=cache)
            registry = Registry(work).start()
            try:
                auth = {"username": registry.username, "password": registry.password}
                for ref, source in sorted(images.items()):
                    _push(client, source, "%s/%s" % (registry.address, ref), auth)
            finally:
                registry.stop()
            os.rename(os.path.join(work, "data"), os.path.join(work, "storage"))
            os.makedirs(seed)
            os.rename(os.path.join(work, "storage"), os.path.join(seed, "data"))
            shutil.rmtree(work)
            open(os.path.join(seed, "complete"), "w").close()
        source = os.path.join(seed, "data")
        for top, _dirs, files in os.walk(source):
            relative = os.path.relpath(top, source)
            target = os.path.join(data_dir, relative)
            os.makedirs(target, exist_ok=True)
            link = relative == BLOBS or relative.startswith(BLOBS + os.sep)
            for name in files:
                _copy(os.path.join(top, name), os.path.join(target, name), link)


def _copy(source, target, link):
    if link:
        try:
            os.link(source, target)
            return
        except OSError as exc:
            if exc.errno != errno.EXDEV:  # another file system: copy
                raise
    shutil.copy2(source, target)

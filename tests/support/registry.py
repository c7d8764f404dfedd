"""A real registry (Debian's docker-registry, distribution 2.8) with htpasswd auth on 127.0.0.1."""

import os
import signal
import subprocess
import textwrap

from .net import free_port, wait_for_port


class Registry:
    def __init__(self, workdir, username="baton", password="s3cr3t pa$$ 'w0rd'"):
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

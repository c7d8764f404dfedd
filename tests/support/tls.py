"""A throwaway certificate authority for tests (openssl CLI): a CA, a server certificate for 127.0.0.1 and client
certificates, all valid for two days."""

import os
import subprocess


def _openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   timeout=60)


class CertificateAuthority:
    def __init__(self, directory, name="baton-test-ca"):
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.name = name
        self.ca = os.path.join(self.dir, "%s.pem" % name)
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "%s.key" % name, "-out", self.ca,
                 "-days", "2", "-subj", "/CN=%s" % name, cwd=self.dir)

    def issue(self, name, usage, san=None):
        """A certificate signed by this CA: returns (cert path, key path, cert+key PEM path)."""
        key, csr, cert = ("%s.key" % name, "%s.csr" % name, "%s.crt" % name)
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=%s" % name,
                 cwd=self.dir)
        ext = os.path.join(self.dir, "%s.ext" % name)
        with open(ext, "w") as handle:
            handle.write("extendedKeyUsage=%s\n" % usage)
            if san:
                handle.write("subjectAltName=%s\n" % san)
        _openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", "%s.key" % self.name, "-CAcreateserial",
                 "-out", cert, "-days", "2", "-extfile", ext, cwd=self.dir)
        pem = os.path.join(self.dir, "%s.pem" % name)
        with open(pem, "w") as out:
            for part in (cert, key):
                with open(os.path.join(self.dir, part)) as handle:
                    out.write(handle.read())
        return os.path.join(self.dir, cert), os.path.join(self.dir, key), pem

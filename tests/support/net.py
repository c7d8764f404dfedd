"""Ports and waits for tests that start real servers on 127.0.0.1."""

import socket
import time


def free_port():
    """A TCP port nothing listens on right now (on any address)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("0.0.0.0", 0))
        return sock.getsockname()[1]


def wait_for_port(port, host="127.0.0.1", timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("nothing listens on %s:%d after %.0fs" % (host, port, timeout))

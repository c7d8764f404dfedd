"""Ports and waits for tests that start real servers on 127.0.0.1."""

import fcntl
import os
import socket
import struct
import threading
import time


_issued = set()
_issued_lock = threading.Lock()


def _share():
    """(this process's index, how many): pytest-xdist workers each take the ports of their own residue class (of the
    port halved: Linux gives bind() odd ports and keeps even ones for connect(), so the port itself modulo an even
    count would leave some workers none), so that two workers never get the same port between the moment one picks
    it and the moment its server binds it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
    if count > 1 and worker.startswith("gw") and worker[2:].isdigit():
        return int(worker[2:]) % count, count
    return 0, 1


def free_port():
    """A TCP port nothing listens on right now (on any address), never one this process was given before nor one
    another xdist worker of the run can be given."""
    index, count = _share()
    for _attempt in range(1000):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("0.0.0.0", 0))
            port = sock.getsockname()[1]
        with _issued_lock:
            if (port >> 1) % count == index and port not in _issued:
                _issued.add(port)
                return port
    raise AssertionError("no free TCP port of this worker's share (%d of %d) after 1000 tries" % (index, count))


def wait_for_port(port, host="127.0.0.1", timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("nothing listens on %s:%d after %.0fs" % (host, port, timeout))


def interface_ipv4(name):
    """The IPv4 address of a local network interface (SIOCGIFADDR), or None when it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            answer = fcntl.ioctl(sock.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))
        except OSError:
            return None
    return socket.inet_ntoa(answer[20:24])


def bridge_gateway(client, network="bridge"):
    """This host's IPv4 address on a Docker bridge network: the address of the Linux bridge the engine
    created for it (named in the network's options, else ``br-<id>``). IPAM's Gateway key is not
    used: a freshly started engine does not report it for the default bridge."""
    attrs = client.networks.get(network).attrs
    if attrs.get("Driver") != "bridge":
        raise AssertionError("Docker network %r is not a bridge network (driver %r)" % (network, attrs.get("Driver")))
    interface = (attrs.get("Options") or {}).get("com.docker.network.bridge.name") or "br-" + attrs["Id"][:12]
    address = interface_ipv4(interface)
    if not address:
        raise AssertionError("Docker network %r: its bridge interface %s has no IPv4 address on this host"
                             % (network, interface))
    return address

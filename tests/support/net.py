"""Ports and waits for tests that start real servers on 127.0.0.1."""

import fcntl
import socket
import struct
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

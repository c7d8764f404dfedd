# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:

    # Connection options shared by every module that talks to the Docker engine
    # (argument spec: DOCKER_COMMON_ARGS in plugins/module_utils/_docker_client.py).
    DOCUMENTATION = r"""
attributes:
  action_group:
    description: Use C(group/baton.docker.docker) in C(module_defaults) to set the Docker options of every
      Docker module of the collection at once.
    membership:
      - baton.docker.docker
    support: full
options:
  docker_host:
    description:
      - Address of the Docker engine API, for example V(unix:///var/run/docker.sock) or
        V(tcp://docker.example.com:2376). Reach an engine over TCP with O(validate_certs) and a client certificate
        only; its API in clear is root on that host for anyone who reaches it..
      - When the task does not set it, the E(DOCKER_HOST) environment variable of the managed host is used, and
        V(unix:///var/run/docker.sock) when that is not set either.
    type: str
    default: unix:///var/run/docker.sock
    aliases: [docker_url]
  api_timeout:
    description:
      - Seconds to wait for an answer to one Docker API call.
      - Stopping a container waits for its stop timeout on top of this.
    type: float
    default: 60.0
  api_version:
    description:
      - The version of the Docker engine API to speak, for example V(1.41); V(auto) asks the engine for the newest it
        speaks.
      - When the task does not set it, the E(DOCKER_API_VERSION) environment variable of the managed host is used.
    type: str
    default: auto
    aliases: [docker_api_version]
  tls:
    description:
      - Talk to an engine at a V(tcp://) O(docker_host) over TLS, without checking its certificate. Use
        O(validate_certs) to check it.
      - When the task does not set it, the E(DOCKER_TLS) environment variable of the managed host is used.
      - Ignored for a unix socket.
    type: bool
    default: false
  validate_certs:
    description:
      - Talk to an engine at a V(tcp://) O(docker_host) over TLS and check its certificate against O(ca_path) (the
        system's certificate authorities when it is not set) and its name against O(tls_hostname) (the host of
        O(docker_host) when it is not set). This is what an engine started with C(--tlsverify) expects.
      - When the task does not set it, the E(DOCKER_TLS_VERIFY) environment variable of the managed host is used.
      - Ignored for a unix socket.
    type: bool
    default: false
    aliases: [tls_verify]
  ca_path:
    description:
      - The certificate authority file (PEM) the engine's certificate must be signed by, with O(validate_certs).
      - When the task does not set it, C(ca.pem) in the directory E(DOCKER_CERT_PATH) names, when that is set.
    type: path
    aliases: [ca_cert, tls_ca_cert, cacert_path]
  client_cert:
    description:
      - The client certificate file (PEM) presented to an engine that checks its clients (C(--tlsverify)). Goes with
        O(client_key).
      - When the task does not set it, C(cert.pem) in the directory E(DOCKER_CERT_PATH) names, when that is set.
    type: path
    aliases: [tls_client_cert, cert_path]
  client_key:
    description:
      - The private key file (PEM) of O(client_cert). It is only read by the TLS layer; its content never reaches the
        task's result or a message.
      - When the task does not set it, C(key.pem) in the directory E(DOCKER_CERT_PATH) names, when that is set.
    type: path
    aliases: [tls_client_key, key_path]
  tls_hostname:
    description:
      - The name the engine's certificate must carry, when it is not the host of O(docker_host) (an engine reached by
        its address whose certificate names it).
      - When the task does not set it, the E(DOCKER_TLS_HOSTNAME) environment variable of the managed host is used.
    type: str
requirements:
  - docker (the Docker SDK for Python) >= 5.0.3 on the managed host
notes:
  - The module runs on the managed host and talks to the Docker engine from there.
"""

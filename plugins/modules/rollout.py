#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rollout
short_description: Roll a release out to one host's units behind every load balancer, in one execution
version_added: 0.1.0
description:
  - Performs a host's whole rollout in one module execution. A unit is one container (a master or backup slot, a
    replica, a worker) and, when O(units[].server) is set, one HAProxy server on every load balancer of
    O(load_balancers).
  - "Before anything changes: the per-app host lock is taken (a second run of the same app on the host waits up to
    O(lock_timeout), then fails naming the holder's pid, start time and version; the lock of a run that died is taken
    over at once); every load balancer's runtime API must answer with level admin and know every unit's server; the
    release image O(image) is made present (O(pull), O(pull_auth)) and checked against O(expected_image_id); every
    unit's container is planned as M(baton.docker.container_swap) plans it; and a unit that serves now may leave
    rotation only when, on every load balancer, another unit of its backend serves (O(require_serving_peer))."
  - "Then, per changing unit, one at a time: drain its server on every load balancer, wait until none of them has a
    session (bounded by O(drain_timeout); what happens to sessions still open then is O(on_drain_timeout)), put
    it in maintenance everywhere, swap the container (the old one is kept aside until the new one is healthy), put the
    server back to ready everywhere and wait until every load balancer reports it UP (O(up_timeout)). A unit without
    a server (a worker) is swapped only: its old container gets its stop signal and stop timeout."
  - "A new container that never turns healthy is removed, the old one goes back into the unit and, once healthy, back
    into rotation; the task fails with the new container's last log lines and the other units are not touched."
  - "Before each step that takes a server out of rotation, and after each one that puts it back, the module writes a
    journal (C(<state_dir>/<app>.journal.json)) naming the servers it has taken out. A run killed at any point (SIGKILL,
    a reboot) is finished by the next run: the container is recovered as M(baton.docker.container_swap) recovers it,
    and servers the journal names are put back in rotation once their unit is healthy. Servers out of rotation that
    the journal does not name were put there by someone else: they are left alone and reported in RV(held)."
  - When the rollout ends, the release is recorded in C(<state_dir>/<app>.json) as M(baton.docker.release_record)
    records it (O(record)), for rollbacks.
author:
  - baton.docker maintainers (@baton-docker)
extends_documentation_fragment:
  - baton.docker.attributes
  - baton.docker.docker
  - baton.docker.pull
attributes:
  check_mode:
    description: Returns the plan (RV(plan)) and changes nothing; the lock is not taken.
  diff_mode:
    description: Each changing unit's container before and after, keyed by unit name.
options:
  app:
    description: The application. Names the lock, the journal and the release record, and is the default backend.
    type: str
    required: true
  image:
    description:
      - The release image reference, C(repository:tag) or C(repository@sha256:digest). Every unit runs it unless
        C(image) in its O(units[].container) names another.
      - Without it every unit names its own image (a stack), and O(record) must be false.
    type: str
  version:
    description: The release name recorded; defaults to the tag (or digest) of O(image).
    type: str
  expected_image_id:
    description: When set, the release image must have this image ID (promotion of the exact build that ran before).
    type: str
  container:
    description:
      - Options of M(baton.docker.container_swap) shared by every unit (ports, env, volumes, labels, health,
        stop_timeout...), except name, pull, pull_auth, the connection and secret_env (see O(secret_env)). A unit's
        own O(units[].container) options are applied on top (C(health) and C(healthcheck) key by key, the others
        whole). They are validated as M(baton.docker.container_swap) validates them; errors name the unit.
      - Every env value is masked in the result.
    type: dict
    default: {}
  secret_env:
    description: Environment variables of every unit whose values Ansible must never show (passwords, tokens).
    type: dict
    default: {}
  units:
    description: The units of this host, in rollout order.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The unit's container (slot) name.
        type: str
        required: true
      server:
        description: The unit's HAProxy server name, the same on every load balancer. Omit for a worker.
        type: str
      backend:
        description: The unit's HAProxy backend, when it is not the load balancer's (see O(load_balancers[].backend)).
        type: str
      container:
        description: Options of M(baton.docker.container_swap) for this unit only, as in O(container).
        type: dict
        default: {}
      secret_env:
        description: Secret environment variables of this unit only, on top of O(secret_env).
        type: dict
        default: {}
  backend:
    description: The HAProxy backend of the units' servers on every load balancer that does not name its own;
      defaults to O(app).
    type: str
  load_balancers:
    description: The HAProxy runtime API endpoints in front of this host, each reachable from the host.
    type: list
    elements: dict
    default: []
    suboptions:
      socket:
        description:
          - A unix socket path, C(host:port), or C(<container>:<absolute path in it>) for a socket in a volume of a
            container on this host (a stack's HAProxy that shares its admin socket through a data container); the
            host path is read from that container's mounts.
          - An O(load_balancers[].optional) load balancer whose container does not exist yet is not running.
        type: str
        required: true
      backend:
        description: The backend of the units' servers on this load balancer; defaults to O(backend).
        type: str
      socket_timeout:
        description: Seconds to wait for each runtime API answer (the O(baton.docker.haproxy_backend#module:socket_timeout) of
          this load balancer).
        type: float
        default: 5.0
        aliases: [timeout]
      optional:
        description:
          - A load balancer that may not run yet (a stack whose HAProxy is one of its own containers, created after
            the replicas it balances). When it does not answer, units behind it are created without it, and a unit
            that would be replaced fails the rollout before anything changes.
        type: bool
        default: false
      tls:
        description:
          - TLS for a TCP endpoint, as HAProxy serves it with C(ssl crt ... ca-file ... verify required) on its
            C(stats socket) line, so that app hosts drive remote load balancers without an open admin port.
        type: dict
        suboptions:
          ca_file:
            description: The CA certificate that signed HAProxy's certificate.
            type: path
            required: true
          cert_file:
            description: Our client certificate (PEM), for a socket that verifies clients.
            type: path
          key_file:
            description: The key of O(load_balancers[].tls.cert_file).
            type: path
          server_name:
            description: The name HAProxy's certificate must carry; defaults to the host of O(load_balancers[].socket).
            type: str
  prune_labels:
    description:
      - Remove the containers that carry every one of these labels, were deployed as units (their C(baton.kind) label
        is V(http), V(worker), V(manual), V(service) or V(cron)) and are not units of this run, with their kept-aside
        previous containers (a replica a stack no longer counts, an entry it dropped).
      - They go after every unit is done. Their servers are drained and put in maintenance on every load balancer
        first, and stay there; a unit made again later under that name is put back in rotation.
      - Check mode lists them in RV(plan) and RV(units) with the action V(remove).
    type: dict
  drain_timeout:
    description:
      - Seconds a draining unit's servers may keep sessions, on all load balancers together. What happens to sessions
        still open then is O(on_drain_timeout).
    type: float
    default: 60
  on_drain_timeout:
    description:
      - V(shutdown) shuts the remaining sessions down with HAProxy's C(shutdown sessions server) on each load balancer
        that still has some, then goes on; their count and the seconds waited are reported in RV(units) (as
        C(sessions_shut_down)), in RV(summary) and as a warning. Long-lived connections (streams, websockets, long
        polls) are cut deliberately and accounted for, never silently.
      - V(abort) puts the unit back in rotation, unchanged, and fails the rollout.
    type: str
    choices: [shutdown, abort]
    default: shutdown
  up_timeout:
    description:
      - Seconds to wait for every load balancer to report a server UP after it returns to ready.
      - Also, before anything changes, how long to wait for a peer (O(require_serving_peer)) that is in rotation, its
        container running, and only its health check DOWN (a check that timed out on a busy host) to come UP, before
        the rollout is refused.
    type: float
    default: 60
  require_serving_peer:
    description: Refuse to take a serving unit out of rotation when no other unit of its backend serves.
    type: bool
    default: true
  state_dir:
    description: Where the lock, the journal and the release record are kept on the host.
    type: path
    default: /var/lib/baton
  lock_timeout:
    description: Seconds to wait for another run of the same app on this host to end.
    type: float
    default: 600
  record:
    description: Record the release in C(<state_dir>/<app>.json) when the rollout ends.
    type: bool
    default: true
  history_size:
    description: How many releases the record keeps.
    type: int
    default: 10
  release_id:
    description:
      - The fleet release this rollout belongs to (C(playbooks/release.yml) sets it). It is kept in the release
        record, so a revert or C(playbooks/rollback.yml) knows which hosts that release moved.
    type: str
  probe_health:
    description:
      - Before anything changes, probe each unit's the health URL of O(units[].container) on the container serving now, when
        every load balancer reports its server UP and the unit is to be replaced. A check that fails there is a wrong
        check (path, port or status) and the rollout is refused, instead of failing every swap.
      - Set V(false) when the release changes its health check on purpose and the old containers cannot pass it.
    type: bool
    default: true
seealso:
  - module: baton.docker.container_swap
  - module: baton.docker.haproxy_backend
  - module: baton.docker.release_record
"""

EXAMPLES = r"""
- name: Roll v2 out to this host's master and backup behind two HAProxy instances
  baton.docker.rollout:
    app: shop
    image: registry.example.com/shop:v2
    container:
      env:
        NODE_ENV: production
      stop_timeout: 10
    secret_env:
      DB_PASSWORD: "{{ vault_db_password }}"
    units:
      - name: shop-master
        server: "{{ inventory_hostname }}_master"
        container:
          ports: ["50000:3000"]
          health: {url: "http://127.0.0.1:50000/health"}
      - name: shop-backup
        server: "{{ inventory_hostname }}_backup"
        container:
          ports: ["50001:3000"]
          health: {url: "http://127.0.0.1:50001/health"}
    load_balancers:
      - socket: /run/haproxy/admin.sock
      - socket: 10.0.0.12:9999
        tls:
          ca_file: /etc/baton/lb-ca.pem
          cert_file: /etc/baton/client.pem
          key_file: /etc/baton/client.key
  register: shop_rollout

- name: Show what would change
  baton.docker.rollout:
    app: shop
    image: registry.example.com/shop:v3
    units: [{name: shop-worker}]
  check_mode: true
  diff: true
"""

RETURN = r"""
app:
  description: The application (O(app)).
  returned: always
  type: str
  sample: shop
plan:
  description: The ordered steps, each C(unit) and C(action) (restore, drain, maint, swap, ready; remove for the
    containers O(prune_labels) finds).
  returned: always
  type: list
  elements: dict
  sample: [{unit: shop-master, action: drain}, {unit: shop-master, action: maint}, {unit: shop-master, action: swap}]
  contains:
    unit:
      description: The unit (or the container to remove).
      type: str
    action:
      description: V(restore), V(drain), V(maint), V(swap), V(ready) or V(remove).
      type: str
units:
  description:
    - Per unit (and per container to remove, with the action V(remove)), its container action and the old and new
      image.
    - The action V(not reached) marks a unit the rollout planned to change but stopped before.
  returned: always
  type: list
  elements: dict
  sample: [{slot: shop-master, server: web1_master, action: replace, old: "shop:v1", new: "shop:v2",
            seconds_to_healthy: 1.4, rolled_back: false}]
  contains:
    slot:
      description: The unit's container name.
      type: str
    server:
      description: Its server on the load balancers (null for a unit without one).
      type: str
    action:
      description: What was done to its container (V(create), V(replace), V(keep), V(remove), V(not reached), ...).
      type: str
    old:
      description: The image it ran before (V((new slot)) when there was none).
      type: str
    new:
      description: The image it runs now.
      type: str
    seconds_to_healthy:
      description: Seconds the new container took to turn healthy (null when nothing was started).
      type: float
    rolled_back:
      description: Whether the new container was removed and the old one put back.
      type: bool
    sessions_shut_down:
      description: C(count), C(after_seconds) and C(where) when sessions outlived the drain and were shut down.
      type: dict
      returned: when sessions were shut down
    killed_at_stop_timeout:
      description: Seconds after which the old container, which ignored its stop signal, was killed.
      type: float
      returned: when the old container was killed
timeline:
  description: Per unit that changed, each step with its start (epoch seconds) and duration, and how long the unit
    was out of rotation.
  returned: when something ran
  type: list
  elements: dict
  sample: [{unit: shop-master, out_of_rotation_seconds: 2.91,
            steps: [{action: drain, started: 1764755000.12, seconds: 0.21}]}]
restored:
  description: Units an interrupted run had left out of rotation, now back.
  returned: always
  type: list
  elements: str
held:
  description: Servers out of rotation that no rollout put there (left alone), as C(backend/server on endpoint).
  returned: always
  type: list
  elements: str
image:
  description: The release image, its ID and whether it was pulled.
  returned: always
  type: dict
  sample: {ref: "registry.example.com/shop:v2", id: "sha256:4f2c...", pulled: false}
release:
  description:
    - The release now current in the record. C(config) holds the shared container options as given (without the
      rollout-only C(health) and C(log_lines)), C(secret_keys) the names of the secret variables (never their
      values), C(config_digest) a digest that tells one configuration from another, C(release_id) the fleet release.
  returned: when the release was recorded
  type: dict
  sample: {version: v2, image: "registry.example.com/shop:v2", image_id: "sha256:4f2c...",
           config: {env: {LOG_LEVEL: info}}, secret_keys: [DB_PASSWORD], config_digest: "sha256:9b1e...",
           release_id: "20261207T101500Z-3f2a", deployed_at: "2026-12-03T10:00:00Z"}
recorded:
  description:
    - The releases the host's record named before this run (C(current) and C(previous), null when none), read before
      anything changed; in check mode what a fleet release plans from.
  returned: when O(record) is true and the plan was made
  type: dict
  sample: {current: {version: v1, image: "registry.example.com/shop:v1", image_id: "sha256:bd6c..."}, previous: null}
record_changed:
  description: Whether the release record changed.
  returned: always
  type: bool
summary:
  description: What happened, one line per unit, for people.
  returned: always
  type: list
  elements: str
  sample: ["shop-master: shop:v1 -> shop:v2, healthy after 1.4 s, out of rotation 2.9 s", "shop-backup: unchanged"]
lock_waited:
  description: Seconds spent waiting for another run's lock (null in check mode).
  returned: always
  type: float
"""

from ansible_collections.baton.docker.plugins.module_utils._docker_client import (  # noqa: E402
    PULL_ARGS,
)
from ansible_collections.baton.docker.plugins.module_utils._haproxy_client import LOAD_BALANCER_OPTIONS  # noqa: E402
from ansible_collections.baton.docker.plugins.module_utils._module import run_module  # noqa: E402
from ansible_collections.baton.docker.plugins.module_utils._rollout_engine import Rollout  # noqa: E402


def argument_spec():
    spec = dict(
        app=dict(type="str", required=True),
        image=dict(type="str"),
        version=dict(type="str"),
        expected_image_id=dict(type="str"),
        container=dict(type="dict", default={}),
        secret_env=dict(type="dict", default={}, no_log=True),
        units=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            server=dict(type="str"),
            backend=dict(type="str"),
            container=dict(type="dict", default={}),
            secret_env=dict(type="dict", default={}, no_log=True),
        )),
        backend=dict(type="str"),
        load_balancers=dict(type="list", elements="dict", default=[], options=LOAD_BALANCER_OPTIONS),
        prune_labels=dict(type="dict"),
        drain_timeout=dict(type="float", default=60),
        on_drain_timeout=dict(type="str", default="shutdown", choices=["shutdown", "abort"]),
        up_timeout=dict(type="float", default=60),
        require_serving_peer=dict(type="bool", default=True),
        state_dir=dict(type="path", default="/var/lib/baton"),
        lock_timeout=dict(type="float", default=600),
        record=dict(type="bool", default=True),
        history_size=dict(type="int", default=10),
        release_id=dict(type="str"),
        probe_health=dict(type="bool", default=True),
    )
    spec.update(PULL_ARGS)
    return spec


# Seconds options whose lower bound (0 allowed) Rollout.check_params and the swap of each unit check in their own
# words.
CHECKED_SECONDS = ("drain_timeout", "up_timeout", "lock_timeout", "api_timeout")


def main():
    # The socket layer cannot take an infinite, NaN or beyond-time_t timeout; a relative state_dir would be made
    # wherever the module happens to run: both are refused before anything runs.
    run_module(argument_spec(), Rollout, connection="docker", checked_seconds=CHECKED_SECONDS,
               absolute_paths=("state_dir",))


if __name__ == "__main__":
    main()

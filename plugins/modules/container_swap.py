#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: container_swap
short_description: Replace the container in a named slot with one running a new image, with health check and rollback
version_added: 0.1.0
description:
  - A slot is a container name. The module replaces the container in the slot with one created from O(image), keeping
    the slot's run configuration (published ports, env, volumes, labels, restart policy, command, entrypoint, network,
    stop timeout, Docker healthcheck, volumes_from, links, hostname) except for the options the task sets.
  - On the first deploy (no container called O(name)) it creates the slot from the options.
  - "The swap: check that the image is present or can be pulled (and every other pre-check) before anything changes;
    rename the running container to C(<name>.baton-previous); create the new container in the slot; stop the old one
    gracefully (its stop signal, then SIGKILL after its stop timeout), which frees its host ports; start the new one;
    wait until it is healthy (see O(health)); remove the old one."
  - When the new container does not become healthy or exits, its last O(log_lines) log lines are collected, it is
    removed, the old container is renamed back into the slot and started again, and the task fails with the logs in
    its message and RV(rolled_back=true).
  - When the slot already runs the wanted image (compared by image ID) with the wanted configuration nothing changes.
    A slot container that is stopped or restarting is replaced like an outdated one.
  - "Configuration read-back: an option the task leaves out keeps the slot's current value, read from the running
    container. For env variables, labels, command, entrypoint and Docker healthcheck only what differs from the OLD
    image's own defaults counts as the slot's, so the new image's defaults (a new ENV value, a new CMD) apply. An option
    the task sets replaces the slot's whole setting: O(env) given with one variable drops the other carried variables,
    O(ports=[]) unpublishes every port."
  - "Recovery from an interrupted run (a C(<name>.baton-previous) container exists): when the slot is empty, the previous
    container is renamed back into the slot and started; when the slot's container runs, the previous one is stale and
    is removed; when the slot's container exists but does not run, it is removed and the previous one is put back.
    The recovery is done as part of the next run, after the pre-checks, and reported in RV(recovery)."
  - "With O(state=created) the slot holds a container that is created but not started (a template that something else
    runs later): not running is its normal state, so an up-to-date container is left as it is whether it runs or not;
    when its image or configuration differ, it is stopped gracefully if it runs, removed, and a new container is
    created in its place. Nothing is started and nothing is health-checked."
  - "With O(state=absent) the slot's container is stopped gracefully (its stop signal, then SIGKILL after its stop
    timeout) and removed, and so is a C(<name>.baton-previous) container. O(image) is not needed."
  - "With O(update=false) a container already in the slot is kept whatever its image and configuration; with
    O(state=started) it is started (and health-checked, see O(health)) when it does not run. Only an empty slot gets a
    new container. The image is looked up or pulled only when a container is created."
  - Every container the module creates carries the labels C(baton.managed=true), C(baton.slot=<name>) and
    C(baton.image=<image>). A slot container without C(baton.managed=true) (created by other means) is replaced once
    so that it carries them; C(baton.image) never causes a replacement on its own.
author:
  - baton.docker maintainers (@baton-docker)
extends_documentation_fragment:
  - baton.docker.attributes
  - baton.docker.docker
  - baton.docker.pull
attributes:
  check_mode:
    description: Reports what would change and changes nothing; images are not pulled, a missing image is looked up
      in its registry (distribution inspect) so a tag that does not exist fails in check mode too.
  diff_mode:
    description: Before and after image and slot configuration; env values are shown masked.
  platform:
    description: Runs on the Docker host; the port pre-check and the HTTP probe run from there.
options:
  name:
    description:
      - Name of the slot, which is the name of its container.
      - Names ending in C(.baton-previous) are reserved.
    type: str
    required: true
  image:
    description:
      - Image to run, as C(repository:tag) or C(repository@sha256:<digest>). A repository without tag means C(:latest).
      - Required when O(state) is V(started) or V(created); not used with V(absent).
    type: str
  state:
    description:
      - V(started) runs the slot's container, replacing it when its image or configuration differ, with health check
        and rollback.
      - V(created) keeps a created, not started, container in the slot (see the description); O(health) is not used.
      - V(absent) stops the slot's container gracefully and removes it.
    type: str
    default: started
    choices: [started, created, absent]
  update:
    description:
      - Whether a container already in the slot is replaced when its image or configuration differ.
      - With V(false) it is kept as it is (and started when O(state=started) and it does not run); only an empty slot
        gets a new container.
    type: bool
    default: true
  ports:
    description:
      - Published ports, each C(host:container), C(ip:host:container) or C([ipv6]:host:container), with an optional
        C(/tcp), C(/udp) or C(/sctp) suffix (default tcp).
      - A host port already bound on the Docker host by anything other than this slot's own container fails the task
        before anything changes.
    type: list
    elements: str
  env:
    description:
      - Environment variables. Values are passed to the engine as data (never through a shell), so spaces, quotes,
        C($()) and newlines arrive unchanged. Quote booleans.
      - In the diff and results every value is shown as a short sha256 prefix keyed with a salt drawn for each run
        (equal values show equal masks within one run, and no mask can be checked against a guess), never in clear.
      - Ansible itself still shows task arguments at high verbosity; put secrets in O(secret_env).
    type: dict
  secret_env:
    description:
      - More environment variables, for secrets. Ansible hides these values (C(no_log)) everywhere in its output.
      - O(env) and O(secret_env) together form the slot's environment; giving either replaces the carried one.
    type: dict
  volumes:
    description:
      - Volumes as C(source:destination[:ro]). The source is an absolute path on the Docker host or a volume name;
        a relative path fails the task.
    type: list
    elements: str
  labels:
    description:
      - Labels of the container. The C(baton.*) labels the module sets itself cannot be given.
    type: dict
  volumes_from:
    description:
      - Containers whose volumes the container mounts (a data container, for instance), each C(name) or C(name:ro) or
        C(name:rw) (default rw).
      - Each named container must exist (it need not run), else the task fails before anything changes; in check mode
        a missing one only gives a warning, since an earlier task of the same run may create it. The slot's own name
        cannot be given.
    type: list
    elements: str
  links:
    description:
      - Legacy Docker links, each C(name) or C(name:alias) (the alias defaults to the name). The container reaches the
        linked one under the alias.
      - Each linked container must exist, and run when a container is to be started, else the task fails before
        anything changes.
      - On a user-defined O(network) the links are set on the container's endpoint in that network.
    type: list
    elements: str
  hostname:
    description:
      - Host name of the container, a valid RFC 1123 name (dot-separated labels of lowercase letters, digits and C(-)).
      - Without it the engine uses the first 12 characters of the container ID; an empty string goes back to that.
      - Cannot be set with O(network=host).
    type: str
  restart_policy:
    description:
      - Restart policy. On the first deploy the default is V(unless-stopped), or V(no) with O(state=created) (a
        template container that something else runs must not restart once it has run).
    type: str
    choices: ['no', always, on-failure, unless-stopped]
  restart_retries:
    description:
      - Maximum restart count, only with O(restart_policy=on-failure).
    type: int
  command:
    description:
      - Command (arguments to the entrypoint), as a list or as a string that is split like a shell would split it
        (no shell runs it). An empty list or string goes back to the image's command.
    type: raw
  entrypoint:
    description:
      - Entrypoint, as a list or a string split like O(command). An empty list goes back to the image's entrypoint.
    type: raw
  network:
    description:
      - Network to attach the container to (V(bridge) when the slot has none). It must exist.
    type: str
  stop_timeout:
    description:
      - Seconds the container gets to exit after its stop signal before it is killed.
      - Without it the engine default (10 seconds) applies.
    type: int
  healthcheck:
    description:
      - The Docker HEALTHCHECK of the container, overriding the image's. Unset fields come from the image's.
        An empty dict goes back to the image's healthcheck.
    type: dict
    suboptions:
      test:
        description:
          - Command as a list. A list starting with C(CMD), C(CMD-SHELL) or C(NONE) is used as is, any other list is
            run as C(CMD); a string is run with C(CMD-SHELL). V([NONE]) disables the image's healthcheck.
        type: raw
      interval:
        description: Seconds between checks.
        type: float
      timeout:
        description: Seconds one check may take.
        type: float
      retries:
        description: Failed checks in a row before the container is unhealthy.
        type: int
      start_period:
        description: Seconds after start during which failures do not count.
        type: float
  health:
    description:
      - How the new container proves healthy before the old one is removed.
      - With O(health.url), the module sends C(GET url) from the Docker host every O(health.interval) seconds until it
        answers O(health.status); after O(health.retries) probes that did not, the new container is unhealthy.
      - Without O(health.url), when the container has a Docker healthcheck, the module waits for Docker to report
        C(healthy); C(unhealthy), or no C(healthy) within O(health.retries) x O(health.interval) seconds, fails.
      - With neither, the container must be running and still running (not restarted) O(health.interval) seconds
        after its start.
      - In every mode a container that exits or restarts while the module waits is unhealthy.
    type: dict
    default: {}
    suboptions:
      url:
        description:
          - URL to probe, V(http) or V(https). It must parse and its host must resolve. When it targets the Docker
            host itself (V(localhost), V(127.0.0.1)...) its port must be one of the slot's published host ports,
            since the probe cannot reach the container's own port from there.
        type: str
      status:
        description: HTTP status that counts as healthy.
        type: int
        default: 200
      interval:
        description: Seconds between two probes (and the observation time without healthcheck).
        type: float
        default: 1.0
      timeout:
        description: Seconds one HTTP probe may take.
        type: float
        default: 2.0
      retries:
        description: Number of probes (or O(health.interval) periods) before the new container counts as unhealthy.
        type: int
        default: 30
      validate_certs:
        description: Verify the certificate of an V(https) URL.
        type: bool
        default: true
      settle:
        description:
          - Settle period in seconds. After its first pass the new container is checked again every
            O(health.interval) for this long, and counts as healthy only if it keeps running (no exit, no restart) and
            keeps passing. A release that turns healthy and then crashes or starts failing its check a few seconds
            later is rolled back instead of being put in service.
          - V(0) counts the first pass.
        type: float
        default: 0
  log_lines:
    description:
      - Number of log lines of a failed new container included in the error and in RV(logs).
    type: int
    default: 50
notes:
  - The host-port pre-check binds each requested port for a moment and also asks the engine which containers publish
    it; the bind is skipped when O(docker_host) is not a local socket.
  - Only the settings listed as options are carried to the new container. Other settings of a container created by
    other means (memory limits, user, DNS...) are not.
  - O(health) and the host-port pre-check apply when a container is started (O(state=started)), not with
    O(state=created) or O(state=absent).
  - Links are resolved when the container starts; a container linked to the slot keeps pointing at the container it
    was linked to when that one is replaced. Prefer a user-defined O(network) for new stacks.
  - The old container's host ports are free from the moment it stops until the new one starts; put a load balancer in
    front (and drain the slot first) for zero downtime.
seealso:
  - module: baton.docker.registry_login
"""

EXAMPLES = r"""
- name: Deploy v2 of the app into slot app-a, probing it on its host port
  baton.docker.container_swap:
    name: app-a
    image: registry.example.com/shop/app:v2
    ports:
      - "127.0.0.1:8081:8000"
    env:
      APP_MODE: production
    secret_env:
      DB_PASSWORD: "{{ vault_db_password }}"
    health:
      url: http://127.0.0.1:8081/health
      retries: 20

- name: Upgrade the slot, keeping its ports, env, volumes... as they are
  baton.docker.container_swap:
    name: app-a
    image: registry.example.com/shop/app:v3
    health:
      url: http://127.0.0.1:8081/health

- name: Pull with credentials given to this task only
  baton.docker.container_swap:
    name: worker
    image: registry.example.com/shop/worker@sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b
    pull_auth:
      username: deploy
      password: "{{ vault_registry_password }}"
    command: ["worker", "--queue", "default"]
    restart_policy: on-failure
    restart_retries: 5

- name: Wait for the image's Docker HEALTHCHECK instead of an HTTP probe
  baton.docker.container_swap:
    name: app-b
    image: registry.example.com/shop/app:v2
  register: swap

- name: Keep a created, not started, template container of the report job (a scheduler runs it)
  baton.docker.container_swap:
    name: report-job
    image: registry.example.com/shop/app:v2
    state: created
    command: ["python3", "/app/report.py"]
    volumes_from:
      - static:ro
    links:
      - db:database
    hostname: report-job.shop

- name: Start the load balancer if it is not running, never replace it on a deploy
  baton.docker.container_swap:
    name: haproxy0
    image: registry.example.com/shop/haproxy:2.6
    update: false

- name: Remove a replica that is no longer wanted
  baton.docker.container_swap:
    name: app2
    state: absent

- name: Show how long the new container took
  ansible.builtin.debug:
    msg: "{{ swap.container.new_id }} healthy after {{ swap.seconds_to_healthy }}s"
"""

RETURN = r"""
changed:
  description: Whether the slot was (or in check mode would be) changed.
  returned: always
  type: bool
  sample: true
created:
  description: Whether this was the first deploy of the slot (no container was in it).
  returned: always
  type: bool
  sample: false
action:
  description:
    - What was done (in check mode, what would be done) with the slot.
    - V(none) nothing; V(create) a container was created in the empty slot; V(replace) a new container took the place
      of the slot's container; V(recover) only the recovery from an interrupted run (see RV(recovery)) was done;
      V(start) the slot's container was started as it is (O(update=false)); V(remove) the slot's containers were
      removed (O(state=absent)).
  returned: always
  type: str
  choices: [none, create, replace, recover, start, remove]
  sample: replace
rolled_back:
  description: Whether the new container failed and the old one was put back into the slot.
  returned: always
  type: bool
  sample: false
recovery:
  description:
    - What was done (or would be done in check mode) with a C(<name>.baton-previous) container left by an interrupted
      run. V(restored) put it back into the empty slot, V(discarded) removed it, V(replaced) removed a slot container
      that did not run and put it back. V(null) when there was none.
  returned: always
  type: str
  sample: null
container:
  description: The slot's containers.
  returned: always
  type: dict
  contains:
    name:
      description: The slot name.
      type: str
      returned: always
      sample: app-a
    old_id:
      description: ID of the container that was in the slot before the run, V(null) on the first deploy.
      type: str
      returned: always
      sample: 3f2c9a1e6b0d4c8a9f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3b2
    new_id:
      description:
        - ID of the container in the slot after the run (the old one when nothing changed or after a rollback).
        - V(null) in check mode when a new container would be created, and with O(state=absent).
      type: str
      returned: always
      sample: 9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c
image:
  description: The images involved.
  returned: always
  type: dict
  contains:
    ref:
      description: The image reference asked for, normalized (C(:latest) added when no tag was given).
      type: str
      returned: always
      sample: registry.example.com/shop/app:v2
    old_ref:
      description: The image reference the old container was created from, V(null) on the first deploy.
      type: str
      returned: always
      sample: registry.example.com/shop/app:v1
    old_id:
      description: Image ID of the old container, V(null) on the first deploy.
      type: str
      returned: always
      sample: sha256:bd6c94ae805ab4aad4d42e5d84232174fa4cb23e7b39914752dec54e1bfcb99c
    new_id:
      description:
        - Image ID of O(image); V(null) in check mode when it would be pulled, and when the image was not needed
          (O(state=absent), or O(update=false) with a container in the slot).
      type: str
      returned: always
      sample: sha256:a9fffb64a1de7e5d9f5b6c8f2f0d1c3b4a5e6f708192a3b4c5d6e7f8091a2b3c
    old_digest:
      description: A repository digest (from RepoDigests) of the old image, V(null) when it has none (built locally).
      type: str
      returned: always
      sample: registry.example.com/shop/app@sha256:0d4f2d3b1e8c7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29
    new_digest:
      description:
        - A repository digest of the new image, preferring the one of the repository in O(image); V(null) when
          RV(image.new_id) is.
      type: str
      returned: always
      sample: registry.example.com/shop/app@sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b
seconds_to_healthy:
  description:
    - Seconds from the start of the new (or, with RV(action=start), the kept) container until it proved healthy, the
      settle period (O(health.settle)) included.
  returned: when a container was started and proved healthy
  type: float
  sample: 2.13
killed_at_stop_timeout:
  description:
    - Seconds the previous container was given before the engine killed it, when it did not stop on its stop signal
      (it exited with SIGKILL's code 137 at its stop timeout). A warning says so too.
  returned: when the previous container had to be killed
  type: float
  sample: 10.0
logs:
  description: Last O(log_lines) log lines (stdout and stderr) of a new container that failed.
  returned: when the new container failed
  type: list
  elements: str
  sample: ["demo broken listening on :8000 (broken)", "error: configuration invalid, health check will fail"]
diff:
  description:
    - Image, slot configuration and container status (C(state)) before and after, env values masked as
      C(sha256:<prefix>).
    - With O(state=absent), C(after) is empty.
  returned: when run with --diff
  type: dict
  sample:
    before: {image: "baton-demo/app:v1", env: {FOO: "sha256:fcde2b2edb"}, ports: ["8081:8000/tcp"]}
    after: {image: "baton-demo/app:v2", env: {FOO: "sha256:fcde2b2edb"}, ports: ["8081:8000/tcp"]}
"""

from ansible_collections.baton.docker.plugins.module_utils._docker_client import (  # noqa: E402
    PULL_ARGS,
)
from ansible_collections.baton.docker.plugins.module_utils._module import run_module  # noqa: E402
from ansible_collections.baton.docker.plugins.module_utils._swap_engine import (  # noqa: E402
    SWAP_ARGS,
    ContainerSwap,
)

# Seconds options whose lower bound ContainerSwap.check_params checks in its own words.
CHECKED_SECONDS = ("stop_timeout", "api_timeout", "health.interval", "health.timeout", "healthcheck.interval",
                   "healthcheck.timeout")


def argument_spec():
    spec = dict(SWAP_ARGS)
    spec.update(PULL_ARGS)
    return spec


def main():
    run_module(argument_spec(), ContainerSwap, connection="docker", checked_seconds=CHECKED_SECONDS,
               required_if=[("state", "started", ["image"]), ("state", "created", ["image"])])


if __name__ == "__main__":
    main()

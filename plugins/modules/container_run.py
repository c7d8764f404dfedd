#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: container_run
short_description: Run a one-off container to completion, such as a database migration or a maintenance command
version_added: 0.1.0
description:
  - Runs one command in a new container of O(image), waits until it ends, returns its exit code and the last
    O(log_lines) lines of its output, and removes the container, whatever happened (failure and timeout included).
  - The image is made present first, as O(pull) says, and every option is checked before anything runs. A bad volume,
    a O(volumes_from) or O(links) container that does not exist, a network that does not exist or a name already taken
    fails the task with the option named, and no container is created.
  - A command that exits with a code other than 0 fails the task. The message names the image, the command, the exit
    code and the tail of the output.
  - A command still running after O(timeout) seconds is killed, and the task fails saying so, with its output.
  - Environment variables are handed to the engine as data, never through a shell, so quotes, dollar signs, backticks, C(%),
    spaces and newlines reach the command unchanged.
  - The container is named O(name) and labelled C(baton.managed=true) and C(baton.oneoff=true), on top of O(labels),
    so a one-off container left by a host crash is easy to find (see M(baton.docker.container_info)).
  - Running a command is a change, so a task that runs reports C(changed=true).
author:
  - baton.docker maintainers (@baton-docker)
extends_documentation_fragment:
  - baton.docker.attributes
  - baton.docker.docker
  - baton.docker.pull
attributes:
  check_mode:
    support: partial
    description: Checks the options, the image and the referenced containers and network, then stops.
    details: Nothing is pulled, created or run. The task reports C(changed=true) and RV(ran=false), and RV(msg) says
      what would run. An image that is missing locally is looked up in its registry, so a tag that does not exist fails
      in check mode too.
  diff_mode:
    description: Shows the one-off container that runs (name, image, command; never its environment) as added.
  platform:
    description: Runs on the Docker host.
options:
  image:
    description:
      - Image to run, as C(repository:tag) or C(repository@sha256:<digest>). A repository without tag means C(:latest).
    type: str
    required: true
  command:
    description:
      - Command to run, replacing the image's C(CMD).
      - A list of arguments, or a string split into arguments like a shell would (no shell runs it; use
        C([sh, -c, "..."]) for shell syntax).
      - When left out, the image's C(CMD) runs.
    type: raw
  entrypoint:
    description:
      - Entrypoint replacing the image's, as a list of arguments or a string split like O(command).
      - As with C(docker run --entrypoint), setting it drops the image's C(CMD); O(command) then holds all the arguments.
    type: raw
  env:
    description:
      - Environment variables of the container. Values must be strings; quote booleans and numbers in YAML.
    type: dict
  secret_env:
    description:
      - Environment variables whose values are secret. They are never logged or returned.
      - A variable cannot be set both here and in O(env).
    type: dict
  volumes:
    description:
      - Mounts, each C(source:destination) or C(source:destination:ro). The source is an absolute path on the Docker
        host or the name of a volume (created when missing).
    type: list
    elements: str
  volumes_from:
    description:
      - Containers whose volumes are mounted too, each C(container) or C(container:ro). Each must exist; in check mode
        a missing one only gives a warning (an earlier task of the same run may create it).
    type: list
    elements: str
  links:
    description:
      - Legacy links to other containers, each C(container) or C(container:alias). Each container must be running.
    type: list
    elements: str
  network:
    description:
      - Docker network to attach the container to, which must exist (V(bridge), V(host), V(none) or a network's name).
      - When left out, the engine's default network.
    type: str
  working_dir:
    description:
      - Working directory of the command, an absolute path in the container. The image's when left out.
    type: str
  user:
    description:
      - User (and optionally group) the command runs as, such as V(app), V(1000) or V(1000:1000). The image's when left
        out.
    type: str
  labels:
    description:
      - Extra labels of the container. C(baton.managed) and C(baton.oneoff) are set by the module.
    type: dict
  name:
    description:
      - Name of the one-off container. No container of that name may exist.
      - When left out, C(baton-run-) followed by 8 random hex digits.
    type: str
  timeout:
    description:
      - Seconds the command may run. A command still running then is killed and the task fails.
    type: float
    default: 600.0
  log_lines:
    description:
      - How many of the last lines of output (stdout and stderr together) are returned in RV(output) and quoted in a
        failure message. V(0) returns none.
    type: int
    default: 50
notes:
  - Output is read from the engine's log of the container. With a logging driver that the engine cannot read back
    (for example C(syslog)), RV(output) is empty.
seealso:
  - module: baton.docker.container_info
  - module: baton.docker.container_swap
"""

EXAMPLES = r"""
- name: Migrate the database with the new image before the first replica is replaced
  baton.docker.container_run:
    image: "registry.example.com/app:{{ release_tag }}"
    command: [bundle, exec, rake, db:migrate]
    env:
      RAILS_ENV: production
      DB_HOST: db.internal
    secret_env:
      DB_PASSWORD: "{{ vault_db_password }}"
    volumes_from:
      - socks
    timeout: 900
  register: migration

- name: Show what the migration printed
  ansible.builtin.debug:
    var: migration.output

- name: Run a maintenance command through a shell, as a given user
  baton.docker.container_run:
    image: registry.example.com/app:v42
    command: [sh, -c, "python3 manage.py clearsessions && python3 manage.py compress"]
    user: app
    working_dir: /srv/app
    network: backend
    pull: never
"""

RETURN = r"""
ran:
  description: Whether the command ran; V(false) in check mode.
  returned: always
  type: bool
  sample: true
rc:
  description: Exit code of the command (null when it did not finish in time or did not start).
  returned: when the command ran
  type: int
  sample: 0
output:
  description: The last O(log_lines) lines of the command's output, stdout and stderr together.
  returned: when the command ran
  type: list
  elements: str
  sample: ["== 20261122104501 AddIndexToOrders: migrating", "== 20261122104501 AddIndexToOrders: migrated (0.0121s)"]
seconds:
  description: How long the command ran, in seconds.
  returned: when the command ran
  type: float
  sample: 4.21
container:
  description: Name of the one-off container (removed by the time the task ends).
  returned: always
  type: str
  sample: baton-run-3fa91c0d
image:
  description: The image reference that ran, C(repository:tag) or C(repository@digest).
  returned: always
  type: str
  sample: registry.example.com/app:v42
image_id:
  description: ID of the image that ran.
  returned: when the image is present locally
  type: str
  sample: sha256:5b3e8a8f9d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a
command:
  description: The arguments the container runs, entrypoint included, as merged with the image's defaults.
  returned: when the image is present locally
  type: list
  elements: str
  sample: [bundle, exec, rake, "db:migrate"]
pulled:
  description: Whether the image was pulled.
  returned: always
  type: bool
  sample: false
msg:
  description: What ran and how it ended, or in check mode what would run.
  returned: always
  type: str
  sample: "bundle exec rake db:migrate in registry.example.com/app:v42 exited with code 0 after 4.21 s"
"""

import shlex  # noqa: E402 (imports follow the documentation)

from ansible_collections.baton.docker.plugins.module_utils._containers import (  # noqa: E402
    DEFAULT_LOG_LINES,
    get_container,
    is_running,
    network_exists,
    referenced_container,
)
from ansible_collections.baton.docker.plugins.module_utils._docker_client import (  # noqa: E402
    PULL_ARGS,
    DockerClient,
    DockerClientError,
)
from ansible_collections.baton.docker.plugins.module_utils._images import image_for_run  # noqa: E402
from ansible_collections.baton.docker.plugins.module_utils._oneoff import (  # noqa: E402
    ONEOFF_OWN_LABELS,
    OneOffFailed,
    effective_argv,
    oneoff_labels,
    oneoff_name,
    run_oneoff,
)
from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError  # noqa: E402
from ansible_collections.baton.docker.plugins.module_utils._module import ModuleRunner, run_module  # noqa: E402
from ansible_collections.baton.docker.plugins.module_utils._image_ref import ImageRef  # noqa: E402
from ansible_collections.baton.docker.plugins.module_utils._params import (  # noqa: E402
    ParamError,
    check_non_negative,
    check_positive,
    check_slot_name,
    normalize_command,
    normalize_mapping,
    parse_links,
    parse_volumes,
    parse_volumes_from,
)
from ansible_collections.baton.docker.plugins.module_utils._swap_plan import tail_text  # noqa: E402


class RunFailed(BatonError):
    """The command ran (or was started) and failed; the result carries its output."""


class OneOffRun(ModuleRunner):
    def __init__(self, module):
        super().__init__(module)
        self.client = None
        self.result = dict(changed=False, ran=False, pulled=False, container=None, image=self.params["image"])

    def check_params(self):
        """Everything that can be refused without the engine."""
        params = self.params
        self.image = ImageRef.parse(params["image"])
        self.ref = self.image.name
        self.result["image"] = self.ref
        check_positive({"timeout": params["timeout"], "api_timeout": params["api_timeout"]})
        check_non_negative({"log_lines": params["log_lines"]})
        self.command = normalize_command("command", params["command"])
        self.entrypoint = normalize_command("entrypoint", params["entrypoint"])
        env = normalize_mapping("env", params["env"], env=True)
        secret = normalize_mapping("secret_env", params["secret_env"], env=True)
        both = sorted(set(env) & set(secret))
        if both:
            raise ParamError("env and secret_env both set %s; set each variable in one of them" % ", ".join(both))
        env.update(secret)
        self.env = env
        labels = normalize_mapping("labels", params["labels"])
        own = sorted(key for key in labels if key in ONEOFF_OWN_LABELS)
        if own:
            raise ParamError("labels: %s is set by the module itself" % ", ".join(own))
        self.labels = oneoff_labels(labels)
        self.volumes = parse_volumes(params["volumes"] or [])
        # The collection's one volumes_from and links parser, as (container, mode or None) and (container, alias).
        self.volumes_from = [(spec.split(":")[0], "ro" if spec.endswith(":ro") else None)
                             for spec in parse_volumes_from(params["volumes_from"] or [])]
        self.links = [tuple(spec.split(":", 1)) for spec in parse_links(params["links"] or [])]
        for option in ("network", "user"):
            if params[option] is not None and not params[option].strip():
                raise ParamError("%s: must not be empty" % option)
        if params["working_dir"] is not None and not params["working_dir"].startswith("/"):
            raise ParamError("working_dir: %r must be an absolute path in the container" % params["working_dir"])
        self.name = check_slot_name(params["name"]) if params["name"] is not None else oneoff_name()
        self.result["container"] = self.name

    def check_engine(self):
        """Pre-checks against the engine; none of them changes anything."""
        if get_container(self.client, self.name) is not None:
            raise ParamError("name: a container called %s already exists" % self.name)
        check_mode, warn = self.module.check_mode, self.module.warn
        for container, _mode in self.volumes_from:
            referenced_container(self.client, "volumes_from", container, check_mode, warn)
        for container, _alias in self.links:
            attrs = referenced_container(self.client, "links", container, check_mode, warn)
            if attrs is not None and not is_running(attrs):
                raise ParamError("links: container %s is not running; a link needs a running container" % container)
        network = self.params["network"]
        if network and not network_exists(self.client, network):
            raise ParamError("network: there is no Docker network called %s" % network)

    def resolve_image(self):
        """Inspect data of the image to run; None in check mode when it would be pulled."""
        try:
            attrs, pulled = image_for_run(self.client, self.image, self.params["pull"], self.params["pull_auth"],
                                          self.module.check_mode)
        except DockerClientError as exc:
            raise ParamError("image: %s" % exc)
        self.result["pulled"] = pulled
        return attrs

    def describe(self, argv):
        return " ".join(shlex.quote(arg) for arg in argv) if argv else "the image's default command"

    def run(self):
        self.check_params()
        self.client = DockerClient.from_params(self.params).connect()
        try:
            return self._run()
        finally:
            self.client.close()

    def _run(self):
        params = self.params
        self.check_engine()
        image = self.resolve_image()
        argv = self.command
        if image is not None:
            argv = effective_argv(image.get("Config"), self.entrypoint, self.command)
            self.result.update(image_id=image["Id"], command=argv)
        shown = self.describe(argv)
        if self.module._diff:  # what runs (its environment is never shown)
            self.result["diff"] = dict(before={}, after=dict(container=self.name, image=self.ref, command=shown))
        if self.module.check_mode:
            self.result["changed"] = True
            self.result["msg"] = "check mode: would %srun %s in a one-off container %s of %s" % (
                "pull %s and " % self.ref if image is None or params["pull"] == "always" else "", shown, self.name, self.ref)
            return self.result
        try:
            run = run_oneoff(self.client, self.ref, command=self.command, entrypoint=self.entrypoint,
                             environment=self.env, labels=self.labels, name=self.name, volumes=self.volumes,
                             volumes_from=self.volumes_from, links=self.links, network=params["network"],
                             working_dir=params["working_dir"], user=params["user"], timeout=params["timeout"],
                             log_lines=params["log_lines"])
        except OneOffFailed as exc:
            if exc.stage == "create":
                raise
            self.result.update(changed=True, ran=True, rc=None, output=exc.output, seconds=exc.seconds or 0.0)
            self.warn_removal(exc.remove_error)
            if exc.stage == "timeout":
                what = "did not finish within %g s and was killed (container %s)" % (params["timeout"], self.name)
            elif exc.stage == "start":
                what = "could not start (container %s): %s" % (self.name, exc.reason)
            else:
                what = "could not be followed to its end: %s" % exc
            raise RunFailed("%s in %s %s%s" % (shown, self.ref, what, self.output_text(exc.output)))
        self.result.update(changed=True, ran=True, rc=run["rc"], output=run["output"], seconds=run["seconds"])
        self.warn_removal(run["remove_error"])
        if run["rc"] != 0:
            raise RunFailed("%s in %s exited with code %s after %s s (container %s)%s" % (
                shown, self.ref, run["rc"], run["seconds"], self.name, self.output_text(run["output"])))
        self.result["msg"] = "%s in %s exited with code 0 after %s s" % (shown, self.ref, run["seconds"])
        return self.result

    def output_text(self, lines):
        if not lines:
            return "; it printed nothing"
        return "; last %d line(s) of output:\n%s" % (len(lines), tail_text(lines))

    def warn_removal(self, error):
        if error:
            self.module.warn("%s; remove it by hand (it carries the label baton.oneoff=true)" % error)


def argument_spec():
    spec = dict(
        image=dict(type="str", required=True),
        command=dict(type="raw"),
        entrypoint=dict(type="raw"),
        env=dict(type="dict"),
        secret_env=dict(type="dict", no_log=True),
        volumes=dict(type="list", elements="str"),
        volumes_from=dict(type="list", elements="str"),
        links=dict(type="list", elements="str"),
        network=dict(type="str"),
        working_dir=dict(type="str"),
        user=dict(type="str"),
        labels=dict(type="dict"),
        name=dict(type="str"),
        timeout=dict(type="float", default=600.0),
        log_lines=dict(type="int", default=DEFAULT_LOG_LINES),
    )
    spec.update(PULL_ARGS)
    return spec


def main():
    # timeout and api_timeout must be more than 0: OneOffRun.check_params says so in its own words.
    run_module(argument_spec(), OneOffRun, connection="docker", checked_seconds=("timeout", "api_timeout"))


if __name__ == "__main__":
    main()

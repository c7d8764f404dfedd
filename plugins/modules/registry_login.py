#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: registry_login
short_description: Log the Docker engine in to a registry, with a password or an Amazon ECR token
version_added: 0.1.0
description:
  - Logs in to a Docker registry the way C(docker login) does. The engine checks the credentials against the registry,
    then they are stored in the Docker config file (C(config.json), mode C(0600), replaced atomically), where later
    pulls and pushes by the Docker CLI, the Docker SDK and the other modules of this collection find them.
  - With a O(username) and O(password), for any registry.
  - With O(ecr=true), the credentials come from Amazon ECR. The module asks ECR for an authorization token
    (C(GetAuthorizationToken)) and logs in with the user and temporary password it holds. They are never returned or
    logged.
  - Compares first. When the Docker config already holds exactly these credentials for the registry, nothing is sent
    anywhere and the task reports C(changed=false) (use O(reauthorize=true) to check them against the registry
    anyway).
  - ECR hands out a new token (valid 12 hours) on every request, so an ECR login normally stores new credentials and
    reports C(changed=true). That is a real change of the config file, and it keeps the stored token fresh. It only
    reports C(changed=false) when ECR returns the token already stored.
  - The credentials never appear on a command line.
author:
  - baton.docker maintainers (@baton-docker)
extends_documentation_fragment:
  - baton.docker.attributes
  - baton.docker.docker
  - baton.docker.aws
attributes:
  check_mode:
    description: Compares the stored credentials with the wanted ones and reports whether a login would happen. With
      O(ecr=true) it still asks ECR for a token, which is a read-only call.
  diff_mode:
    description: Says whether the Docker config held these credentials for the registry before and after; the
      credentials themselves never appear.
  platform:
    description: Runs on the host whose Docker engine and Docker config file should hold the login.
  action_group:
    description: Use C(group/baton.docker.docker) or C(group/baton.docker.aws) in C(module_defaults) to set its Docker
      or its AWS options.
    membership:
      - baton.docker.docker
      - baton.docker.aws
    support: full
options:
  registry:
    description:
      - Registry to log in to, as a host name with an optional port, for example C(registry.example.com:5000). A
        C(https://) prefix and a trailing slash are dropped.
      - Required unless O(ecr=true). With O(ecr=true) it defaults to the registry endpoint ECR returns with the token
        (C(ACCOUNT.dkr.ecr.REGION.amazonaws.com)); set it to store the ECR credentials under another name, for example
        a pull-through proxy of the registry.
    type: str
  username:
    description: User name. Required unless O(ecr=true), and not used with it.
    type: str
  password:
    description: Password or access token. Required unless O(ecr=true), and not used with it. Never logged or returned.
    type: str
  ecr:
    description:
      - Get the credentials from Amazon ECR instead of O(username) and O(password).
      - Uses the AWS connection options (O(region), O(profile), credentials, O(endpoint_url)).
    type: bool
    default: false
  registry_id:
    description: With O(ecr=true), the AWS account ID of the registry. Defaults to the account of the credentials.
    type: str
  reauthorize:
    description: Log in again even when the Docker config already holds these credentials, so that the registry checks
      them. Still reports C(changed=false) when the stored credentials do not change.
    type: bool
    default: false
  config_path:
    description:
      - Docker config file to store the credentials in. Defaults to C(config.json) in E(DOCKER_CONFIG), or in
        C(~/.docker) when that is not set, the file the Docker CLI and SDK read.
    type: path
"""

EXAMPLES = r"""
- name: Log in to a private registry
  baton.docker.registry_login:
    registry: registry.example.com:5000
    username: deploy
    password: "{{ vault_registry_password }}"

- name: Log in to the account's ECR registry in us-east-1
  baton.docker.registry_login:
    ecr: true
    region: us-east-1

- name: Log in to another account's ECR registry, with a named profile
  baton.docker.registry_login:
    ecr: true
    registry_id: "210987654321"
    region: eu-west-1
    profile: ci
"""

RETURN = r"""
registry:
  description: The registry the credentials are stored for.
  returned: always
  type: str
  sample: 123456789012.dkr.ecr.us-east-1.amazonaws.com
username:
  description: The user name logged in with (C(AWS) for ECR).
  returned: success
  type: str
  sample: AWS
config_path:
  description: The Docker config file holding the credentials.
  returned: success
  type: str
  sample: /root/.docker/config.json
expires_at:
  description: With O(ecr=true), when the ECR token expires (ISO 8601).
  returned: when ecr is true
  type: str
  sample: "2016-03-23T21:57:15+00:00"
msg:
  description: What was done.
  returned: always
  type: str
  sample: stored new credentials for 127.0.0.1:5000
"""

from ansible_collections.baton.docker.plugins.module_utils._aws import AwsClient, registry_host
from ansible_collections.baton.docker.plugins.module_utils._docker_client import DockerClient
from ansible_collections.baton.docker.plugins.module_utils._registry_auth import (
    docker_config_path,
    login,
    stored_auth_matches,
)
from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError
from ansible_collections.baton.docker.plugins.module_utils._module import ModuleRunner, require_library, run_module


class LoginError(BatonError):
    """Options that do not make a login."""


class Login(ModuleRunner):
    def credentials(self):
        """(registry, username, password, extra result) from the options or from ECR."""
        module, params = self.module, self.params
        if not params["ecr"]:
            if params["registry_id"]:
                raise LoginError("registry_id: only used with ecr=true")
            for name in ("registry", "username", "password"):
                if not params[name]:
                    raise LoginError("%s: required when ecr is false" % name)
            return registry_host(params["registry"]), params["username"], params["password"], {}
        for name in ("username", "password"):
            if params[name] is not None:
                raise LoginError("%s: not used with ecr=true, the credentials come from ECR" % name)
        require_library(module, "aws")
        token = AwsClient.from_params(params).ecr_authorization(params["registry_id"])
        # Belt and braces: the token never leaves the module, but if a message ever
        # quoted it, Ansible masks it.
        module.no_log_values.add(token["password"])
        registry = registry_host(params["registry"]) if params["registry"] else token["registry"]
        if not registry:
            raise LoginError("ECR returned no registry endpoint; set registry")
        return registry, token["username"], token["password"], dict(expires_at=token["expires_at"])

    def run(self):
        module, params = self.module, self.params
        registry, username, password, extra = self.credentials()
        if not registry:
            raise LoginError("registry: must not be empty")
        config_path = params["config_path"] or docker_config_path()
        result = dict(changed=False, registry=registry, username=username, config_path=config_path)
        result.update(extra)
        stored = stored_auth_matches(registry, username, password, config_path)
        if stored and not params["reauthorize"]:
            result["msg"] = "the Docker config already holds these credentials for %s" % registry
            return result
        result["changed"] = not stored
        if module._diff:
            # What the config file says about the registry, never the credentials themselves.
            result["diff"] = dict(before=dict(registry=registry, credentials="stored" if stored else "other or none"),
                                  after=dict(registry=registry, credentials="stored"))
        if module.check_mode:
            result["msg"] = ("would store new credentials for %s" % registry) if not stored \
                else "would check the stored credentials for %s with the registry" % registry
            return result
        require_library(module, "docker")
        client = DockerClient.from_params(params).connect()
        try:
            login(client, registry, username, password, config_path)
        finally:
            client.close()
        result["msg"] = ("stored new credentials for %s" % registry) if not stored \
            else "the registry %s accepted the stored credentials" % registry
        return result


def argument_spec():
    return dict(
        registry=dict(type="str"),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        ecr=dict(type="bool", default=False),
        registry_id=dict(type="str"),
        reauthorize=dict(type="bool", default=False),
        config_path=dict(type="path"),
    )


def main():
    # boto3 is needed only with ecr=true, and the Docker SDK only to log in: the runner checks each when it gets there.
    run_module(argument_spec(), Login, connection=("docker", "aws"), require=(),
               failure=lambda params: dict(registry=params["registry"]),
               required_if=[["ecr", False, ["registry", "username", "password"]]])


if __name__ == "__main__":
    main()

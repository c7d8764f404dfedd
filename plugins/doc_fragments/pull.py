# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:

    # Options of the modules that make sure an image is present (argument spec:
    # PULL_ARGS in plugins/module_utils/_docker_client.py).
    DOCUMENTATION = r"""
options:
  pull:
    description:
      - V(missing) pulls the image only when it is not present locally.
      - V(always) pulls it on every run (a moved tag is fetched). An image named by digest (C(repo@sha256:...)) is
        content that cannot change, so when it is present it is not pulled again.
      - V(never) requires it to be present locally.
      - An image that is neither present nor pullable fails the task before anything changes.
    type: str
    choices: [missing, always, never]
    default: missing
  pull_auth:
    description:
      - Registry credentials for this pull (and the check-mode registry lookup) only; they are not stored.
      - Without it the credentials stored in the Docker config of the managed host (as written by C(docker login) or
        M(baton.docker.registry_login)) are used, as the Docker SDK does.
    type: dict
    suboptions:
      username:
        description: Registry user.
        type: str
        required: true
      password:
        description: Password or token.
        type: str
        required: true
      registry:
        description:
          - Registry address, for example V(registry.example.com:5000). Defaults to the registry of the image.
        type: str
"""

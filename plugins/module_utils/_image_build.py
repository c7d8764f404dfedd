# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Build-once releases: build an image, run its tests in a one-off container, tag it, push it, and read a tag's
digest in its registry."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shlex

from ansible_collections.baton.docker.plugins.module_utils._docker_client import DockerClientError
from ansible_collections.baton.docker.plugins.module_utils._oneoff import OneOffFailed, run_oneoff

TEST_OUTPUT_LINES = 60


class TestsFailed(DockerClientError):
    """The test command ran and failed (or did not finish)."""

    def __init__(self, message, exit_code=None, output=None):
        super().__init__(message)
        self.exit_code = exit_code
        self.output = output or []


def command_argv(command):
    """A command given as a string (split like a shell would, no shell runs) or a list -> argv list."""
    if command is None:
        return None
    if isinstance(command, (list, tuple)):
        argv = ["%s" % (arg,) for arg in command]
    else:
        try:
            argv = shlex.split("%s" % (command,))
        except ValueError as exc:
            raise DockerClientError("test_command: cannot split %r into arguments: %s" % (command, exc))
    if not argv:
        raise DockerClientError("test_command: must not be empty")
    return argv


def build_image(client, source, dockerfile="Dockerfile", buildargs=None, labels=None, nocache=False):
    """Build the context directory `source`; return (image ID, last lines of the build output)."""
    lines = []
    image_id = None
    try:
        stream = client.api.build(path=source, dockerfile=dockerfile, buildargs=buildargs or None,
                                  labels=labels or None, rm=True, forcerm=True, nocache=nocache,
                                  pull=False, decode=True)
        for chunk in stream:
            if "error" in chunk:
                detail = (chunk.get("errorDetail") or {}).get("message") or chunk["error"]
                raise DockerClientError("building %s failed: %s%s" % (
                    source, detail.strip(), (" (last output: %s)" % " / ".join(lines[-5:])) if lines else ""))
            if chunk.get("stream"):
                lines.extend(line for line in chunk["stream"].splitlines() if line.strip())
            aux = chunk.get("aux") or {}
            if aux.get("ID"):
                image_id = aux["ID"]
    except DockerClientError:
        raise
    except Exception as exc:  # APIError (bad Dockerfile path...), requests errors
        raise DockerClientError("building %s failed: %s" % (source, client.explain(exc)))
    if not image_id:
        raise DockerClientError("building %s produced no image ID (last output: %s)" % (source, " / ".join(lines[-5:])))
    return image_id, lines[-TEST_OUTPUT_LINES:]


def run_tests(client, image, command, environment=None, labels=None, timeout=600):
    """Run `command` in a one-off container of `image`; return its output lines.

    The container is removed afterwards whatever happens (see run_oneoff). A
    non-zero exit, or no exit within `timeout` seconds, raises TestsFailed with
    the output.
    """
    shown = " ".join(command)
    try:
        run = run_oneoff(client, image, command=command, environment=environment, labels=labels, timeout=timeout,
                         log_lines=TEST_OUTPUT_LINES)
    except OneOffFailed as exc:
        if exc.stage == "create":
            raise DockerClientError("cannot create the test container from %s: %s" % (image[:19], exc.reason))
        if exc.stage == "start":
            raise TestsFailed("the test command %s could not start in %s: %s" % (shown, image[:19], exc.reason),
                              output=exc.output)
        raise TestsFailed("the test command %s did not finish within %d s" % (shown, timeout), output=exc.output)
    if run["rc"] != 0:
        raise TestsFailed("the test command %s failed with exit code %s" % (shown, run["rc"]),
                          exit_code=run["rc"], output=run["output"])
    return run["output"]


def tag_image(client, image, repository, tag):
    try:
        client.api.tag(image, repository, tag, force=True)
    except Exception as exc:
        raise DockerClientError("cannot tag %s as %s:%s: %s" % (image[:19], repository, tag, client.explain(exc)))


def push_image(client, repository, tag):
    """Push repository:tag with the credentials of the Docker config; return the manifest digest."""
    digest = None
    try:
        for chunk in client.api.push(repository, tag=tag, stream=True, decode=True):
            if "error" in chunk:
                detail = (chunk.get("errorDetail") or {}).get("message") or chunk["error"]
                raise DockerClientError("pushing %s:%s failed: %s" % (repository, tag, detail.strip()))
            aux = chunk.get("aux") or {}
            if aux.get("Digest"):
                digest = aux["Digest"]
    except DockerClientError:
        raise
    except Exception as exc:
        raise DockerClientError("pushing %s:%s failed: %s" % (repository, tag, client.explain(exc)))
    return digest


def remote_digest(client, repository, tag):
    """Manifest digest of repository:tag in its registry, or None when it cannot be read (absent)."""
    try:
        return client.distribution_digest("%s:%s" % (repository, tag))
    except DockerClientError:  # unknown tag, unknown repository, or not allowed: all mean "not there for us"
        return None

# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Docker engine calls of the build-once release: build, test, tag, push.

These functions take the client returned by _docker.connect() and raise
DockerClientError (or TestsFailed) with a message a user can act on; they
never call fail_json. They complete the shared Docker client in _docker.py,
which they build on, for the image_release module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shlex

from ansible_collections.baton.docker.plugins.module_utils._docker import DockerClientError, distribution_digest

TEST_OUTPUT_LINES = 60


class TestsFailed(DockerClientError):
    """The test command ran and failed (or did not finish)."""

    def __init__(self, message, exit_code=None, output=None):
        super(TestsFailed, self).__init__(message)
        self.exit_code = exit_code
        self.output = output or []


def _explain(exc):
    explanation = getattr(exc, "explanation", None)
    if isinstance(explanation, bytes):
        explanation = explanation.decode("utf-8", "replace")
    return (explanation or str(exc) or exc.__class__.__name__).strip()


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
        raise DockerClientError("building %s failed: %s" % (source, _explain(exc)))
    if not image_id:
        raise DockerClientError("building %s produced no image ID (last output: %s)" % (source, " / ".join(lines[-5:])))
    return image_id, lines[-TEST_OUTPUT_LINES:]


def run_tests(client, image, command, environment=None, labels=None, timeout=600):
    """Run `command` in a one-off container of `image`; return its output lines.

    The container is removed afterwards whatever happens. A non-zero exit, or
    no exit within `timeout` seconds, raises TestsFailed with the output.
    """
    env = ["%s=%s" % (key, value) for key, value in sorted((environment or {}).items())]
    try:
        container = client.api.create_container(image, command=command, environment=env or None,
                                                labels=labels or None, detach=True, use_config_proxy=False)
    except Exception as exc:
        raise DockerClientError("cannot create the test container from %s: %s" % (image[:19], _explain(exc)))
    container_id = container["Id"]
    try:
        try:
            client.api.start(container_id)
        except Exception as exc:
            raise TestsFailed("the test command %s could not start in %s: %s"
                              % (" ".join(command), image[:19], _explain(exc)))
        exit_code = None
        try:
            exit_code = client.api.wait(container_id, timeout=timeout).get("StatusCode")
        except Exception:  # requests' ReadTimeout / ConnectionError when the time is up
            exit_code = None
        output = _logs(client, container_id)
        if exit_code is None:
            raise TestsFailed("the test command %s did not finish within %d s" % (" ".join(command), timeout),
                              output=output)
        if exit_code != 0:
            raise TestsFailed("the test command %s failed with exit code %s" % (" ".join(command), exit_code),
                              exit_code=exit_code, output=output)
        return output
    finally:
        try:
            client.api.remove_container(container_id, force=True, v=True)
        except Exception:  # already gone; nothing more to clean up
            pass


def _logs(client, container_id):
    try:
        data = client.api.logs(container_id, stdout=True, stderr=True, tail=TEST_OUTPUT_LINES)
    except Exception:
        return []
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    return data.splitlines()[-TEST_OUTPUT_LINES:]


def tag_image(client, image, repository, tag):
    try:
        client.api.tag(image, repository, tag, force=True)
    except Exception as exc:
        raise DockerClientError("cannot tag %s as %s:%s: %s" % (image[:19], repository, tag, _explain(exc)))


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
        raise DockerClientError("pushing %s:%s failed: %s" % (repository, tag, _explain(exc)))
    return digest


def remote_digest(client, repository, tag):
    """Manifest digest of repository:tag in its registry, or None when it cannot be read (absent)."""
    try:
        return distribution_digest(client, "%s:%s" % (repository, tag))
    except DockerClientError:  # unknown tag, unknown repository, or not allowed: all mean "not there for us"
        return None

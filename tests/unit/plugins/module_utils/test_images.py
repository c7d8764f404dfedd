"""Unit tests of module_utils/_images.py: the image a container runs from, pulled as the pull option says, as a
table over what is local and what the registry holds (a scripted engine); real pulls run in tests/integration."""

import pytest
from docker import errors as docker_errors

from ansible_collections.baton.docker.plugins.module_utils._docker_client import DockerClient, DockerClientError
from ansible_collections.baton.docker.plugins.module_utils._image_ref import ImageRef
from ansible_collections.baton.docker.plugins.module_utils._images import (
    ImageConflict,
    ensure_image,
    image_for_run,
    image_id_of,
    image_present,
    list_images,
    remove_image,
)

REF = "registry.example.com/app:v2"
LOCAL = {"Id": "sha256:old", "RepoDigests": ["registry.example.com/app@sha256:same"]}
PULLED = {"Id": "sha256:new", "RepoDigests": ["registry.example.com/app@sha256:newer"]}


class RegistryAPI:
    """A local image store (``local``: ref -> inspect data) and a registry (``remote``: ref -> digest)."""

    def __init__(self, local=None, remote=None, pull_error=None):
        self.local = dict(local or {})
        self.remote = dict(remote or {})
        self.pull_error = pull_error
        self.pulls = []
        self.lookups = 0
        self.timeout = 60

    def inspect_image(self, ref):
        if ref not in self.local:
            raise docker_errors.NotFound("no such image")
        return self.local[ref]

    def inspect_distribution(self, ref, auth_config=None):
        self.lookups += 1
        if ref not in self.remote:
            raise docker_errors.NotFound("manifest unknown")
        return {"Descriptor": {"digest": self.remote[ref]}}

    def pull(self, repository, tag=None, **kwargs):
        self.pulls.append((repository, tag))
        if self.pull_error:
            yield {"error": self.pull_error}
            return
        self.local["%s%s%s" % (repository, "@" if tag.startswith("sha256:") else ":", tag)] = PULLED
        yield {"status": "Downloaded newer image"}


DIGEST = "sha256:" + "a" * 64
PINNED = "registry.example.com/app@" + DIGEST


def run(api, pull, check_mode=False, ref=REF):
    return image_for_run(DockerClient(api=api), ImageRef.parse(ref), pull,
                         check_mode=check_mode)


@pytest.mark.parametrize("local, remote, pull, check_mode, attrs, pulled", [
    ({REF: LOCAL}, {}, "never", False, LOCAL, False),
    ({REF: LOCAL}, {}, "missing", False, LOCAL, False),
    ({REF: LOCAL}, {}, "missing", True, LOCAL, False),
    ({}, {REF: "sha256:newer"}, "missing", False, PULLED, True),
    ({REF: LOCAL}, {REF: "sha256:newer"}, "always", False, PULLED, True),
    # check mode pulls nothing: None when a pull would bring a new image
    ({}, {REF: "sha256:newer"}, "missing", True, None, False),
    ({REF: LOCAL}, {REF: "sha256:newer"}, "always", True, None, False),
    ({REF: LOCAL}, {REF: "sha256:same"}, "always", True, LOCAL, False),
])
def test_image_for_run(local, remote, pull, check_mode, attrs, pulled):
    api = RegistryAPI(local, remote)
    assert run(api, pull, check_mode) == (attrs, pulled)
    assert bool(api.pulls) is pulled


@pytest.mark.parametrize("local, pull, check_mode, attrs, pulls, lookups", [
    # a digest present locally is that content: no pull and no registry lookup, even with always
    ({PINNED: LOCAL}, "always", False, LOCAL, 0, 0),
    ({PINNED: LOCAL}, "always", True, LOCAL, 0, 0),
    ({PINNED: LOCAL}, "missing", False, LOCAL, 0, 0),
    # absent, it is pulled (by its digest), or looked up in check mode
    ({}, "always", False, PULLED, 1, 0),
    ({}, "always", True, None, 0, 1),
])
def test_image_by_digest(local, pull, check_mode, attrs, pulls, lookups):
    api = RegistryAPI(local, {PINNED: DIGEST})
    assert run(api, pull, check_mode, ref=PINNED) == (attrs, pulls > 0)
    assert (len(api.pulls), api.lookups) == (pulls, lookups)
    if pulls:
        assert api.pulls == [("registry.example.com/app", DIGEST)]


@pytest.mark.parametrize("local, remote, pull, check_mode, pull_error, message", [
    ({}, {}, "never", False, None, REF + " is not present locally and pull is never"),
    ({}, {}, "missing", True, None, REF + " is not present locally and could not be found in its registry: "
                                          "manifest unknown"),
    ({REF: LOCAL}, {}, "always", True, None, REF + " is present locally but could not be found in its registry: "
                                                   "manifest unknown"),
    ({}, {}, "missing", False, "manifest unknown", REF + " is not present locally and could not be pulled: "
                                                         "manifest unknown"),
    ({REF: LOCAL}, {}, "always", False, "denied", REF + " could not be pulled: denied"),
])
def test_image_for_run_failures(local, remote, pull, check_mode, pull_error, message):
    with pytest.raises(DockerClientError) as caught:
        run(RegistryAPI(local, remote, pull_error), pull, check_mode)
    assert str(caught.value) == message


def test_image_id_and_presence():
    client = DockerClient(api=RegistryAPI({REF: LOCAL}))
    assert image_id_of(client, REF) == "sha256:old" and image_present(client, REF)
    assert image_id_of(client, "app:absent") is None and not image_present(client, "app:absent")


@pytest.mark.parametrize("local, pull_error, image, pulls, message", [
    ({REF: LOCAL}, None, REF, [], None),
    ({}, None, REF, [("registry.example.com/app", "v2")], None),
    ({}, "manifest unknown", REF, [("registry.example.com/app", "v2")],
     "image registry.example.com/app:v2 is not present and cannot be pulled: manifest unknown"),
    ({}, None, "two words", [], "image: 'two words' is not an image reference"),
])
def test_ensure_image(local, pull_error, image, pulls, message):
    api = RegistryAPI(local, pull_error=pull_error)
    if message is None:
        ensure_image(DockerClient(api=api), image)
    else:
        with pytest.raises(DockerClientError) as caught:
            ensure_image(DockerClient(api=api), image)
        assert str(caught.value).startswith(message), str(caught.value)
    assert api.pulls == pulls


class ListAPI:
    """An engine answering the image list with ``rows`` and removals with ``error`` (or success)."""

    def __init__(self, rows=None, error=None):
        self.rows = rows
        self.error = error
        self.removed = []

    def images(self):
        return self.rows

    def remove_image(self, ref, force=False, noprune=False):
        self.removed.append((ref, force))
        if self.error is not None:
            raise self.error


def api_error(status, text):
    response = type("Response", (), {"status_code": status, "reason": text, "url": "/images"})()
    return docker_errors.APIError(text, response=response, explanation=text)


def test_list_images_reads_ids_tags_and_digests():
    rows = [{"Id": "sha256:a", "RepoTags": ["app:v1"], "RepoDigests": ["app@sha256:" + "1" * 64]},
            {"Id": "sha256:b", "RepoTags": None, "RepoDigests": None}]
    assert list_images(DockerClient(api=ListAPI(rows))) == [
        {"id": "sha256:a", "tags": ["app:v1"], "digests": ["app@sha256:" + "1" * 64]},
        {"id": "sha256:b", "tags": [], "digests": []}]


@pytest.mark.parametrize("rows, message", [
    ({"Id": "sha256:a"}, "image list: expected a list of objects"),
    (["sha256:a"], "image list: expected a list of objects"),
    ([{"RepoTags": []}], "image list: an entry has no Id"),
    ([{"Id": "sha256:a", "RepoTags": "app:v1"}], "image list: RepoTags of sha256:a: expected a list of strings"),
    ([{"Id": "sha256:a", "RepoDigests": [None]}], "image list: RepoDigests of sha256:a: expected a list of strings"),
])
def test_list_images_refuses_malformed_answers(rows, message):
    with pytest.raises(DockerClientError) as info:
        list_images(DockerClient(api=ListAPI(rows)))
    assert message in str(info.value)


@pytest.mark.parametrize("error, outcome", [
    (None, True),
    (docker_errors.NotFound("no such image"), False),
    (api_error(409, "conflict: image is being used by stopped container 1234"), ImageConflict),
    (api_error(500, "driver failed"), DockerClientError),
])
def test_remove_image_is_never_forced_and_tells_a_conflict_apart(error, outcome):
    api = ListAPI(error=error)
    if isinstance(outcome, bool):
        assert remove_image(DockerClient(api=api), "app:v1") is outcome
    else:
        with pytest.raises(outcome) as info:
            remove_image(DockerClient(api=api), "app:v1")
        assert str(info.value).startswith("cannot remove image app:v1: ")
        assert outcome is ImageConflict or not isinstance(info.value, ImageConflict)
    assert api.removed == [("app:v1", False)]

"""The image reference value (plugins/module_utils/_image_ref.py): parse, validate, normalise, format."""

import pytest

from ansible_collections.baton.docker.plugins.module_utils._image_ref import ImageRef, registry_of
from ansible_collections.baton.docker.plugins.module_utils._params import ParamError

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


@pytest.mark.parametrize("text, repository, tag, digest, registry, name", [
    ("baton-demo/app:v1", "baton-demo/app", "v1", None, "docker.io", "baton-demo/app:v1"),
    ("baton-demo/app", "baton-demo/app", "latest", None, "docker.io", "baton-demo/app:latest"),
    ("app", "app", "latest", None, "docker.io", "app:latest"),
    ("  app:v1  ", "app", "v1", None, "docker.io", "app:v1"),
    ("docker.io/library/app:v1", "docker.io/library/app", "v1", None, "docker.io", "docker.io/library/app:v1"),
    ("127.0.0.1:5000/demo/app:v1", "127.0.0.1:5000/demo/app", "v1", None, "127.0.0.1:5000",
     "127.0.0.1:5000/demo/app:v1"),
    ("127.0.0.1:5000/demo/app", "127.0.0.1:5000/demo/app", "latest", None, "127.0.0.1:5000",
     "127.0.0.1:5000/demo/app:latest"),
    ("app@" + DIGEST_A, "app", None, DIGEST_A, "docker.io", "app@" + DIGEST_A),
    ("reg.example.com/app:v2@" + DIGEST_B, "reg.example.com/app", "v2", DIGEST_B, "reg.example.com",
     "reg.example.com/app:v2@" + DIGEST_B),
    ("Registry.Example.com:443/team__x/my-app.v2:Tag_1", "Registry.Example.com:443/team__x/my-app.v2", "Tag_1", None,
     "Registry.Example.com:443", "Registry.Example.com:443/team__x/my-app.v2:Tag_1"),
    ("localhost/app", "localhost/app", "latest", None, "localhost", "localhost/app:latest"),
    ("localhost:5000/app:v3", "localhost:5000/app", "v3", None, "localhost:5000", "localhost:5000/app:v3"),
    ("[::1]:5000/app:v1", "[::1]:5000/app", "v1", None, "[::1]:5000", "[::1]:5000/app:v1"),
    (ECR + "/shop:git_cf7edb2", ECR + "/shop", "git_cf7edb2", None, ECR, ECR + "/shop:git_cf7edb2"),
])
def test_parse(text, repository, tag, digest, registry, name):
    ref = ImageRef.parse(text)
    assert (ref.repository, ref.tag, ref.digest) == (repository, tag, digest)
    assert ref.registry == registry
    assert ref.name == str(ref) == name
    assert ImageRef.parse(ref.name) == ref  # the formatted text reads back as the same value


@pytest.mark.parametrize("text, tag, digest, name", [
    ("app", None, None, "app"),
    ("app:v1", "v1", None, "app:v1"),
    ("app@" + DIGEST_A, None, DIGEST_A, "app@" + DIGEST_A),
    ("reg.example.com:5000/app:v1@" + DIGEST_A, "v1", DIGEST_A, "reg.example.com:5000/app:v1@" + DIGEST_A),
])
def test_parse_as_written_keeps_a_missing_tag(text, tag, digest, name):
    ref = ImageRef.parse(text, default_tag=None)
    assert (ref.tag, ref.digest, ref.name) == (tag, digest, name)


@pytest.mark.parametrize("text, fragment", [
    ("", "not an image reference"),
    (None, "not an image reference"),
    ("app :v1", "not an image reference"),
    ("app\tv1", "not an image reference"),
    ("app@sha256:xyz", "invalid digest"),
    ("app@" + DIGEST_A.upper(), "invalid digest"),
    ("app:v1!", "invalid tag"),
    ("app:" + "t" * 129, "invalid tag"),
    ("app:.v1", "invalid tag"),
    (":v1", "no valid repository"),
    ("/app:v1", "no valid repository"),
    ("team//app", "no valid repository"),
    ("team/", "no valid repository"),
    ("Shop:v2", "the repository name part 'Shop' must be lowercase"),
    ("team/App", "'App' must be lowercase"),
    ("app-/x", "'app-' must be lowercase"),
    ("team/a..b", "'a..b' must be lowercase"),
    ("-bad.example.com/app", "invalid registry '-bad.example.com'"),
    ("reg.example.com:port/app", "invalid registry 'reg.example.com:port'"),
])
def test_parse_refuses(text, fragment):
    with pytest.raises(ParamError) as err:
        ImageRef.parse(text)
    assert str(err.value).startswith("image: ")
    assert fragment in str(err.value)


def test_messages_name_the_reference_as_given():
    with pytest.raises(ParamError) as err:
        ImageRef.parse("127.0.0.1:5000/Demo/app:v1")
    assert str(err.value) == ("image: '127.0.0.1:5000/Demo/app:v1': the repository name part 'Demo' must be lowercase "
                              "letters and digits, separated by '.', '_', '__' or '-'")


@pytest.mark.parametrize("repository, tag, digest, name", [
    ("app", "v1", None, "app:v1"),
    ("app", None, DIGEST_A, "app@" + DIGEST_A),
    ("app", "v1", DIGEST_A, "app:v1@" + DIGEST_A),
    ("127.0.0.1:5000/demo/app", "v2", None, "127.0.0.1:5000/demo/app:v2"),
])
def test_format(repository, tag, digest, name):
    assert ImageRef(repository, tag, digest).name == name


@pytest.mark.parametrize("repository, registry", [
    ("app", "docker.io"),
    ("library/app", "docker.io"),
    ("team/app", "docker.io"),
    ("quay.io/team/app", "quay.io"),
    ("localhost/app", "localhost"),
    ("localhost", "docker.io"),
    ("127.0.0.1:5000/app", "127.0.0.1:5000"),
    ("[::1]:5000/app", "[::1]:5000"),
    ("host:5000/app", "host:5000"),
])
def test_registry_of(repository, registry):
    assert registry_of(repository) == registry
    assert ImageRef(repository, "v1").registry == registry


def test_a_value_compares_and_hashes_by_its_parts():
    assert ImageRef.parse("app") == ImageRef("app", "latest")
    assert ImageRef.parse("app:v1") != ImageRef.parse("app:v2")
    assert ImageRef.parse("app:v1") != "app:v1"
    assert len({ImageRef.parse("app"), ImageRef.parse("app:latest"), ImageRef.parse("app:v2")}) == 2


def test_a_value_cannot_be_changed():
    ref = ImageRef.parse("app:v1")
    with pytest.raises(AttributeError):
        ref.tag = "v2"
    assert ref.tag == "v1"
    assert repr(ref) == "ImageRef('app:v1')"

"""Unit tests of the ecr_tag_exists module: main() with patched exit/fail and a botocore Stubber behind AwsClient."""

import datetime

import pytest
from botocore.stub import Stubber


from ansible_collections.baton.docker.plugins.module_utils import _aws
from tests.support.module_harness import call_main
from ansible_collections.baton.docker.plugins.modules import ecr_tag_exists


@pytest.fixture
def ecr(monkeypatch):
    """The ECR client the module will use, stubbed; AwsClient is real (retries included)."""
    aws = _aws.AwsClient(region="us-east-1", access_key="AKIDEXAMPLE", secret_key="x", sleep=lambda s: None)
    stubber = Stubber(aws.client("ecr"))
    stubber.activate()

    class Factory(object):
        @staticmethod
        def from_params(params):
            return aws
    monkeypatch.setattr(ecr_tag_exists, "AwsClient", Factory)
    return stubber


def run(args):
    return call_main(ecr_tag_exists.main, args)


DETAILS = {"registryId": "123456789012", "repositoryName": "app", "imageDigest": "sha256:" + "0" * 64,
           "imageTags": ["git_cf7edb2"], "imageSizeInBytes": 42,
           "imagePushedAt": datetime.datetime(2016, 3, 23, tzinfo=datetime.timezone.utc)}


def test_found(ecr):
    ecr.add_response("describe_images", {"imageDetails": [DETAILS]},
                     {"repositoryName": "app", "imageIds": [{"imageTag": "git_cf7edb2"}]})
    result = run(dict(repository="app", tag="git_cf7edb2"))
    assert result.kind == "exit"
    assert result.result["exists"] is True and result.result["changed"] is False
    assert result.result["image"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:git_cf7edb2"
    assert result.result["missing"] is None


@pytest.mark.parametrize("code,missing", [("ImageNotFoundException", "image"),
                                          ("RepositoryNotFoundException", "repository")])
def test_missing_is_not_a_failure_by_default(ecr, code, missing):
    ecr.add_client_error("describe_images", code, "gone", 400)
    result = run(dict(repository="app", tag="git_0"))
    assert result.kind == "exit" and result.result["exists"] is False and result.result["missing"] == missing


def test_fail_if_missing(ecr):
    ecr.add_client_error("describe_images", "ImageNotFoundException", "gone", 400)
    result = run(dict(repository="app", tag="git_0", fail_if_missing=True))
    assert result.kind == "fail"
    assert result.result["msg"] == "ECR repository 'app' has no image with tag 'git_0' (region us-east-1)"


@pytest.mark.parametrize("args,needle", [
    (dict(repository="app"), "one of the following is required: tag, digest"),
    (dict(repository="app", tag="a", digest="sha256:1"), "mutually exclusive: tag|digest"),
    (dict(repository="app", tag="a", access_key="AKID"), "parameters are required together: access_key, secret_key"),
    (dict(repository="app", tag="a", profile="ci", access_key="AKID", secret_key="x"),
     "mutually exclusive: profile|access_key"),
])
def test_argument_errors(ecr, args, needle):
    result = run(args)
    assert result.kind == "fail" and needle in result.result["msg"]

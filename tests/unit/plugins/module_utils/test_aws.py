"""Unit tests of the AWS client: retry policy, error wording, and the pure Elastic Beanstalk deploy decisions.

The client tests drive real botocore clients with botocore's Stubber, which
answers from a queue instead of the network. That runs the real retry code of
AwsClient.call (with its sleep recorded instead of waited); only the HTTP
exchange is replaced.
"""

import base64
import datetime

import pytest
from botocore.stub import Stubber

from ansible_collections.baton.docker.plugins.module_utils import _aws

UTC = datetime.timezone.utc


@pytest.fixture
def client(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    sleeps = []
    aws = _aws.AwsClient(region="us-east-1", access_key="AKIDEXAMPLE", secret_key="unit-test-secret",
                         sleep=sleeps.append)
    aws.sleeps = sleeps
    return aws


def stub(aws, service):
    stubber = Stubber(aws.client(service))
    stubber.activate()
    return stubber


IMAGE = {
    "registryId": "123456789012", "repositoryName": "app",
    "imageDigest": "sha256:" + "ab" * 32, "imageTags": ["latest", "git_cf7edb2"],
    "imageSizeInBytes": 1234, "imagePushedAt": datetime.datetime(2016, 3, 23, 9, 57, 15, tzinfo=UTC),
}


# -- retry policy -------------------------------------------------------------------

@pytest.mark.parametrize("code,status,expected", [
    ("ThrottlingException", 400, True),
    ("Throttling", 400, True),
    ("RequestLimitExceeded", 503, True),
    ("TooManyRequestsException", 429, True),
    ("SlowDown", 503, True),
    ("InternalError", 500, True),
    ("ServiceUnavailable", 503, True),
    ("SomethingNew", 502, True),
    ("NotImplemented", 500, False),
    ("ImageNotFoundException", 400, False),
    ("AccessDeniedException", 403, False),
    ("ValidationException", None, False),
])
def test_is_retryable(code, status, expected):
    assert _aws.is_retryable(code, status) is expected


def test_backoff_delays_grow_and_are_capped():
    upper = _aws.backoff_delays(7, 0.5, 4.0, rand=lambda: 1.0)
    lower = _aws.backoff_delays(7, 0.5, 4.0, rand=lambda: 0.0)
    assert upper == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert lower == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]


@pytest.mark.parametrize("attempts", [0, 1])
def test_backoff_delays_none_without_retries(attempts):
    assert _aws.backoff_delays(attempts, 0.5, 8.0) == []


def test_throttled_twice_then_answered(client):
    stubber = stub(client, "ecr")
    params = {"repositoryName": "app", "imageIds": [{"imageTag": "git_cf7edb2"}]}
    stubber.add_client_error("describe_images", "ThrottlingException", "Rate exceeded", 400,
                             expected_params=params)
    stubber.add_client_error("describe_images", "RequestLimitExceeded", "Request limit exceeded", 503,
                             expected_params=params)
    stubber.add_response("describe_images", {"imageDetails": [IMAGE]}, params)
    details = client.ecr_image("app", tag="git_cf7edb2")
    stubber.assert_no_pending_responses()
    assert details["imageDigest"] == IMAGE["imageDigest"]
    assert client.retries == 2
    assert len(client.sleeps) == 2
    assert 0.25 <= client.sleeps[0] <= 0.5 and 0.5 <= client.sleeps[1] <= 1.0


def test_throttling_gives_up_after_the_last_attempt(client):
    stubber = stub(client, "ecr")
    for attempt in range(_aws.DEFAULT_MAX_ATTEMPTS):
        stubber.add_client_error("describe_images", "ThrottlingException", "Rate exceeded", 400)
    with pytest.raises(_aws.AwsError) as caught:
        client.ecr_image("app", tag="git_cf7edb2")
    stubber.assert_no_pending_responses()
    assert "ThrottlingException" in str(caught.value) and "Rate exceeded" in str(caught.value)
    assert client.retries == _aws.DEFAULT_MAX_ATTEMPTS - 1
    assert all(delay <= _aws.DEFAULT_MAX_DELAY for delay in client.sleeps)


def test_non_retryable_error_is_not_retried(client):
    stubber = stub(client, "elasticbeanstalk")
    stubber.add_client_error("describe_applications", "AccessDenied", "not allowed", 403)
    with pytest.raises(_aws.AwsError) as caught:
        client.eb_application("web")
    assert client.retries == 0
    assert "AccessDenied" in str(caught.value)


def test_missing_region_is_worded(monkeypatch):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    with pytest.raises(_aws.AwsError, match="no AWS region"):
        _aws.AwsClient(access_key="a", secret_key="b")


def test_unknown_profile_is_worded(monkeypatch):
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    with pytest.raises(_aws.AwsError, match="profile 'ci' is not defined"):
        _aws.AwsClient(region="us-east-1", profile="ci")


# -- ECR ----------------------------------------------------------------------------

def test_missing_repository_and_missing_tag_differ(client):
    stubber = stub(client, "ecr")
    stubber.add_client_error("describe_images", "RepositoryNotFoundException", "no repo", 400)
    stubber.add_client_error("describe_images", "ImageNotFoundException", "no image", 400)
    with pytest.raises(_aws.RepositoryMissing) as repo:
        client.ecr_image("nope", tag="git_1")
    with pytest.raises(_aws.ImageMissing) as image:
        client.ecr_image("app", tag="git_1")
    assert "repository 'nope' does not exist" in str(repo.value)
    assert "no image with tag 'git_1'" in str(image.value)


def test_lookup_by_digest_in_another_registry(client):
    stubber = stub(client, "ecr")
    digest = "sha256:" + "cd" * 32
    stubber.add_response("describe_images", {"imageDetails": [IMAGE]},
                         {"repositoryName": "app", "imageIds": [{"imageDigest": digest}], "registryId": "210987654321"})
    client.ecr_image("app", digest=digest, registry_id="210987654321")
    stubber.assert_no_pending_responses()


def test_ecr_authorization_decodes_user_and_password(client):
    stubber = stub(client, "ecr")
    token = base64.b64encode(b"AWS:pa:ss/word").decode()
    stubber.add_response("get_authorization_token", {"authorizationData": [{
        "authorizationToken": token, "proxyEndpoint": "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "expiresAt": datetime.datetime(2016, 3, 23, 21, 57, tzinfo=UTC)}]}, {"registryIds": ["123456789012"]})
    login = client.ecr_authorization("123456789012")
    assert login == {"registry": "123456789012.dkr.ecr.us-east-1.amazonaws.com", "username": "AWS",
                     "password": "pa:ss/word", "expires_at": "2016-03-23T21:57:00+00:00"}


def test_image_summary():
    summary = _aws.image_summary(IMAGE, "us-east-1")
    assert summary == {
        "registry_id": "123456789012", "repository": "app", "digest": IMAGE["imageDigest"],
        "tags": ["git_cf7edb2", "latest"], "pushed_at": "2016-03-23T09:57:15+00:00", "size": 1234,
        "registry": "123456789012.dkr.ecr.us-east-1.amazonaws.com",
    }


@pytest.mark.parametrize("registry_id,region,host", [
    ("123456789012", "us-east-1", "123456789012.dkr.ecr.us-east-1.amazonaws.com"),
    ("123456789012", "cn-north-1", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"),
])
def test_ecr_registry_host(registry_id, region, host):
    assert _aws.ecr_registry_host(registry_id, region) == host


@pytest.mark.parametrize("endpoint,host", [
    ("https://123.dkr.ecr.us-east-1.amazonaws.com", "123.dkr.ecr.us-east-1.amazonaws.com"),
    ("http://127.0.0.1:5000/", "127.0.0.1:5000"),
    ("registry.example.com", "registry.example.com"),
])
def test_registry_host(endpoint, host):
    assert _aws.registry_host(endpoint) == host


# -- S3 and Elastic Beanstalk reads ------------------------------------------------

def test_missing_s3_object_is_none(client):
    stubber = stub(client, "s3")
    stubber.add_client_error("head_object", "404", "Not Found", 404)
    assert client.s3_object("bucket", "app/v1.zip") is None


def test_environment_lookup_ignores_other_and_terminated_environments(client):
    stubber = stub(client, "elasticbeanstalk")
    stubber.add_response("describe_environments", {"Environments": [
        {"EnvironmentName": "web-dev", "ApplicationName": "web", "Status": "Terminated"},
        {"EnvironmentName": "web-prod", "ApplicationName": "web", "Status": "Ready"},
    ]})
    assert client.eb_environment("web", "web-dev") is None


def test_basic_health_environment_has_no_enhanced_health(client):
    stubber = stub(client, "elasticbeanstalk")
    stubber.add_client_error("describe_environment_health", "InvalidRequestException", "basic health", 400)
    assert client.eb_health("web-dev") is None


# -- deploy decisions ---------------------------------------------------------------

@pytest.mark.parametrize("app,label,prefix,key", [
    ("web", "git_cf7edb2", "", "web/git_cf7edb2.zip"),
    ("web", "git_cf7edb2", "bundles", "bundles/web/git_cf7edb2.zip"),
    ("web", "v1", "bundles/", "bundles/web/v1.zip"),
])
def test_bundle_key(app, label, prefix, key):
    assert _aws.bundle_key(app, label, prefix) == key


SHA = "5" * 64
MD5 = "d" * 32


@pytest.mark.parametrize("head,expected", [
    (None, False),
    ({"Metadata": {"sha256": SHA}, "ETag": '"x"'}, True),
    ({"Metadata": {"sha256": "6" * 64}, "ETag": '"%s"' % MD5}, False),
    ({"Metadata": {}, "ETag": '"%s"' % MD5}, True),
    ({"Metadata": {}, "ETag": '"%s-2"' % MD5}, False),
    ({"Metadata": {}, "ETag": '"other"'}, False),
])
def test_object_holds(head, expected):
    assert _aws.object_holds(head, SHA, MD5) is expected


VERSION = {"VersionLabel": "v1", "SourceBundle": {"S3Bucket": "bkt", "S3Key": "web/v1.zip"}}


@pytest.mark.parametrize("version,head,needle", [
    (VERSION, {"Metadata": {"sha256": SHA}}, None),
    (VERSION, {"Metadata": {"sha256": "6" * 64}}, "holds different content"),
    (VERSION, None, "is gone"),
    ({"VersionLabel": "v1"}, None, "no S3 source bundle"),
])
def test_version_clash(version, head, needle):
    clash = _aws.version_clash(version, "bkt", "web/v1.zip", head, SHA, MD5)
    if needle is None:
        assert clash is None
    else:
        assert needle in clash


@pytest.mark.parametrize("env,plan", [
    ({"Status": "Ready", "Health": "Green", "VersionLabel": "v2"}, "none"),
    ({"Status": "Updating", "Health": "Grey", "VersionLabel": "v2"}, "wait"),
    ({"Status": "Ready", "Health": "Red", "VersionLabel": "v2"}, "update"),
    ({"Status": "Ready", "Health": "Green", "VersionLabel": "v1"}, "update"),
    ({"Status": "Updating", "Health": "Grey", "VersionLabel": "v1"}, "wait_then_update"),
    ({"Status": "Launching", "Health": "Grey", "VersionLabel": None}, "wait_then_update"),
])
def test_plan_environment(env, plan):
    assert _aws.plan_environment(env, "v2") == plan


@pytest.mark.parametrize("env,verdict", [
    ({"Status": "Updating", "Health": "Grey", "VersionLabel": "v2"}, "pending"),
    ({"Status": "Ready", "Health": "Green", "VersionLabel": "v2"}, "done"),
    ({"Status": "Ready", "Health": "Red", "VersionLabel": "v2"}, "pending"),
    ({"Status": "Ready", "Health": "Yellow", "VersionLabel": "v2"}, "pending"),
    ({"Status": "Ready", "Health": "Red", "VersionLabel": "v1"}, "failed"),
    ({"Status": "Terminating", "Health": "Grey", "VersionLabel": "v2"}, "failed"),
    (None, "failed"),
])
def test_deploy_progress(env, verdict):
    assert _aws.deploy_progress(env, "v2")[0] == verdict


def test_deploy_progress_explains_a_rollback():
    verdict, why = _aws.deploy_progress({"Status": "Ready", "Health": "Red", "VersionLabel": "v1"}, "v2")
    assert verdict == "failed" and "did not take" in why and "version v1" in why


@pytest.mark.parametrize("env,verdict", [
    ({"Status": "Updating"}, "pending"),
    ({"Status": "Ready"}, "done"),
    ({"Status": "Terminated"}, "failed"),
])
def test_ready_for_update(env, verdict):
    assert _aws.ready_for_update(env)[0] == verdict


def test_format_events_oldest_first():
    events = [
        {"EventDate": datetime.datetime(2016, 3, 23, 10, 2, tzinfo=UTC), "Severity": "WARN", "Message": "red"},
        {"EventDate": datetime.datetime(2016, 3, 23, 10, 1, tzinfo=UTC), "Severity": "INFO", "Message": "start"},
    ]
    assert _aws.format_events(events) == ["2016-03-23T10:01:00Z INFO start", "2016-03-23T10:02:00Z WARN red"]
    assert _aws.format_events(events, limit=1) == ["2016-03-23T10:02:00Z WARN red"]


def test_aws_errors_are_baton_errors_the_runner_reports():
    from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError
    error = _aws.RepositoryMissing("ECR repository 'app' does not exist", code="RepositoryNotFoundException")
    assert isinstance(error, BatonError) and isinstance(error, _aws.AwsError)
    assert (str(error), error.code, error.details) == (
        "ECR repository 'app' does not exist", "RepositoryNotFoundException", {})
    assert _aws.AwsError("throttled", details=dict(retries=5)).details == dict(retries=5)

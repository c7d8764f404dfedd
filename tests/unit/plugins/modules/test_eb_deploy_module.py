"""Unit tests of the eb_deploy module: main() with patched exit/fail and botocore Stubbers behind AwsClient.

A Stubber fails on any call it was not told about, so these tests also prove
that check mode and refused deploys make no write call (no PutObject,
CreateApplicationVersion or UpdateEnvironment). The full flow against moto and
the Elastic Beanstalk double is in tests/integration/aws/test_eb_deploy.py.
"""

import datetime
import hashlib

import pytest
from botocore.stub import ANY, Stubber


from ansible_collections.baton.docker.plugins.module_utils import _aws
from tests.support.module_harness import call_main
from ansible_collections.baton.docker.plugins.modules import eb_deploy

UTC = datetime.timezone.utc
BUNDLE = b"PK fake bundle bytes"
SHA = hashlib.sha256(BUNDLE).hexdigest()


@pytest.fixture
def stubs(monkeypatch):
    aws = _aws.AwsClient(region="us-east-1", access_key="AKIDEXAMPLE", secret_key="x", sleep=lambda s: None)
    eb, s3 = Stubber(aws.client("elasticbeanstalk")), Stubber(aws.client("s3"))
    eb.activate()
    s3.activate()

    class Factory(object):
        @staticmethod
        def from_params(params):
            return aws
    monkeypatch.setattr(eb_deploy, "AwsClient", Factory)
    yield eb, s3
    eb.assert_no_pending_responses()
    s3.assert_no_pending_responses()


@pytest.fixture
def args(tmp_path):
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(BUNDLE)
    return dict(application="web", environment="web-dev", version_label="git_2", bundle=str(bundle),
                bucket="eb-bundles", poll_interval=0.1, wait_timeout=5)


def run(args):
    return call_main(eb_deploy.main, args)


def env(label="git_1", status="Ready", health="Green"):
    return {"Environments": [{"EnvironmentName": "web-dev", "ApplicationName": "web", "Status": status,
                              "Health": health, "VersionLabel": label,
                              "DateUpdated": datetime.datetime(2016, 3, 23, tzinfo=UTC)}]}


def found_app_and_env(eb, environment=None):
    eb.add_response("describe_applications", {"Applications": [{"ApplicationName": "web"}]},
                    {"ApplicationNames": ["web"]})
    eb.add_response("describe_environments", environment or env(),
                    {"ApplicationName": "web", "EnvironmentNames": ["web-dev"], "IncludeDeleted": False})


def test_check_mode_says_what_would_happen_without_writing(stubs, args):
    eb, s3 = stubs
    found_app_and_env(eb)
    eb.add_response("describe_application_versions", {"ApplicationVersions": []},
                    {"ApplicationName": "web", "VersionLabels": ["git_2"]})
    s3.add_response("head_bucket", {}, {"Bucket": "eb-bundles"})
    s3.add_client_error("head_object", "404", "Not Found", 404)
    result = run(dict(args, _ansible_check_mode=True))
    assert result.kind == "exit", result.result
    assert result.result["changed"] is True
    assert result.result["msg"] == ("would upload bundle to s3://eb-bundles/web/git_2.zip, then create application "
                                    "version git_2, then update environment web-dev to git_2")


def test_check_mode_nothing_to_do(stubs, args):
    eb, s3 = stubs
    found_app_and_env(eb, env(label="git_2"))
    eb.add_response("describe_application_versions", {"ApplicationVersions": [
        {"ApplicationName": "web", "VersionLabel": "git_2",
         "SourceBundle": {"S3Bucket": "eb-bundles", "S3Key": "web/git_2.zip"}}]})
    s3.add_response("head_object", {"Metadata": {"sha256": SHA}, "ETag": '"e"'},
                    {"Bucket": "eb-bundles", "Key": "web/git_2.zip"})
    result = run(dict(args, _ansible_check_mode=True))
    assert result.kind == "exit" and result.result["changed"] is False and result.result["actions"] == []


def test_missing_environment_changes_nothing(stubs, args):
    eb = stubs[0]
    found_app_and_env(eb, {"Environments": []})
    result = run(args)
    assert result.kind == "fail"
    assert result.result["msg"] == ("Elastic Beanstalk environment 'web-dev' of application 'web' does not exist "
                                    "(or is terminated) in region us-east-1; nothing was changed")


def test_missing_application_changes_nothing(stubs, args):
    eb = stubs[0]
    eb.add_response("describe_applications", {"Applications": []})
    result = run(args)
    assert result.kind == "fail" and "application 'web' does not exist" in result.result["msg"]


def test_label_with_other_content_is_refused(stubs, args):
    eb, s3 = stubs
    found_app_and_env(eb)
    eb.add_response("describe_application_versions", {"ApplicationVersions": [
        {"ApplicationName": "web", "VersionLabel": "git_2",
         "SourceBundle": {"S3Bucket": "eb-bundles", "S3Key": "web/git_2.zip"}}]})
    s3.add_response("head_object", {"Metadata": {"sha256": "0" * 64}, "ETag": '"e"'})
    result = run(args)
    assert result.kind == "fail"
    assert "application version 'git_2' of 'web' already exists" in result.result["msg"]
    assert "holds different content" in result.result["msg"]
    assert "Nothing was changed" in result.result["msg"]


def test_upload_create_update_wait(stubs, args):
    eb, s3 = stubs
    found_app_and_env(eb)
    eb.add_response("describe_application_versions", {"ApplicationVersions": []})
    s3.add_response("head_bucket", {})
    s3.add_client_error("head_object", "404", "Not Found", 404)
    s3.add_response("put_object", {"ETag": '"e"'},
                    {"Bucket": "eb-bundles", "Key": "web/git_2.zip", "Body": ANY, "Metadata": {"sha256": SHA},
                     "ContentType": "application/zip"})
    eb.add_response("create_application_version", {"ApplicationVersion": {"VersionLabel": "git_2"}},
                    {"ApplicationName": "web", "VersionLabel": "git_2", "AutoCreateApplication": False,
                     "SourceBundle": {"S3Bucket": "eb-bundles", "S3Key": "web/git_2.zip"},
                     "Description": "bundle sha256 %s" % SHA})
    eb.add_response("update_environment", {"EnvironmentName": "web-dev", "Status": "Updating",
                                           "DateUpdated": datetime.datetime(2016, 3, 23, 10, tzinfo=UTC)},
                    {"ApplicationName": "web", "EnvironmentName": "web-dev", "VersionLabel": "git_2"})
    eb.add_response("describe_environments", env("git_2", "Updating", "Grey"))
    eb.add_response("describe_environments", env("git_2", "Ready", "Green"))
    eb.add_response("describe_events", {"Events": [{"Message": "Environment update completed successfully.",
                                                    "Severity": "INFO"}]})
    result = run(args)
    assert result.kind == "exit", result.result
    assert result.result["changed"] is True
    assert (result.result["uploaded"], result.result["version_created"], result.result["environment_updated"]) == \
        (True, True, True)
    assert result.result["running_version"] == "git_2" and result.result["health"] == "Green"


@pytest.mark.parametrize("over,needle", [
    (dict(wait_timeout=-1), "wait_timeout: -1 is negative"),
    (dict(poll_interval=0), "poll_interval: 0.0 must be more than 0"),
])
def test_bad_timing_options(stubs, args, over, needle):
    result = run(dict(args, **over))
    assert result.kind == "fail" and result.result["msg"] == needle


def test_missing_bucket_changes_nothing(stubs, args):
    eb, s3 = stubs
    found_app_and_env(eb)
    eb.add_response("describe_application_versions", {"ApplicationVersions": []})
    s3.add_client_error("head_bucket", "404", "Not Found", 404)
    result = run(args)
    assert result.kind == "fail"
    assert result.result["msg"] == "S3 bucket 'eb-bundles' does not exist; nothing was changed"


def test_already_deployed_and_healthy_is_no_change(stubs, args):
    eb, s3 = stubs
    found_app_and_env(eb, env(label="git_2"))
    eb.add_response("describe_application_versions", {"ApplicationVersions": [
        {"ApplicationName": "web", "VersionLabel": "git_2",
         "SourceBundle": {"S3Bucket": "eb-bundles", "S3Key": "web/git_2.zip"}}]})
    s3.add_response("head_object", {"Metadata": {"sha256": SHA}, "ETag": '"e"'})
    result = run(args)
    assert result.kind == "exit" and result.result["changed"] is False
    assert result.result["msg"] == "environment web-dev already runs git_2, Ready and Green"

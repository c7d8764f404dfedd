"""eb_deploy through the real ansible-playbook, against moto and the Elastic Beanstalk double.

What is real: the modules, boto3, moto's S3 (the bundle upload, its sha256
metadata) and moto's Elastic Beanstalk applications and environments (which
exist). What the double (tests/support/eb_double.py) stands in for:
application versions, UpdateEnvironment, the Updating -> Ready transition and
the health colour it ends with, DescribeEvents and DescribeEnvironmentHealth.
Assertions about versions, updates and events rest on the double's state.
"""

import json

import pytest

from tests.integration.aws.conftest import REGION, failed
from tests.support.ansible import run_playbook
from tests.support import secrets

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:%s"


def deploy(aws, tmp_path, label, image_tag=None, check=False, diff=False, aws_env=None, verbose=False, **over):
    """Render a bundle for image_tag (default: label) and deploy it as label, in one play."""
    bundle = str(tmp_path / ("%s-%s.zip" % (label, image_tag or label)))
    deploy_args = dict(application="web", environment="web-dev", version_label=label, bundle=bundle,
                       bucket="eb-bundles", region=REGION, endpoint_url=aws.url, poll_interval=0.2,
                       wait_timeout=30)
    deploy_args.update(over)
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "bundle", "baton.docker.eb_dockerrun": {
            "bundle": bundle, "image": IMAGE % (image_tag or label), "ports": [{"container_port": 8000}]},
         "check_mode": False},
        {"name": "under test", "baton.docker.eb_deploy": deploy_args, "ignore_errors": True},
    ]}]
    run = run_playbook(play, check=check, diff=diff, env=aws_env, args=("-vvv",) if verbose else ())
    return run.result("under test"), run


def bundle_object(boto, key):
    s3 = boto("s3")
    try:
        return s3.head_object(Bucket="eb-bundles", Key=key)
    except s3.exceptions.ClientError:
        return None


def test_happy_path_check_apply_idempotent(aws, aws_env, boto, eb_app, tmp_path):
    eb_app()
    aws.behave("web-dev", polls=3, health="Green")

    result, run = deploy(aws, tmp_path, "git_cf7edb2", check=True, aws_env=aws_env)
    assert not failed(run), run.output
    assert result["changed"] is True
    assert result["msg"].startswith("would upload bundle to s3://eb-bundles/web/git_cf7edb2.zip, then create")
    assert aws.writes == [] and bundle_object(boto, "web/git_cf7edb2.zip") is None

    aws.throttle("UpdateEnvironment", 1)  # a throttled write is retried, not lost
    result, run = deploy(aws, tmp_path, "git_cf7edb2", diff=True, aws_env=aws_env)
    assert not failed(run), run.output
    assert result["changed"] is True
    assert (result["uploaded"], result["version_created"], result["environment_updated"]) == (True, True, True)
    assert (result["status"], result["health"], result["running_version"]) == ("Ready", "Green", "git_cf7edb2")
    head = bundle_object(boto, "web/git_cf7edb2.zip")
    assert head["Metadata"]["sha256"] == result["bundle_sha256"]
    version = aws.versions[("web", "git_cf7edb2")]
    assert version["SourceBundle"] == {"S3Bucket": "eb-bundles", "S3Key": "web/git_cf7edb2.zip"}
    assert [w[0] for w in aws.writes] == ["CreateApplicationVersion", "UpdateEnvironment"]
    assert aws.calls["UpdateEnvironment"] == 2
    assert aws.calls["DescribeEnvironments"] >= 5  # existence check, then Updating x3, then Ready
    assert "Environment update completed successfully." in [e["message"] for e in result["events"]]
    assert "-version_label: 1" in run.output and "+version_label: git_cf7edb2" in run.output

    result, run = deploy(aws, tmp_path, "git_cf7edb2", aws_env=aws_env)
    assert not failed(run), run.output
    assert result["changed"] is False and result["actions"] == []
    assert len(aws.writes) == 2


def test_missing_environment_creates_nothing(aws, aws_env, boto, eb_app, tmp_path):
    eb_app(environment=None)
    result, run = deploy(aws, tmp_path, "git_cf7edb2", aws_env=aws_env)
    assert failed(run)
    assert result["msg"] == ("Elastic Beanstalk environment 'web-dev' of application 'web' does not exist "
                             "(or is terminated) in region us-east-1; nothing was changed")
    assert aws.writes == [] and aws.versions == {}
    assert bundle_object(boto, "web/git_cf7edb2.zip") is None


def test_version_label_with_other_content_is_refused(aws, aws_env, boto, eb_app, tmp_path):
    eb_app()
    aws.behave("web-dev", polls=0)
    result, run = deploy(aws, tmp_path, "release-1", image_tag="git_aaaaaaa", aws_env=aws_env)
    assert not failed(run), run.output
    first_sha = result["bundle_sha256"]

    result, run = deploy(aws, tmp_path, "release-1", image_tag="git_bbbbbbb", aws_env=aws_env)
    assert failed(run)
    assert "application version 'release-1' of 'web' already exists" in result["msg"]
    assert "holds different content" in result["msg"] and first_sha in result["msg"]
    assert "Nothing was changed" in result["msg"]
    assert len(aws.writes) == 2  # only the first deploy's version and update
    assert bundle_object(boto, "web/release-1.zip")["Metadata"]["sha256"] == first_sha


def test_environment_that_never_turns_healthy(aws, aws_env, eb_app, tmp_path):
    eb_app()
    aws.behave("web-dev", polls=1, health="Red", causes=["Container exited with code 1."])
    result, run = deploy(aws, tmp_path, "git_cf7edb2", wait_timeout=3, poll_interval=0.5, aws_env=aws_env)
    assert failed(run)
    msg = result["msg"]
    assert msg.startswith("environment web-dev did not run git_cf7edb2 Ready and Green within 3 s: "
                          "status Ready, health Red, version git_cf7edb2")
    assert "Events since the update: " in msg and "Environment update is starting." in msg
    assert "Environment health has transitioned from Info to Severe." in msg
    assert "Health causes: Container exited with code 1." in msg
    assert "done before the failure: upload bundle" in msg
    assert result["health"] == "Red"
    assert any(e["severity"] == "WARN" for e in result["events"])


def test_failed_deployment_rolls_back_and_fails_at_once(aws, aws_env, eb_app, tmp_path):
    eb_app()
    aws.behave("web-dev", polls=0)
    deploy(aws, tmp_path, "git_aaaaaaa", aws_env=aws_env)
    aws.behave("web-dev", polls=1, rollback=True)
    result, run = deploy(aws, tmp_path, "git_bbbbbbb", wait_timeout=60, aws_env=aws_env)
    assert failed(run)
    assert "the deployment did not take: status Ready, health Red, version git_aaaaaaa" in result["msg"]
    assert "ERROR Failed to deploy application." in result["msg"]
    assert result["running_version"] == "git_aaaaaaa"


def test_busy_environment_is_waited_for_before_the_update(aws, aws_env, eb_app, tmp_path):
    eb_app()
    aws.behave("web-dev", polls=4)
    result, run = deploy(aws, tmp_path, "git_aaaaaaa", wait=False, aws_env=aws_env)
    assert result["status"] == "Updating" and "not waited for" in result["msg"]
    aws.behave("web-dev", polls=1)
    result, run = deploy(aws, tmp_path, "git_bbbbbbb", aws_env=aws_env)
    assert not failed(run), run.output
    assert result["running_version"] == "git_bbbbbbb" and result["health"] == "Green"
    updates = [w[1]["VersionLabel"] for w in aws.writes if w[0] == "UpdateEnvironment"]
    assert updates == ["git_aaaaaaa", "git_bbbbbbb"]


@pytest.mark.parametrize("where", ["parameters", "environment"])
def test_credentials_never_in_output(aws, aws_env, eb_app, tmp_path, where):
    eb_app()
    secret = secrets.AWS_SECRET_KEY
    extra = {}
    env = dict(aws_env)
    if where == "parameters":
        extra = dict(access_key="AKIDBATONTEST", secret_key=secret)
    else:
        env["AWS_SECRET_ACCESS_KEY"] = secret
    aws.behave("web-dev", polls=0, health="Red")
    result, run = deploy(aws, tmp_path, "git_cf7edb2", wait_timeout=1, poll_interval=0.5, aws_env=env,
                         verbose=True, **extra)
    assert failed(run) and "did not run git_cf7edb2 Ready and Green" in result["msg"]
    assert "<127.0.0.1> EXEC" in run.output or "ESTABLISH LOCAL CONNECTION" in run.output  # really verbose
    everything = run.output + json.dumps(run.records)
    assert secret not in everything

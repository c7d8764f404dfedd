"""ecr_tag_exists through the real ansible-playbook, against a real moto server's ECR.

The throttling cases go through the Elastic Beanstalk double
(tests/support/eb_double.py), which here only stands in for AWS's throttling:
it answers the first DescribeImages requests with ThrottlingException (or a
503) and forwards the rest to moto.
"""

import json

from tests.integration.aws.conftest import REGION, failed, run_verbose
from tests.support.ansible import run_module
from tests.support import secrets

MODULE = "baton.docker.ecr_tag_exists"


def args(aws, **over):
    base = dict(repository="web", tag="git_cf7edb2", region=REGION, endpoint_url=aws.url)
    base.update(over)
    return dict((k, v) for k, v in base.items() if v is not None)


def test_tag_exists(aws, aws_env, ecr_image):
    digest = ecr_image("web", "git_cf7edb2", "latest")
    result, run = run_module(MODULE, args(aws), env=aws_env)
    assert not failed(run), run.output
    assert result["exists"] is True and result["missing"] is None and result["changed"] is False
    assert result["digest"] == digest
    assert result["tags"] == ["git_cf7edb2", "latest"]
    assert result["registry_id"] == "123456789012"
    assert result["image"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:git_cf7edb2"
    assert result["size"] > 0 and result["pushed_at"]
    assert aws.calls["DescribeImages"] == 1


def test_lookup_by_digest(aws, aws_env, ecr_image):
    digest = ecr_image("web", "git_cf7edb2")
    result, run = run_module(MODULE, args(aws, tag=None, digest=digest), env=aws_env)
    assert result["exists"] is True and result["tags"] == ["git_cf7edb2"]
    assert result["image"].endswith("/web@" + digest)


def test_missing_tag(aws, aws_env, ecr_image):
    ecr_image("web", "git_cf7edb2")
    result, run = run_module(MODULE, args(aws, tag="git_0000000"), env=aws_env)
    assert not failed(run)
    assert result["exists"] is False and result["missing"] == "image"
    assert result["msg"] == "ECR repository 'web' has no image with tag 'git_0000000' (region us-east-1)"


def test_missing_repository(aws, aws_env):
    result, run = run_module(MODULE, args(aws, repository="nowhere"), env=aws_env)
    assert not failed(run)
    assert result["exists"] is False and result["missing"] == "repository"
    assert result["msg"] == ("ECR repository 'nowhere' does not exist in the default registry of this account "
                             "(region us-east-1)")


def test_fail_if_missing(aws, aws_env, ecr_image):
    ecr_image("web", "git_cf7edb2")
    result, run = run_module(MODULE, args(aws, tag="git_0000000", fail_if_missing=True), env=aws_env)
    assert failed(run)
    assert "has no image with tag 'git_0000000'" in result["msg"]


def test_throttled_then_answered(aws, aws_env, ecr_image):
    ecr_image("web", "git_cf7edb2")
    aws.throttle("DescribeImages", 2)
    result, run = run_module(MODULE, args(aws), env=aws_env)
    assert not failed(run), run.output
    assert result["exists"] is True
    assert aws.calls["DescribeImages"] == 3  # two throttled answers, then moto's


def test_transient_server_error_then_answered(aws, aws_env, ecr_image):
    ecr_image("web", "git_cf7edb2")
    aws.throttle("DescribeImages", 1, kind="5xx")
    result, run = run_module(MODULE, args(aws), env=aws_env)
    assert result["exists"] is True
    assert aws.calls["DescribeImages"] == 2


def test_check_mode(aws, aws_env, ecr_image):
    ecr_image("web", "git_cf7edb2")
    result, run = run_module(MODULE, args(aws), env=aws_env, check=True)
    assert result["exists"] is True and result["changed"] is False


def test_credentials_never_in_output(aws, aws_env, ecr_image):
    ecr_image("web", "git_cf7edb2")
    secret, token = secrets.AWS_SECRET_KEY, secrets.AWS_SESSION_TOKEN
    result, run = run_verbose(MODULE, args(aws, access_key="AKIDBATONTEST", secret_key=secret, session_token=token,
                                           tag="git_0000000", fail_if_missing=True), env=aws_env)
    assert failed(run)  # a failure path prints the most
    everything = run.output + json.dumps(run.records)
    assert secret not in everything and token not in everything
    assert "AKIDBATONTEST" in everything  # the key ID is not secret

"""playbooks/eb_deploy.yml end to end: `-e app=web -e tag=git_<sha> -e env=web-dev`.

ECR, S3 and the Elastic Beanstalk application and environment are moto's; the
application version, the environment update, its Updating -> Ready/Green
transition and the events are the Elastic Beanstalk double's (see
tests/support/eb_double.py). The bucket is the default one the playbook
derives, elasticbeanstalk-us-east-1-123456789012.
"""

import io
import json
import os
import zipfile

from tests.integration.aws.conftest import ACCOUNT, REGION
from tests.support.ansible import ROOT, run_playbook

PLAYBOOK = os.path.join(ROOT, "playbooks", "eb_deploy.yml")
BUCKET = "elasticbeanstalk-%s-%s" % (REGION, ACCOUNT)


def extra(aws, **over):
    values = dict(app="web", tag="git_cf7edb2", env="web-dev", eb_deploy_endpoint_url=aws.url,
                  eb_deploy_region=REGION, eb_deploy_poll_interval=0.2, eb_deploy_wait_timeout=30)
    values.update(over)
    return values


def bundle_keys(boto):
    answer = boto("s3").list_objects_v2(Bucket=BUCKET)
    return sorted(item["Key"] for item in answer.get("Contents", []))


def test_deploys_the_pushed_tag(aws, aws_env, boto, ecr_image, eb_app):
    ecr_image("web", "git_cf7edb2")
    eb_app(bucket=BUCKET)
    aws.behave("web-dev", polls=2)

    run = run_playbook(PLAYBOOK, extra_vars=extra(aws), check=True, env=aws_env)
    assert run.rc == 0, run.output
    assert run.result("Deploy the bundle")["msg"].startswith("would upload bundle to s3://%s/web/git_cf7edb2.zip" % BUCKET)
    assert aws.writes == [] and bundle_keys(boto) == []

    run = run_playbook(PLAYBOOK, extra_vars=extra(aws), env=aws_env)
    assert run.rc == 0, run.output
    deployed = run.result("Deploy the bundle")
    assert (deployed["status"], deployed["health"], deployed["running_version"]) == ("Ready", "Green", "git_cf7edb2")
    assert bundle_keys(boto) == ["web/git_cf7edb2.zip"]
    body = boto("s3").get_object(Bucket=BUCKET, Key="web/git_cf7edb2.zip")["Body"].read()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        dockerrun = json.loads(archive.read("Dockerrun.aws.json"))
    assert dockerrun == {
        "AWSEBDockerrunVersion": "1",
        "Image": {"Name": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:git_cf7edb2", "Update": "true"},
        "Ports": [{"ContainerPort": "8000"}],
    }
    version = aws.versions[("web", "git_cf7edb2")]
    assert version["Description"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:git_cf7edb2"
    scratch = run.result("Create a scratch directory")["path"]
    assert not os.path.exists(scratch)

    run = run_playbook(PLAYBOOK, extra_vars=extra(aws), env=aws_env)
    assert run.rc == 0, run.output
    assert run.changed() == 0, run.changed_tasks()
    assert len(aws.writes) == 2


def test_refuses_a_tag_that_was_never_pushed(aws, aws_env, boto, ecr_image, eb_app):
    ecr_image("web", "git_cf7edb2")
    eb_app(bucket=BUCKET)
    run = run_playbook(PLAYBOOK, extra_vars=extra(aws, tag="git_0000000"), env=aws_env)
    assert run.rc != 0
    assert "ECR repository 'web' has no image with tag 'git_0000000'" in run.output
    assert aws.writes == [] and bundle_keys(boto) == []


def test_usage_error(aws, aws_env):
    run = run_playbook(PLAYBOOK, extra_vars=dict(app="web", tag="not a tag!", env="web-dev"), env=aws_env)
    assert run.rc != 0
    assert "usage: -e app=APPLICATION -e tag=TAG -e env=ENVIRONMENT" in run.output

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: eb_deploy
short_description: Deploy a source bundle to an Elastic Beanstalk environment and wait until it is healthy
version_added: 0.1.0
description:
  - Deploys one source bundle (for example the zip written by M(baton.docker.eb_dockerrun)) to an existing AWS
    Elastic Beanstalk environment, in the order a careful operator would.
  - 1. Checks that the application and the environment exist (and the environment is not terminated). Nothing is
    created when either is missing.
  - 2. Looks up the application version O(version_label). When it exists, it must hold this very bundle (compared by
    sha256, or by the S3 ETag for versions made elsewhere). Version labels are immutable, so a label that holds
    different content fails the task before anything changes.
  - 3. Otherwise uploads the bundle to s3://O(bucket)/O(s3_key) (skipped when that object already holds it, its
    sha256 is stored in the object metadata) and creates the application version from it.
  - 4. Updates the environment to the version, unless it already runs it and is C(Ready) and C(Green). An
    environment busy with another update is waited for first, because Elastic Beanstalk refuses updates until it is
    C(Ready).
  - 5. With O(wait=true), waits until the environment is C(Ready), on the version, with health C(Green), polling every
    O(poll_interval) seconds for at most O(wait_timeout) seconds. When the deployment fails (the environment comes
    back on another version) or the time is up, the task fails and its message carries the environment's events since
    the update and the causes of its health, when enhanced health reports them.
author:
  - baton.docker maintainers (@baton-docker)
extends_documentation_fragment:
  - baton.docker.attributes
  - baton.docker.aws
attributes:
  check_mode:
    description: Makes only read calls, then says what would happen (would upload, would create the version, would
      update the environment). Does not wait.
  diff_mode:
    description: Shows the environment's version label before and after.
  platform:
    description: Runs where the bundle file and AWS credentials are, usually the controller (C(localhost)).
options:
  application:
    description: Name of the Elastic Beanstalk application. It must exist.
    type: str
    required: true
  environment:
    description: Name of the environment of O(application) to deploy to. It must exist.
    type: str
    required: true
  version_label:
    description:
      - Label of the application version, usually the image tag, for example C(git_cf7edb2).
      - The same label with the same bundle is reused; the same label with different content is an error.
    type: str
    required: true
  bundle:
    description: Local path of the source bundle zip.
    type: path
    required: true
  bucket:
    description:
      - S3 bucket for the bundle. It must exist and be in the same region as the environment, for example the
        C(elasticbeanstalk-REGION-ACCOUNT) bucket Elastic Beanstalk creates.
    type: str
    required: true
  s3_key:
    description:
      - S3 key of the bundle. Defaults to C(APPLICATION/VERSION_LABEL.zip).
    type: str
  description:
    description:
      - Description of a new application version (at most 200 characters). Defaults to the bundle's sha256.
    type: str
  wait:
    description: Wait until the environment is Ready and Green on the version.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the environment, in all (including the wait for a busy environment before the
      update).
    type: float
    default: 900.0
  poll_interval:
    description: Seconds between two looks at the environment while waiting.
    type: float
    default: 10.0
notes:
  - The environment's health is read from C(DescribeEnvironments) (C(Health) colour). C(DescribeEnvironmentHealth)
    is only asked for the causes when the deployment fails, and is skipped for environments with basic health.
  - An environment already on O(version_label) but C(Ready) with a colour other than C(Green) is deployed again,
    which is the one remedy Elastic Beanstalk offers; it reports C(changed=true).
"""

EXAMPLES = r"""
- name: Deploy git_cf7edb2 to takumi-server-dev
  baton.docker.eb_deploy:
    application: takumi-server
    environment: takumi-server-dev
    version_label: git_cf7edb2
    bundle: /tmp/release/bundle.zip
    bucket: elasticbeanstalk-us-east-1-123456789012
    region: us-east-1

- name: Create the version and start the update, without waiting
  baton.docker.eb_deploy:
    application: takumi-server
    environment: takumi-server-dev
    version_label: git_cf7edb2
    bundle: /tmp/release/bundle.zip
    bucket: releases-bucket
    s3_key: takumi-server/bundles/git_cf7edb2.zip
    wait: false
"""

RETURN = r"""
application:
  description: The application.
  returned: always
  type: str
  sample: takumi-server
environment:
  description: The environment.
  returned: always
  type: str
  sample: takumi-server-dev
version_label:
  description: The version label deployed.
  returned: always
  type: str
  sample: git_cf7edb2
s3_bucket:
  description: Bucket of the bundle.
  returned: success
  type: str
  sample: elasticbeanstalk-us-east-1-123456789012
s3_key:
  description: Key of the bundle.
  returned: success
  type: str
  sample: takumi-server/git_cf7edb2.zip
bundle_sha256:
  description: sha256 of the bundle.
  returned: success
  type: str
  sample: 9f2d0c6f3c1b4e7a8d5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d
actions:
  description: What was done, or in check mode what would be done, in order. Empty when nothing was needed.
  returned: success
  type: list
  elements: str
  sample: ["upload bundle to s3://releases/takumi-server/git_cf7edb2.zip", "create application version git_cf7edb2",
           "update environment takumi-server-dev to git_cf7edb2"]
uploaded:
  description: Whether the bundle was uploaded (or would be, in check mode).
  returned: success
  type: bool
  sample: true
version_created:
  description: Whether the application version was created (or would be, in check mode).
  returned: success
  type: bool
  sample: true
environment_updated:
  description: Whether the environment was updated (or would be, in check mode).
  returned: success
  type: bool
  sample: true
status:
  description: Status of the environment at the end (C(Ready), C(Updating), ...).
  returned: success
  type: str
  sample: Ready
health:
  description: Health colour of the environment at the end (C(Green), C(Yellow), C(Red), C(Grey)).
  returned: success
  type: str
  sample: Green
running_version:
  description: Version label the environment runs at the end.
  returned: success
  type: str
  sample: git_cf7edb2
msg:
  description: What happened, or in check mode what would happen. On failure, why, with the events since the update.
  returned: always
  type: str
  sample: environment takumi-server-dev runs git_cf7edb2, Ready and Green
done:
  description: On failure, the changes already made before it (for example the upload and the new version).
  returned: on failure, when something was already changed
  type: list
  elements: str
  sample: ["upload bundle to s3://releases/takumi-server/git_cf7edb2.zip", "create application version git_cf7edb2"]
events:
  description: Environment events since the update, newest first. Also returned when the deployment fails.
  returned: when the environment was updated or waited for
  type: list
  elements: dict
  sample: [{"date": "2016-03-23T10:02:11+00:00", "severity": "INFO", "version_label": "git_cf7edb2",
            "message": "Environment update completed successfully."}]
"""

import datetime
import hashlib
import time

from ansible_collections.baton.docker.plugins.module_utils._aws import (
    AwsClient, AwsError, bundle_key, deploy_progress, event_records, format_events, object_holds, plan_environment,
    ready_for_update, version_clash,
)
from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError
from ansible_collections.baton.docker.plugins.module_utils._module import ModuleRunner, run_module


class DeployError(BatonError):
    """The deploy stopped; ``details`` carry the environment's state and events when they are known."""


def _digests(path):
    sha, md5 = hashlib.sha256(), hashlib.md5()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                sha.update(block)
                md5.update(block)
    except OSError as exc:
        raise DeployError("bundle: cannot read %s: %s" % (path, exc))
    return sha.hexdigest(), md5.hexdigest()


class Deployer(ModuleRunner):
    def __init__(self, module):
        super().__init__(module)
        self.aws = None
        self.app = module.params["application"]
        self.env_name = module.params["environment"]
        self.label = module.params["version_label"]
        self.deadline = None
        self.done = []

    def run(self):
        """The deploy; a failure after a change names what was done before it (``done`` in its details)."""
        try:
            self.aws = AwsClient.from_params(self.params)
            return self.deploy()
        except BatonError as exc:
            if not self.done:
                raise
            raise DeployError("%s (done before the failure: %s)" % (exc, "; ".join(self.done)),
                              dict(exc.details, done=self.done))

    def deploy(self):
        params = self.params
        sha256, md5 = _digests(params["bundle"])
        bucket = params["bucket"]
        key = params["s3_key"] or bundle_key(self.app, self.label)
        result = dict(changed=False, application=self.app, environment=self.env_name, version_label=self.label,
                      s3_bucket=bucket, s3_key=key, bundle_sha256=sha256, actions=[], uploaded=False,
                      version_created=False, environment_updated=False)

        if self.aws.eb_application(self.app) is None:
            raise DeployError("Elastic Beanstalk application %r does not exist in region %s; nothing was changed"
                              % (self.app, self.aws.region))
        env = self.aws.eb_environment(self.app, self.env_name)
        if env is None:
            raise DeployError("Elastic Beanstalk environment %r of application %r does not exist (or is terminated) "
                              "in region %s; nothing was changed" % (self.env_name, self.app, self.aws.region))
        before_label = env.get("VersionLabel")

        version = self.aws.eb_version(self.app, self.label)
        if version is not None:
            source = version.get("SourceBundle") or {}
            head = None
            if source.get("S3Bucket") and source.get("S3Key"):
                head = self.aws.s3_object(source["S3Bucket"], source["S3Key"])
            clash = version_clash(version, bucket, key, head, sha256, md5)
            if clash:
                raise DeployError("application version %r of %r already exists and %s; version labels cannot be "
                                  "reused for other content, so deploy it under a new label. Nothing was changed"
                                  % (self.label, self.app, clash))
        else:
            if not self.aws.s3_bucket_exists(bucket):
                raise DeployError("S3 bucket %r does not exist; nothing was changed" % bucket)
            if not object_holds(self.aws.s3_object(bucket, key), sha256, md5):
                result["actions"].append("upload bundle to s3://%s/%s" % (bucket, key))
                result["uploaded"] = True
                if not self.module.check_mode:
                    self.aws.s3_upload(bucket, key, params["bundle"], metadata={"sha256": sha256})
                    self.done.append(result["actions"][-1])
            result["actions"].append("create application version %s" % self.label)
            result["version_created"] = True
            if not self.module.check_mode:
                description = params["description"] or "bundle sha256 %s" % sha256
                self.aws.eb_create_version(self.app, self.label, bucket, key, description[:200])
                self.done.append(result["actions"][-1])

        plan = plan_environment(env, self.label)
        if plan in ("update", "wait_then_update"):
            result["actions"].append("update environment %s to %s" % (self.env_name, self.label))
            result["environment_updated"] = True
        result["changed"] = bool(result["actions"])
        if self.module._diff:
            result["diff"] = dict(before="version_label: %s\n" % before_label,
                                  after="version_label: %s\n" % (self.label if plan != "none" else before_label))

        if self.module.check_mode:
            result.update(status=env.get("Status"), health=env.get("Health"), running_version=before_label)
            if result["actions"]:
                result["msg"] = "would " + ", then ".join(result["actions"])
            else:
                result["msg"] = "environment %s already runs %s, Ready and Green" % (self.env_name, self.label)
            return result

        self.deadline = time.monotonic() + params["wait_timeout"]
        since = env.get("DateUpdated")
        if plan == "wait_then_update":
            self._wait(ready_for_update, "become Ready before the update", since)
        if plan in ("update", "wait_then_update"):
            updated = self.aws.eb_update_environment(self.app, self.env_name, self.label)
            self.done.append(result["actions"][-1])
            since = updated.get("DateUpdated") or datetime.datetime.now(datetime.timezone.utc)
        if isinstance(since, datetime.datetime):
            since = since - datetime.timedelta(seconds=1)

        if params["wait"] and plan != "none":
            env = self._wait(lambda e: deploy_progress(e, self.label),
                             "run %s Ready and Green" % self.label, since)
            result["events"] = event_records(self.aws.eb_events(self.app, self.env_name, since=since))
        elif plan != "none":
            env = self.aws.eb_environment(self.app, self.env_name) or env
        result.update(status=env.get("Status"), health=env.get("Health"), running_version=env.get("VersionLabel"))
        if plan == "none":
            result["msg"] = "environment %s already runs %s, Ready and Green" % (self.env_name, self.label)
        elif params["wait"]:
            result["msg"] = "environment %s runs %s, Ready and Green" % (self.env_name, self.label)
        else:
            result["msg"] = "environment %s is %s on %s (not waited for)" % (
                self.env_name, result["status"], result["running_version"])
        return result

    def _wait(self, judge, goal, since):
        """Poll the environment until judge says done; DeployError on failure or timeout."""
        interval = max(0.1, float(self.params["poll_interval"]))
        max_polls = int(self.params["wait_timeout"] / interval) + 2
        explanation = "not looked at yet"
        env = None
        for poll in range(max_polls):
            env = self.aws.eb_environment(self.app, self.env_name)
            verdict, explanation = judge(env)
            if verdict == "done":
                return env
            if verdict == "failed":
                self._fail("environment %s did not %s: %s" % (self.env_name, goal, explanation), since, env)
            remaining = self.deadline - time.monotonic()
            if remaining <= 0 or poll == max_polls - 1:
                break
            time.sleep(min(interval, remaining))
        self._fail("environment %s did not %s within %g s: %s"
                   % (self.env_name, goal, self.params["wait_timeout"], explanation), since, env)

    def _fail(self, message, since, env):
        events = self.aws.eb_events(self.app, self.env_name, since=since)
        lines = format_events(events)
        message += ". Events since the update: " + (" | ".join(lines) if lines else "none")
        health = None
        try:
            health = self.aws.eb_health(self.env_name)
        except AwsError:
            health = None
        if health and health.get("Causes"):
            message += ". Health causes: " + " | ".join(health["Causes"])
        details = dict(events=event_records(events))
        if env:
            details.update(status=env.get("Status"), health=env.get("Health"), running_version=env.get("VersionLabel"))
        raise DeployError(message, details)


def argument_spec():
    return dict(
        application=dict(type="str", required=True),
        environment=dict(type="str", required=True),
        version_label=dict(type="str", required=True),
        bundle=dict(type="path", required=True),
        bucket=dict(type="str", required=True),
        s3_key=dict(type="str", no_log=False),
        description=dict(type="str"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="float", default=900.0),
        poll_interval=dict(type="float", default=10.0),
    )


def validate(params):
    if params["wait_timeout"] < 0:
        return "wait_timeout: %g is negative" % params["wait_timeout"]
    if params["poll_interval"] <= 0:
        return "poll_interval: %s must be more than 0" % params["poll_interval"]
    return None


def failure(params):
    return dict(application=params["application"], environment=params["environment"],
                version_label=params["version_label"])


def main():
    run_module(argument_spec(), Deployer, connection="aws", validate=validate, failure=failure,
               checked_seconds=("wait_timeout", "poll_interval"))


if __name__ == "__main__":
    main()

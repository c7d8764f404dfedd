# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    """Connection options of every module that talks to AWS."""

    DOCUMENTATION = r"""
attributes:
  action_group:
    description: Use C(group/baton.docker.aws) in C(module_defaults) to set the AWS options of every
      AWS module of the collection at once.
    membership:
      - baton.docker.aws
    support: full
options:
  region:
    description:
      - AWS region to talk to, for example V(us-east-1).
      - When left out, boto3 looks for it the usual way, in E(AWS_REGION), E(AWS_DEFAULT_REGION), then the profile
        in the shared AWS config file. The task fails when none of them sets a region.
    type: str
    aliases: [aws_region]
  profile:
    description:
      - Named profile of the shared AWS config and credentials files (C(~/.aws/config), C(~/.aws/credentials)).
      - When left out, boto3 uses E(AWS_PROFILE) or the default profile.
      - Cannot be combined with O(access_key) or O(session_token).
    type: str
    aliases: [aws_profile]
  access_key:
    description:
      - AWS access key ID. Must be given together with O(secret_key).
      - When left out, credentials come from the standard boto3 chain, in this order, E(AWS_ACCESS_KEY_ID) and
        E(AWS_SECRET_ACCESS_KEY), the profile, then an instance or container role.
      - The key ID is not secret and may appear in logs. The secret key and session token never do.
    type: str
    aliases: [aws_access_key_id]
  secret_key:
    description:
      - AWS secret access key belonging to O(access_key). Never logged or returned.
    type: str
    aliases: [aws_secret_access_key]
  session_token:
    description:
      - Session token of temporary credentials (from STS). Never logged or returned.
    type: str
    aliases: [aws_session_token]
  endpoint_url:
    description:
      - Send every AWS request of the task to this URL instead of the public AWS endpoint of each service, for
        example a VPC endpoint or an AWS-compatible server used in tests (V(http://127.0.0.1:5000)).
      - The same URL is used for every service the module calls (ECR, S3, Elastic Beanstalk). S3 requests then use
        path-style addressing.
      - When left out, boto3 may still take it from E(AWS_ENDPOINT_URL).
    type: str
    aliases: [aws_endpoint_url]
notes:
  - Throttling (for example C(ThrottlingException), C(RequestLimitExceeded)) and transient 5xx errors or dropped
    connections are retried up to 6 attempts in all, with an exponential backoff from 0.5 s capped at 8 s per wait.
    Other errors fail the task at once with AWS's error code and message.
requirements:
  - boto3 >= 1.28
"""

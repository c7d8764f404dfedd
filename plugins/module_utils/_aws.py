# -*- coding: utf-8 -*-
# Copyright: baton.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one AWS client of the collection.

Every call a baton.docker module makes to ECR, S3 or Elastic Beanstalk goes
through AwsClient in this file. It builds boto3 clients from the shared
connection options (the standard boto3 chain fills in whatever is not given),
retries throttling and transient failures with a bounded exponential backoff,
and turns AWS errors into AwsError messages a user can act on (a BatonError: the
shared module runner reports it).

The second half of the file holds the pure decisions of the Elastic Beanstalk
deploy (what to upload, whether a version label clashes, whether the
environment needs an update, whether a wait is over). They do no I/O and have
their own unit tests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import random
import time
import traceback

from ansible_collections.baton.docker.plugins.module_utils._errors import BatonError

try:
    import boto3
    from botocore.config import Config
    from botocore import exceptions as botocore_errors
    from botocore.parsers import ResponseParserError
except ImportError:  # pragma: no cover - reported by require_boto3()
    boto3 = Config = botocore_errors = ResponseParserError = None
    BOTO3_IMPORT_ERROR = traceback.format_exc()
else:
    BOTO3_IMPORT_ERROR = None
HAS_BOTO3 = BOTO3_IMPORT_ERROR is None

# Shared argument spec of every module that talks to AWS; documented by the
# baton.docker.aws doc fragment. Nothing here has a fallback on purpose: what
# is not given is found by boto3 itself (environment, shared config and
# credentials files, instance or container role), exactly as the AWS CLI does.
AWS_COMMON_ARGS = dict(
    region=dict(type="str", aliases=["aws_region"]),
    profile=dict(type="str", aliases=["aws_profile"]),
    access_key=dict(type="str", aliases=["aws_access_key_id"], no_log=False),
    secret_key=dict(type="str", aliases=["aws_secret_access_key"], no_log=True),
    session_token=dict(type="str", aliases=["aws_session_token"], no_log=True),
    endpoint_url=dict(type="str", aliases=["aws_endpoint_url"]),
)
AWS_REQUIRED_TOGETHER = [["access_key", "secret_key"]]
AWS_MUTUALLY_EXCLUSIVE = [["profile", "access_key"], ["profile", "session_token"]]

# Error codes AWS services use for "slow down" and "try again".
RETRYABLE_ERROR_CODES = frozenset((
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
    "RequestThrottledException", "TooManyRequestsException", "RequestLimitExceeded",
    "SlowDown", "PriorRequestNotComplete", "ProvisionedThroughputExceededException",
    "RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure",
    "InternalServerError", "InternalServerException", "ServiceUnavailable",
    "ServiceUnavailableException",
))
# 5xx answers that a retry cannot fix.
NOT_RETRYABLE_ERROR_CODES = frozenset(("NotImplemented",))

DEFAULT_MAX_ATTEMPTS = 6
DEFAULT_BASE_DELAY = 0.5
DEFAULT_MAX_DELAY = 8.0

# Environment states, as Elastic Beanstalk names them.
EB_BUSY_STATUSES = frozenset(("Launching", "Updating", "Aborting", "LinkingFrom", "LinkingTo"))
EB_GONE_STATUSES = frozenset(("Terminating", "Terminated"))


class AwsError(BatonError):
    """An AWS failure, worded for the user; ``code`` is AWS's error code when AWS answered with one."""

    def __init__(self, message, code=None, details=None):
        super().__init__(message, details)
        self.code = code


class RepositoryMissing(AwsError):
    """The ECR repository does not exist."""


class ImageMissing(AwsError):
    """The repository exists but holds no image with that tag or digest."""


def require_boto3(module):
    """Fail the module clearly when boto3 is missing."""
    if not HAS_BOTO3:
        from ansible.module_utils.basic import missing_required_lib
        module.fail_json(msg=missing_required_lib("boto3"), exception=BOTO3_IMPORT_ERROR)


def connection_params(params):
    """The shared connection options out of a module's params."""
    return dict((name, params.get(name)) for name in AWS_COMMON_ARGS)


# ---------------------------------------------------------------------------
# Retry decisions (pure)
# ---------------------------------------------------------------------------

def is_retryable(code, status):
    """Whether an AWS error answer is worth another attempt."""
    if code in NOT_RETRYABLE_ERROR_CODES:
        return False
    if code in RETRYABLE_ERROR_CODES:
        return True
    return status is not None and 500 <= int(status) <= 599


def backoff_delays(max_attempts, base_delay, max_delay, rand=None):
    """Seconds to sleep before attempt 2, 3, ... max_attempts.

    Exponential (base, 2*base, 4*base, ...) capped at max_delay, with "equal
    jitter": each delay is drawn from [d/2, d] so that clients throttled
    together do not all come back at the same instant.
    """
    rand = random.random if rand is None else rand
    delays = []
    for attempt in range(max(0, int(max_attempts) - 1)):
        delay = min(float(max_delay), float(base_delay) * (2 ** attempt))
        delays.append(delay / 2.0 + rand() * delay / 2.0)
    return delays


def _error_code(exc):
    return exc.response.get("Error", {}).get("Code") or ""


def _error_message(exc):
    return exc.response.get("Error", {}).get("Message") or str(exc)


def _http_status(exc):
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


# ---------------------------------------------------------------------------
# The client
# ---------------------------------------------------------------------------

class AwsClient:
    """boto3 clients for ECR, S3 and Elastic Beanstalk, with retries.

    `sleep` is injectable so that tests can run the real retry path without
    waiting. `retries` counts the retries made, for the caller's information.
    """

    def __init__(self, region=None, profile=None, access_key=None, secret_key=None,
                 session_token=None, endpoint_url=None, max_attempts=DEFAULT_MAX_ATTEMPTS,
                 base_delay=DEFAULT_BASE_DELAY, max_delay=DEFAULT_MAX_DELAY, sleep=None):
        self.endpoint_url = endpoint_url or None
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = time.sleep if sleep is None else sleep
        self.retries = 0
        self._clients = {}
        if bool(access_key) != bool(secret_key):
            # required_together lets an explicit null through; botocore then fails deep inside request signing.
            raise AwsError("access_key and secret_key must be given together")
        try:
            self.session = boto3.session.Session(
                profile_name=profile or None, aws_access_key_id=access_key or None,
                aws_secret_access_key=secret_key or None, aws_session_token=session_token or None,
                region_name=region or None)
        except botocore_errors.ProfileNotFound:
            raise AwsError("AWS profile %r is not defined in the shared AWS config or credentials file" % profile)
        if not self.session.region_name:
            raise AwsError("no AWS region: set the region option, AWS_REGION or AWS_DEFAULT_REGION, "
                           "or a region in the AWS profile")
        self.region = self.session.region_name

    @classmethod
    def from_params(cls, params, **kwargs):
        kwargs.update(connection_params(params))
        return cls(**kwargs)

    def client(self, service):
        """The boto3 client of one service (created once)."""
        if service not in self._clients:
            # botocore's own retries are off: every retry goes through call(), so
            # there is one policy, one bound, and one place to test it.
            config = dict(retries={"total_max_attempts": 1, "mode": "standard"},
                          connect_timeout=10, read_timeout=60, user_agent_extra="baton.docker")
            if service == "s3" and self.endpoint_url:
                # Endpoints such as a local S3 stand-in have no per-bucket DNS names.
                config["s3"] = {"addressing_style": "path"}
            try:
                self._clients[service] = self.session.client(
                    service, endpoint_url=self.endpoint_url, config=Config(**config))
            except ValueError as exc:
                raise AwsError("invalid endpoint_url %r: %s" % (self.endpoint_url, exc))
        return self._clients[service]

    def call(self, service, operation, **kwargs):
        """Run one API operation, retrying throttling and transient errors.

        Returns the parsed answer. AWS error answers that are not retryable, or
        still failing after the last attempt, are raised as botocore
        ClientError for the caller to word; everything else becomes AwsError.
        """
        method = getattr(self.client(service), operation)
        delays = backoff_delays(self.max_attempts, self.base_delay, self.max_delay)
        attempt = 0
        while True:
            try:
                return method(**kwargs)
            except botocore_errors.ClientError as exc:
                if attempt < len(delays) and is_retryable(_error_code(exc), _http_status(exc)):
                    self._backoff(delays[attempt])
                    attempt += 1
                    continue
                raise
            except (botocore_errors.EndpointConnectionError, botocore_errors.ConnectionClosedError,
                    botocore_errors.ConnectTimeoutError, botocore_errors.ReadTimeoutError) as exc:
                if attempt < len(delays):
                    self._backoff(delays[attempt])
                    attempt += 1
                    continue
                raise AwsError("cannot reach AWS %s after %d attempts: %s" % (service, attempt + 1, exc))
            except (botocore_errors.NoCredentialsError, botocore_errors.PartialCredentialsError):
                raise AwsError("no usable AWS credentials: set access_key and secret_key, a profile, "
                               "or the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY environment variables")
            except botocore_errors.ParamValidationError as exc:
                raise AwsError("invalid request to AWS %s %s: %s" % (service, operation, exc))
            except botocore_errors.BotoCoreError as exc:
                raise AwsError("AWS %s %s failed: %s" % (service, operation, exc))
            except (ResponseParserError, KeyError) as exc:
                # Not BotoCoreErrors: an endpoint (a proxy, a stand-in) answered something other than AWS's format, or
                # an answer without the element the operation's result is read from.
                raise AwsError("AWS %s %s: the endpoint's answer is not an AWS answer: %s" % (service, operation, exc))

    def _backoff(self, delay):
        self.retries += 1
        self.sleep(delay)

    @staticmethod
    def _failed(exc, what):
        """AwsError for a ClientError no caller handles more precisely."""
        return AwsError("%s failed: %s: %s" % (what, _error_code(exc), _error_message(exc)),
                        code=_error_code(exc))

    # -- ECR ---------------------------------------------------------------

    def ecr_image(self, repository, tag=None, digest=None, registry_id=None):
        """The imageDetails of one image, found by tag or digest in one call.

        Raises RepositoryMissing or ImageMissing, worded differently.
        """
        image_id = {"imageTag": tag} if tag else {"imageDigest": digest}
        kwargs = dict(repositoryName=repository, imageIds=[image_id])
        if registry_id:
            kwargs["registryId"] = registry_id
        where = "registry %s" % registry_id if registry_id else "the default registry of this account"
        wanted = "tag %r" % tag if tag else "digest %r" % digest
        try:
            answer = self.call("ecr", "describe_images", **kwargs)
        except botocore_errors.ClientError as exc:
            code = _error_code(exc)
            if code == "RepositoryNotFoundException":
                raise RepositoryMissing("ECR repository %r does not exist in %s (region %s)"
                                        % (repository, where, self.region), code=code)
            if code == "ImageNotFoundException":
                raise ImageMissing("ECR repository %r has no image with %s (region %s)"
                                   % (repository, wanted, self.region), code=code)
            raise self._failed(exc, "ECR DescribeImages of %s:%s" % (repository, tag or digest))
        details = answer.get("imageDetails") or []
        if not details:
            raise ImageMissing("ECR repository %r has no image with %s (region %s)"
                               % (repository, wanted, self.region))
        return details[0]

    def ecr_authorization(self, registry_id=None):
        """A Docker login for ECR: dict(registry, username, password, expires_at).

        The password is a temporary token. Callers must keep it out of every
        output.
        """
        kwargs = {"registryIds": [registry_id]} if registry_id else {}
        try:
            answer = self.call("ecr", "get_authorization_token", **kwargs)
        except botocore_errors.ClientError as exc:
            raise self._failed(exc, "ECR GetAuthorizationToken")
        data = (answer.get("authorizationData") or [None])[0]
        if not data or not data.get("authorizationToken"):
            raise AwsError("ECR GetAuthorizationToken returned no token")
        try:
            decoded = base64.b64decode(data["authorizationToken"]).decode("utf-8")
        except (TypeError, ValueError):
            raise AwsError("ECR GetAuthorizationToken returned a token that is not base64 user:password")
        if ":" not in decoded:
            raise AwsError("ECR GetAuthorizationToken returned a token that is not user:password")
        username, password = decoded.split(":", 1)
        expires = data.get("expiresAt")
        return dict(registry=registry_host(data.get("proxyEndpoint") or ""), username=username,
                    password=password, expires_at=expires.isoformat() if expires else None)

    # -- S3 ----------------------------------------------------------------

    def s3_bucket_exists(self, bucket):
        try:
            self.call("s3", "head_bucket", Bucket=bucket)
        except botocore_errors.ClientError as exc:
            if _error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
                return False
            if _error_code(exc) in ("403", "AccessDenied"):
                raise AwsError("S3 bucket %r exists but these credentials may not use it" % bucket, code="403")
            raise self._failed(exc, "S3 HeadBucket of %r" % bucket)
        return True

    def s3_object(self, bucket, key):
        """HeadObject answer for s3://bucket/key, or None when there is none."""
        try:
            return self.call("s3", "head_object", Bucket=bucket, Key=key)
        except botocore_errors.ClientError as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self._failed(exc, "S3 HeadObject of s3://%s/%s" % (bucket, key))

    def s3_upload(self, bucket, key, path, metadata=None):
        """Upload a local file in one PutObject; returns its ETag."""
        try:
            with open(path, "rb") as body:
                answer = self.call("s3", "put_object", Bucket=bucket, Key=key, Body=body,
                                   Metadata=dict(metadata or {}), ContentType="application/zip")
        except botocore_errors.ClientError as exc:
            if _error_code(exc) == "NoSuchBucket":
                raise AwsError("S3 bucket %r does not exist" % bucket, code="NoSuchBucket")
            raise self._failed(exc, "S3 PutObject of s3://%s/%s" % (bucket, key))
        except OSError as exc:
            raise AwsError("cannot read %s: %s" % (path, exc))
        return answer.get("ETag")

    # -- Elastic Beanstalk ---------------------------------------------------

    def eb_application(self, application):
        """The application description, or None."""
        try:
            answer = self.call("elasticbeanstalk", "describe_applications", ApplicationNames=[application])
        except botocore_errors.ClientError as exc:
            raise self._failed(exc, "Elastic Beanstalk DescribeApplications")
        # Filter again: the answer is only trusted for the name asked about.
        for app in answer.get("Applications") or []:
            if app.get("ApplicationName") == application:
                return app
        return None

    def eb_environment(self, application, environment):
        """The environment description (not terminated), or None."""
        try:
            answer = self.call("elasticbeanstalk", "describe_environments", ApplicationName=application,
                               EnvironmentNames=[environment], IncludeDeleted=False)
        except botocore_errors.ClientError as exc:
            raise self._failed(exc, "Elastic Beanstalk DescribeEnvironments")
        for env in answer.get("Environments") or []:
            if (env.get("EnvironmentName") == environment and env.get("ApplicationName") == application
                    and env.get("Status") not in EB_GONE_STATUSES):
                return env
        return None

    def eb_version(self, application, label):
        """The application version with that label, or None."""
        try:
            answer = self.call("elasticbeanstalk", "describe_application_versions",
                               ApplicationName=application, VersionLabels=[label])
        except botocore_errors.ClientError as exc:
            raise self._failed(exc, "Elastic Beanstalk DescribeApplicationVersions")
        for version in answer.get("ApplicationVersions") or []:
            if version.get("VersionLabel") == label and version.get("ApplicationName", application) == application:
                return version
        return None

    def eb_create_version(self, application, label, bucket, key, description=None):
        kwargs = dict(ApplicationName=application, VersionLabel=label, AutoCreateApplication=False,
                      SourceBundle={"S3Bucket": bucket, "S3Key": key})
        if description:
            kwargs["Description"] = description
        try:
            answer = self.call("elasticbeanstalk", "create_application_version", **kwargs)
        except botocore_errors.ClientError as exc:
            raise self._failed(exc, "Elastic Beanstalk CreateApplicationVersion %r" % label)
        return answer.get("ApplicationVersion") or {}

    def eb_update_environment(self, application, environment, label):
        try:
            answer = self.call("elasticbeanstalk", "update_environment", ApplicationName=application,
                               EnvironmentName=environment, VersionLabel=label)
        except botocore_errors.ClientError as exc:
            raise self._failed(exc, "Elastic Beanstalk UpdateEnvironment of %r to %r" % (environment, label))
        answer.pop("ResponseMetadata", None)
        return answer

    def eb_events(self, application, environment, since=None, max_records=25):
        """Events of the environment, newest first, since a datetime."""
        kwargs = dict(ApplicationName=application, EnvironmentName=environment, MaxRecords=max_records)
        if since is not None:
            kwargs["StartTime"] = since
        try:
            answer = self.call("elasticbeanstalk", "describe_events", **kwargs)
        except botocore_errors.ClientError as exc:
            raise self._failed(exc, "Elastic Beanstalk DescribeEvents")
        return answer.get("Events") or []

    def eb_health(self, environment):
        """Enhanced health of the environment, or None when it only has basic health."""
        try:
            answer = self.call("elasticbeanstalk", "describe_environment_health", EnvironmentName=environment,
                               AttributeNames=["Status", "Color", "HealthStatus", "Causes"])
        except botocore_errors.ClientError as exc:
            if _error_code(exc) in ("InvalidRequestException", "InvalidRequest"):
                return None
            raise self._failed(exc, "Elastic Beanstalk DescribeEnvironmentHealth")
        answer.pop("ResponseMetadata", None)
        return answer


# ---------------------------------------------------------------------------
# Pure helpers and Elastic Beanstalk deploy decisions
# ---------------------------------------------------------------------------

def registry_host(endpoint):
    """`https://123.dkr.ecr.r.amazonaws.com/` -> `123.dkr.ecr.r.amazonaws.com`."""
    host = endpoint.strip()
    for scheme in ("https://", "http://"):
        if host.startswith(scheme):
            host = host[len(scheme):]
    return host.rstrip("/")


def ecr_registry_host(registry_id, region):
    """Host name of an account's ECR registry in a region."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return "%s.dkr.ecr.%s.%s" % (registry_id, region, suffix)


def image_summary(details, region):
    """Module-friendly view of an ECR imageDetails entry."""
    pushed = details.get("imagePushedAt")
    if isinstance(pushed, datetime.datetime):
        pushed = pushed.isoformat()
    registry_id = details.get("registryId")
    return dict(
        registry_id=registry_id,
        repository=details.get("repositoryName"),
        digest=details.get("imageDigest"),
        tags=sorted(details.get("imageTags") or []),
        pushed_at=pushed,
        size=details.get("imageSizeInBytes"),
        registry=ecr_registry_host(registry_id, region) if registry_id else None,
    )


def bundle_key(application, label, prefix=""):
    """S3 key of the source bundle of one application version."""
    prefix = prefix or ""
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return "%s%s/%s.zip" % (prefix, application, label)


def object_holds(head, sha256, md5):
    """Whether an S3 HeadObject answer describes a bundle with these digests.

    Bundles uploaded by eb_deploy carry their sha256 in the object metadata.
    For others, a single-part upload's ETag is the MD5 of the content; a
    multipart ETag (with a dash) proves nothing, so it does not match.
    """
    if not head:
        return False
    stored = (head.get("Metadata") or {}).get("sha256")
    if stored:
        return stored == sha256
    etag = (head.get("ETag") or "").strip('"')
    return bool(etag) and "-" not in etag and etag == md5


def version_clash(version, bucket, key, head, sha256, md5):
    """None when an existing version holds this bundle; else why it clashes.

    `head` is the HeadObject answer of the version's own source bundle.
    """
    source = version.get("SourceBundle") or {}
    where = "s3://%s/%s" % (source.get("S3Bucket"), source.get("S3Key"))
    if not source.get("S3Bucket") or not source.get("S3Key"):
        return "it has no S3 source bundle to compare with"
    if head is None:
        return "its source bundle %s is gone, so it cannot be shown to hold the same content" % where
    if not object_holds(head, sha256, md5):
        stored = (head.get("Metadata") or {}).get("sha256") or "etag " + (head.get("ETag") or "?").strip('"')
        return "its source bundle %s holds different content (%s, this bundle has sha256 %s)" % (where, stored, sha256)
    return None


def plan_environment(env, label):
    """What the environment needs: 'none', 'wait', 'update' or 'wait_then_update'.

    - on the label, Ready and Green: nothing;
    - on the label and busy (an update in flight): only wait for it;
    - on the label, Ready but not Green: deploy it again (the only lever EB has);
    - on another label and busy: wait until Ready (EB refuses an update before), then update;
    - on another label and Ready: update.
    """
    status = env.get("Status")
    on_label = env.get("VersionLabel") == label
    busy = status in EB_BUSY_STATUSES
    if on_label:
        if busy:
            return "wait"
        if status == "Ready" and env.get("Health") == "Green":
            return "none"
        return "update"
    return "wait_then_update" if busy else "update"


def deploy_progress(env, label):
    """During the wait: ('done'|'pending'|'failed', explanation)."""
    if env is None:
        return "failed", "the environment disappeared"
    status, health, current = env.get("Status"), env.get("Health"), env.get("VersionLabel")
    state = "status %s, health %s, version %s" % (status, health, current)
    if status in EB_GONE_STATUSES:
        return "failed", "the environment is %s" % status.lower()
    if status in EB_BUSY_STATUSES:
        return "pending", state
    if status == "Ready" and current != label:
        return "failed", "the deployment did not take: %s" % state
    if status == "Ready" and health == "Green":
        return "done", state
    return "pending", state


def ready_for_update(env):
    """During a wait before the update: ('done'|'pending'|'failed', explanation)."""
    if env is None:
        return "failed", "the environment disappeared"
    status = env.get("Status")
    if status in EB_GONE_STATUSES:
        return "failed", "the environment is %s" % status.lower()
    if status == "Ready":
        return "done", "status Ready"
    return "pending", "status %s" % status


def format_events(events, limit=15):
    """Events (newest first, as EB returns them) as readable lines, oldest first."""
    lines = []
    for event in list(events)[:limit][::-1]:
        date = event.get("EventDate")
        if isinstance(date, datetime.datetime):
            date = date.strftime("%Y-%m-%dT%H:%M:%SZ") if date.utcoffset() in (None, datetime.timedelta(0)) \
                else date.isoformat()
        lines.append("%s %s %s" % (date, event.get("Severity", "INFO"), event.get("Message", "")))
    return lines


def event_records(events):
    """Events as plain dicts for module output (newest first)."""
    records = []
    for event in events:
        date = event.get("EventDate")
        records.append(dict(
            date=date.isoformat() if isinstance(date, datetime.datetime) else date,
            severity=event.get("Severity"),
            message=event.get("Message"),
            version_label=event.get("VersionLabel"),
        ))
    return records

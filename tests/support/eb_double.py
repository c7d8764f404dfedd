"""A test double for the Elastic Beanstalk calls moto does not implement, in front of a real moto server.

moto (5.x) implements CreateApplication, DescribeApplications,
CreateEnvironment and DescribeEnvironments, but answers HTTP 500 for
CreateApplicationVersion, DescribeApplicationVersions, UpdateEnvironment,
DescribeEvents and DescribeEnvironmentHealth, and its environments are always
Ready on version "1".

EbDouble is a small HTTP server on 127.0.0.1 that modules use as their single
endpoint_url. It:

- forwards every request to moto (ECR, S3, and the Elastic Beanstalk calls
  moto implements), byte for byte;
- serves the five missing Elastic Beanstalk actions itself, speaking the
  same query protocol (form-encoded Action=..., XML answers and XML errors),
  and keeps state the way Elastic Beanstalk does: application versions (the
  application must exist in moto and the source bundle must exist in moto's
  S3; a label can only be created once), and per environment an update that
  goes Updating -> Ready after a configurable number of polls, ending Green,
  Red (never healthy) or rolled back to the previous version, with the events
  and health causes Elastic Beanstalk would report;
- serves DescribeEnvironments from moto's environments (which ones exist,
  their names, ARNs, dates) with that state laid over Status, Health,
  HealthStatus, VersionLabel and DateUpdated;
- can answer the next N requests of an action with a throttling (or 5xx)
  error in that service's protocol, to exercise the modules' retry path.

It stands in for AWS Elastic Beanstalk's deployment side only; it does not
run anything. Tests say which of their assertions rest on it.
"""

import collections
import datetime
import http.client
import http.server
import json
import threading
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

import boto3
from botocore.config import Config

from .net import free_port

NS = "http://elasticbeanstalk.amazonaws.com/docs/2010-12-01/"
HANDLED = ("CreateApplicationVersion", "DescribeApplicationVersions", "UpdateEnvironment", "DescribeEvents",
           "DescribeEnvironmentHealth", "DescribeEnvironments")
HOP_BY_HOP = ("connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade")


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _iso(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return str(value)


def _parse_time(text):
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    value = datetime.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value


def _members(form, prefix):
    """Values of a query-protocol list (`Prefix.member.1`, `.2`, ...)."""
    items = []
    index = 1
    while "%s.member.%d" % (prefix, index) in form:
        items.append(form["%s.member.%d" % (prefix, index)])
        index += 1
    return items


def _to_xml(parent, name, value):
    element = ET.SubElement(parent, "{%s}%s" % (NS, name))
    if isinstance(value, dict):
        for key, item in value.items():
            if item is not None:
                _to_xml(element, key, item)
    elif isinstance(value, list):
        for item in value:
            _to_xml(element, "member", item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = _iso(value)
    return element


class ApiError(Exception):
    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class EbDouble:
    def __init__(self, moto_url, region="us-east-1"):
        self.moto_url = moto_url
        self.region = region
        moto = urllib.parse.urlsplit(moto_url)
        self.moto_host, self.moto_port = moto.hostname, moto.port
        self.lock = threading.RLock()
        self.port = None
        self.server = None
        self.thread = None
        kwargs = dict(endpoint_url=moto_url, region_name=region, aws_access_key_id="testing",
                      aws_secret_access_key="testing", config=Config(s3={"addressing_style": "path"}))
        self._moto_eb = boto3.client("elasticbeanstalk", **kwargs)
        self._moto_s3 = boto3.client("s3", **kwargs)
        self.reset()

    # -- controls used by tests ------------------------------------------------

    def reset(self):
        with self.lock:
            self.versions = collections.OrderedDict()   # (app, label) -> version dict
            self.envs = {}                              # (app, env) -> overlay dict
            self.events = collections.defaultdict(list)  # (app, env) -> events, oldest first
            self.behaviour = {}                         # env name -> dict
            self.throttles = {}                         # action -> [count, kind]
            self.calls = collections.Counter()          # action -> requests seen (incl. throttled)
            self.writes = []                            # (action, params) of state-changing EB calls

    def behave(self, environment, polls=2, health="Green", rollback=False, causes=None):
        """How the next update of `environment` goes.

        polls: DescribeEnvironments answers that still say Updating.
        health: the colour it ends with (Red = never healthy).
        rollback: the deployment fails and the environment goes back to its previous version.
        """
        with self.lock:
            self.behaviour[environment] = dict(polls=polls, health=health, rollback=rollback, causes=causes)

    def throttle(self, action, times, kind="throttle"):
        """Answer the next `times` requests of `action` with an error (kind: throttle or 5xx)."""
        with self.lock:
            self.throttles[action] = [times, kind]

    def set_environment(self, application, environment, **fields):
        """Lay fields (Status, Health, VersionLabel, ...) over a moto environment."""
        with self.lock:
            overlay = self.envs.setdefault((application, environment), {})
            overlay.update(fields)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        self.port = free_port()
        double = self

        class Handler(_Handler):
            pass
        Handler.double = double
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                       name="eb-double", daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=10)
            self.server = None

    # -- Elastic Beanstalk actions ---------------------------------------------

    def _moto_application(self, name):
        for app in self._moto_eb.describe_applications().get("Applications", []):
            if app["ApplicationName"] == name:
                return app
        return None

    def _moto_environments(self, application=None, names=None):
        envs = self._moto_eb.describe_environments().get("Environments", [])
        return [env for env in envs
                if (application is None or env["ApplicationName"] == application)
                and (not names or env["EnvironmentName"] in names)]

    def _event(self, app, env, severity, message, label=None):
        self.events[(app, env)].append(dict(
            EventDate=_now(), Message=message, ApplicationName=app, EnvironmentName=env,
            VersionLabel=label, Severity=severity, RequestId=str(uuid.uuid4())))

    def _environment(self, moto_env, count_poll):
        """moto's description with our state laid over it; advances an update on a poll."""
        key = (moto_env["ApplicationName"], moto_env["EnvironmentName"])
        overlay = self.envs.get(key)
        if overlay and overlay.get("Status") == "Updating" and count_poll and "polls_left" in overlay:
            if overlay["polls_left"] > 0:
                overlay["polls_left"] -= 1
            else:
                self._finish_update(key, overlay)
        description = dict(moto_env)
        description.update(dict((k, v) for k, v in (overlay or {}).items() if k[0].isupper()))
        return description

    def _finish_update(self, key, overlay):
        app, env = key
        label = overlay["VersionLabel"]
        plan = overlay.pop("plan")
        overlay.pop("polls_left", None)
        overlay["Status"] = "Ready"
        overlay["DateUpdated"] = _now()
        if plan["rollback"]:
            self._event(app, env, "ERROR", "Failed to deploy application.", label)
            self._event(app, env, "ERROR", "Unsuccessful command execution on instance id(s) 'i-0b4d5a3e'. "
                        "Aborting the operation.", label)
            overlay["VersionLabel"] = overlay.pop("previous_label")
            overlay["Health"], overlay["HealthStatus"] = "Red", "Severe"
            overlay["causes"] = plan["causes"] or ["Application deployment failed on 1 out of 1 instance."]
            self._event(app, env, "INFO", "Environment update completed with errors.", label)
            return
        overlay.pop("previous_label", None)
        self._event(app, env, "INFO", "New application version was deployed to running EC2 instances.", label)
        overlay["Health"] = plan["health"]
        if plan["health"] == "Green":
            overlay["HealthStatus"], overlay["causes"] = "Ok", []
            self._event(app, env, "INFO", "Environment update completed successfully.", label)
        else:
            overlay["HealthStatus"] = "Severe" if plan["health"] == "Red" else "Warning"
            overlay["causes"] = plan["causes"] or ["ELB health is failing or not available for all instances.",
                                                   "Container exited with code 1."]
            self._event(app, env, "INFO", "Environment update completed successfully.", label)
            self._event(app, env, "WARN", "Environment health has transitioned from Info to %s. %s"
                        % (overlay["HealthStatus"], " ".join(overlay["causes"])), label)

    def describe_environments(self, form):
        app = form.get("ApplicationName")
        names = _members(form, "EnvironmentNames")
        with self.lock:
            envs = [self._environment(env, count_poll=True) for env in self._moto_environments(app, names)]
        return {"Environments": envs}

    def create_application_version(self, form):
        app, label = form.get("ApplicationName"), form.get("VersionLabel")
        bucket, key = form.get("SourceBundle.S3Bucket"), form.get("SourceBundle.S3Key")
        with self.lock:
            if self._moto_application(app) is None:
                raise ApiError("InvalidParameterValue", "No Application named '%s' found." % app)
            if (app, label) in self.versions:
                raise ApiError("InvalidParameterValue", "Application Version %s already exists." % label)
            if bucket and key:
                try:
                    self._moto_s3.head_object(Bucket=bucket, Key=key)
                except Exception:
                    raise ApiError("InvalidParameterCombination",
                                   "Unable to download from S3 location (Bucket: %s  Key: %s). Reason: Not Found"
                                   % (bucket, key))
            version = collections.OrderedDict([
                ("ApplicationVersionArn", "arn:aws:elasticbeanstalk:%s:123456789012:applicationversion/%s/%s"
                 % (self.region, app, label)),
                ("ApplicationName", app), ("Description", form.get("Description")), ("VersionLabel", label),
                ("SourceBundle", collections.OrderedDict([("S3Bucket", bucket), ("S3Key", key)])
                 if bucket else None),
                ("DateCreated", _now()), ("DateUpdated", _now()), ("Status", "UNPROCESSED"),
            ])
            self.versions[(app, label)] = version
            self.writes.append(("CreateApplicationVersion", dict(form)))
        return {"ApplicationVersion": version}

    def describe_application_versions(self, form):
        app = form.get("ApplicationName")
        labels = _members(form, "VersionLabels")
        with self.lock:
            found = [v for (a, label), v in self.versions.items()
                     if (app is None or a == app) and (not labels or label in labels)]
        return {"ApplicationVersions": found[::-1]}

    def update_environment(self, form):
        app, env, label = form.get("ApplicationName"), form.get("EnvironmentName"), form.get("VersionLabel")
        with self.lock:
            moto_envs = self._moto_environments(app, [env])
            if not moto_envs:
                raise ApiError("InvalidParameterValue", "No Environment found for EnvironmentName = '%s'." % env)
            current = self._environment(moto_envs[0], count_poll=False)
            if current.get("Status") != "Ready":
                raise ApiError("InvalidParameterValue", "Environment named %s is in an invalid state for this "
                               "operation. Must be Ready." % env)
            if label and (app, label) not in self.versions:
                raise ApiError("InvalidParameterValue", "No Application Version named '%s' found." % label)
            behaviour = self.behaviour.get(env) or dict(polls=2, health="Green", rollback=False, causes=None)
            overlay = self.envs.setdefault((app, env), {})
            overlay.update(Status="Updating", Health="Grey", HealthStatus="Info", VersionLabel=label,
                           DateUpdated=_now(), polls_left=behaviour["polls"], plan=dict(behaviour),
                           previous_label=current.get("VersionLabel"))
            self.writes.append(("UpdateEnvironment", dict(form)))
            self._event(app, env, "INFO", "Environment update is starting.", label)
            return self._environment(moto_envs[0], count_poll=False)

    def describe_events(self, form):
        app, env = form.get("ApplicationName"), form.get("EnvironmentName")
        since = _parse_time(form["StartTime"]) if form.get("StartTime") else None
        limit = int(form.get("MaxRecords") or 1000)
        with self.lock:
            events = [dict(e) for (a, n), items in self.events.items() for e in items
                      if (app is None or a == app) and (env is None or n == env)
                      and (since is None or e["EventDate"] >= since)]
        events.sort(key=lambda e: e["EventDate"], reverse=True)
        return {"Events": events[:limit]}

    def describe_environment_health(self, form):
        env = form.get("EnvironmentName")
        with self.lock:
            moto_envs = self._moto_environments(None, [env])
            if not moto_envs:
                raise ApiError("InvalidRequestException", "Environment %s does not exist." % env)
            current = self._environment(moto_envs[0], count_poll=False)
            overlay = self.envs.get((current["ApplicationName"], env)) or {}
        return collections.OrderedDict([
            ("EnvironmentName", env), ("HealthStatus", current.get("HealthStatus")),
            ("Status", current.get("Status")), ("Color", current.get("Health")),
            ("Causes", list(overlay.get("causes") or [])), ("RefreshedAt", _now()),
        ])


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    double = None

    def log_message(self, format, *args):  # noqa: A002 - quiet test server
        pass

    def _body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _service(self):
        auth = self.headers.get("Authorization") or ""
        if "Credential=" in auth:
            scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
            if len(scope) >= 4:
                return scope[3]
        return None

    def _handle(self):
        body = self._body()
        service = self._service()
        target = self.headers.get("X-Amz-Target") or ""
        form = {}
        if target:
            action = target.rsplit(".", 1)[-1]
        elif "x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
            form = dict(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            action = form.get("Action") or self.command
        else:
            action = "%s %s" % (self.command, service or "?")
        double = self.double
        with double.lock:
            double.calls[action] += 1
            throttle = double.throttles.get(action)
            if throttle and throttle[0] > 0:
                throttle[0] -= 1
                return self._throttled(service, target, throttle[1])
        if service == "elasticbeanstalk" and action in HANDLED:
            return self._eb(action, form)
        return self._forward(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

    def _send(self, status, body, content_type, extra=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _throttled(self, service, target, kind):
        if kind == "5xx":
            status, code, message = 503, "ServiceUnavailable", "Service is unavailable, try again"
        else:
            status, code, message = 400, "ThrottlingException", "Rate exceeded"
        if target:  # JSON protocol (ECR)
            body = json.dumps({"__type": code, "message": message}).encode()
            return self._send(status, body, "application/x-amz-json-1.1", {"x-amzn-ErrorType": code})
        if service == "s3":
            code = "SlowDown" if kind != "5xx" else code
            body = ("<Error><Code>%s</Code><Message>%s</Message></Error>" % (code, message)).encode()
            return self._send(503, body, "application/xml")
        code = "Throttling" if kind != "5xx" else code
        return self._send(status, self._error_xml(code, message), "text/xml")

    @staticmethod
    def _error_xml(code, message):
        root = ET.Element("{%s}ErrorResponse" % NS)
        error = ET.SubElement(root, "{%s}Error" % NS)
        ET.SubElement(error, "{%s}Type" % NS).text = "Sender"
        ET.SubElement(error, "{%s}Code" % NS).text = code
        ET.SubElement(error, "{%s}Message" % NS).text = message
        ET.SubElement(root, "{%s}RequestId" % NS).text = str(uuid.uuid4())
        return ET.tostring(root, encoding="utf-8")

    def _eb(self, action, form):
        handler = {
            "CreateApplicationVersion": self.double.create_application_version,
            "DescribeApplicationVersions": self.double.describe_application_versions,
            "UpdateEnvironment": self.double.update_environment,
            "DescribeEvents": self.double.describe_events,
            "DescribeEnvironmentHealth": self.double.describe_environment_health,
            "DescribeEnvironments": self.double.describe_environments,
        }[action]
        try:
            result = handler(form)
        except ApiError as exc:
            return self._send(exc.status, self._error_xml(exc.code, exc.message), "text/xml")
        root = ET.Element("{%s}%sResponse" % (NS, action))
        wrapper = ET.SubElement(root, "{%s}%sResult" % (NS, action))
        for key, value in result.items():
            if value is not None:
                _to_xml(wrapper, key, value)
        metadata = ET.SubElement(root, "{%s}ResponseMetadata" % NS)
        ET.SubElement(metadata, "{%s}RequestId" % NS).text = str(uuid.uuid4())
        return self._send(200, ET.tostring(root, encoding="utf-8"), "text/xml")

    def _forward(self, body):
        headers = dict((k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP)
        if body or self.command in ("POST", "PUT"):
            headers["Content-Length"] = str(len(body))
        conn = http.client.HTTPConnection(self.double.moto_host, self.double.moto_port, timeout=60)
        try:
            conn.request(self.command, self.path, body=body or None, headers=headers)
            response = conn.getresponse()
            data = response.read()
            self.send_response(response.status, response.reason)
            for key, value in response.getheaders():
                if key.lower() in HOP_BY_HOP or key.lower() == "content-length":
                    continue
                self.send_header(key, value)
            if self.command == "HEAD":
                self.send_header("Content-Length", response.getheader("Content-Length") or "0")
            else:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        finally:
            conn.close()


ET.register_namespace("", NS)

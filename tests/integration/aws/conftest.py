"""AWS stand-ins for the tests of the build-once ECR -> Elastic Beanstalk flow.

- `moto`: one real moto server process (moto_server from the virtualenv) on
  127.0.0.1 for the whole session. It serves ECR, S3 and the Elastic Beanstalk
  calls moto implements (applications and environments).
- `aws`: the Elastic Beanstalk test double (tests/support/eb_double.py) in
  front of that moto server, reset with moto before each test. Modules get its
  URL as endpoint_url: it forwards ECR, S3 and the implemented Elastic
  Beanstalk calls to moto, and stands in for the deployment calls moto lacks
  (application versions, environment updates, events, health).
- `aws_env`: fake credentials (AWS_ACCESS_KEY_ID=testing ...) for the
  ansible-playbook processes, and nothing from the real user's AWS files.
"""

import pytest

from tests.support.ansible import run_playbook
from tests.support.eb_double import EbDouble
from tests.support.moto import TEST_AWS_ENV, MotoServer

REGION = "us-east-1"
ACCOUNT = "123456789012"


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    server = MotoServer(str(tmp_path_factory.mktemp("moto"))).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _double(moto):
    double = EbDouble(moto.url, region=REGION).start()
    yield double
    double.stop()


@pytest.fixture
def aws(moto, _double):
    """The EB double in front of a freshly reset moto."""
    moto.reset()
    _double.reset()
    return _double


@pytest.fixture
def aws_env():
    return dict(TEST_AWS_ENV)


@pytest.fixture
def boto(aws):
    """boto3 clients that talk to moto directly, to arrange and inspect state."""
    import boto3

    def client(service):
        return boto3.client(service, endpoint_url=aws.moto_url, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")
    return client


def run_verbose(module, module_args, **kwargs):
    """run_module, but with ansible-playbook -vvv (module arguments and results all printed)."""
    play = [{"hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": "under test", module: module_args, "ignore_errors": True}]}]
    run = run_playbook(play, args=("-vvv",), **kwargs)
    return run.result("under test"), run


def failed(run, task="under test"):
    """Whether the task failed (ignore_errors in run_module turns a failure into 'ignored')."""
    return run.results(task)[-1]["status"] in ("failed", "ignored")


@pytest.fixture
def ecr_image(boto):
    """Put an image manifest into moto's ECR under one or more tags; returns its digest."""
    import hashlib
    import json

    ecr = boto("ecr")

    def put(repository, *tags, seed="1"):
        try:
            ecr.create_repository(repositoryName=repository)
        except ecr.exceptions.RepositoryAlreadyExistsException:
            pass
        config = "sha256:" + hashlib.sha256(("%s/%s" % (repository, seed)).encode()).hexdigest()
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1469,
                       "digest": config},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 977,
                        "digest": "sha256:" + hashlib.sha256(seed.encode()).hexdigest()}],
        })
        digest = None
        for tag in tags:
            digest = ecr.put_image(repositoryName=repository, imageManifest=manifest,
                                   imageTag=tag)["image"]["imageId"]["imageDigest"]
        return digest
    return put


@pytest.fixture
def eb_app(boto):
    """Create an Elastic Beanstalk application and environment (in moto) and an S3 bucket."""
    def create(application="web", environment="web-dev", bucket="eb-bundles"):
        eb = boto("elasticbeanstalk")
        eb.create_application(ApplicationName=application)
        if environment:
            eb.create_environment(ApplicationName=application, EnvironmentName=environment,
                                  SolutionStackName="64bit Amazon Linux 2 running Docker")
        if bucket:
            boto("s3").create_bucket(Bucket=bucket)
        return dict(application=application, environment=environment, bucket=bucket)
    return create

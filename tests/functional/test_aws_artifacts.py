"""S3ArtifactStore: a zip's existence and its CodeSha256, as Lambda will report it."""

from __future__ import annotations

import base64
import hashlib

import pytest

from rollgate.aws import artifacts
from rollgate.aws.artifacts import S3ArtifactStore, code_sha256, upload_artifact
from rollgate.domain.shared.errors import ThrottledError


@pytest.fixture
def store(s3_client) -> S3ArtifactStore:
    return S3ArtifactStore(s3_client)


def test_inspect_hashes_the_object_like_lambda(store, s3_client, artifact_bucket, make_zip):
    data = make_zip("def handler(event, context):\n    return 1\n")
    version_id, sha = upload_artifact(s3_client, artifact_bucket, "app/1.zip", data)

    info = store.inspect(artifact_bucket, "app/1.zip", version_id)

    assert info.exists
    assert info.code_sha256 == sha == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert info.size == len(data)


def test_inspect_reads_large_objects_in_chunks(store, s3_client, artifact_bucket, monkeypatch):
    # given an object several chunks long
    monkeypatch.setattr(artifacts, "CHUNK_BYTES", 1024)
    data = bytes(range(256)) * 50  # 12.8 KB
    s3_client.put_object(Bucket=artifact_bucket, Key="big.zip", Body=data)

    # then the streamed hash equals the whole-object hash
    assert store.inspect(artifact_bucket, "big.zip", None).code_sha256 == code_sha256(data)


def test_inspect_pins_the_object_version(store, s3_client, artifact_bucket):
    first, first_sha = upload_artifact(s3_client, artifact_bucket, "app.zip", b"first build")
    upload_artifact(s3_client, artifact_bucket, "app.zip", b"second build")

    assert first is not None
    assert store.inspect(artifact_bucket, "app.zip", first).code_sha256 == first_sha
    assert store.inspect(artifact_bucket, "app.zip", None).code_sha256 == code_sha256(b"second build")


@pytest.mark.parametrize(
    ("bucket", "key", "version_id"),
    [
        ("rollgate-artifacts-test", "missing.zip", None),
        ("no-such-bucket-here", "app.zip", None),
        ("rollgate-artifacts-test", "app.zip", "no-such-version"),
    ],
)
def test_missing_object_does_not_exist(store, s3_client, artifact_bucket, bucket, key, version_id):
    s3_client.put_object(Bucket=artifact_bucket, Key="app.zip", Body=b"zip")

    info = store.inspect(bucket, key, version_id)

    assert not info.exists
    assert info.code_sha256 is None


def test_upload_to_an_unversioned_bucket_has_no_version(s3_client, aws):
    s3_client.create_bucket(Bucket="plain-bucket-test")

    version_id, sha = upload_artifact(s3_client, "plain-bucket-test", "a.zip", b"data")

    assert version_id is None
    assert sha == code_sha256(b"data")


def test_throttled_read_is_translated(store, s3_client, monkeypatch):
    from botocore.exceptions import ClientError

    def slow_down(**_kwargs):
        raise ClientError(
            {
                "Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."},
                "ResponseMetadata": {"HTTPStatusCode": 503},
            },
            "GetObject",
        )

    monkeypatch.setattr(s3_client, "get_object", slow_down)

    with pytest.raises(ThrottledError, match=r"s3:GetObject s3://b/k\.zip failed: SlowDown"):
        store.inspect("b", "k.zip", None)

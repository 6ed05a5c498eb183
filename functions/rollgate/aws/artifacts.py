"""Release artifacts in S3: what code a zip is, in Lambda's own terms.

Lambda reports CodeSha256 as base64(sha256(zip bytes)); computing the same from the S3 object lets
preflight know the sha before the update, and publish guard and verify against it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from botocore.exceptions import ClientError

from rollgate.aws.errors import error_code, translate_client_errors
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.ports import ArtifactInfo

#: A manifest is a few KB; anything this large is not one.
MAX_MANIFEST_BYTES = 1024 * 1024

CHUNK_BYTES = 1024 * 1024
_MISSING_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "NoSuchVersion", "404", "NotFound"})


def code_sha256(data: bytes) -> str:
    """base64(sha256(data)), the form of Lambda's CodeSha256."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


class S3ArtifactStore:
    """ports.ArtifactStore over `boto3.client("s3")`."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def inspect(self, bucket: str, key: str, version_id: str | None) -> ArtifactInfo:
        """Whether the object exists, and its Lambda CodeSha256 (read streaming, in chunks)."""
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        where = f"s3:GetObject s3://{bucket}/{key}" + (f"?versionId={version_id}" if version_id else "")
        with translate_client_errors(where):
            try:
                response = self._client.get_object(**kwargs)
            except ClientError as error:
                if error_code(error) in _MISSING_CODES:
                    return ArtifactInfo(exists=False, code_sha256=None)
                raise
            digest = hashlib.sha256()
            size = 0
            body = response["Body"]
            try:
                for chunk in body.iter_chunks(CHUNK_BYTES):
                    digest.update(chunk)
                    size += len(chunk)
            finally:
                body.close()
        return ArtifactInfo(
            exists=True,
            code_sha256=base64.b64encode(digest.digest()).decode("ascii"),
            size=size,
        )

    def read_json(self, bucket: str, key: str, version_id: str | None) -> Any | None:
        """ports.ManifestStore: the object parsed as JSON, or None while it does not exist."""
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        where = f"s3://{bucket}/{key}" + (f"?versionId={version_id}" if version_id else "")
        with translate_client_errors(f"s3:GetObject {where}"):
            try:
                response = self._client.get_object(**kwargs)
            except ClientError as error:
                if error_code(error) in _MISSING_CODES:
                    return None
                raise
            body = response["Body"]
            try:
                data = body.read(MAX_MANIFEST_BYTES + 1)
            finally:
                body.close()
        if len(data) > MAX_MANIFEST_BYTES:
            raise InvalidRequest(f"manifest {where}: larger than {MAX_MANIFEST_BYTES} bytes; is it a manifest?")
        try:
            return json.loads(data)
        except ValueError as error:
            raise InvalidRequest(f"manifest {where}: not valid JSON ({error})") from None


def upload_artifact(client: Any, bucket: str, key: str, data: bytes) -> tuple[str | None, str]:
    """Upload a zip; return (the S3 object version, or None on an unversioned bucket; its CodeSha256).

    The sha is sent as ChecksumSHA256 too, so S3 rejects a corrupted upload (a single-part object's
    ChecksumSHA256 is exactly Lambda's CodeSha256).
    """
    sha = code_sha256(data)
    with translate_client_errors(f"s3:PutObject s3://{bucket}/{key}"):
        response = client.put_object(Bucket=bucket, Key=key, Body=data, ChecksumSHA256=sha)
    return response.get("VersionId"), sha

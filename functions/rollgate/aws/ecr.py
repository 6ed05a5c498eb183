"""ports.ImageRegistry over a boto3 ECR client: does an image, named by digest, exist?

Lambda runs container images from Amazon ECR only, so an image URI that is not an ECR repository
URI cannot be deployed; preflight says so before anything changes.
"""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import ClientError

from rollgate.aws.errors import error_code, translate_client_errors
from rollgate.domain.shared.ports import ImageInfo

_ECR_IMAGE = re.compile(
    r"(?P<registry>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[a-z0-9._/-]+)@(?P<digest>sha256:[0-9a-f]{64})",
    re.ASCII,
)
_MISSING = frozenset({"ImageNotFoundException", "RepositoryNotFoundException"})


def parse_ecr_image(image_uri: str) -> dict[str, str] | None:
    """registry (account), region, repository and digest of an ECR image URI by digest."""
    match = _ECR_IMAGE.fullmatch(image_uri)
    return match.groupdict() if match else None


class EcrImageRegistry:
    def __init__(self, client: Any) -> None:
        self._client = client

    def inspect_image(self, image_uri: str) -> ImageInfo:
        parts = parse_ecr_image(image_uri)
        if parts is None:
            return ImageInfo(exists=False, detail="Lambda runs images from Amazon ECR only (ACCOUNT.dkr.ecr.REGION…)")
        try:
            with translate_client_errors(f"ecr:DescribeImages {parts['repository']}@{parts['digest']}"):
                response = self._client.describe_images(
                    registryId=parts["registry"],
                    repositoryName=parts["repository"],
                    imageIds=[{"imageDigest": parts["digest"]}],
                )
        except ClientError as error:
            if error_code(error) in _MISSING:
                return ImageInfo(exists=False, detail=f"{error_code(error)} in repository {parts['repository']}")
            raise
        found = [d for d in response.get("imageDetails", []) if d.get("imageDigest") == parts["digest"]]
        return ImageInfo(exists=bool(found), digest=parts["digest"] if found else None)

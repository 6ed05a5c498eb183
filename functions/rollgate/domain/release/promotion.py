"""Promotion through environments, the pure part: the offer a release RELEASED in one environment
makes to the next (the exact artifacts, by S3 object version and CodeSha256 or image digest, and the
commit), and the check that what the next environment is about to deploy is exactly that.

Not wired yet: nothing records the offer in the ledger, puts it on the bus or starts the next
environment's release from it (see the CHANGELOG entry); these functions are what those steps call.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import Field

from rollgate.contract import Status
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.models import Artifact, DeploymentResult, Lenient
from rollgate.domain.shared.records import ReleaseRecord

#: The EventBridge detail type of an offer on the Rollgate bus.
OFFER_DETAIL_TYPE = "Release Promotion Offered"


class OfferedArtifact(Lenient):
    """One function's artifact as the released environment ran it."""

    function_name: str
    alias: str
    wave: int
    artifact: dict[str, Any]
    code_sha256: str = Field(description="the CodeSha256 the released version runs")
    image_digest: str | None = Field(default=None, description="sha256:… of an image artifact")
    version: str | None = Field(default=None, description="the version it was released as, there")


class PromotionOffer(Lenient):
    release_id: str
    application: str | None = None
    from_environment: str
    to_environment: str
    commit: str | None = None
    offered_at: datetime
    artifacts: list[OfferedArtifact]


def image_digest(image_uri: str) -> str | None:
    """`sha256:…` of an image named by digest (REPO@sha256:…), else None."""
    _, at, digest = image_uri.partition("@")
    return digest if at else None


def build_offer(
    record: ReleaseRecord,
    requests: Mapping[tuple[str, str], Mapping[str, Any]],
    deployments: Mapping[tuple[str, str], DeploymentResult],
    *,
    environment: str,
    promote_to: str,
    now: datetime,
) -> PromotionOffer:
    """The offer of a concluded release: only a RELEASED one, every function's artifact pinned (an S3
    object version, or an image by digest) and its CodeSha256 known from its deployment record.
    `requests` and `deployments` are keyed by (function_name, alias)."""
    if record.status is not Status.RELEASED:
        raise InvalidRequest(
            f"status: release {record.release_id} is {record.status.value}, not RELEASED; only a released "
            "release is offered to the next environment"
        )
    offered = []
    for i, function in enumerate(record.functions):
        key = (function.function_name, function.alias)
        where = f"functions.{i} ({function.function_name}:{function.alias})"
        artifact = Artifact.model_validate(requests[key]["artifact"])
        if artifact.function_version is not None:
            raise InvalidRequest(f"{where}.artifact: a published version is not an artifact the next environment has")
        if not artifact.is_image and artifact.version_id is None:
            raise InvalidRequest(
                f"{where}.artifact.version_id: {artifact.describe()} is not pinned to an S3 object version; "
                "the next environment could get other bytes under the same key"
            )
        deployed = deployments.get(key)
        if deployed is None or not deployed.code_sha256:
            raise InvalidRequest(f"{where}.code_sha256: no deployment record says which code was released")
        offered.append(
            OfferedArtifact(
                function_name=function.function_name,
                alias=function.alias,
                wave=function.wave,
                artifact=artifact.model_dump(mode="json", exclude_none=True),
                code_sha256=deployed.code_sha256,
                image_digest=image_digest(artifact.image_uri) if artifact.image_uri else None,
                version=function.to_version,
            )
        )
    return PromotionOffer(
        release_id=record.release_id,
        application=record.application,
        from_environment=environment,
        to_environment=promote_to,
        commit=record.source.get("commit"),
        offered_at=now,
        artifacts=offered,
    )


def check_offered(offer: PromotionOffer, observed: Mapping[tuple[str, str], tuple[str, str | None]]) -> None:
    """Refuse (InvalidRequest naming the field, both values) unless each offered artifact is what is
    there now: `observed[(function_name, alias)]` is (CodeSha256, image digest) read from the store."""
    for i, item in enumerate(offer.artifacts):
        where = f"artifacts.{i} ({item.function_name}:{item.alias})"
        seen = observed.get((item.function_name, item.alias))
        if seen is None:
            raise InvalidRequest(f"{where}.artifact: {Artifact.model_validate(item.artifact).describe()} is not there")
        sha, digest = seen
        if item.image_digest is not None and digest != item.image_digest:
            raise InvalidRequest(f"{where}.image_digest: offered {item.image_digest}, found {digest}; refusing")
        if sha != item.code_sha256:
            raise InvalidRequest(f"{where}.code_sha256: offered {item.code_sha256}, found {sha}; refusing")

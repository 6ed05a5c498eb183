"""Promotion through environments, the pure part: an offer built from a concluded release, and a
mismatch between the offer and what is there refused naming the field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from rollgate.contract import Status
from rollgate.domain.release.promotion import build_offer, check_offered
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.models import DeploymentResult
from rollgate.domain.shared.records import FunctionOutcome, ReleaseRecord

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
SHA = "Q2xvdWRGb3JtYXRpb24gaXMgbm90IGEgc2hhMjU2ISE="
DIGEST = "sha256:" + "a" * 64
KEYS = (("orders-api", "live"), ("payments-api", "live"))


def _record(status: Status = Status.RELEASED) -> ReleaseRecord:
    functions = [
        FunctionOutcome(function_name=n, alias=a, wave=0, status=Status.PROMOTED, from_version="1", to_version="2")
        for n, a in KEYS
    ]
    return ReleaseRecord(
        release_id="shop@abc123",
        execution_name="shop-abc123",
        application="shop",
        status=status,
        reason="",
        source={"commit": "abc123def456"},
        started_at=NOW,
        finished_at=NOW,
        functions=functions,
    )


def _requests(**orders_artifact: Any) -> dict[tuple[str, str], dict[str, Any]]:
    zip_artifact = {"bucket": "shop-builds", "key": "orders.zip", "version_id": "v-17"}
    image = {"image_uri": f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments@{DIGEST}"}
    return {KEYS[0]: {"artifact": orders_artifact or zip_artifact}, KEYS[1]: {"artifact": image}}


def _deployments() -> dict[tuple[str, str], DeploymentResult]:
    return {
        key: DeploymentResult(
            deployment_id=f"d-{key[0]}",
            function_name=key[0],
            alias=key[1],
            status=Status.PROMOTED,
            code_sha256=SHA,
            reason="",
            started_at=NOW,
            finished_at=NOW,
        )
        for key in KEYS
    }


def _offer() -> Any:
    return build_offer(_record(), _requests(), _deployments(), environment="staging", promote_to="production", now=NOW)


def test_a_released_release_offers_its_exact_artifacts_and_commit() -> None:
    offer = _offer()
    assert (offer.from_environment, offer.to_environment, offer.commit) == ("staging", "production", "abc123def456")
    orders, payments = offer.artifacts
    assert orders.artifact == {"bucket": "shop-builds", "key": "orders.zip", "version_id": "v-17"}
    assert (orders.code_sha256, orders.image_digest, orders.version) == (SHA, None, "2")
    assert payments.image_digest == DIGEST


def test_only_a_released_release_is_offered() -> None:
    with pytest.raises(InvalidRequest, match="status: release shop@abc123 is ROLLED_BACK"):
        build_offer(
            _record(Status.ROLLED_BACK),
            _requests(),
            _deployments(),
            environment="staging",
            promote_to="production",
            now=NOW,
        )


def test_an_unpinned_zip_is_not_offered_naming_the_field() -> None:
    with pytest.raises(InvalidRequest, match=r"functions\.0 \(orders-api:live\)\.artifact\.version_id"):
        build_offer(
            _record(),
            _requests(bucket="shop-builds", key="orders.zip"),
            _deployments(),
            environment="staging",
            promote_to="production",
            now=NOW,
        )


def test_the_same_artifacts_pass_the_check() -> None:
    check_offered(_offer(), {KEYS[0]: (SHA, None), KEYS[1]: (SHA, DIGEST)})


def test_a_different_sha_is_refused_naming_the_field_and_both_values() -> None:
    other = "b" * 43 + "="
    with pytest.raises(
        InvalidRequest, match=rf"artifacts\.0 \(orders-api:live\)\.code_sha256: offered {SHA}, found {other}"
    ):
        check_offered(_offer(), {KEYS[0]: (other, None), KEYS[1]: (SHA, DIGEST)})


def test_a_different_image_digest_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidRequest, match=r"artifacts\.1 \(payments-api:live\)\.image_digest"):
        check_offered(_offer(), {KEYS[0]: (SHA, None), KEYS[1]: (SHA, "sha256:" + "b" * 64)})

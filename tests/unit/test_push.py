"""GitHub push webhooks in domain terms: who signed it, which branch, which commit."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from typing import Any

import pytest

from rollgate.domain.release.push import (
    DETAIL_TYPE,
    EVENT_SOURCE,
    BranchPush,
    ignore_reason,
    is_release_branch,
    verify_signature,
)
from rollgate.domain.shared.errors import InvalidRequest

SECRET = b"It's a Secret to Everybody"
COMMIT = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958"


def signed(body: bytes, secret: bytes = SECRET) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def push_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "ref": "refs/heads/release/2030.05",
        "before": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
        "after": COMMIT,
        "created": False,
        "deleted": False,
        "repository": {"full_name": "acme/orders-api", "name": "orders-api"},
        "pusher": {"name": "octocat", "email": "octocat@example.com"},
        "sender": {"login": "octocat-bot"},
    }
    payload.update(overrides)
    return payload


# --------------------------------------------------------------------------- signatures
def test_githubs_documented_example_signature_verifies() -> None:
    # given the example from GitHub's "Validating webhook deliveries" page
    body = b"Hello, World!"
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    # then it verifies with their secret
    assert verify_signature(SECRET, body, header)


def test_signature_over_the_body_with_the_secret_verifies() -> None:
    body = json.dumps(push_payload()).encode()
    assert verify_signature(SECRET, body, signed(body))


def test_signature_with_upper_case_hex_verifies() -> None:
    body = b'{"zen": "Keep it logically awesome."}'
    header = signed(body)
    assert verify_signature(SECRET, body, "sha256=" + header.removeprefix("sha256=").upper())


def test_signature_made_with_another_secret_is_rejected() -> None:
    body = json.dumps(push_payload()).encode()
    assert not verify_signature(SECRET, body, signed(body, b"not the secret"))


def test_tampered_body_is_rejected() -> None:
    # given a signed body
    body = json.dumps(push_payload()).encode()
    header = signed(body)
    # when someone changes the branch after signing
    tampered = body.replace(b"release/2030.05", b"release/2030.06")
    # then the signature no longer holds
    assert tampered != body
    assert not verify_signature(SECRET, tampered, header)


@pytest.mark.parametrize("header", [None, "", "sha256="])
def test_missing_signature_is_rejected(header: str | None) -> None:
    assert not verify_signature(SECRET, b"{}", header)


def test_sha1_header_format_is_rejected() -> None:
    # given the legacy X-Hub-Signature value (sha1=<hex HMAC-SHA1>)
    body = b"{}"
    legacy = "sha1=" + hmac.new(SECRET, body, hashlib.sha1).hexdigest()
    assert not verify_signature(SECRET, body, legacy)


def test_right_digest_with_the_wrong_prefix_is_rejected() -> None:
    body = b"{}"
    digest = signed(body).removeprefix("sha256=")
    assert not verify_signature(SECRET, body, digest)  # no prefix at all
    assert not verify_signature(SECRET, body, "sha512=" + digest)
    assert not verify_signature(SECRET, body, "SHA256=" + digest)


@pytest.mark.parametrize("suffix", ["0", "é", " "])
def test_malformed_digest_is_rejected_without_error(suffix: str) -> None:
    body = b"{}"
    assert not verify_signature(SECRET, body, signed(body) + suffix)
    assert not verify_signature(SECRET, body, signed(body)[:-1] + suffix)


def test_nothing_verifies_against_an_empty_secret() -> None:
    # anyone can compute an HMAC with an empty key, so an unset secret must not open the door
    body = b"{}"
    assert not verify_signature(b"", body, signed(body, b""))


# --------------------------------------------------------------------------- branches
@pytest.mark.parametrize(
    ("branch", "patterns", "expected"),
    [
        ("release/2030.05", ["release/*"], True),
        ("release/2030/05", ["release/*"], True),  # * crosses slashes
        ("main", ["release/*"], False),
        ("releases/1", ["release/*"], False),
        ("release", ["release/*"], False),
        ("Release/1", ["release/*"], False),  # case-sensitive, like Git
        ("hotfix/payments", ["release/*", "hotfix/*"], True),
        ("main", ["main"], True),
        ("release-1", ["release-?"], True),
        ("release/1", [], False),
    ],
)
def test_release_branch_patterns(branch: str, patterns: list[str], expected: bool) -> None:
    assert is_release_branch(branch, patterns) is expected


# --------------------------------------------------------------------------- payloads
def test_push_to_a_branch_becomes_the_event_detail() -> None:
    # given a push payload as GitHub sends it
    payload = push_payload()
    # when it is parsed
    push = BranchPush.from_github(payload, DELIVERY)
    # then the event says which repository, branch and commit, and who pushed it
    assert push is not None
    assert push.to_detail() == {
        "repository": "acme/orders-api",
        "branch": "release/2030.05",
        "commit": COMMIT,
        "pushed_by": "octocat",
        "delivery_id": DELIVERY,
        "provider": "github",
    }
    assert json.loads(json.dumps(push.to_detail())) == push.to_detail()
    assert (DETAIL_TYPE, EVENT_SOURCE) == ("Release Branch Pushed", "rollgate.github")


def test_pusher_falls_back_to_the_sender() -> None:
    push = BranchPush.from_github(push_payload(pusher=None), DELIVERY)
    assert push is not None and push.pushed_by == "octocat-bot"


def test_tag_push_is_not_a_branch_push() -> None:
    payload = push_payload(ref="refs/tags/v1.2.0")
    assert BranchPush.from_github(payload, DELIVERY) is None
    assert ignore_reason(payload) == "refs/tags/v1.2.0 is not a branch"


@pytest.mark.parametrize(
    "change",
    [{"deleted": True, "after": "0" * 40}, {"deleted": True}, {"after": "0" * 40}],
)
def test_branch_deletion_is_not_a_branch_push(change: dict[str, Any]) -> None:
    payload = push_payload(**change)
    assert BranchPush.from_github(payload, DELIVERY) is None
    assert ignore_reason(payload) == "branch release/2030.05 was deleted"


def test_tag_deletion_is_not_a_branch_push() -> None:
    assert BranchPush.from_github(push_payload(ref="refs/tags/v1", deleted=True, after="0" * 40), DELIVERY) is None


def test_branch_push_has_no_ignore_reason() -> None:
    assert ignore_reason(push_payload()) is None


def _without(payload: dict[str, Any], *path: str) -> dict[str, Any]:
    payload = copy.deepcopy(payload)
    target = payload
    for name in path[:-1]:
        target = target[name]
    del target[path[-1]]
    return payload


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (_without(push_payload(), "repository", "full_name"), "repository.full_name: required field is missing"),
        (_without(push_payload(), "repository"), "repository.full_name: required field is missing"),
        (push_payload(repository="acme/orders-api"), "repository: expected an object"),
        (push_payload(repository={"full_name": 42}), "repository.full_name: expected a string"),
        (push_payload(repository={"full_name": "orders-api"}), "repository.full_name: 'orders-api' is not owner/name"),
        (_without(push_payload(), "ref"), "ref: required field is missing"),
        (push_payload(ref="refs/heads/"), "ref: 'refs/heads/' names no branch"),
        (_without(push_payload(), "after"), "after: required field is missing"),
        (push_payload(after="HEAD"), "after: 'HEAD' is not a 40-character hexadecimal commit id"),
        (push_payload(pusher=None, sender=None), "sender.login: required field is missing"),
    ],
)
def test_malformed_payload_names_the_field(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        BranchPush.from_github(payload, DELIVERY)
    assert str(raised.value).startswith(field)


def test_payload_that_is_not_an_object_is_invalid() -> None:
    with pytest.raises(InvalidRequest, match="payload: expected a JSON object"):
        BranchPush.from_github(["refs/heads/release/1"], DELIVERY)  # type: ignore[arg-type]


def test_delivery_id_is_required() -> None:
    with pytest.raises(InvalidRequest, match="delivery_id: required field is missing"):
        BranchPush.from_github(push_payload(), "")

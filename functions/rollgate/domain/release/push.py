"""Pushes to release branches, as GitHub reports them in a webhook.

Pure: the webhook receiver (`rollgate.triggers.github_webhook`) does the I/O; this module decides
whether a delivery is authentic, whether it is a push to a release branch, and what the
`Release Branch Pushed` event says about it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from fnmatch import fnmatchcase
from typing import Any

from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.validation import check_text

#: detail-type and source of the event the receiver puts on the Rollgate bus.
DETAIL_TYPE = "Release Branch Pushed"
EVENT_SOURCE = "rollgate.github"
PROVIDER = "github"

SIGNATURE_PREFIX = "sha256="
BRANCH_REF_PREFIX = "refs/heads/"
#: GitHub's `after` when a push deleted the ref.
NULL_COMMIT = "0" * 40

_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")
_COMMIT = re.compile(r"[0-9a-f]{40}")


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether `header` (X-Hub-Signature-256: ``sha256=<hex HMAC-SHA256 of the raw body>``) was
    made with `secret` over exactly `body`. Missing or malformed headers are not authentic, and
    neither is anything signed with an empty secret (anyone can compute that one)."""
    if not secret or not header or not header.startswith(SIGNATURE_PREFIX):
        return False
    given = header.removeprefix(SIGNATURE_PREFIX)
    if not _HEX_DIGEST.fullmatch(given):  # also keeps non-ASCII away from compare_digest
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given.lower())


def is_release_branch(branch: str, patterns: Sequence[str]) -> bool:
    """Whether `branch` matches one of the glob `patterns` (case-sensitive, as Git is; ``*``
    matches ``/`` too, so ``release/*`` covers ``release/2030/05``)."""
    return any(fnmatchcase(branch, pattern) for pattern in patterns)


def ignore_reason(payload: Mapping[str, Any]) -> str | None:
    """Why a push payload does not describe new commits on a branch (a tag, a deleted branch),
    or None when it does. Raises InvalidRequest naming the field when `ref` is unusable."""
    ref = _required_text(payload, "ref")
    if not ref.startswith(BRANCH_REF_PREFIX):
        return f"{ref} is not a branch"
    branch = ref.removeprefix(BRANCH_REF_PREFIX)
    if not branch:
        raise InvalidRequest(f"ref: {ref!r} names no branch")
    if payload.get("deleted") is True or payload.get("after") == NULL_COMMIT:
        return f"branch {branch} was deleted"
    return None


@dataclass(frozen=True)
class BranchPush:
    """New commits on a branch of a repository; `commit` is the branch's new head."""

    repository: str  # owner/name
    branch: str  # without refs/heads/
    commit: str  # 40-hex SHA-1 of the new head
    pushed_by: str
    delivery_id: str
    provider: str = PROVIDER

    def to_detail(self) -> dict[str, str]:
        """The `Release Branch Pushed` event detail (all strings: JSON as it is)."""
        return asdict(self)

    @classmethod
    def from_github(cls, payload: Mapping[str, Any], delivery_id: str) -> BranchPush | None:
        """The push a GitHub `push` webhook payload describes, or None when it is not new commits
        on a branch (a tag push, a branch deletion). Raises InvalidRequest naming the field when
        the payload is malformed."""
        if not isinstance(payload, Mapping):
            raise InvalidRequest("payload: expected a JSON object")
        if not delivery_id:
            raise InvalidRequest("delivery_id: required field is missing")
        _checked_text(delivery_id, "delivery_id")
        if ignore_reason(payload) is not None:
            return None
        after = _required_text(payload, "after")
        if not _COMMIT.fullmatch(after):
            raise InvalidRequest(f"after: {after!r} is not a 40-character hexadecimal commit id")
        repository = _required_text(payload, "repository", "full_name")
        if repository.count("/") != 1 or repository.startswith("/") or repository.endswith("/"):
            raise InvalidRequest(f"repository.full_name: {repository!r} is not owner/name")
        pushed_by = _optional_text(payload, "pusher", "name") or _required_text(payload, "sender", "login")
        return cls(
            repository=repository,
            branch=_required_text(payload, "ref").removeprefix(BRANCH_REF_PREFIX),
            commit=after,
            pushed_by=pushed_by,
            delivery_id=delivery_id,
        )


def _optional_text(payload: Mapping[str, Any], *path: str) -> str | None:
    """The string at `path`, None when a step of it is absent or null; InvalidRequest naming the
    field when something other than a string (or an object on the way) is there."""
    value: Any = payload
    for depth, name in enumerate(path):
        if not isinstance(value, Mapping):
            raise InvalidRequest(f"{'.'.join(path[:depth])}: expected an object")
        value = value.get(name)
        if value is None:
            return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{'.'.join(path)}: expected a string, got {type(value).__name__}")
    return _checked_text(value, ".".join(path)) or None


def _checked_text(value: str, field: str) -> str:
    """`value` once it is text the bus, the ledger and a person can carry (no control characters,
    no lone surrogates: JSON escapes can smuggle both into a payload)."""
    try:
        return check_text(value)
    except ValueError as error:
        raise InvalidRequest(f"{field}: {error}") from None


def _required_text(payload: Mapping[str, Any], *path: str) -> str:
    value = _optional_text(payload, *path)
    if value is None:
        raise InvalidRequest(f"{'.'.join(path)}: required field is missing")
    return value

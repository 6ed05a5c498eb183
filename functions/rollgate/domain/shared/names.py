"""Execution names. Step Functions refuses a second execution with a name already used (for 90 days
on a Standard workflow), so a name derived from what triggered the run is the dedupe: a duplicate
webhook delivery or an EventBridge retry starts nothing twice.

Names are at most 80 characters of [A-Za-z0-9-_]; a name that had to be shortened keeps a hash of
the whole, so two long names never collapse into one.
"""

from __future__ import annotations

import hashlib
import re

MAX_NAME = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def _slug(text: str) -> str:
    return _UNSAFE.sub("-", text).strip("-") or "x"


def execution_name(*parts: str) -> str:
    name = "-".join(_slug(part) for part in parts if part)
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{name[: MAX_NAME - len(digest) - 1]}-{digest}"


def release_execution_name(repository: str, commit: str) -> str:
    """`release-<owner>-<repo>-<commit12>`: one release per pushed commit."""
    return execution_name("release", repository.replace("/", "-"), commit[:12])


def child_execution_name(parent_execution: str, wave_index: int, function_name: str, alias: str) -> str:
    """The DeployFunction execution of one function of a release run: unique per run of the
    release (a console rerun gets a new parent name, so new children), stable within it."""
    suffix = execution_name(f"w{wave_index + 1}", function_name, alias)
    digest = hashlib.sha256(f"{parent_execution}/{suffix}".encode()).hexdigest()[:8]
    room = MAX_NAME - len(suffix) - len(digest) - 2
    return f"{_slug(parent_execution)[: max(room, 8)]}-{digest}-{suffix}"[:MAX_NAME]


def content_name(prefix: str, content: str) -> str:
    """For triggers without a commit: the same content gives the same name."""
    return execution_name(prefix, hashlib.sha256(content.encode()).hexdigest()[:16])

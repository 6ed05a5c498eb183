"""DynamoDB conditional writes, atomic (31).

Patches (what AWS does / what moto 5.2.5 does / what we change):

31. Conditional writes (``DynamoDBBackend.put_item``, ``update_item``, ``delete_item``,
    ``transact_write_items``). AWS evaluates a write's condition and applies the write atomically:
    of two concurrent PutItem calls with ``attribute_not_exists(pk)`` on one key, exactly one
    succeeds (the lease on a function and alias relies on it). moto checks the condition and then
    writes, with nothing between two requests served on two threads, so both can pass the check.
    The local runtime serves the task Lambdas of concurrent executions on their own threads; we run
    every write of the backend under one lock, as one item's writes are serialised on AWS.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from rollgate_local.bridge.core import _patch

_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
_LOCK = threading.RLock()


def _serialised(write: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(write)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return write(*args, **kwargs)

    return locked


def install() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    # 31. A condition and its write in one step.
    for name in _WRITES:
        _patch(DynamoDBBackend, name, _serialised(getattr(DynamoDBBackend, name)))


# The moto symbols these patches replace or wrap, with the parameters they rely on (checked by
# rollgate_local.bridge.verify()).
SIGNATURES: dict[str, tuple[str, ...]] = {
    "moto.dynamodb.models.DynamoDBBackend.put_item": ("self", "table_name", "item_attrs", "expected"),
    "moto.dynamodb.models.DynamoDBBackend.update_item": ("self", "table_name", "key", "update_expression"),
    "moto.dynamodb.models.DynamoDBBackend.delete_item": ("self", "table_name", "key"),
    "moto.dynamodb.models.DynamoDBBackend.transact_write_items": ("self", "transact_items"),
}
RELIED_ON: frozenset[str] = frozenset()
MODULE_ATTRIBUTES: dict[str, str] = {}
# sha256 of the source of each patched callable at the pinned moto (print the current ones with
# `python -m rollgate_local.bridge`).
# fmt: off
FINGERPRINTS: dict[str, str] = {
    "moto.dynamodb.models.DynamoDBBackend.put_item":
        "f5d9a5042c77b89e5f4c88b5884f7966b9dccd95b8b04090ee9e07afc5eea675",
    "moto.dynamodb.models.DynamoDBBackend.update_item":
        "218984588dd689a5de81678ce11e6a40d05c91e7b6c21b44c4ed4122fe74aa9f",
    "moto.dynamodb.models.DynamoDBBackend.delete_item":
        "083a4bb1af18f6fd2feef40195a4c9c803da66cb2cacd14f87916c6e76930ea5",
    "moto.dynamodb.models.DynamoDBBackend.transact_write_items":
        "81db2cb7d94e39c90b3a2077e1f4bb41a449c558ef9b1b1e2910fdaa39978ad4",
}
# fmt: on

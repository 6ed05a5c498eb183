"""Installation bookkeeping of the moto bridge: the data plane and clock the patches call, what
each patch replaced (so uninstall() restores it), and small helpers the service modules share.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rollgate_local.bridge.contract import BridgeClock, DataPlaneHooks, LambdaServiceError

EXPECTED_MOTO_VERSION = "5.2.5"


_BLOBS_ATTR = "_rollgate_blobs"
_DLQ_ATTR = "_rollgate_dead_letter_arn"
_LOGGING_ATTR = "_rollgate_logging_config"
_REVISION_ATTR = "_rollgate_revision_id"


@dataclass
class _State:
    data_plane: DataPlaneHooks | None = None
    clock: BridgeClock | None = None
    originals: list[tuple[Any, str, Any]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    deliveries: set[threading.Thread] = field(default_factory=set)  # EventBridge -> Lambda, running
    deliveries_lock: threading.Lock = field(default_factory=threading.Lock)
    catch_up: Callable[[], None] | None = None  # brings traffic up to now (before reads, alias changes)


_state = _State()
_local = threading.local()


def _dp() -> DataPlaneHooks:
    if _state.data_plane is None:
        raise RuntimeError("rollgate_local.moto_bridge is not installed")
    return _state.data_plane


def _clock() -> BridgeClock:
    if _state.clock is None:
        raise RuntimeError("rollgate_local.moto_bridge is not installed")
    return _state.clock


def _original_of(obj: Any) -> Any:
    return getattr(obj, "_rollgate_original", obj)


def _catch_up() -> None:
    if _state.catch_up is not None:
        _state.catch_up()


_INHERITED = object()  # the patched class had no attribute of its own: restoring deletes ours


def _restore() -> None:
    while _state.originals:
        owner, attr, original = _state.originals.pop()
        if original is _INHERITED:
            delattr(owner, attr)
        else:
            setattr(owner, attr, original)


def _patch(owner: Any, attr: str, replacement: Any) -> None:
    original = owner.__dict__.get(attr, _INHERITED) if isinstance(owner, type) else getattr(owner, attr)
    with contextlib.suppress(AttributeError, TypeError):
        replacement._rollgate_original = getattr(owner, attr) if original is _INHERITED else original
    _state.originals.append((owner, attr, original))
    setattr(owner, attr, replacement)


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key in (name, name.lower()):
        value = headers.get(key)
        if value:
            return str(value)
    return None


def _as_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def _rest_error(error: LambdaServiceError) -> Exception:
    from moto.core.exceptions import JsonRESTError

    rest = JsonRESTError(error.code, error.message)
    rest.code = error.status
    if error.extra:
        body = json.loads(rest.description)
        body.update(error.extra)
        rest.description = json.dumps(body)
    return rest

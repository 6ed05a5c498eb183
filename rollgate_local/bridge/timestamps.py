"""Resource timestamps on the runtime clock (23).

Patches (what AWS does / what moto 5.2.5 does / what we change):

23. Resource timestamps (``utcnow`` / ``unix_time`` / ``iso_8601_datetime_with_nanoseconds`` as
    imported by moto's S3, Lambda, CloudFormation, Logs, SNS, CloudWatch, EventBridge and DynamoDB
    modules). AWS stamps everything with one time; moto uses the wall clock, hours behind the
    runtime clock's metrics and executions. We stamp with the runtime clock (S3 LastModified,
    Lambda LastModified, stack CreationTime, log ingestion, alarm and datum defaults, SNS message
    and EventBridge event times). Left on the wall clock: SQS timers (visibility, long polls).
"""

from __future__ import annotations

import datetime as _dt
import importlib
from collections.abc import Callable
from typing import Any

from rollgate_local.bridge.core import _clock, _patch

# The stamping functions moto's service modules import by name, swapped for the runtime clock (23).
_STAMPING_FUNCTIONS = (
    "moto.s3.models.utcnow",
    "moto.awslambda.models.utcnow",
    "moto.awslambda.models.iso_8601_datetime_with_nanoseconds",
    "moto.cloudformation.models.utcnow",
    "moto.logs.models.utcnow",
    "moto.sns.models.utcnow",
    "moto.cloudwatch.models.utcnow",
    "moto.events.models.unix_time",
    "moto.dynamodb.models.table.utcnow",
)


def _virtual_utcnow() -> _dt.datetime:
    """moto's `utcnow()` (naive UTC) on the runtime clock."""
    return _clock().now().astimezone(_dt.UTC).replace(tzinfo=None)


def _virtual_unix_time(dt: _dt.datetime | None = None) -> float:
    """moto's `unix_time(dt=None)`: epoch seconds of `dt`, else of the runtime clock's now."""
    moment = dt or _virtual_utcnow()
    return (moment - _dt.datetime(1970, 1, 1)).total_seconds()


def _virtual_iso_nanoseconds() -> str:
    return _virtual_utcnow().strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


_VIRTUAL_TIME_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "utcnow": _virtual_utcnow,
    "unix_time": _virtual_unix_time,
    "iso_8601_datetime_with_nanoseconds": _virtual_iso_nanoseconds,
}


def _virtual_time_function(name: str, original: Any) -> Callable[..., Any]:
    virtual = _VIRTUAL_TIME_FUNCTIONS[name]

    def shim(*args: Any, **kwargs: Any) -> Any:
        return virtual(*args, **kwargs)

    shim.__name__ = name
    shim._rollgate_wraps = original  # type: ignore[attr-defined]  # what verify() checks
    return shim


def install() -> None:
    # 23. Resource timestamps (S3 LastModified, Lambda LastModified, stacks, log events, alarms,
    #     SNS messages, EventBridge event times ...) on the runtime clock.
    for dotted in _STAMPING_FUNCTIONS:
        module_name, _, attribute = dotted.rpartition(".")
        module = importlib.import_module(module_name)
        _patch(module, attribute, _virtual_time_function(attribute, getattr(module, attribute)))


# The moto symbols these patches replace or wrap, with the parameters they rely on (checked by
# rollgate_local.bridge.verify()).
SIGNATURES: dict[str, tuple[str, ...]] = {}
RELIED_ON: frozenset[str] = frozenset()
# Module attributes swapped for clock-aware shims.
MODULE_ATTRIBUTES: dict[str, str] = {dotted: dotted.rpartition(".")[2] for dotted in _STAMPING_FUNCTIONS}
# sha256 of the source of each patched callable (and each module whose clock we swap) at the pinned
# moto: a different hash means moto changed code a patch replaces or wraps (print the current ones
# with `python -m rollgate_local.bridge`).
# fmt: off
FINGERPRINTS: dict[str, str] = {
    "moto.s3.models":
        "3ade247b680ce75603ce6ff5885ad8807037f09716d84832492f6024bdd77987",
    "moto.awslambda.models":
        "fc37ae1c1fa75676dcd044bb8802a42e1ec92cf6047d46a2b5e2a6f305d0a326",
    "moto.cloudformation.models":
        "7c0cc121fadb8cb5cb9a184a45896870b7f46e6bfd304f06819c5d4c1b711622",
    "moto.logs.models":
        "6a2a6ac73a071be02d7d6fc7c4a59b9b4b3436f0e9ea69ba4331b79ed624e1f2",
    "moto.sns.models":
        "86913311a745b39ea75d177e205c958441467ca6e83657566042f2499fbb46e9",
    "moto.cloudwatch.models":
        "f32acfa22dfa9ce929a2c5ea158e41326ebdd15e076493208c6b69e7064e4101",
    "moto.events.models":
        "153ec3d8232288b8886fb2e135bb51603c5416fbaece76cf506c91fbb4f8d69f",
    "moto.dynamodb.models.table":
        "3fecc9e51039f5a1ac5e302a21dc7aef48639a185ba01b11f9a6c32cf7853ba8",
}
# fmt: on

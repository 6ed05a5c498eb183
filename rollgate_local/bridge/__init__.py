"""The only package of Rollgate that touches moto internals.

moto (pinned: see ``EXPECTED_MOTO_VERSION``) gives the local runtime its AWS control planes and runs
the synthesized state machines. Where it differs from AWS in ways Rollgate's gates can see, this
package patches it, each patch small and documented as *AWS does / moto does / we change* in the
module that holds it. Everything else in ``rollgate_local/`` talks to moto only through boto3 (the public
API) or through the read helpers, so a moto upgrade can break only this package, and
``tests/local/test_moto_bridge.py`` says which symbol moved or changed. ``rollgate_local.moto_bridge`` is
the same API under its older name.

Public API:

    EXPECTED_MOTO_VERSION: str
    install(data_plane: DataPlaneHooks, clock: BridgeClock) -> None   idempotent; swaps targets
    uninstall() -> None                                                idempotent; restores moto
                                                                       (after drain_deliveries())
    drain_deliveries(timeout: float = 5.0) -> bool                     waits for EventBridge -> Lambda
                                                                       deliveries; False if some still run
    set_traffic_catch_up(catch_up | None)      called before metric reads and UpdateAlias
    installed() -> bool
    verify() -> list[str]          problems with the guarded symbols (empty when moto is as expected)
    changed_sources() -> list[str] guarded symbols whose source differs from the pinned moto's
    source_fingerprint(dotted) -> str
    PATCHED_SYMBOLS: tuple[str, ...]   dotted paths of every moto symbol replaced or wrapped
    GUARDED_SYMBOLS: tuple[str, ...]   those plus the ones the patches rely on, unchanged
    SOURCE_FINGERPRINTS: dict[str, str]  sha256 of each patched symbol's source at the pinned moto

    The contract with the data plane (rollgate_local.bridge.contract), the read helpers
    (rollgate_local.bridge.reads), register_stack_resources (rollgate_local.bridge.stack_resources) and
    put_function_log_events (rollgate_local.bridge.logs) are re-exported here.

The patches, by module (each module's docstring documents its own):

    rollgate_local.bridge.lambda_                  1-8   Invoke, update status, RevisionIds, DLQ config, mappings
    rollgate_local.bridge.stepfunctions            9-11, 17-21  the interpreter on the runtime clock, the states
                                                integration, execution names, redrive, history paging
    rollgate_local.bridge.cloudwatch               12-14, 22  distributions, percentiles, reads, ListMetrics
    rollgate_local.bridge.events                   15, 16, 26  rule targets, alarm and execution state changes
    rollgate_local.bridge.timestamps               23    resource timestamps on the runtime clock
    rollgate_local.bridge.iam                      24    the managed-function tag condition
    rollgate_local.bridge.stack_resources          25    the resources of a registered stack
    rollgate_local.bridge.ecr                      27-28 ECR blobs, image functions
    rollgate_local.bridge.provisioned_concurrency  29    provisioned concurrency from the data plane
    rollgate_local.bridge.logs                     30    function logs
    rollgate_local.bridge.dynamodb                 31    conditional writes, atomic
    rollgate_local.bridge.sqs                      32-33 DLQ redrive (message move tasks), mappings via the alias
    rollgate_local.task_tokens, rollgate_local.metric_math        SendTaskFailure's cause, arithmetic metric math

Each service module lists what it patches (``SIGNATURES``, ``MODULE_ATTRIBUTES``), what it relies
on unchanged (``RELIED_ON``) and the source fingerprints (``FINGERPRINTS``); the guard tables here
are their union.
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from collections.abc import Callable

from rollgate_local import metric_math, patch_sources, task_tokens, virtual_time
from rollgate_local.bridge import (
    cloudwatch,
    dynamodb,
    ecr,
    events,
    iam,
    lambda_,
    logs,
    provisioned_concurrency,
    sqs,
    stack_resources,
    stepfunctions,
    timestamps,
)
from rollgate_local.bridge.contract import (
    BridgeClock,
    DataPlaneHooks,
    InvokeRequest,
    InvokeResult,
    LambdaServiceError,
    ProvisionedConcurrencyHooks,
    UpdateStatus,
)
from rollgate_local.bridge.core import EXPECTED_MOTO_VERSION, _original_of, _patch, _restore, _state
from rollgate_local.bridge.events import drain_deliveries
from rollgate_local.bridge.logs import FunctionLogEvent, put_function_log_events
from rollgate_local.bridge.reads import (
    AliasRecord,
    FunctionRecord,
    ImageRecord,
    StreamMappingRecord,
    Target,
    list_stream_mappings,
    read_image,
    read_target,
    read_version,
)
from rollgate_local.bridge.stack_resources import StackResource, register_stack_resources
from rollgate_local.bridge.stepfunctions import SYNC_POLL_SECONDS

__all__ = [
    "EXPECTED_MOTO_VERSION",
    "GUARDED_SYMBOLS",
    "PATCHED_SYMBOLS",
    "SOURCE_FINGERPRINTS",
    "SYNC_POLL_SECONDS",
    "AliasRecord",
    "BridgeClock",
    "DataPlaneHooks",
    "FunctionLogEvent",
    "FunctionRecord",
    "ImageRecord",
    "InvokeRequest",
    "InvokeResult",
    "LambdaServiceError",
    "ProvisionedConcurrencyHooks",
    "StackResource",
    "StreamMappingRecord",
    "Target",
    "UpdateStatus",
    "changed_sources",
    "drain_deliveries",
    "install",
    "installed",
    "list_stream_mappings",
    "put_function_log_events",
    "read_image",
    "read_target",
    "read_version",
    "register_stack_resources",
    "set_traffic_catch_up",
    "source_fingerprint",
    "uninstall",
    "verify",
]

# The service modules, each with its guard tables (the order is the one the install follows).
_SERVICES = (
    lambda_,
    stepfunctions,
    cloudwatch,
    events,
    timestamps,
    iam,
    stack_resources,
    ecr,
    provisioned_concurrency,
    logs,
    dynamodb,
    sqs,
)
# Every symbol we replace or wrap, with the parameters we rely on. The guard test checks each one.
_SIGNATURES: dict[str, tuple[str, ...]] = {k: v for m in _SERVICES for k, v in m.SIGNATURES.items()}
# Module attributes we swap for clock-aware shims.
_MODULE_ATTRIBUTES: dict[str, str] = {k: v for m in _SERVICES for k, v in m.MODULE_ATTRIBUTES.items()}
# Not replaced, but the patches depend on them.
_RELIED_ON: frozenset[str] = frozenset().union(*(m.RELIED_ON for m in _SERVICES))
PATCHED_SYMBOLS: tuple[str, ...] = (*(s for s in _SIGNATURES if s not in _RELIED_ON), *_MODULE_ATTRIBUTES)
GUARDED_SYMBOLS: tuple[str, ...] = (*_SIGNATURES, *_MODULE_ATTRIBUTES)
# sha256 of the source of every patched callable, and of each module whose `time`/`datetime` we swap,
# at the pinned moto. A different hash means moto changed code we replace or wrap: re-read it, re-check
# the patch, then update the hash in its module (print them with `python -m rollgate_local.bridge`).
SOURCE_FINGERPRINTS: dict[str, str] = {k: v for m in _SERVICES for k, v in m.FINGERPRINTS.items()}


def verify() -> list[str]:
    """Problems with the moto symbols the bridge patches; empty when moto is what we expect."""
    import moto

    problems = []
    if moto.__version__ != EXPECTED_MOTO_VERSION:
        problems.append(
            f"moto {moto.__version__} is installed; rollgate_local.moto_bridge was written for "
            f"{EXPECTED_MOTO_VERSION} (requirements pin it)"
        )
    for dotted, params in _SIGNATURES.items():
        try:
            target = patch_sources.resolve(dotted)
        except (ImportError, AttributeError) as error:
            problems.append(f"{dotted} is missing ({error!r}): moto moved or removed it")
            continue
        original = _original_of(target)
        found = tuple(inspect.signature(original).parameters)
        if found[: len(params)] != params:
            problems.append(f"{dotted} has parameters {found}, the bridge expects {params}")
    for dotted, module_name in _MODULE_ATTRIBUTES.items():
        module_path, _, attr = dotted.rpartition(".")
        try:
            module = importlib.import_module(module_path)
        except ImportError as error:
            problems.append(f"{module_path} is missing ({error!r}): moto moved or removed it")
            continue
        value = getattr(module, attr, None)
        value = getattr(value, "_rollgate_wraps", value)
        if getattr(value, "__name__", None) != module_name:
            problems.append(f"{dotted} is not the `{module_name}` module any more: moto changed how it reads the time")
    return problems + provisioned_concurrency.unpatched_methods()


def installed() -> bool:
    return bool(_state.originals)


def install(data_plane: DataPlaneHooks, clock: BridgeClock) -> None:
    """Patch moto to use `data_plane` and `clock`. Calling it again swaps the targets. A virtual
    clock (``clock.virtual``) also becomes the one rollgate_local.virtual_time's look-alikes wait on."""
    with _state.lock:
        _state.data_plane = data_plane
        _state.clock = clock
        if getattr(clock, "virtual", False):
            virtual_time.install(clock)  # type: ignore[arg-type]
        else:
            virtual_time.uninstall()
        if _state.originals:
            return
        problems = verify()
        version_only = all(p.startswith("moto ") for p in problems)
        if problems and not version_only:
            raise RuntimeError("rollgate_local.moto_bridge cannot patch this moto:\n  " + "\n  ".join(problems))
        for problem in problems:
            warnings.warn(problem, RuntimeWarning, stacklevel=2)
        from moto.core.config import default_user_config

        if default_user_config.get("lambda", {}).get("use_docker", True) is False:
            raise RuntimeError(
                'moto config {"lambda": {"use_docker": False}} selects moto\'s echoing '
                "Lambda backend, which bypasses the data plane: leave it at the default"
            )
        try:
            lambda_.install()
            stepfunctions.install()
            cloudwatch.install()
            events.install()
            stepfunctions.install_executions()
            cloudwatch.install_metric_listing()
            timestamps.install()
            iam.install()
            stack_resources.install()
            ecr.install()
            provisioned_concurrency.install()
            logs.install()
            dynamodb.install()
            sqs.install()
            task_tokens.install(_patch)  # SendTaskFailure's cause (rollgate_local/task_tokens.py)
            metric_math.install(_patch)  # arithmetic metric math in GetMetricData (rollgate_local/metric_math.py)
        except Exception:
            _restore()
            raise


def uninstall() -> None:
    drain_deliveries()  # a handler still running after the mock ends would call the real AWS
    with _state.lock:
        _restore()
        _state.data_plane = None
        _state.clock = None
        _state.catch_up = None
        virtual_time.uninstall()


def set_traffic_catch_up(catch_up: Callable[[], None] | None) -> None:
    """`catch_up()` is called before every CloudWatch metric read and every UpdateAlias, so traffic
    due by then exists and is routed by the weights in force when it was due."""
    _state.catch_up = catch_up


def _fingerprint_targets() -> list[str]:
    return [*_SIGNATURES, *(dotted.rpartition(".")[0] for dotted in _MODULE_ATTRIBUTES)]


def source_fingerprint(dotted: str) -> str:
    """sha256 of the source of the original (unpatched) callable or module at `dotted`."""
    return patch_sources.fingerprint(dotted)


def changed_sources() -> list[str]:
    """Patched symbols whose moto source differs from the one the bridge was written against."""
    changed = []
    for dotted in _fingerprint_targets():
        expected = SOURCE_FINGERPRINTS.get(dotted)
        try:
            found = source_fingerprint(dotted)
        except (ImportError, AttributeError, OSError, TypeError) as error:
            changed.append(f"{dotted}: cannot read its source ({error!r})")
            continue
        if found != expected:
            changed.append(
                f"{dotted}: source changed since moto {EXPECTED_MOTO_VERSION} "
                f"(sha256 {found[:12]}, expected {str(expected)[:12]}); re-check its patch"
            )
    return changed


def print_fingerprints() -> None:
    """What each module's FINGERPRINTS should hold at the installed moto (`python -m rollgate_local.bridge`)."""
    for service in _SERVICES:
        targets = [*service.SIGNATURES, *dict.fromkeys(d.rpartition(".")[0] for d in service.MODULE_ATTRIBUTES)]
        if targets:
            print(f"# {service.__name__}")
        for target in targets:
            print(f'    "{target}":\n        "{source_fingerprint(target)}",')

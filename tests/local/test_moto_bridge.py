"""Guards on rollgate_local.bridge (rollgate_local.moto_bridge), the only code that touches moto internals.

When a moto upgrade moves or changes anything the bridge patches, these tests fail and name the
symbol; re-read moto's new code, adapt the patch, then update EXPECTED_MOTO_VERSION and the
fingerprints (`python -m rollgate_local.bridge` prints them).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import moto
import pytest
from botocore.exceptions import ClientError

from rollgate_local import bridge, patch_sources
from rollgate_local.clock import start_clock
from rollgate_local.runtime import LocalRuntime
from rollgate_local.sample_app import SampleApp, build_zip
from tests.local.conftest import publish_build

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements" / "dev.txt"


def test_installed_moto_is_the_version_the_bridge_was_written_for() -> None:
    assert moto.__version__ == bridge.EXPECTED_MOTO_VERSION, (
        f"moto {moto.__version__} is installed but rollgate_local/bridge.py was written for "
        f"{bridge.EXPECTED_MOTO_VERSION}: review every patch before changing EXPECTED_MOTO_VERSION"
    )


def test_requirements_pin_the_same_moto() -> None:
    pinned = re.search(r"^moto(\[[^\]]*\])?==([\w.]+)", REQUIREMENTS.read_text(), re.MULTILINE)
    assert pinned, f"{REQUIREMENTS} must pin moto to an exact version"
    assert pinned.group(2) == bridge.EXPECTED_MOTO_VERSION, (
        f"requirements pin moto {pinned.group(2)}, the bridge expects {bridge.EXPECTED_MOTO_VERSION}"
    )


@pytest.mark.parametrize("symbol", bridge.GUARDED_SYMBOLS)
def test_patched_symbol_exists_with_the_expected_shape(symbol: str) -> None:
    problems = [p for p in bridge.verify() if p.startswith(symbol)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("target", sorted(bridge.SOURCE_FINGERPRINTS))
def test_patched_source_is_unchanged(target: str) -> None:
    found = bridge.source_fingerprint(target)
    assert found == bridge.SOURCE_FINGERPRINTS[target], (
        f"moto changed the source of {target} (sha256 {found[:12]}): the bridge replaces or wraps it, "
        "so re-check that patch against the new code before updating its fingerprint"
    )


def test_every_patched_or_relied_on_symbol_has_a_pinned_fingerprint() -> None:
    # a symbol added to the bridge without its fingerprint would escape the test above
    targets = set(bridge._fingerprint_targets())
    pinned = set(bridge.SOURCE_FINGERPRINTS)
    assert not targets - pinned, (
        f"no fingerprint for {sorted(targets - pinned)}: add what `python -m rollgate_local.bridge` prints"
    )
    assert not pinned - targets, f"fingerprints for symbols the bridge no longer guards: {sorted(pinned - targets)}"


class _Hooks:
    def handle_invoke(self, request: Any) -> Any:
        raise AssertionError("not used")

    def function_updated(self, account: str, region: str, function_name: str) -> None: ...

    def update_status(self, account: str, region: str, function_name: str) -> None:
        return None

    def flush_metrics(self) -> None: ...


def _current(symbol: str) -> Any:
    """The class's own attribute (None when it inherits it), or the module's."""
    module_path, _, attr = symbol.rpartition(".")
    owner = patch_sources.resolve(module_path)
    return owner.__dict__.get(attr) if isinstance(owner, type) else getattr(owner, attr)


def test_install_is_idempotent_and_uninstall_restores_moto_exactly() -> None:
    # given moto as imported
    before = {symbol: _current(symbol) for symbol in bridge.PATCHED_SYMBOLS}
    try:
        # when the bridge is installed twice
        bridge.install(_Hooks(), start_clock(60))
        bridge.install(_Hooks(), start_clock(60))
        patched = {symbol: _current(symbol) for symbol in bridge.PATCHED_SYMBOLS}
        # then every symbol is replaced once (a second install only swaps the targets)
        assert all(patched[s] is not before[s] for s in before), [s for s in before if patched[s] is before[s]]
        # (a method the class inherits has no own original: before[s] is None)
        assert all(getattr(patched[s], "_rollgate_original", before[s]) is before[s] for s in before if before[s])
    finally:
        bridge.uninstall()
        bridge.uninstall()
    # and after uninstalling (twice) moto is exactly what it was
    restored = {symbol: _current(symbol) for symbol in bridge.PATCHED_SYMBOLS}
    assert [s for s in before if restored[s] is not before[s]] == []
    assert not bridge.installed()


def test_percentiles_exact_dimensions_and_extended_statistics(runtime: LocalRuntime) -> None:
    # given a distribution (Values/Counts) and a datum with one more dimension
    cloudwatch = runtime.client("cloudwatch")
    at = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
    dims = [{"Name": "FunctionName", "Value": "f"}]
    cloudwatch.put_metric_data(
        Namespace="Test",
        MetricData=[
            {
                "MetricName": "Duration",
                "Dimensions": dims,
                "Timestamp": at,
                "Values": [10.0, 20.0, 500.0],
                "Counts": [90, 9, 1],
                "Unit": "Milliseconds",
            },
            {
                "MetricName": "Duration",
                "Dimensions": [*dims, {"Name": "Resource", "Value": "f:live"}],
                "Timestamp": at,
                "Value": 9000.0,
                "Unit": "Milliseconds",
            },
        ],
    )
    # when percentiles are asked through both read APIs, with a StartTime that is not on a minute
    data = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": f"p{i}",
                "MetricStat": {
                    "Metric": {"Namespace": "Test", "MetricName": "Duration", "Dimensions": dims},
                    "Period": 60,
                    "Stat": stat,
                },
            }
            for i, stat in enumerate(["p50", "p99", "p99.5", "SampleCount"])
        ],
        StartTime=at + timedelta(seconds=30),
        EndTime=at + timedelta(minutes=1),
    )
    statistics = cloudwatch.get_metric_statistics(
        Namespace="Test",
        MetricName="Duration",
        Dimensions=dims,
        StartTime=at + timedelta(seconds=30),
        EndTime=at + timedelta(minutes=1),
        Period=60,
        Statistics=["SampleCount", "Maximum"],
        ExtendedStatistics=["p90", "p99"],
    )
    # then they are computed from the distribution only (exact dimension match), like CloudWatch
    values = {r["Id"]: r["Values"] for r in data["MetricDataResults"]}
    assert values == {"p0": [10.0], "p1": [20.0], "p2": [500.0], "p3": [100.0]}
    (point,) = statistics["Datapoints"]
    assert point["SampleCount"] == 100 and point["Maximum"] == 500.0
    assert point["ExtendedStatistics"] == {"p90": 10.0, "p99": 20.0}


def test_revision_ids_and_code_sha_guards_like_lambda(runtime: LocalRuntime, app: SampleApp) -> None:
    lambda_ = runtime.client("lambda")
    config = lambda_.get_function_configuration(FunctionName=app.function_name)
    # a stale RevisionId is refused on update
    with pytest.raises(ClientError) as refused:
        lambda_.update_function_code(FunctionName=app.function_name, ZipFile=build_zip("v2"), RevisionId="stale")
    assert refused.value.response["Error"]["Code"] == "PreconditionFailedException"
    # the right one is accepted and changes the RevisionId
    runtime.data_plane.set_update_seconds(app.function_name, 0)  # type: ignore[union-attr]
    updated = lambda_.update_function_code(
        FunctionName=app.function_name, ZipFile=build_zip("v2"), RevisionId=config["RevisionId"]
    )
    assert updated["RevisionId"] != config["RevisionId"]
    # PublishVersion honours CodeSha256
    with pytest.raises(ClientError) as wrong_sha:
        lambda_.publish_version(FunctionName=app.function_name, CodeSha256=app.code_sha256)
    assert wrong_sha.value.response["Error"]["Code"] == "InvalidParameterValueException"
    version = lambda_.publish_version(FunctionName=app.function_name, CodeSha256=updated["CodeSha256"])
    assert version["Version"] == "2" and version["CodeSha256"] == updated["CodeSha256"]
    # aliases: RevisionId checked and rotated on update
    alias = lambda_.get_alias(FunctionName=app.function_name, Name=app.alias)
    with pytest.raises(ClientError) as stale_alias:
        lambda_.update_alias(FunctionName=app.function_name, Name=app.alias, FunctionVersion="2", RevisionId="stale")
    assert stale_alias.value.response["Error"]["Code"] == "PreconditionFailedException"
    moved = lambda_.update_alias(
        FunctionName=app.function_name, Name=app.alias, FunctionVersion="2", RevisionId=alias["RevisionId"]
    )
    assert moved["RevisionId"] != alias["RevisionId"] and moved["FunctionVersion"] == "2"


def test_dead_letter_config_and_alias_event_source_mapping_are_reported(runtime: LocalRuntime, app: SampleApp) -> None:
    lambda_ = runtime.client("lambda")
    publish_build(runtime, app, "v2")
    for qualifier in (None, "1", "2"):
        kwargs = {"Qualifier": qualifier} if qualifier else {}
        config = lambda_.get_function_configuration(FunctionName=app.function_name, **kwargs)
        assert config["DeadLetterConfig"] == {"TargetArn": app.dlq_arn}, qualifier
    (mapping,) = lambda_.list_event_source_mappings(EventSourceArn=app.stream_arn)["EventSourceMappings"]
    assert mapping["FunctionArn"] == app.alias_arn


def test_invoke_qualifier_comes_from_the_query_string_not_the_payload(runtime: LocalRuntime, app: SampleApp) -> None:
    publish_build(runtime, app, "v2")
    lambda_ = runtime.client("lambda")
    payload = b'{"order_id": "o-1", "items": [], "qualifier": "2"}'
    assert lambda_.invoke(FunctionName=app.function_name, Qualifier="1", Payload=payload)["ExecutedVersion"] == "1"
    assert lambda_.invoke(FunctionName=app.function_name, Payload=payload)["ExecutedVersion"] == "$LATEST"
    assert lambda_.invoke(FunctionName=f"{app.function_name}:2", Payload=payload)["ExecutedVersion"] == "2"


# Modules of moto's interpreter that start threads, wait on events or sleep, and are NOT swapped to
# the runtime clock, each with the reason that is safe.
_WAITING_NOT_SWAPPED = {
    "moto.stepfunctions.parser.asl.component.test_state.program.test_state_program": (
        "the TestState API, which Rollgate never calls"
    ),
    "moto.stepfunctions.parser.backend.test_state.execution": "the TestState API, which Rollgate never calls",
    "moto.stepfunctions.parser.provider": (
        "GetActivityTask's long poll: a worker's call from outside, and Rollgate has no activities"
    ),
}
# (Wait states wait on an Event made in a swapped module; their WaitFunction._wait_interval is patch 9.)
_WAITING_NAMES = frozenset({"Thread", "Event", "Condition", "Timer", "Barrier", "Semaphore", "BoundedSemaphore"})


def _waits(source: str) -> bool:
    """Does this module start a thread, make an event/condition, or call time.sleep?"""
    import ast

    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "threading"
            and any(alias.name in _WAITING_NAMES for alias in node.names)
        ):
            return True
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "threading" and node.attr in _WAITING_NAMES:
                return True
            if node.value.id == "time" and node.attr == "sleep":
                return True
    return False


def test_every_wait_of_moto_s_interpreter_is_on_the_runtime_clock() -> None:
    # a moto upgrade that adds a thread or a sleep somewhere in the interpreter would let real time
    # leak into the virtual clock (a hang or a nondeterministic run): this names the module
    import pkgutil

    import moto.stepfunctions.parser as parser

    swapped = {
        dotted.rpartition(".")[0]
        for dotted in bridge._MODULE_ATTRIBUTES
        if dotted.rpartition(".")[2] in ("threading", "time", *_WAITING_NAMES)
    }
    waiting = set()
    for info in pkgutil.walk_packages(parser.__path__, prefix=f"{parser.__name__}."):
        spec = info.module_finder.find_spec(info.name, None)  # type: ignore[call-arg]
        if spec and spec.origin and spec.origin.endswith(".py") and _waits(Path(spec.origin).read_text()):
            waiting.add(info.name)
    unaccounted = waiting - swapped - set(_WAITING_NOT_SWAPPED)
    assert not unaccounted, f"moto's interpreter waits in {sorted(unaccounted)}: swap it (patch 18) or say why not"
    assert not set(_WAITING_NOT_SWAPPED) - waiting, "a module listed as not swapped no longer waits: drop it"


def test_with_a_virtual_clock_the_interpreter_waits_on_it_and_uninstall_gives_threading_back() -> None:
    import importlib
    import threading

    from rollgate_local import virtual_time

    environment = importlib.import_module("moto.stepfunctions.parser.asl.eval.environment")
    clock = virtual_time.VirtualClock(0.0)
    try:
        bridge.install(_Hooks(), clock)
        # an execution's program_state_event (what Wait states and stops wait on) is the clock's
        assert virtual_time.installed_clock() is clock
        assert environment.threading.Event is virtual_time.Event
        assert isinstance(environment.threading.Event()._clock, virtual_time.VirtualClock)
    finally:
        bridge.uninstall()
    assert virtual_time.installed_clock() is None
    assert environment.threading is threading

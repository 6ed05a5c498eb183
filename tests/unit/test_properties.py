"""Property-based: every entry point, given bad input, refuses it with an error that names the field
and changes nothing — no crash, no lease, no upload, no execution, its input untouched.

Each test starts from a valid input (the console samples, a CLI command line that would run) and
spoils one field with a value drawn from that field's catalogue of bad values, so every example is
bad by construction and must be refused. Inputs the rules accept are checked too (fuzzed documents):
what gets through must be something AWS and Step Functions can carry.

Runs derandomized (a red run is a defect, not luck) and small enough for `make test`; for a long run:
    ROLLGATE_PROPERTY_SCALE=20 .venv/bin/python -m pytest -p no:xdist tests/unit/test_properties.py -s
The tally of inputs tried, refused, crashes, mutations and unnamed errors is printed at the end.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
import re
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollgate.domain.deploy.start import start_deployment
from rollgate.domain.release.manifest import parse_manifest
from rollgate.domain.release.push import BranchPush
from rollgate.domain.release.waves import start_release
from rollgate.domain.remediate.remediation import start_remediation
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.models import DeploymentRequest, HealthPolicy
from rollgate.domain.shared.triggers import WorkflowStart, start_for_event
from rollgate.domain.shared.validation import MAX_REQUEST_BYTES, MAX_SAFE_INTEGER, RESERVED_ENVIRONMENT_KEYS
from rollgate_cli import main as cli_main
from rollgate_cli.session import StackOutputs
from tests.unit.fakes import FakeClock, FakeLedger

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests/events"
REQUEST = json.loads((EVENTS / "deployment_request.json").read_text()) | {
    "artifact": {"bucket": "rollgate-artifacts-123456789012", "key": "builds/orders-api-v2.zip"}
}
MANIFEST = json.loads((EVENTS / "release_manifest.json").read_text())
ALARM = json.loads((EVENTS / "alarm_state_change.json").read_text())
MANUAL = json.loads((EVENTS / "manual_rollback.json").read_text())
ACCOUNT, REGION = "123456789012", "us-east-1"
DEPLOY_EXECUTION = {"Name": "exec-1", "Id": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:Deploy:exec-1"}
REMEDIATE_EXECUTION = {"Name": "r-1", "Id": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:Remediate:r-1"}
ROUTING = {"artifact_bucket": "artifacts", "release_branches": ["release/*"], "guard_alarm_prefix": "rollgate-guard-"}

SCALE = int(os.environ.get("ROLLGATE_PROPERTY_SCALE", "1"))
TALLY: Counter[str] = Counter()


def fast(examples: int) -> settings:
    return settings(
        max_examples=examples * SCALE,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


class _TallyReport:
    """Prints the tally in pytest's closing summary (a plugin, so capturing does not swallow it)."""

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_line(
            f"[properties] bad inputs tried: {TALLY['bad']} (refused: {TALLY['refused']}), fuzzed inputs "
            f"accepted and checked: {TALLY['accepted']}; crashes: {TALLY['crash']}, mutations: {TALLY['mutation']}, "
            f"unnamed errors: {TALLY['unnamed']}"
        )


@pytest.fixture(scope="module", autouse=True)
def tally(pytestconfig: pytest.Config) -> None:
    report = _TallyReport()
    if not pytestconfig.pluginmanager.is_registered(report):
        pytestconfig.pluginmanager.register(report, "rollgate-property-tally")


# --------------------------------------------------------------------------- bad values, by kind
def _with(text: str, extra: str) -> str:
    return text + extra


CONTROL = st.sampled_from(["\x00", "\n", "\r", "\t", "\x1b", "\x7f", "\u2028", "\ud800", "\udfff"])
JUNK_TYPES = st.sampled_from([None, 0, 1.5, True, [], {}, ["x"], {"a": 1}])
HUGE = st.sampled_from([10**16, 10**30, -(10**16), 2**63, MAX_SAFE_INTEGER + 1])
NONFINITE = st.sampled_from([math.nan, math.inf, -math.inf])
NUMERIC_STRINGS = st.sampled_from(["\uff11\uff10", "10", "ten", "", "1e3", "\u0663"])


def spoiled(good: str) -> st.SearchStrategy[str]:
    """`good` with a control character or lone surrogate put at its end, start or middle."""
    return st.tuples(CONTROL, st.integers(0, 2)).map(
        lambda c: (good + c[0], c[0] + good, good[:2] + c[0] + good[2:])[c[1]]
    )


FUNCTION_NAMES = st.one_of(
    spoiled("orders-api"),
    st.sampled_from(
        [
            "",
            " orders-api",
            "orders api",
            "orders.api",
            "x" * 65,
            "orders-api:live",
            f"arn:aws:lambda:{REGION}:999999999999:function:orders-api",
            f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:orders-api",
            f"arn:aws-cn:lambda:{REGION}:{ACCOUNT}:function:orders-api",
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders-api:live",
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders-api:$LATEST",
            "arn:aws:lambda:us-east-1:\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff10\uff11\uff12:function:orders-api",
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:",
            "999999999999:function:orders-api",
            "arn:aws:s3:::orders-api",
            "\uff4f\uff52\uff44\uff45\uff52\uff53",
        ]
    ),
    JUNK_TYPES,
)
ALIASES = st.one_of(
    spoiled("live"),
    st.sampled_from(["$LATEST", "", "42", "0", "live:1", "li ve", "x" * 129, "\uff4c\uff49\uff56\uff45", "\uff11"]),
    JUNK_TYPES.filter(lambda v: v is not None),
)
ENV_KEYS = st.one_of(
    st.sampled_from(sorted(RESERVED_ENVIRONMENT_KEYS)),
    st.sampled_from(["1X", "X", "MY-VAR", "MY VAR", "", "ÄÖ", "\uff38\uff11", "A.B"]),
    spoiled("FEATURE_X"),
)
TEXTS = st.one_of(spoiled("release-42"), st.sampled_from(["", " padded", "padded ", "x" * 1100]), JUNK_TYPES)
DURATIONS = st.one_of(
    st.integers(max_value=-1),
    st.integers(min_value=86_401, max_value=10**12),
    HUGE,
    NONFINITE,
    NUMERIC_STRINGS.filter(lambda s: s != "10"),
    st.sampled_from([True, False, [], {}]),
)
POSITIVE_COUNTS = st.one_of(st.integers(max_value=0), HUGE, NONFINITE, st.sampled_from([True, "\uff11", [], 1.5]))
POLICY_NUMBERS = st.one_of(
    st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False),
    st.integers(max_value=-1),
    HUGE,
    NONFINITE,
    st.sampled_from([True, False, "\uff11", "zero", [], {}]),
)
SHAS = st.one_of(
    st.sampled_from(["c2hh", "", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU", "\uff26" * 44]),
    spoiled("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
    JUNK_TYPES.filter(lambda v: v is not None),
)


def _deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"a": value}
    return value


DOCUMENT_BOMBS = st.one_of(
    st.integers(33, 300).map(_deep),  # deeper still: test_validation, without copying it
    st.just({"blob": "x" * (MAX_REQUEST_BYTES + 1)}),
    st.sampled_from([{"s": "\ud800"}, {"\udc80": 1}, {"n": math.nan}, [math.inf], {"big": 10**40}]),
)


# --------------------------------------------------------------------------- the harness
def set_path(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A deep copy of `document` with `path` set to `value` (the last step may add a key)."""
    spoilt = copy.deepcopy(document)
    target = spoilt
    for step in path[:-1]:
        target = target.setdefault(step, {}) if isinstance(target, dict) else target[step]
    target[path[-1]] = value
    return spoilt


def named(message: str, field: str) -> bool:
    """Whether `message` leads with the dotted path of a field (or a flag) and names the top-level
    field that was spoilt, there or further on (a rule across fields names each it is about)."""
    if ": " not in message or not re.match(r"[\w(-]", message):
        return False
    head = field.split(".")[0]
    return head in message or (head == "unknown_field" and "unknown field" in message)


def check_refusal(
    call: Callable[[], Any], original: Any, raw: Any, field: str, *, changed: Callable[[], bool] = lambda: False
) -> None:
    """`call()` must raise InvalidRequest naming `field`, leave `raw` as it was and change nothing."""
    TALLY["bad"] += 1
    try:
        result = call()
    except InvalidRequest as error:
        TALLY["refused"] += 1
        if not named(str(error), field):
            TALLY["unnamed"] += 1
            raise AssertionError(f"the error does not name {field}: {error}") from None
    except Exception as error:  # anything else reaching the caller is a crash
        TALLY["crash"] += 1
        raise AssertionError(f"crash on bad {field}: {type(error).__name__}: {error}") from error
    else:
        TALLY["mutation"] += 1
        raise AssertionError(f"bad {field} was accepted: {result!r:.300}")
    if changed() or raw != original:
        TALLY["mutation"] += 1
        raise AssertionError(f"refusing bad {field} changed something")


def spoil(base: dict[str, Any], catalogue: dict[tuple[Any, ...], st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """(path, spoilt document) with one field of `base` given a bad value from its catalogue."""
    return st.sampled_from(sorted(catalogue, key=str)).flatmap(
        lambda path: catalogue[path].map(lambda value: (path, set_path(base, path, value)))
    )


def _dotted(path: tuple[Any, ...]) -> str:
    return ".".join(str(step) for step in path)


# --------------------------------------------------------------------------- DeploymentRequest
NUMERIC_HEALTH = [name for name, field in HealthPolicy.model_fields.items() if field.annotation in (int, float)]
REQUEST_FIELDS: dict[tuple[Any, ...], st.SearchStrategy[Any]] = {
    ("function_name",): FUNCTION_NAMES,
    ("alias",): ALIASES,
    ("artifact", "bucket"): st.one_of(spoiled("artifacts"), st.sampled_from(["ab", "a" * 256, "-bucket", "b/c"])),
    ("artifact", "key"): st.one_of(spoiled("v2.zip"), st.sampled_from(["", "k" * 1100])),
    ("artifact", "image_uri"): st.sampled_from(["repo:latest", "repo@sha256:abc", "repo@sha256:" + "A" * 64]),
    ("artifact", "version_id"): spoiled("v1"),
    ("expected_code_sha256",): SHAS,
    ("environment",): st.one_of(
        ENV_KEYS.map(lambda key: {key: "on"}),
        st.just({f"K{i}": "v" * 100 for i in range(41)}),
        st.sampled_from(["\ud800", "on\udfff"]).map(lambda value: {"FEATURE_X": value}),  # not Unicode text
        st.sampled_from([["FEATURE_X=on"], "FEATURE_X=on", {"FEATURE_X": 1}, {"FEATURE_X": None}]),
    ),
    ("required_environment",): st.one_of(ENV_KEYS.map(lambda key: [key]), st.sampled_from(["PAYMENTS_URL", [1]])),
    ("strategy", "interval_seconds"): st.one_of(DURATIONS, st.just(0)),
    ("strategy", "steps"): st.sampled_from(
        [[0], [100], [50, 10], [10, 10], [], [math.nan], [10.5], ["\uff11\uff10"], [-5]]
    ),
    ("strategy", "type"): st.sampled_from(["blue_green", "", "CANARY", None, 1]),
    ("smoke_tests", 0, "name"): TEXTS,
    ("smoke_tests", 0, "payload"): DOCUMENT_BOMBS,
    ("smoke_tests", 0, "expect_error"): st.sampled_from(["maybe", 2, [], None]),
    ("watch_seconds",): DURATIONS,
    ("update_polling", "interval_seconds"): POSITIVE_COUNTS,
    ("update_polling", "max_polls"): POSITIVE_COUNTS,
    ("provenance", "trigger"): TEXTS,
    ("provenance", "release_id"): TEXTS.filter(lambda v: v is not None),
    ("health", "alarm_names"): TEXTS.filter(lambda v: v is not None).map(lambda v: [v]),
    ("health", "dead_letter_queues"): st.sampled_from([["orders-dlq"], ["https://sqs/q"], [1], "arn"]),
    ("health", "event_source_mappings"): st.sampled_from([["not-a-uuid"], [1], "uuid"]),
    ("health", "on_inconclusive"): st.sampled_from(["promote", "", None, 1]),
    ("unknown_field",): st.sampled_from([1, "x", None]),
    **{("health", name): POLICY_NUMBERS for name in NUMERIC_HEALTH},
}


@fast(250)
@given(spoil(REQUEST, REQUEST_FIELDS))
def test_a_bad_request_field_is_refused_before_the_lease(case: tuple[tuple[Any, ...], dict[str, Any]]) -> None:
    path, raw = case
    original, ledger = copy.deepcopy(raw), FakeLedger()
    check_refusal(
        lambda: start_deployment(raw, DEPLOY_EXECUTION, ledger=ledger, clock=FakeClock(), lease_seconds=3600),
        original,
        raw,
        _dotted(path),
        changed=lambda: bool(ledger.leases or ledger.deployments),
    )


@fast(40)
@given(st.one_of(JUNK_TYPES.filter(lambda v: not isinstance(v, dict)), st.text(max_size=5), DOCUMENT_BOMBS))
def test_a_request_that_is_not_an_object_or_not_json_is_refused(raw: Any) -> None:
    ledger = FakeLedger()
    original = copy.deepcopy(raw)
    document = raw if not isinstance(raw, dict) else REQUEST | {"smoke_tests": [{"name": "x", "payload": raw}]}
    check_refusal(
        lambda: start_deployment(document, DEPLOY_EXECUTION, ledger=ledger, clock=FakeClock(), lease_seconds=3600),
        original,
        raw,
        "(request)" if not isinstance(raw, dict) else "smoke_tests",
        changed=lambda: bool(ledger.leases),
    )


JSON_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8), st.sampled_from(["\ud800", "\uff11"])
)
FUZZ = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


@fast(120)
@given(st.sampled_from(sorted(REQUEST_FIELDS, key=str)), FUZZ)
def test_whatever_a_request_field_holds_the_answer_is_a_named_refusal_or_a_request_aws_can_carry(
    path: tuple[Any, ...], value: Any
) -> None:
    raw = set_path(REQUEST, path, value)
    ledger = FakeLedger()
    try:
        ctx = start_deployment(raw, DEPLOY_EXECUTION, ledger=ledger, clock=FakeClock(), lease_seconds=3600)
    except InvalidRequest as error:
        TALLY["bad"] += 1
        TALLY["refused"] += 1
        assert not ledger.leases
        if not named(str(error), _dotted(path)):
            TALLY["unnamed"] += 1
            raise AssertionError(f"the error does not name {_dotted(path)}: {error}") from None
        return
    except Exception as error:
        TALLY["crash"] += 1
        raise AssertionError(f"crash: {type(error).__name__}: {error}") from error
    TALLY["accepted"] += 1
    carried = ctx.request.model_dump(mode="json")
    text = json.dumps(carried, ensure_ascii=False, allow_nan=False)  # finite numbers only
    text.encode("utf-8")  # no lone surrogates
    assert len(text.encode()) <= MAX_REQUEST_BYTES
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", ctx.function_name)
    assert ctx.request.worst_case_seconds() < 365 * 86_400
    assert DeploymentRequest.model_validate(carried) == ctx.request


# --------------------------------------------------------------------------- the release manifest
MANIFEST_FIELDS: dict[tuple[Any, ...], st.SearchStrategy[Any]] = {
    ("application",): TEXTS,
    ("release_id",): TEXTS.filter(lambda v: v is not None),
    ("max_concurrency",): st.one_of(st.integers(max_value=0), st.integers(min_value=21), NONFINITE, HUGE),
    ("manifest_version",): st.sampled_from([2, 0, "1", None]),
    ("atomic",): st.sampled_from(["maybe", 2, None, []]),
    ("waves",): st.sampled_from([[], {}, None, [{"functions": []}]]),
    ("defaults", "alias"): ALIASES,
    ("defaults", "watch_seconds"): DURATIONS,
    ("defaults", "strategy", "interval_seconds"): DURATIONS,
    ("defaults", "health", "metric_period_seconds"): st.one_of(POLICY_NUMBERS, st.just(0), st.just(7200)),
    ("defaults", "health", "error_rate_ceiling"): st.one_of(POLICY_NUMBERS, st.just(1.5)),
    ("defaults", "smoke_tests", 0, "payload"): DOCUMENT_BOMBS,
    ("waves", 0, "name"): TEXTS.filter(lambda v: v is not None),
    ("waves", 0, "functions", 0, "function_name"): FUNCTION_NAMES,
    ("waves", 1, "functions", 0, "function_name"): st.sampled_from(
        [
            "payments-api",
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:inventory-api",
            f"{ACCOUNT}:function:payments-api",
        ]
    ),  # a function already in the release, by another spelling
    ("waves", 1, "functions", 0, "alias"): ALIASES.filter(lambda v: v is not None),
    ("waves", 1, "functions", 0, "environment"): ENV_KEYS.map(lambda key: {key: "on"}),
    ("waves", 1, "functions", 0, "required_environment"): ENV_KEYS.map(lambda key: [key]),
    ("waves", 1, "functions", 0, "watch_seconds"): DURATIONS.filter(lambda v: v is not None),
    ("waves", 1, "functions", 0, "expected_code_sha256"): SHAS,
    ("waves", 0, "functions", 1, "health"): st.sampled_from(NUMERIC_HEALTH).flatmap(
        lambda name: POLICY_NUMBERS.map(lambda value: {name: value})
    ),
    ("waves", 1, "functions", 0, "artifact"): st.sampled_from([{}, {"bucket": "b"}, {"image_uri": "r:latest"}, "s3"]),
}


@fast(150)
@given(spoil(MANIFEST, MANIFEST_FIELDS))
def test_a_bad_manifest_field_is_refused_naming_it(case: tuple[tuple[Any, ...], dict[str, Any]]) -> None:
    path, raw = case
    original = copy.deepcopy(raw)
    check_refusal(lambda: parse_manifest(raw), original, raw, "manifest")
    with pytest.raises(InvalidRequest) as refused:
        parse_manifest(raw)
    # the field itself, or the function that holds it and the field's name
    error = refused.value
    assert any(step in str(error) for step in path if isinstance(step, str)), f"{error} names no {path}"


def test_the_release_start_refuses_a_non_object_and_keeps_the_rules() -> None:
    for raw in ([], "x", None, {"manifest": {}, "manifest_location": {"bucket": "abc", "key": "k"}}):
        field = "manifest" if isinstance(raw, dict) else "(release request)"
        check_refusal(lambda raw=raw: start_release(raw, {"Name": "rel-1"}, clock=FakeClock()), raw, raw, field)


# --------------------------------------------------------------------------- alarms and manual rollback
def _dimension(value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda event: set_path(
        event, ("detail", "configuration", "metrics", 0, "metricStat", "metric", "dimensions"), value
    )


ALARM_FIELDS: dict[tuple[Any, ...], st.SearchStrategy[Any]] = {
    ("detail",): JUNK_TYPES.filter(lambda v: not isinstance(v, dict) or v == {"a": 1}),
    ("detail", "state", "value"): st.sampled_from(["OK", "INSUFFICIENT_DATA", "", "alarm", None, 1, ["ALARM"]]),
    ("detail", "state"): JUNK_TYPES.filter(lambda v: not isinstance(v, dict)),
    ("detail", "alarmName"): TEXTS,
    ("detail", "configuration"): st.sampled_from([[], "x", 1, {"metrics": {}}, {"metrics": [1]}, {"metrics": "m"}]),
    ("detail", "configuration", "metrics", 0, "metricStat", "metric", "dimensions"): st.one_of(
        FUNCTION_NAMES.filter(lambda v: v != "").map(lambda name: {"FunctionName": name}),
        ALIASES.filter(lambda v: isinstance(v, str) and v != "").map(lambda alias: {"Resource": f"orders-api:{alias}"}),
        st.sampled_from([[], "orders-api", {"FunctionName": 7}]),
    ),
    ("resources",): st.sampled_from(["arn", {"a": 1}, [1], 5]),
    ("account",): st.sampled_from(
        ["999999999999", "\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff10\uff11\uff12"]
    ),
    ("region",): st.sampled_from(["eu-west-1"]),
}
MANUAL_FIELDS: dict[tuple[Any, ...], st.SearchStrategy[Any]] = {
    ("function_name",): FUNCTION_NAMES,
    ("alias",): ALIASES,
    ("reason",): TEXTS,
    ("requested_by",): TEXTS.filter(lambda v: v is not None),
    ("lookback_minutes",): st.one_of(POSITIVE_COUNTS, st.integers(min_value=527_041, max_value=10**15)),
    ("unknown_field",): st.just(1),
}


def _remediate(raw: Any) -> Any:
    return start_remediation(raw, REMEDIATE_EXECUTION, alarm_tags={}, default_lookback_minutes=60, clock=FakeClock())


@fast(100)
@given(spoil(ALARM, ALARM_FIELDS))
def test_a_bad_alarm_event_is_refused_naming_the_field(case: tuple[tuple[Any, ...], dict[str, Any]]) -> None:
    path, raw = case
    check_refusal(lambda: _remediate(raw), copy.deepcopy(raw), raw, _dotted(path))


@fast(80)
@given(spoil(MANUAL, MANUAL_FIELDS))
def test_a_bad_manual_rollback_is_refused_naming_the_field(case: tuple[tuple[Any, ...], dict[str, Any]]) -> None:
    path, raw = case
    check_refusal(lambda: _remediate(raw), copy.deepcopy(raw), raw, _dotted(path))


# --------------------------------------------------------------------------- triggers
PUSHED = {
    "detail-type": "Release Branch Pushed",
    "source": "rollgate.github",
    "detail": {"repository": "acme/shop", "branch": "release/1", "commit": "a" * 40, "provider": "github"},
}
PUSHED_FIELDS: dict[tuple[Any, ...], st.SearchStrategy[Any]] = {
    ("detail",): JUNK_TYPES.filter(lambda v: not isinstance(v, dict)),
    ("detail", "repository"): TEXTS,
    ("detail", "commit"): TEXTS,
    ("detail", "branch"): st.one_of(spoiled("release/1"), JUNK_TYPES.filter(lambda v: v not in (None, ""))),
    ("detail", "pushed_by"): spoiled("octocat"),
}


@fast(60)
@given(spoil(PUSHED, PUSHED_FIELDS))
def test_the_dispatcher_refuses_a_malformed_event_naming_the_field(case: tuple[tuple[Any, ...], Any]) -> None:
    path, raw = case

    def dispatch() -> Any:
        start = start_for_event(raw, **ROUTING)
        if isinstance(start, str):  # "ignored" is only right for a well-formed event of another branch
            raise AssertionError(f"a malformed event was ignored instead of refused: {start}")
        assert isinstance(start, WorkflowStart)
        return start

    check_refusal(dispatch, copy.deepcopy(raw), raw, _dotted(path))


PUSH = json.loads(
    json.dumps(
        {
            "ref": "refs/heads/release/2030.05",
            "after": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
            "repository": {"full_name": "acme/orders-api"},
            "pusher": {"name": "octocat"},
            "sender": {"login": "octocat-bot"},
        }
    )
)
PUSH_FIELDS: dict[tuple[Any, ...], st.SearchStrategy[Any]] = {
    ("ref",): st.one_of(spoiled("refs/heads/release/1"), JUNK_TYPES.filter(lambda v: v not in (None,))),
    ("after",): st.one_of(st.sampled_from(["abc", "G" * 40, "\uff16" * 40, ""]), spoiled("a" * 40)),
    ("repository",): st.sampled_from(["acme/shop", [], {"full_name": "noslash"}, {"full_name": "a/b/c"}]),
    ("repository", "full_name"): spoiled("acme/shop"),
    ("pusher", "name"): spoiled("octocat"),
    ("pusher",): st.sampled_from(["octocat", [1]]),
}


@fast(60)
@given(spoil(PUSH, PUSH_FIELDS))
def test_a_malformed_push_payload_is_refused_naming_the_field(case: tuple[tuple[Any, ...], Any]) -> None:
    path, raw = case

    def parse() -> Any:
        push = BranchPush.from_github(raw, "72d3162e-cc78-11e3-81ab-4c9367dc0958")
        if push is None:  # a tag or a deleted branch: only right for a well-formed ref of that kind
            raise AssertionError("a malformed push was ignored instead of refused")
        return push

    check_refusal(parse, copy.deepcopy(raw), raw, _dotted(path))


# --------------------------------------------------------------------------- the CLI
class FakeClients:
    """Every AWS call the CLI makes, recorded; any of these on bad input is a change."""

    MUTATING = frozenset({"put_object", "start_execution", "put_item", "update_item", "send_task_success"})

    def __init__(self) -> None:
        self.calls: list[str] = []

    def client(self, service: str) -> Any:
        clients = self

        class Client:
            def __getattr__(self, name: str) -> Callable[..., Any]:
                def call(**kwargs: Any) -> dict[str, Any]:
                    clients.calls.append(name)
                    return {"status": "SUCCEEDED", "events": [], "executionArn": "arn", "Items": [], "output": "{}"}

                return call

        return Client()

    def outputs(self) -> StackOutputs:
        return StackOutputs(
            state_machine_arn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:Deploy",
            ledger_table="ledger",
            artifact_bucket="rollgate-artifacts-123456789012",
            event_bus="bus",
            release_state_machine_arn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:Release",
            remediate_state_machine_arn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:Remediate",
        )

    stack = "Rollgate"

    @property
    def mutated(self) -> bool:
        return any(call in self.MUTATING for call in self.calls)


def _files(folder: Path) -> dict[str, str]:
    good = folder / "good.zip"
    with zipfile.ZipFile(good, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {'ok': True}\n")
    empty = folder / "empty.zip"
    with zipfile.ZipFile(empty, "w"):
        pass
    damaged = folder / "damaged.zip"
    with zipfile.ZipFile(damaged, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("app.py", "x" * 200)
    data = bytearray(damaged.read_bytes())
    data[data.index(b"xxxx")] = ord("y")  # the member's bytes no longer match its CRC
    damaged.write_bytes(bytes(data))
    files = {"good.zip": good, "empty.zip": empty, "damaged.zip": damaged}
    for name, text in {
        "text.zip": "print('not a zip')",
        "deep.json": "[" * 5000 + "]" * 5000,
        "nan.json": '{"latency_min_delta_ms": NaN}',
        "negative.json": '{"latency_min_delta_ms": -1}',
        "huge.json": '{"max_extension_seconds": 1e400}',
        "surrogate.json": '{"alarm_names": ["\\ud800"]}',
        "array.json": "[1, 2]",
        "broken.json": '{"metric_period_seconds": ',
        "manifest-bad-env.json": json.dumps(
            set_path(MANIFEST, ("waves", 1, "functions", 0, "environment"), {"AWS_REGION": "x"})
        ),
        "manifest-twice.json": json.dumps(
            set_path(MANIFEST, ("waves", 1, "functions", 0, "function_name"), f"{ACCOUNT}:function:payments-api")
        ),
        "manifest-nan.json": json.dumps(MANIFEST).replace('"error_rate_ceiling": 0.05', '"error_rate_ceiling": NaN'),
        "manifest.json": json.dumps(MANIFEST),
    }.items():
        (folder / name).write_text(text)
        files[name] = folder / name
    (folder / "latin1.json").write_bytes(b'{"a": "\xff"}')
    files["latin1.json"] = folder / "latin1.json"
    files["missing.zip"] = folder / "missing.zip"
    files["folder.zip"] = folder
    return {name: str(path) for name, path in files.items()}


BAD_NUMBERS = st.sampled_from(
    ["-1", "0", "nan", "inf", "-inf", "1e999", "\uff11", "", " 2", "2s", "1e3", "99999999999"]
)
BAD_URLS = st.sampled_from(
    [
        "http//127.0.0.1:4566",
        "localhost:4566",
        "ftp://x",
        "http://",
        "http://h:99999",
        "http://h:port",
        "http://h :1",
        "http://\u00e9.example",
        "http://[::1",
        "\x00",
        "",
        "http://h:0",
    ]
)


def cli_cases(files: dict[str, str]) -> st.SearchStrategy[tuple[str, list[str]]]:
    """(the flag that is bad, a command line with that flag bad and everything else fine)."""
    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:Deploy:exec-1"
    base = {
        "deploy": ["deploy", "--function", "orders-api", "--zip", files["good.zip"]],
        "release": ["release", "--manifest", files["manifest.json"]],
        "rollback": ["rollback", "--function", "orders-api"],
        "watch": ["watch", arn],
        "status": ["status", "--function", "orders-api"],
        "history": ["history", "--function", "orders-api"],
    }
    every = ["deploy", "release", "rollback", "watch", "status", "history"]
    polled = ["deploy", "release", "rollback", "watch"]
    text = lambda flag: TEXTS.filter(lambda v: isinstance(v, str) and v != "").map(lambda v: [flag, v])  # noqa: E731
    bad: list[tuple[list[str], str, st.SearchStrategy[list[str]]]] = [
        (polled, "--poll-seconds", BAD_NUMBERS.map(lambda v: ["--poll-seconds", v])),
        (every, "--endpoint-url", BAD_URLS.map(lambda v: ["--endpoint-url", v])),
        (every, "--region", st.sampled_from(["us east 1", "US-EAST-1", "x", "\x00"]).map(lambda v: ["--region", v])),
        (
            ["deploy", "rollback", "status", "history"],
            "--function",
            FUNCTION_NAMES.filter(lambda v: isinstance(v, str) and v and "\x00" not in v).map(
                lambda v: ["--function", v]
            ),
        ),
        (
            ["deploy", "rollback", "status"],
            "--alias",
            ALIASES.filter(lambda v: isinstance(v, str) and v and "\x00" not in v).map(lambda v: ["--alias", v]),
        ),
        (
            ["deploy"],
            "--zip",
            st.sampled_from(["text.zip", "empty.zip", "damaged.zip", "missing.zip", "folder.zip"]).map(
                lambda name: ["--zip", files[name]]
            ),
        ),
        (
            ["deploy"],
            "--env",
            st.one_of(
                ENV_KEYS.filter(lambda k: "\x00" not in k and "=" not in k).map(lambda k: ["--env", f"{k}=on"]),
                st.sampled_from([["--env", "NOEQUALS"], ["--env", "=v"]]),
            ),
        ),
        (["deploy"], "--require-env", ENV_KEYS.filter(lambda k: "\x00" not in k).map(lambda k: ["--require-env", k])),
        (
            ["deploy"],
            "--smoke-payload",
            st.sampled_from(
                [
                    "{",
                    "[" * 3000 + "]" * 3000,
                    '{"x": NaN}',
                    '"\\ud800"',
                    '{"n": 1e400}',
                    "x" * (MAX_REQUEST_BYTES + 10),
                ]
            ).map(lambda v: ["--smoke-payload", v]),
        ),
        (
            ["deploy"],
            "--watch-seconds",
            st.one_of(BAD_NUMBERS.filter(lambda v: v != "0"), st.just("31536000")).map(
                lambda v: ["--watch-seconds", v]
            ),
        ),
        (
            ["deploy"],
            "--strategy",
            st.sampled_from(
                [
                    "canary:\uff11\uff10:300",
                    "canary:10:-5",
                    "linear:0:60",
                    "bogus",
                    "canary:10:99999999999",
                    "canary:10",
                    "canary:+10:60",
                    "linear:10: 60",
                ]
            ).map(lambda v: ["--strategy", v]),
        ),
        (
            ["deploy"],
            "--policy",
            st.sampled_from(
                [
                    "deep.json",
                    "nan.json",
                    "negative.json",
                    "huge.json",
                    "surrogate.json",
                    "array.json",
                    "broken.json",
                    "latin1.json",
                    "missing.zip",
                ]
            ).map(lambda name: ["--policy", files[name]]),
        ),
        (
            ["release"],
            "--manifest",
            st.sampled_from(
                [
                    "deep.json",
                    "manifest-bad-env.json",
                    "manifest-twice.json",
                    "manifest-nan.json",
                    "array.json",
                    "broken.json",
                    "latin1.json",
                    "missing.zip",
                ]
            ).map(lambda name: ["--manifest", files[name]]),
        ),
        (
            ["rollback"],
            "--lookback-minutes",
            st.one_of(BAD_NUMBERS, st.just("999999999")).map(lambda v: ["--lookback-minutes", v]),
        ),
        (["rollback"], "--reason", text("--reason")),
        (["history"], "--limit", BAD_NUMBERS.map(lambda v: ["--limit", v])),
        (
            ["watch"],
            "EXECUTION",
            st.sampled_from(
                [
                    "arn",
                    "",
                    f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:Deploy",
                    arn + "\n",
                    arn.replace("1", "\uff11"),
                ]
            ),
        ),
    ]
    options = [(command, flag, strategy) for commands, flag, strategy in bad for command in commands]

    def build(option: tuple[str, str, st.SearchStrategy[Any]]) -> st.SearchStrategy[tuple[str, list[str]]]:
        command, flag, strategy = option
        if flag == "EXECUTION":
            return strategy.map(lambda value: (flag, ["watch", value]))
        return strategy.map(lambda extra: (flag, [*base[command], *extra]))

    return st.sampled_from(options).flatmap(build)


# a flag's value is checked by a model: its error names the field the flag fills
FIELD_OF_FLAG = {
    "--function": ("--function", "function_name"),
    "--alias": ("--alias", "alias"),
    "--env": ("--env", "environment"),
    "--require-env": ("--require-env", "required_environment"),
    "--watch-seconds": ("--watch-seconds", "watch_seconds"),
    "--policy": ("--policy", "health"),
    "--strategy": ("strategy",),
    "--reason": ("reason",),
    "--lookback-minutes": ("--lookback-minutes", "lookback_minutes"),
    "--manifest": ("--manifest", "manifest"),
    "EXECUTION": ("EXECUTION",),
}


def test_a_bad_command_line_exits_2_naming_the_flag_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _files(tmp_path)
    fakes: list[FakeClients] = []

    def connect(args: Any) -> FakeClients:
        fakes.append(FakeClients())
        return fakes[-1]

    monkeypatch.setattr(cli_main.Connection, "from_args", staticmethod(connect))

    @fast(220)
    @given(cli_cases(files))
    def bad_command_line(case: tuple[str, list[str]]) -> None:
        flag, argv = case
        fakes.clear()
        TALLY["bad"] += 1
        out, err, usage = io.StringIO(), io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stderr(usage):
                code = cli_main.run(argv, out=out, err=err)
        except BaseException as error:  # a traceback is what a user would see
            TALLY["crash"] += 1
            raise AssertionError(f"{argv!a} crashed: {type(error).__name__}: {error}") from error
        said = err.getvalue() + usage.getvalue()
        if any(fake.mutated for fake in fakes):
            TALLY["mutation"] += 1
            raise AssertionError(f"{argv!a} changed something: {[fake.calls for fake in fakes]}")
        if code != cli_main.EXIT_USAGE:
            TALLY["mutation" if code == 0 else "crash"] += 1
            raise AssertionError(f"{argv!a} exited {code}, not 2: {said}")
        TALLY["refused"] += 1
        if not any(name in said for name in FIELD_OF_FLAG.get(flag, (flag,))):
            TALLY["unnamed"] += 1
            raise AssertionError(f"{argv!a}: the error does not name {flag}: {said}")

    bad_command_line()


def test_the_property_suite_tries_enough_bad_inputs() -> None:
    """A guard on the guard: the catalogues above stay big enough to mean something."""
    sizes = {
        "request": len(REQUEST_FIELDS),
        "manifest": len(MANIFEST_FIELDS),
        "alarm": len(ALARM_FIELDS),
        "manual": len(MANUAL_FIELDS),
    }
    assert sizes["request"] >= 30 and all(size >= 5 for size in sizes.values()), sizes

"""In-memory stand-ins for the ports in rollgate.domain.shared.ports: no network, no moto."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from rollgate.domain.judge.health import AlarmObservation, GaugeSample, PeriodStats
from rollgate.domain.shared.errors import ConflictError, DeploymentInProgress, HookFailed, NotFoundError
from rollgate.domain.shared.ports import (
    AlarmMetric,
    AliasRouting,
    ArtifactInfo,
    EventSourceMapping,
    FunctionConfig,
    ImageInfo,
    Invocation,
    Lease,
    ProvisionedConcurrencyConfig,
)
from rollgate.domain.shared.records import (
    DeploymentRecord,
    ReleaseRecord,
    RemediationRecord,
    UnknownRecord,
    history_record,
)


def sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


@dataclass
class FakeFunction:
    latest: FunctionConfig
    versions: dict[str, FunctionConfig] = field(default_factory=dict)
    aliases: dict[str, AliasRouting] = field(default_factory=dict)
    code: dict[str, bytes] = field(default_factory=dict)  # code sha -> zip bytes
    mappings: list[EventSourceMapping] = field(default_factory=list)
    pending_polls: int = 0  # how many reads report InProgress after an update
    fail_next_update: str | None = None


class FakeLambda:
    """Enough of Lambda for the gates: versions, weighted aliases, RevisionId checks, updates
    that stay InProgress for `update_polls` reads, invocations answered by `responder`."""

    def __init__(self, update_polls: int = 1) -> None:
        self.functions: dict[str, FakeFunction] = {}
        self.update_polls = update_polls
        self.invocations: list[tuple[str, str | None, Any]] = []
        self.responder = lambda name, version, payload: Invocation(200, None, {"ok": True, "version": version})
        self._revision = 0
        self.alias_updates = 0
        self.publishes = 0
        self.code_updates: list[dict[str, Any]] = []
        self.configuration_updates: list[dict[str, Any]] = []
        self.provisioned: dict[tuple[str, str], ProvisionedConcurrencyConfig] = {}
        self.pc_ready_after = 1  # reads that still say IN_PROGRESS after a put
        self.pc_reads_left: dict[tuple[str, str], int] = {}
        self.pc_outcome = "READY"  # or "FAILED"
        self.pc_puts: list[tuple[str, int]] = []
        self.pc_deletes: list[str] = []
        self.deleted_versions: list[str] = []

    def _next_revision(self) -> str:
        self._revision += 1
        return f"rev-{self._revision}"

    def add_function(self, name: str, code: bytes, env: dict[str, str] | None = None, dlq: str | None = None) -> None:
        config = FunctionConfig(
            name=name,
            arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
            version="$LATEST",
            code_sha256=sha(code),
            revision_id=self._next_revision(),
            state="Active",
            last_update_status="Successful",
            last_update_reason=None,
            role="arn:aws:iam::123456789012:role/app",
            environment=dict(env or {}),
            dead_letter_target_arn=dlq,
        )
        fn = FakeFunction(latest=config)
        fn.code[config.code_sha256] = code
        self.functions[name] = fn
        v1 = replace(config, version="1", revision_id=self._next_revision())
        fn.versions["1"] = v1
        fn.aliases["live"] = AliasRouting("live", "1", {}, self._next_revision())

    def _fn(self, name: str) -> FakeFunction:
        if name not in self.functions:
            raise NotFoundError(f"Function not found: {name}")
        return self.functions[name]

    # --- LambdaApi
    def get_config(self, function_name: str, qualifier: str | None = None) -> FunctionConfig:
        fn = self._fn(function_name)
        if qualifier in (None, "$LATEST"):
            if fn.pending_polls > 0:
                fn.pending_polls -= 1
                return replace(fn.latest, last_update_status="InProgress")
            if fn.fail_next_update:
                reason, fn.fail_next_update = fn.fail_next_update, None
                fn.latest = replace(fn.latest, last_update_status="Failed", last_update_reason=reason)
            return fn.latest
        if qualifier in fn.aliases:
            qualifier = fn.aliases[qualifier].version
        if qualifier not in fn.versions:
            raise NotFoundError(f"version {qualifier} not found")
        return fn.versions[qualifier]

    def get_alias(self, function_name: str, alias: str) -> AliasRouting:
        fn = self._fn(function_name)
        if alias not in fn.aliases:
            raise NotFoundError(f"alias {alias} not found")
        return fn.aliases[alias]

    def _check_revision(self, fn: FakeFunction, revision_id: str) -> None:
        if revision_id != fn.latest.revision_id:
            raise ConflictError("stale RevisionId")

    def update_code(self, function_name, *, bucket, key, object_version, image_uri, revision_id, architectures=None):
        fn = self._fn(function_name)
        self._check_revision(fn, revision_id)
        if image_uri:
            code_sha, changes = image_uri.rsplit("@sha256:", 1)[1], {"image_uri": image_uri}
        else:
            code = ARTIFACTS.blobs[(bucket, key)]
            fn.code[sha(code)] = code
            code_sha, changes = sha(code), {}
        if architectures:
            changes["architectures"] = tuple(architectures)
        fn.latest = replace(fn.latest, code_sha256=code_sha, revision_id=self._next_revision(), **changes)
        fn.pending_polls = self.update_polls
        self.code_updates.append(changes)
        return fn.latest

    def update_configuration(self, function_name, *, environment, settings, revision_id):
        fn = self._fn(function_name)
        self._check_revision(fn, revision_id)
        values = {k: tuple(v) if k == "layers" else v for k, v in settings.items()}
        fn.latest = replace(fn.latest, environment=dict(environment), revision_id=self._next_revision(), **values)
        fn.pending_polls = self.update_polls
        self.configuration_updates.append(dict(settings))
        return fn.latest

    def update_environment(self, function_name, environment, revision_id):
        fn = self._fn(function_name)
        self._check_revision(fn, revision_id)
        fn.latest = replace(fn.latest, environment=dict(environment), revision_id=self._next_revision())
        fn.pending_polls = self.update_polls
        return fn.latest

    def list_versions(self, function_name):
        return list(self._fn(function_name).versions.values())

    def publish_version(self, function_name, code_sha256, revision_id, description):
        fn = self._fn(function_name)
        self._check_revision(fn, revision_id)
        if code_sha256 != fn.latest.code_sha256:
            raise ConflictError("CodeSha256 does not match")
        self.publishes += 1
        number = str(max(int(v) for v in fn.versions) + 1)
        fn.versions[number] = replace(fn.latest, version=number)
        return fn.versions[number]

    def update_alias(self, function_name, alias, *, version, additional_weights, revision_id):
        fn = self._fn(function_name)
        if fn.aliases[alias].revision_id != revision_id:
            raise ConflictError("stale alias RevisionId")
        self.alias_updates += 1
        fn.aliases[alias] = AliasRouting(alias, version, dict(additional_weights), self._next_revision())
        return fn.aliases[alias]

    def invoke(self, function_name, qualifier, payload, asynchronous=False):
        self.invocations.append((function_name, qualifier, payload))
        return self.responder(function_name, qualifier, payload)

    def list_event_source_mappings(self, function_name):
        return list(self._fn(function_name).mappings)

    def provisioned_concurrency_versions(self, function_name):
        return [q for (name, q) in self.provisioned if name == function_name]

    # provisioned concurrency: IN_PROGRESS for `pc_ready_after` reads after each put, then READY
    def get_provisioned_concurrency(self, function_name, qualifier):
        config = self.provisioned.get((function_name, qualifier))
        if config is None:
            return None
        if config.status == "IN_PROGRESS":
            left = self.pc_reads_left.get((function_name, qualifier), 0)
            if left <= 0:
                config = replace(config, status=self.pc_outcome, allocated=config.requested, available=config.requested)
                self.provisioned[(function_name, qualifier)] = config
            else:
                self.pc_reads_left[(function_name, qualifier)] = left - 1
        return config

    def put_provisioned_concurrency(self, function_name, qualifier, executions):
        self.pc_puts.append((qualifier, executions))
        self.provisioned[(function_name, qualifier)] = ProvisionedConcurrencyConfig(
            qualifier, executions, 0, 0, "IN_PROGRESS", "FAILED: no capacity" if self.pc_outcome == "FAILED" else None
        )
        self.pc_reads_left[(function_name, qualifier)] = self.pc_ready_after

    def delete_provisioned_concurrency(self, function_name, qualifier):
        self.pc_deletes.append(qualifier)
        self.provisioned.pop((function_name, qualifier), None)

    def list_aliases(self, function_name):
        return list(self._fn(function_name).aliases.values())

    def delete_version(self, function_name, version):
        assert version.isdigit(), version
        self.deleted_versions.append(version)
        self._fn(function_name).versions.pop(version, None)


class FakeArtifacts:
    def __init__(self) -> None:
        self.blobs: dict[tuple[str, str], bytes] = {}

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self.blobs[(bucket, key)] = data

    def inspect(self, bucket, key, version_id):
        data = self.blobs.get((bucket, key))
        return ArtifactInfo(exists=data is not None, code_sha256=sha(data) if data is not None else None)


ARTIFACTS = FakeArtifacts()


class FakeMetrics:
    """Series per version, set by the test; None fields model 'no datapoint'."""

    def __init__(self) -> None:
        self.series: dict[str, list[PeriodStats]] = {}
        self.ages: list[GaugeSample] = []
        self.custom: dict[tuple[str, str | None], list[GaugeSample]] = {}
        self.custom_reads: list[tuple[str, str | None]] = []

    def version_series(self, function_name, alias, version, start, end, period_seconds):
        return [p for p in self.series.get(version, []) if start <= p.start < end]

    def iterator_age(self, function_name, start, end, period_seconds):
        return self.ages

    def custom_series(self, metric, version, start, end, period_seconds):
        """`self.custom[(metric name, version or None)]`, the samples in the window asked."""
        self.custom_reads.append((metric.name, version))
        return [s for s in self.custom.get((metric.name, version), []) if start <= s.at < end]


class FakeQueues:
    def __init__(self) -> None:
        self.depths: dict[str, int] = {}
        self.redrives: dict[str, str] = {}  # source queue ARN -> its dead-letter queue ARN

    def redrive_target(self, queue):
        return self.redrives.get(queue)

    def depth(self, queue):
        return self.depths.get(queue, 0)


class FakeAlarms:
    def __init__(self) -> None:
        self.state: dict[str, str] = {}
        self.metrics: dict[str, AlarmMetric] = {}  # what each alarm watches, when the test says

    def watched_metrics(self, alarm_names):
        return {n: self.metrics[n] for n in alarm_names if n in self.metrics}

    def states(self, alarm_names):
        return [
            AlarmObservation(name=n, state_at_preflight=self.state.get(n, "OK"), state_now=self.state.get(n, "OK"))
            for n in alarm_names
        ]


class FakeLedger:
    def __init__(self) -> None:
        self.leases: dict[tuple[str, str], Lease] = {}
        self.deployments: dict[str, dict[str, Any]] = {}
        self.aborts: dict[tuple[str, str], str] = {}
        self.releases: list[dict[str, Any]] = []

    def acquire_lease(self, lease):
        key = (lease.function_name, lease.alias)
        held = self.leases.get(key)
        if held and held.holder != lease.holder and held.expires_at > lease.acquired_at:
            raise DeploymentInProgress(f"{lease.function_name}:{lease.alias} is being deployed by {held.holder}")
        if held and held.holder == lease.holder:
            return held
        self.leases[key] = lease
        return lease

    def release_lease(self, function_name, alias, holder):
        held = self.leases.get((function_name, alias))
        if held and held.holder == holder:
            del self.leases[(function_name, alias)]
            return True
        return False

    def current_lease(self, function_name, alias):
        return self.leases.get((function_name, alias))

    def put_deployment(self, record):
        """Stored as the adapter stores it (the record's JSON document, in `deployments`); a test may
        hand a plain dict, read as the adapter reads an item."""
        if isinstance(record, dict):
            record = history_record(record, "FakeLedger.put_deployment")
        assert isinstance(record, DeploymentRecord | RemediationRecord | UnknownRecord), type(record)
        self.deployments[record.deployment_id] = record.document()

    def get_deployment(self, function_name, alias, deployment_id):
        document = self.deployments.get(deployment_id)
        return history_record(document) if document is not None else None

    def list_deployments(self, function_name, alias=None, limit=20):
        mine = [
            d
            for d in self.deployments.values()
            if d["function_name"] == function_name and (alias is None or d["alias"] == alias)
        ]
        newest = sorted(mine, key=lambda d: d["deployment_id"], reverse=True)[:limit]
        return [history_record(d) for d in newest]

    def put_release(self, record):
        assert isinstance(record, ReleaseRecord), type(record)
        self.releases.append(record.document())

    def abort_requested(self, function_name, alias):
        return self.aborts.get((function_name, alias))

    def request_abort(self, function_name, alias, reason):
        self.aborts[(function_name, alias)] = reason

    def clear_abort(self, function_name, alias):
        self.aborts.pop((function_name, alias), None)


class FakeEvents:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []

    def publish(self, detail_type, detail):
        self.published.append((detail_type, detail))


class FakeHooks:
    """ports.HookInvoker: answers per hook function name; a name in `silent` never answers in time."""

    def __init__(self) -> None:
        self.answers: dict[str, Invocation] = {}
        self.silent: set[str] = set()
        self.calls: list[tuple[str, Any, int]] = []

    def invoke_hook(self, function_name, payload, timeout_seconds):
        self.calls.append((function_name, payload, timeout_seconds))
        if function_name in self.silent:
            raise HookFailed(f"hook {function_name} gave no answer within {timeout_seconds} s")
        return self.answers.get(function_name, Invocation(200, None, {"status": "pass", "reason": "all good"}))


class FakeImages:
    def __init__(self) -> None:
        self.present: set[str] = set()

    def inspect_image(self, image_uri):
        return ImageInfo(exists=image_uri in self.present, digest=image_uri.rsplit("@", 1)[1])

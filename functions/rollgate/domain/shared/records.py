"""The ledger's records, typed: what the ledger port takes and returns.

Four places write into the ledger's history and release runs, and each writes one kind of record:
- Record (and the execution's own Reconcile) writes a **deployment** (`DeploymentRecord`: the
  DeploymentResult, the request it ran, the event mark); Reconcile writes one for an execution
  that ended without its Record, with `reconciled` saying what it found and did;
- RecordRemediation and the Release workflow's RevertFunction write a **remediation**
  (`RemediationRecord`), in the same function+alias history so it reads as one timeline;
- RecordRelease writes a **release** run (`ReleaseRecord`), under the release's own key.

They are told apart by `kind`, which every writer has set since remediations joined the history;
an item written before then has none and is a deployment. An item of a kind this code does not know
(written by a newer version) loads as an `UnknownRecord`, every field kept. Each record accepts
only its own workflow's outcomes (contract.DEPLOY_STATUSES, …): a deployment cannot say RELEASED.
Records keep fields they do not declare, so a rewrite by older code (an event mark) loses nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    field_serializer,
    field_validator,
)

from rollgate.contract import DEPLOY_STATUSES, RELEASE_STATUSES, REMEDIATION_STATUSES, Status
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.models import DeploymentResult, Evidence, describe_validation_error, status_of


class _Stored(BaseModel):
    """A ledger record: unknown fields kept (a newer writer's), dumped as JSON with the optional
    fields a writer left out still left out."""

    model_config = ConfigDict(extra="allow")
    #: fields written only when they have a value (older items do not carry them)
    _WHEN_SET: ClassVar[tuple[str, ...]] = ()

    def document(self) -> dict[str, Any]:
        """The record as the ledger stores it (plain JSON values)."""
        data = self.model_dump(mode="json")
        for name in self._WHEN_SET:
            if data.get(name) is None:
                data.pop(name, None)
        return data


class ReconcileNote(BaseModel):
    """What Reconcile found and did when it wrote the outcome an ended execution never recorded."""

    model_config = ConfigDict(extra="allow")

    found: list[str] = Field(default_factory=list)
    did: list[str] = Field(default_factory=list)


class DeploymentRecord(DeploymentResult, _Stored):
    """One deployment of a function+alias: the DeployFunction outcome with what it ran."""

    model_config = ConfigDict(extra="allow")
    _WHEN_SET: ClassVar[tuple[str, ...]] = ("event_published", "reconciled", "request", "execution_arn")

    kind: Literal["deployment"] = "deployment"
    execution_arn: str | None = None
    #: the request the deployment ran: a later remediation smoke-tests the restored version with
    #: its tests, and a person can see exactly what was asked for
    request: dict[str, Any] | None = None
    #: the outcome whose event went out (Record and Reconcile announce once per outcome)
    event_published: Status | None = None
    reconciled: ReconcileNote | None = None

    def result(self) -> DeploymentResult:
        """The DeployFunction output of this record (what Record answers)."""
        return DeploymentResult.model_validate(self.model_dump())


class RemediationRecord(_Stored):
    """One remediation (Remediate, or a release's revert) in the function+alias history."""

    _WHEN_SET: ClassVar[tuple[str, ...]] = ("taken_over",)

    kind: Literal["remediation"] = "remediation"
    deployment_id: str = Field(description="the remediation's id, time-sortable beside the deployments'")
    function_name: str
    alias: str
    status: Status
    from_version: str | None = Field(default=None, description="the version it rolled back from")
    to_version: str | None = Field(default=None, description="the version it put back")
    reason: str
    trigger: str = Field(description="alarm, manual or release")
    started_at: datetime
    finished_at: datetime
    execution_arn: str | None = None
    evidence: dict[str, list[Evidence]] = Field(default_factory=dict)
    alarm: dict[str, Any] | None = None
    culprit: dict[str, Any] | None = None
    release_id: str | None = None
    taken_over: str | None = Field(default=None, description="the ended deployment it took the lease over from")

    @field_validator("status")
    @classmethod
    def _a_remediation_status(cls, value: Status) -> Status:
        return status_of(value, REMEDIATION_STATUSES, "remediation")

    @field_serializer("started_at", "finished_at", when_used="json")
    def _as_written(self, moment: datetime) -> str:
        # remediations have always stored their times this way (and their items' attributes show it)
        return moment.isoformat()


class _Planned(Protocol):
    """A function a release planned (rollgate.domain.release.waves.PlannedDeployment)."""

    function_name: str
    alias: str
    wave: int
    execution_name: str


class FunctionOutcome(BaseModel):
    """One function of a release: its child deployment's outcome (or that it never started)."""

    model_config = ConfigDict(extra="ignore")

    function_name: str
    alias: str
    wave: int
    #: a deployment outcome, or NOT_STARTED: its wave never ran (not approved, outside its window,
    #: or after a failure)
    status: Status
    from_version: str | None = None
    to_version: str | None = None
    reason: str = ""
    deployment_id: str | None = None
    execution_name: str | None = None

    @field_validator("status")
    @classmethod
    def _a_deployment_status(cls, value: Status) -> Status:
        return status_of(value, DEPLOY_STATUSES | {Status.NOT_STARTED}, "release's function")

    @classmethod
    def not_started(cls, planned: _Planned, reason: str) -> FunctionOutcome:
        """A planned function whose wave never ran, and why."""
        return cls(
            function_name=planned.function_name,
            alias=planned.alias,
            wave=planned.wave,
            status=Status.NOT_STARTED,
            reason=reason,
            execution_name=planned.execution_name,
        )

    @property
    def promoted(self) -> bool:
        return self.status is Status.PROMOTED

    @property
    def changed_alias(self) -> bool:
        """Promoted to a version other than the one that was live: something to revert."""
        return self.promoted and bool(self.from_version and self.to_version) and self.from_version != self.to_version


class RevertOutcome(BaseModel):
    model_config = ConfigDict(extra="ignore")

    function_name: str
    alias: str
    status: str  # RESTORED | ALREADY_RESTORED | MOVED_ON | FAILED
    detail: str


class ReleaseRecord(_Stored):
    """One run of a release (RecordRelease's answer and its ledger record)."""

    kind: Literal["release"] = "release"
    release_id: str
    execution_name: str
    execution_arn: str | None = None
    application: str | None = None
    status: Status
    atomic: bool | None = None
    reason: str
    source: dict[str, Any] = Field(default_factory=dict)
    started_at: datetime
    finished_at: datetime
    functions: list[FunctionOutcome] = Field(default_factory=list)
    reverts: list[RevertOutcome] = Field(default_factory=list)
    #: each bake between two waves (rollgate.domain.release.bake.BakeProgress): its functions'
    #: verdicts, how it ended and why
    bakes: list[dict[str, Any]] = Field(default_factory=list)
    error_name: str | None = None

    @field_validator("status")
    @classmethod
    def _a_release_status(cls, value: Status) -> Status:
        return status_of(value, RELEASE_STATUSES, "release")


class UnknownRecord(_Stored):
    """An item of a kind this code does not know (a newer writer's): kept whole, shown as it is."""

    kind: str
    deployment_id: str | None = None
    function_name: str | None = None
    alias: str | None = None
    status: str | None = None
    from_version: str | None = None
    to_version: str | None = None
    reason: str = ""
    trigger: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    execution_arn: str | None = None


#: The records of a function+alias history (the ledger's DEPLOY# items).
HistoryRecord = DeploymentRecord | RemediationRecord | UnknownRecord
#: Any record the ledger holds.
LedgerRecord = HistoryRecord | ReleaseRecord

_KINDS = frozenset({"deployment", "remediation", "release"})


def _kind(value: Any) -> str:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    kind = kind or "deployment"  # items written before remediations joined the history
    return kind if kind in _KINDS else "unknown"


_RECORD: TypeAdapter[LedgerRecord] = TypeAdapter(
    Annotated[
        Annotated[DeploymentRecord, Tag("deployment")]
        | Annotated[RemediationRecord, Tag("remediation")]
        | Annotated[ReleaseRecord, Tag("release")]
        | Annotated[UnknownRecord, Tag("unknown")],
        Discriminator(_kind),
    ]
)


def ledger_record(document: Any, where: str = "") -> LedgerRecord:
    """The record of a stored document, by its `kind` (none: a deployment). InvalidRequest names
    `where` (the item), the kind and each bad field."""
    if isinstance(document, dict) and _kind(document) == "unknown":
        return UnknownRecord.model_validate(document)
    try:
        return _RECORD.validate_python(document)
    except ValidationError as error:
        kind = _kind(document) if isinstance(document, dict) else type(document).__name__
        # the union's tag leads every path ("deployment.status"): say the kind once, up front
        problems = describe_validation_error(error).replace(f"{kind}.", "")
        raise InvalidRequest(f"{where or 'ledger record'} ({kind}): {problems}") from None


def history_record(document: Any, where: str = "") -> HistoryRecord:
    """A record of a function+alias history (a release run is not one)."""
    record = ledger_record(document, where)
    if isinstance(record, ReleaseRecord):
        raise InvalidRequest(f"{where or 'ledger record'}: a release run is not a deployment or remediation record")
    return record

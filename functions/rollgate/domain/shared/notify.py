"""One readable line per outcome, for people: what happened, which version to which, why, and where
the evidence is. It rides in every outcome event as `detail.message`; the notifications rule sends
exactly that text to the SNS topic (email, chat)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rollgate.contract import Status
from rollgate.domain.shared.records import HistoryRecord, ReleaseRecord, RemediationRecord

MAX_MESSAGE = 1000

#: What every outcome event about one function says first: which function, which versions, why.
FUNCTION_OUTCOME_FIELDS = ("deployment_id", "function_name", "alias", "status", "from_version", "to_version", "reason")


@dataclass(frozen=True)
class Announcement:
    """How a workflow's conclusion is announced on the bus and counted: the record's fields the event
    carries (the full record stays in the ledger; events are capped at 256 KB), the metric that
    counts outcomes (dimension `outcome`), and the event's detail type per outcome, `<noun>
    <Outcome>` ("Deployment Rolled Back", "Remediation No Action"): the rules and the
    notifications match on these."""

    noun: str
    statuses: frozenset[Status]
    fields: tuple[str, ...]
    metric: str

    @property
    def detail_types(self) -> Mapping[Status, str]:
        return {s: f"{self.noun} {s.value.replace('_', ' ').title()}" for s in self.statuses}


def _evidence(function_name: str | None, execution_arn: str | None) -> str:
    where = [f"`rollgate history --function {function_name}`"] if function_name else []
    if execution_arn:
        where.append(f"execution {execution_arn}")
    return "Evidence: " + (" and ".join(where) or "the Rollgate ledger") + "."


def _versions(record: HistoryRecord) -> str:
    before, after = record.from_version, record.to_version
    if before and after:
        return f" v{before} -> v{after}"
    return f" v{after}" if after else ""


def _clip(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _status(record: HistoryRecord | ReleaseRecord) -> str:
    status = record.status
    return status.value if isinstance(status, Status) else str(status)


def deployment_message(record: HistoryRecord) -> str:
    """`Deployment orders-api:live ROLLED_BACK v1 -> v2: <reason>. Evidence: …`"""
    target = f"{record.function_name}:{record.alias}"
    return _clip(
        f"Deployment {target} {_status(record)}{_versions(record)}: {record.reason}. "
        + _evidence(record.function_name, record.execution_arn)
    )


def remediation_message(record: RemediationRecord) -> str:
    target = f"{record.function_name}:{record.alias}"
    moved = f" v{record.from_version} -> v{record.to_version}" if record.from_version and record.to_version else ""
    return _clip(
        f"Remediation of {target} {_status(record)}{moved} ({record.trigger}): "
        f"{record.reason}. " + _evidence(record.function_name, record.execution_arn)
    )


def release_message(record: ReleaseRecord) -> str:
    functions = record.functions
    listed = ", ".join(
        f"{f.function_name} {f.status.value}" + (f" v{f.from_version}->v{f.to_version}" if f.to_version else "")
        for f in functions[:10]
    )
    more = f" (+{len(functions) - 10} more)" if len(functions) > 10 else ""
    return _clip(
        f"Release {record.release_id} {_status(record)}: {record.reason}. "
        f"Functions: {listed or 'none'}{more}. " + _evidence(None, record.execution_arn)
    )

"""`rollgate status` and `rollgate history`: the alias, the lease and the ledger, for people
(a table) and for scripts (`--output json`: one document, its fields listed in the README)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TextIO

from rollgate.aws.clock import SystemClock
from rollgate.aws.lambda_api import Boto3LambdaApi
from rollgate.aws.ledger import DynamoLedger
from rollgate.domain.shared.records import HistoryRecord
from rollgate.domain.shared.routing import describe
from rollgate_cli.output import report, wants_json
from rollgate_cli.progress import outcome_label, readable_cause
from rollgate_cli.session import Connection


def ledger_for(conn: Connection) -> DynamoLedger:
    return DynamoLedger(conn.client("dynamodb"), conn.outputs().ledger_table, SystemClock())


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=False)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def versions(record: HistoryRecord) -> str:
    before, after = record.from_version, record.to_version
    return f"v{before} -> v{after}" if before and after else "-"


def _when(moment: datetime | str | None) -> str:
    text = moment.isoformat() if isinstance(moment, datetime) else moment or ""
    return text[:19].replace("T", " ")


def history_rows(records: list[HistoryRecord]) -> list[list[str]]:
    return [
        [
            _when(r.started_at),
            r.alias or "",
            r.kind,
            r.trigger or "",
            outcome_label(r.document()),
            versions(r),
            readable_cause(r.reason)[:90],
        ]
        for r in records
    ]


#: The fields of a ledger record that `history --output json` lists for each record (the whole
#: record follows under "record").
SUMMARY_FIELDS = ("deployment_id", "kind", "function_name", "alias", "trigger", "status", "from_version", "to_version")


def record_summary(record: HistoryRecord) -> dict[str, Any]:
    document = record.document()
    summary = {name: document.get(name) for name in SUMMARY_FIELDS}
    summary.update(
        kind=record.kind,
        started_at=document.get("started_at"),
        finished_at=document.get("finished_at"),
        reason=readable_cause(record.reason),
    )
    return summary


def print_history(conn: Connection, function: str, alias: str | None, limit: int, out: TextIO) -> int:
    records = ledger_for(conn).list_deployments(function, alias, limit)
    report(
        out,
        {
            "function": function,
            "alias": alias,
            "limit": limit,
            "records": [{**record_summary(r), "record": r.document()} for r in records],
        },
    )
    if wants_json(out):
        return 0
    if not records:
        print(f"no deployments or remediations of {function}{':' + alias if alias else ''} in the ledger", file=out)
        return 0
    print(
        table(history_rows(records), ["started (UTC)", "alias", "kind", "trigger", "outcome", "versions", "reason"]),
        file=out,
    )
    return 0


def print_status(conn: Connection, function: str, alias: str, out: TextIO) -> int:
    lambda_api = Boto3LambdaApi(conn.client("lambda"))
    routing = lambda_api.get_alias(function, alias)
    ledger = ledger_for(conn)
    lease = ledger.current_lease(function, alias)
    recent = ledger.list_deployments(function, alias, 1)
    report(
        out,
        {
            "function": function,
            "alias": alias,
            "routing": {"version": routing.version, "additional_weights": routing.additional_weights},
            "routes": describe(routing),
            "lease": None
            if lease is None
            else {"holder": lease.holder, "acquired_at": lease.acquired_at, "expires_at": lease.expires_at},
            "last_deployment": record_summary(recent[0]) if recent else None,
        },
    )
    if wants_json(out):
        return 0
    print(f"{function}:{alias} routes {describe(routing)}", file=out)
    if lease:
        print(f"deployment in progress: {lease.holder} since {lease.acquired_at:%Y-%m-%d %H:%M:%S} UTC", file=out)
    else:
        print("no deployment in progress", file=out)
    if recent:
        last = recent[0]
        print(f"last deployment: {outcome_label(last.document())} ({readable_cause(last.reason)})", file=out)
    return 0

"""`rollgate prune FUNCTION [--dry-run]`: delete old versions no alias, allocation, mapping or recent
ledger record needs, with the same rules the Prune state applies after a promotion."""

from __future__ import annotations

from typing import TextIO

from rollgate.aws.clock import current_clock
from rollgate.aws.lambda_api import Boto3LambdaApi
from rollgate.domain.deploy.prune import prune_versions
from rollgate.domain.shared.models import PrunePolicy, parse_model
from rollgate_cli.output import report as report_document
from rollgate_cli.output import wants_json
from rollgate_cli.session import Connection
from rollgate_cli.views import ledger_for, table


def run_prune(
    conn: Connection,
    *,
    function: str,
    keep_last: int,
    keep_days: int,
    max_deletions: int,
    dry_run: bool,
    out: TextIO,
) -> int:
    policy = parse_model(
        PrunePolicy,
        {"enabled": True, "keep_last": keep_last, "keep_days": keep_days, "max_deletions": max_deletions},
        "prune",
    )
    report = prune_versions(
        function,
        policy,
        lambda_api=Boto3LambdaApi(conn.client("lambda")),
        ledger=ledger_for(conn),
        clock=current_clock(),
        dry_run=dry_run,
    )
    report_document(
        out,
        {
            "function": function,
            "dry_run": dry_run,
            "deleted": list(report.deleted),
            "kept": [{"version": version, "why": why} for version, why in report.kept.items()],
        },
    )
    if wants_json(out):
        return 0
    rows = [[f"v{version}", "delete" if dry_run else "deleted", ""] for version in report.deleted]
    rows += [[f"v{version}", "keep", why] for version, why in report.kept.items()]
    if rows:
        print(table(rows, ["version", "action", "why"]), file=out)
    verb = "would delete" if dry_run else "deleted"
    print(f"{function}: {verb} {len(report.deleted)} version(s), kept {len(report.kept)}", file=out)
    return 0

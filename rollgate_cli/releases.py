"""`rollgate releases --application APP --branch BRANCH`: the branch's release queue (issue 14) —
which release runs, which are queued, and what each one waits for."""

from __future__ import annotations

from typing import Any, TextIO

from rollgate.aws.release_queue import DynamoReleaseQueue
from rollgate.domain.release.queue import Slot, Ticket, queue_key
from rollgate_cli.output import report, wants_json
from rollgate_cli.session import Connection, add_connection_arguments


def add_releases_command(commands: Any) -> None:
    """The `releases` subcommand on `commands` (the CLI's subparsers)."""
    parser = commands.add_parser(
        "releases", help="a release branch's queue: the release running and those queued behind it"
    )
    parser.add_argument("--application", required=True, help="the manifest's application")
    parser.add_argument("--branch", required=True, help="the release branch (e.g. release/1)")
    add_connection_arguments(parser)


def queue_rows(slot: Slot | None, tickets: list[Ticket]) -> list[dict[str, Any]]:
    """The queue in the order it runs: the slot's holder, then the tickets queued, each waiting for
    the one before it (a ticket with policy supersede ends when a newer one queues)."""
    rows: list[dict[str, Any]] = []
    if slot is not None:
        rows.append(
            {
                "state": "running",
                "release_id": slot.release_id,
                "execution_name": slot.holder,
                "since": slot.acquired_at.isoformat(),
                "waits_for": None,
            }
        )
    before = slot.describe() if slot is not None else None
    for ticket in tickets:
        if slot is not None and ticket.execution_name == slot.holder:
            continue
        rows.append(
            {
                "state": "queued",
                "release_id": ticket.release_id,
                "execution_name": ticket.execution_name,
                "commit": ticket.commit,
                "policy": ticket.policy,
                "since": ticket.joined_at.isoformat(),
                "waits_for": before,
            }
        )
        before = ticket.describe()
    return rows


def print_releases(conn: Connection, application: str, branch: str, out: TextIO) -> int:
    store = DynamoReleaseQueue(conn.client("dynamodb"), conn.outputs().ledger_table)
    queue = queue_key(application, branch)
    rows = queue_rows(store.slot(queue), store.tickets(queue))
    report(out, {"application": application, "branch": branch, "releases": rows})
    if wants_json(out):
        return 0
    if not rows:
        print(f"no release of {application} {branch} is running or queued", file=out)
        return 0
    for row in rows:
        line = f"{row['state']:<8} {row['release_id']}  execution {row['execution_name']}  since {row['since'][:19]}"
        if row["waits_for"]:
            line += f"  waits for {row['waits_for']}"
        print(line, file=out)
    return 0

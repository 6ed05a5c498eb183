"""`rollgate redrive FUNCTION [--alias A] [--rate N] [--max-seconds S] [--dry-run]`: the DLQ redrive
of the DeployFunction workflow (rollgate.domain.deploy.redrive), by hand.

The dead-letter queue of each SQS event source of the function is moved back to that source (SQS
StartMessageMoveTask at `--rate` messages a second), then followed a poll every `--poll-seconds`
with one line each (moved, DLQ depth, what came back), and stopped (CancelMessageMoveTask) when the
redriven messages fail again: the DLQ takes them back, or the consuming version's error rate rises
over its rate before the redrive. Exit 0: redriven (or nothing to redrive, or a dry run); 1: stopped,
or not finished in `--max-seconds` (the rest stays in the DLQ); 2: bad usage (nothing moved).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TextIO

from rollgate.aws.clock import current_clock
from rollgate.aws.lambda_api import Boto3LambdaApi
from rollgate.aws.metrics import CloudWatchMetricSource
from rollgate.aws.queues import SqsMessageMover, SqsQueueProbe
from rollgate.domain.deploy.redrive import RedriveProgress, RedriveTarget, plan_redrive, poll_moves, start_moves
from rollgate.domain.shared.models import RedrivePolicy, parse_model
from rollgate_cli.output import report
from rollgate_cli.session import Connection, UsageError, add_connection_arguments

EXIT_REDRIVEN, EXIT_STOPPED = 0, 1


def add_redrive_command(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    *,
    count: Callable[[str], float],
    seconds: Callable[[str], float],
) -> None:
    """The `redrive` subcommand on `commands`, with the CLI's own argument types (rollgate_cli.main's)."""
    redrive = commands.add_parser(
        "redrive", help="move a queue consumer's dead letters back to its source queue, stopping if they fail again"
    )
    redrive.add_argument("function", metavar="FUNCTION", help="the Lambda function (name or ARN)")
    redrive.add_argument("--alias", default="live", help="the alias whose version consumes (default: live)")
    redrive.add_argument(
        "--rate", type=count, default=10, help="messages moved per second, 1-500 (default: %(default)s)"
    )
    redrive.add_argument(
        "--max-seconds",
        type=seconds,
        default=600,
        help="cancel a move still running after this many seconds (default: %(default)s)",
    )
    redrive.add_argument(
        "--poll-seconds",
        type=seconds,
        default=10,
        help="how often the moves, the DLQs and the errors are read (default: %(default)s)",
    )
    redrive.add_argument("--dry-run", action="store_true", help="say what would be moved, move nothing")
    add_connection_arguments(redrive)


def run_redrive(conn: Connection, args: argparse.Namespace, out: TextIO, *, function: str) -> int:
    policy = parse_model(
        RedrivePolicy,
        {
            "after_fix": True,
            "max_messages_per_second": int(args.rate),
            "max_seconds": int(args.max_seconds),
            "poll_interval_seconds": max(1, int(args.poll_seconds)),
        },
        "redrive",
    )
    lambda_api = Boto3LambdaApi(conn.client("lambda"))
    routing = lambda_api.get_alias(function, args.alias)
    if routing.additional_weights:
        raise UsageError(
            f"{function}:{args.alias} routes to more than one version (a deployment is shifting it): redrive once "
            "it is promoted"
        )
    sqs = conn.client("sqs")
    queues, mover = SqsQueueProbe(sqs), SqsMessageMover(sqs)
    metrics = CloudWatchMetricSource(conn.client("cloudwatch"))
    clock = current_clock()
    target = RedriveTarget(function_name=function, alias=args.alias, version=routing.version, policy=policy)
    own_dlq = lambda_api.get_config(function).dead_letter_target_arn
    legs, skipped = plan_redrive(lambda_api.list_event_source_mappings(function), queues, function_dlq=own_dlq)
    progress = start_moves(
        target, legs, skipped, mover=mover, queues=queues, metrics=metrics, clock=clock, dry_run=args.dry_run
    )
    for note in progress.skipped:
        print(f"skipped: {note}", file=out)
    for evidence in progress.evidence:
        if evidence.check == "redrive" and not evidence.detail.startswith("skipped"):
            print(f"{function}:{args.alias} v{routing.version}: {evidence.detail}", file=out)
    sleep = conn.sleep
    while progress.status == "Running":
        sleep(policy.poll_interval_seconds)
        progress = poll_moves(target, progress, mover=mover, queues=queues, metrics=metrics, clock=clock)
        for evidence in progress.evidence:
            if evidence.check in ("redrive_poll", "redrive_note"):
                print(f"  {evidence.detail}", file=out)
    return _conclude(progress, out)


def _conclude(progress: RedriveProgress, out: TextIO) -> int:
    report(
        out,
        {
            "function_name": progress.function_name,
            "alias": progress.alias,
            "version": progress.version,
            "outcome": progress.outcome,
            "reason": progress.reason,
            "moved": progress.moved,
            "legs": [leg.model_dump(mode="json") for leg in progress.legs],
            "skipped": list(progress.skipped),
        },
    )
    print(f"{progress.outcome}: {progress.reason}", file=out)
    return EXIT_REDRIVEN if progress.outcome in ("REDRIVE_COMPLETED", "NOTHING_TO_REDRIVE", "SKIPPED") else EXIT_STOPPED

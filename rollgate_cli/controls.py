"""Steering a deployment in flight: `rollgate promote|pause|resume|abort FUNCTION`,
`rollgate approve|reject EXECUTION` (the approval gate's task token), and `rollgate retry
EXECUTION` (redrive a failed execution).

A control is written into the ledger beside the alias's lease, for the deployment holding it
(rollgate.domain.deploy.controls: who, why, when); the canary and watch tasks act on it at their next
judgement, within one metric period. A control for a deployment that is not running is refused
(exit 2) and nothing is written.
"""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Callable
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError

from rollgate.aws.clock import current_clock
from rollgate.aws.task_tokens import StepFunctionsTaskTokens
from rollgate.domain.deploy import controls
from rollgate.domain.deploy.controls import Control, ControlRecord, request_control
from rollgate.domain.shared.validation import StackHome
from rollgate_cli.output import report
from rollgate_cli.session import Connection, UsageError, add_connection_arguments
from rollgate_cli.views import ledger_for

#: command -> (help, what happens, for the confirmation line)
CONTROL_COMMANDS: dict[str, tuple[str, str]] = {
    "promote": (
        "skip the rest of the running canary step's bake (--full: every remaining step and the watch)",
        "moves on at its next judgement (within one metric period)",
    ),
    "pause": (
        "hold the running canary at its weight (judging goes on; a breach still rolls back)",
        "holds at its weight from its next judgement, at most health.max_hold_seconds in all",
    ),
    "resume": ("end a pause: the running deployment goes on", "goes on from its next judgement"),
    "abort": ("roll the running deployment back now", "rolls back at its next task"),
}
RETRY_COMMAND = "retry"
APPROVAL_COMMANDS = {
    "approve": "let a deployment waiting at its approval gate go on to the promotion",
    "reject": "refuse the promotion of a deployment waiting at its approval gate: it rolls back",
}


def add_control_commands(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    *,
    add_poll_argument: Callable[[argparse.ArgumentParser], None],
) -> None:
    for name, (summary, _) in CONTROL_COMMANDS.items():
        parser = commands.add_parser(name, help=summary, description=summary)
        parser.add_argument("function", metavar="FUNCTION", help="the function being deployed (name or ARN)")
        parser.add_argument("--alias", default="live", help="the alias being deployed (default: %(default)s)")
        if name == "promote":
            parser.add_argument(
                "--full", action="store_true", help="skip every remaining step and the watch: 100%% now"
            )
        parser.add_argument("--reason", default="no reason given", help="why (recorded in the ledger and the evidence)")
        parser.add_argument("--requested-by", help="who asks (default: your AWS identity, else your user name)")
        parser.add_argument(
            "--deployment",
            metavar="ID",
            help="the deployment meant (default: the one running); refused unless it is the one running",
        )
        add_connection_arguments(parser)
    for name, summary in APPROVAL_COMMANDS.items():
        parser = commands.add_parser(name, help=summary, description=summary)
        parser.add_argument("execution_arn", metavar="EXECUTION", help="the waiting execution's ARN")
        parser.add_argument("--reason", default="no reason given", help="why (recorded, and a rejection's reason)")
        parser.add_argument("--requested-by", help="who answers (default: your AWS identity, else your user name)")
        add_connection_arguments(parser)
    retry = commands.add_parser(
        RETRY_COMMAND,
        help="redrive a failed, timed-out or stopped execution from the state that failed",
        description="Redrive (Step Functions RedriveExecution) an execution that did not succeed: it goes on "
        "from the state that failed, with its input; every task re-reads what it acts on, so this is safe.",
    )
    retry.add_argument("execution_arn", metavar="EXECUTION", help="execution ARN")
    retry.add_argument("--watch", action="store_true", help="follow the execution live and exit with the outcome")
    add_poll_argument(retry)
    add_connection_arguments(retry)


def handles(command: str) -> bool:
    return command in CONTROL_COMMANDS or command in APPROVAL_COMMANDS or command == RETRY_COMMAND


Follow = Callable[[Connection, str, argparse.Namespace, TextIO], int]


def run_control(args: argparse.Namespace, out: TextIO, *, follow: Follow) -> int:
    conn = Connection.from_args(args)
    if args.command == RETRY_COMMAND:
        return _retry(conn, args, out, follow)
    if args.command in APPROVAL_COMMANDS:
        return _answer(conn, args, out)
    control = Control.PROMOTE_FULL if args.command == "promote" and args.full else Control(args.command)
    record = request_control(
        {
            "function_name": args.function,
            "alias": args.alias,
            "control": control.value,
            "reason": args.reason,
            "requested_by": args.requested_by or _identity(conn),
            **({"deployment_id": args.deployment} if args.deployment else {}),
        },
        ledger=ledger_for(conn),
        clock=current_clock(),
        home=StackHome.from_arn(conn.outputs().state_machine_arn),
    )
    print(confirmation(record), file=out)
    report(out, {"control": record.model_dump(mode="json")})
    return 0


def confirmation(record: ControlRecord) -> str:
    effect = CONTROL_COMMANDS["promote" if record.control is Control.PROMOTE_FULL else record.control.value][1]
    what = "promote --full" if record.control is Control.PROMOTE_FULL else record.control.value
    return (
        f"{what} recorded for deployment {record.deployment_id} of {record.function_name}:{record.alias} "
        f"(by {record.requested_by}: {record.reason}); it {effect}"
    )


def _answer(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    """Answer the task token an approval gate left in the ledger (rollgate.domain.deploy.controls.answer_approval)."""
    answered = controls.answer_approval(
        {
            "control": args.command,
            "execution_arn": args.execution_arn,
            "reason": args.reason,
            "requested_by": args.requested_by or _identity(conn),
        },
        ledger=ledger_for(conn),
        tokens=StepFunctionsTaskTokens(conn.client("stepfunctions")),
        clock=current_clock(),
    )
    print(
        f"{args.command}d by {answered.requested_by} ({answered.reason}): {answered.what} {answered.effect}", file=out
    )
    report(out, {"control": answered.model_dump(mode="json"), "execution_arn": args.execution_arn})
    return 0


def _identity(conn: Connection) -> str:
    """Who is asking: the caller's AWS identity (what IAM would log), else the local user's name."""
    try:
        return str(conn.client("sts").get_caller_identity()["Arn"])
    except (ClientError, BotoCoreError, KeyError):
        return getpass.getuser()


def _retry(conn: Connection, args: argparse.Namespace, out: TextIO, follow: Follow) -> int:
    client = conn.client("stepfunctions")
    try:
        client.redrive_execution(executionArn=args.execution_arn)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("ExecutionNotRedrivable", "ExecutionDoesNotExist", "ValidationException", "InvalidArn"):
            raise UsageError(f"retry: {args.execution_arn} cannot be redriven: {code}: {error}") from None
        raise
    print(f"redriving {args.execution_arn} from the state that failed", file=out)
    return follow(conn, args.execution_arn, args, out)

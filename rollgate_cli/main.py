"""The `rollgate` command: the same commands against AWS or the embedded local runtime.

Exit codes: 0 success (a deployment PROMOTED, a release RELEASED, a rollback that did what the
situation asked), 1 not a success (rolled back, rejected, failed, or the execution did not
succeed), 2 bad usage or input (nothing was changed), 3 promoted UNVERIFIED (the watch ended
INCONCLUSIVE and the request's on_inconclusive_watch is promote_unverified: the new version serves
all traffic, but nothing verified it; a pipeline that accepts that checks for 3).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import itertools
import os
import re
import sys
import tomllib
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import NoReturn, TextIO
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from rollgate.contract import DEPLOY_SUCCESS, RELEASE_SUCCESS, REMEDIATION_SUCCESS
from rollgate.domain.shared.errors import InvalidRequest, RollgateError
from rollgate.domain.shared.validation import MAX_REQUEST_BYTES, StackHome, check_alias, check_function_name, load_json
from rollgate_cli.controls import add_control_commands, run_control
from rollgate_cli.controls import handles as is_control_command
from rollgate_cli.deploy import (
    add_release_arguments,
    build_request,
    release_options,
    start_image,
    start_version,
    upload_and_start,
)
from rollgate_cli.logs import add_logs_command
from rollgate_cli.output import Output, add_output_argument, report
from rollgate_cli.progress import Conclusion, ExecutionWatcher, execution_document
from rollgate_cli.redrive import add_redrive_command
from rollgate_cli.releases import add_releases_command
from rollgate_cli.report import add_report_command
from rollgate_cli.session import Connection, UsageError, add_connection_arguments

EXIT_OK, EXIT_NOT_PROMOTED, EXIT_USAGE, EXIT_UNVERIFIED = 0, 1, 2, 3


# --------------------------------------------------------------------------- argument values
# argparse's int() and float() take fullwidth digits, "nan", "-inf" and "1e999": only plain decimal
# numbers in range get through, and a bad one is a usage error naming its flag (exit 2)
_DECIMAL = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,6})?", re.ASCII)
_REGION = re.compile(r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-[0-9]", re.ASCII)
_EXECUTION_ARN = re.compile(
    r"arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:execution:[A-Za-z0-9_-]{1,80}:[A-Za-z0-9_-]{1,80}", re.ASCII
)


def _number(minimum: float, maximum: float, *, whole: bool = False) -> Callable[[str], float]:
    def parse(text: str) -> float:
        if not _DECIMAL.fullmatch(text) or (whole and "." in text):
            kind = "a whole number" if whole else "a number"
            raise argparse.ArgumentTypeError(f"{text!a} is not {kind} (plain digits)")
        value = int(text) if whole else float(text)
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"{text} is not between {minimum:g} and {maximum:g}")
        return value

    return parse


def _version_number(text: str) -> str:
    """A published version's number (plain digits, not 0): never $LATEST or an alias."""
    if not re.fullmatch(r"[1-9][0-9]{0,9}", text, re.ASCII):
        raise argparse.ArgumentTypeError(f"{text!a} is not a version number (plain digits, like 3)")
    return text


def _json_file(path: str) -> str:
    """A JSON file that loads within the request rules (depth, text, size); the path itself."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, ValueError) as error:
        raise argparse.ArgumentTypeError(f"cannot read {path!a} ({error})") from None
    try:
        load_json(text, path, max_bytes=MAX_REQUEST_BYTES)
    except InvalidRequest as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return path


def _check_arguments(args: argparse.Namespace) -> None:
    """Where the CLI would talk to, checked before a client is made (boto3 raises a bare ValueError
    on a malformed endpoint), and the names every command takes, before anything is read."""
    for flag, attribute, check in (("--function", "function", check_function_name), ("--alias", "alias", check_alias)):
        value = getattr(args, attribute, None)
        if value is not None:
            try:
                check(value)
            except ValueError as error:
                raise UsageError(f"{flag}: {error}") from None
    endpoint = getattr(args, "endpoint_url", None)
    if endpoint is not None:
        try:
            url = urlsplit(endpoint)
            port = url.port
        except ValueError as error:
            raise UsageError(f"--endpoint-url: {endpoint!a} is not a URL ({error})") from None
        plain = endpoint.isascii() and endpoint.isprintable() and " " not in endpoint
        if url.scheme not in ("http", "https") or not url.hostname or not plain or port == 0:
            raise UsageError(f"--endpoint-url: {endpoint!a} is not an http(s)://host[:port] URL")
    region = getattr(args, "region", None)
    if region is not None and not _REGION.fullmatch(region):
        raise UsageError(f"--region: {region!a} is not an AWS region name (like eu-west-1)")
    execution_arn = getattr(args, "execution_arn", None)
    if execution_arn is not None and not _EXECUTION_ARN.fullmatch(execution_arn):
        raise UsageError(f"EXECUTION: {execution_arn!a} is not a Step Functions execution ARN")


def _connect(args: argparse.Namespace) -> Connection:
    """The connection, once a --function given as an ARN is known to be in the stack's account and
    region (its name alone would be this account's function of that name)."""
    conn = Connection.from_args(args)
    function = getattr(args, "function", None)
    if function is not None:
        try:
            check_function_name(function, StackHome.from_arn(conn.outputs().state_machine_arn))
        except ValueError as error:
            raise UsageError(f"--function: {error}") from None
    return conn


def _add_poll_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--poll-seconds",
        type=_number(0.01, 3600),
        default=2.0,
        help="how often to read the execution, in seconds, 0.01-3600 (default: %(default)s)",
    )


def version() -> str:
    """The installed package's version; from a source checkout that is not installed, pyproject's."""
    try:
        return importlib.metadata.version("rollgate")
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        with (Path(__file__).resolve().parent.parent / "pyproject.toml").open("rb") as project:
            return str(tomllib.load(project)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


class _BadUsage(Exception):
    """What argparse would print and exit 2 on, raised instead, so that `run` can still write the
    one JSON document a script asked for (and return rather than exit)."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _BadUsage(self, message)


def _asks_for_json(argv: Sequence[str]) -> bool:
    words = list(argv)
    return "--output=json" in words or any(pair == ("--output", "json") for pair in itertools.pairwise(words))


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rollgate",
        description="Release Lambda functions through gates: preflight, update, smoke, canary, watch, "
        "automatic rollback. Works against AWS or the embedded local runtime.",
        epilog="Exit codes: 0 promoted/success, 1 not promoted (rolled back, rejected, failed), 2 bad usage or input, "
        "3 promoted unverified (the watch ended INCONCLUSIVE under on_inconclusive_watch: promote_unverified).",
    )
    parser.add_argument("--version", action="version", version=f"rollgate {version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    deploy = commands.add_parser(
        "deploy", help="upload a zip (or name an image) and release it through the DeployFunction workflow"
    )
    deploy.add_argument("--function", required=True, help="the Lambda function to release (name or ARN)")
    deploy.add_argument("--zip", help="path of the deployment package (or --image, or --version)")
    deploy.add_argument(
        "--version",
        dest="function_version",
        type=_version_number,
        metavar="N",
        help="instead of new code: release the function's published version N as it is, through smoke, canary "
        "and watch (nothing updated or published): undo to a known good version",
    )
    add_release_arguments(deploy)
    deploy.add_argument("--alias", default="live", help="alias that carries production traffic (default: %(default)s)")
    deploy.add_argument(
        "--strategy",
        default="canary:10:300",
        help="canary:PERCENT:SECONDS, linear:PERCENT:SECONDS or all-at-once (default: %(default)s)",
    )
    deploy.add_argument(
        "--smoke-payload", action="append", default=[], metavar="JSON", help="a smoke-test event (repeatable)"
    )
    deploy.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="environment to merge in")
    deploy.add_argument(
        "--require-env", action="append", default=[], metavar="NAME", help="variable the new code needs (repeatable)"
    )
    deploy.add_argument(
        "--watch-seconds", type=_number(0, 10**9, whole=True), help="how long to keep judging after promotion"
    )
    deploy.add_argument("--policy", metavar="FILE", help="health policy JSON (see README: HealthPolicy)")
    deploy.add_argument("--watch", action="store_true", help="follow the gates live and exit with the outcome")
    _add_poll_argument(deploy)
    add_connection_arguments(deploy)

    prune = commands.add_parser(
        "prune", help="delete old versions no alias, allocation, mapping or recent deployment needs"
    )
    prune.add_argument("function", metavar="FUNCTION", help="the Lambda function (name or ARN)")
    prune.add_argument("--dry-run", action="store_true", help="say what would be deleted, delete nothing")
    prune.add_argument(
        "--keep-last", type=_number(1, 1000, whole=True), default=10, help="newest versions always kept (default: 10)"
    )
    prune.add_argument(
        "--keep-days",
        type=_number(0, 3650, whole=True),
        default=30,
        help="keep versions a ledger record of this many days names (default: 30)",
    )
    prune.add_argument(
        "--max-deletions", type=_number(1, 500, whole=True), default=50, help="at most this many (default: 50)"
    )
    add_connection_arguments(prune)

    release = commands.add_parser(
        "release", help="release the functions of a manifest in waves through the Release workflow"
    )
    release.add_argument(
        "--manifest", metavar="FILE", type=_json_file, help="release manifest JSON (see README: release manifest)"
    )
    release.add_argument("--s3-key", metavar="KEY", help="or: key of a manifest already in the artifacts bucket")
    release.add_argument("--s3-bucket", metavar="BUCKET", help="bucket of --s3-key (default: the artifacts bucket)")
    release.add_argument(
        "--commit",
        metavar="SHA",
        help="or: release the manifest CI uploaded for this pushed commit (as the push trigger does; needs "
        "--repository)",
    )
    release.add_argument("--repository", metavar="OWNER/NAME", help="the repository of --commit")
    release.add_argument("--branch", help="the branch of --commit (recorded as provenance)")
    release.add_argument(
        "--again",
        action="store_true",
        help="with --commit: release it once more under a new execution name (a failed commit's name is taken)",
    )
    release.add_argument("--requested-by", help="who asks (recorded as provenance)")
    release.add_argument("--watch", action="store_true", help="follow the release live and exit with the outcome")
    _add_poll_argument(release)
    add_connection_arguments(release)

    rollback = commands.add_parser(
        "rollback", help="roll a function back from its latest promotion through the Remediate workflow"
    )
    rollback.add_argument("--function", required=True, help="the Lambda function (name or ARN)")
    rollback.add_argument("--alias", default="live", help="the alias to roll back (default: %(default)s)")
    rollback.add_argument("--reason", default="manual rollback", help="why (recorded and notified)")
    rollback.add_argument("--requested-by", help="who asks (recorded and notified)")
    rollback.add_argument(
        "--lookback-minutes",
        type=_number(1, 10**9, whole=True),
        help="only blame a promotion this recent (default: the latest, any age)",
    )
    rollback.add_argument("--watch", action="store_true", help="follow the rollback live and exit with the outcome")
    _add_poll_argument(rollback)
    add_connection_arguments(rollback)

    reconcile = commands.add_parser(
        "reconcile",
        help="after a deployment execution ended early: alias on one version, outcome recorded, lease released",
    )
    reconcile.add_argument("--function", required=True, help="the Lambda function (name or ARN)")
    reconcile.add_argument("--alias", default="live", help="the alias (default: %(default)s)")
    add_connection_arguments(reconcile)

    watch = commands.add_parser(
        "watch", help="follow a running DeployFunction, Release or Remediate execution until it concludes"
    )
    watch.add_argument("execution_arn", metavar="EXECUTION", help="execution ARN (printed by deploy)")
    _add_poll_argument(watch)
    add_connection_arguments(watch)

    status = commands.add_parser("status", help="where an alias routes, and whether a deployment holds it")
    status.add_argument("--function", required=True, help="the Lambda function (name or ARN)")
    status.add_argument("--alias", default="live", help="the alias (default: %(default)s)")
    add_connection_arguments(status)

    history = commands.add_parser(
        "history", help="the ledger's deployments and remediations of a function, newest first"
    )
    history.add_argument("--function", required=True, help="the Lambda function (name or ARN)")
    history.add_argument("--alias", help="only this alias (default: all)")
    history.add_argument(
        "--limit",
        type=_number(1, 1000, whole=True),
        default=20,
        help="at most this many records, newest first, 1-1000 (default: %(default)s)",
    )
    add_connection_arguments(history)
    add_report_command(commands)
    add_releases_command(commands)
    add_redrive_command(commands, count=_number(1, 500, whole=True), seconds=_number(1, 86_400, whole=True))
    add_control_commands(commands, add_poll_argument=_add_poll_argument)
    add_logs_command(
        commands,
        seconds=_number(0.01, 3600),
        version_number=_version_number,
        count=_number(1, 10_000, whole=True),
    )

    demo = commands.add_parser("demo", help="release four builds of a sample app on the embedded local runtime")
    demo.add_argument(
        "--events",
        action="store_true",
        help="instead: a push-triggered atomic release of three functions, and alarm remediations",
    )
    add_output_argument(demo)

    local = commands.add_parser("local", help="the embedded local runtime")
    local_commands = local.add_subparsers(dest="local_command", required=True, metavar="ACTION")
    serve = local_commands.add_parser("serve", help="keep a local AWS endpoint with the Rollgate stack deployed")
    serve.add_argument(
        "--port",
        type=_number(1, 65535, whole=True),
        default=4566,
        help="TCP port on 127.0.0.1 for the endpoint (default: %(default)s)",
    )
    serve.add_argument(
        "--speed",
        type=_number(0.01, 10_000),
        default=60.0,
        help="how much faster than real time the clock runs (default: %(default)s)",
    )
    return parser


def _conclude(conclusion: Conclusion, out: TextIO) -> int:
    print(f"\n{conclusion.headline()}", file=out)
    return conclusion.exit_code


def _follow(conn: Connection, execution_arn: str, args: argparse.Namespace, out: TextIO) -> int:
    print(f"started {execution_arn}", file=out)
    report(out, execution_document(execution_arn, _workflow(conn, execution_arn)[0]))
    if not args.watch:
        return EXIT_OK
    return _watch_execution(conn, execution_arn, args, out)


def _watch_execution(conn: Connection, execution_arn: str, args: argparse.Namespace, out: TextIO) -> int:
    workflow, success = _workflow(conn, execution_arn)
    watcher = ExecutionWatcher(
        conn.client("stepfunctions"),
        execution_arn,
        out=out,
        poll_seconds=args.poll_seconds,
        sleep=conn.sleep,
        success_outcomes=success,
    )
    conclusion = watcher.wait()
    report(out, execution_document(execution_arn, workflow, conclusion, watcher))
    return _conclude(conclusion, out)


def _workflow(conn: Connection, execution_arn: str) -> tuple[str, frozenset[str]]:
    """Which workflow an execution runs, and what success means for it: the stack says which state
    machine is which (execution ARN = arn:…:execution:<state machine name>:<execution name>)."""
    machine = execution_arn.split(":")[-2] if execution_arn.count(":") >= 7 else ""
    outputs = conn.outputs()
    for name, arn, outcomes in (
        ("release", outputs.release_state_machine_arn, RELEASE_SUCCESS),
        ("remediate", outputs.remediate_state_machine_arn, REMEDIATION_SUCCESS),
    ):
        if arn and arn.rsplit(":", 1)[-1] == machine:
            return name, outcomes
    return "deploy", DEPLOY_SUCCESS


def _release(args: argparse.Namespace, out: TextIO) -> int:
    from rollgate_cli.release import start_release

    conn = Connection.from_args(args)
    arn = start_release(
        conn,
        manifest_path=args.manifest,
        bucket=args.s3_bucket,
        key=args.s3_key,
        requested_by=args.requested_by,
        commit=args.commit,
        repository=args.repository,
        branch=args.branch,
        again=args.again,
    )
    return _follow(conn, arn, args, out)


def _rollback(args: argparse.Namespace, out: TextIO) -> int:
    from rollgate_cli.reconcile import take_over_before_rollback
    from rollgate_cli.release import rollback_request, start_rollback

    # bad input is refused before the take-over can release a lease or move an alias
    body = rollback_request(
        function=args.function,
        alias=args.alias,
        reason=args.reason,
        requested_by=args.requested_by,
        lookback_minutes=args.lookback_minutes,
    )
    conn = _connect(args)
    took_over = take_over_before_rollback(conn, function=check_function_name(args.function), alias=args.alias, out=out)
    report(out, {"took_over": took_over})
    arn = start_rollback(conn, body)
    return _follow(conn, arn, args, out)


def _deploy(args: argparse.Namespace, out: TextIO) -> int:
    conn = Connection.from_args(args)
    builder = partial(
        build_request,
        function=args.function,
        alias=args.alias,
        strategy=args.strategy,
        smoke_payloads=args.smoke_payload,
        environment=args.env,
        required_environment=args.require_env,
        watch_seconds=args.watch_seconds,
        policy_file=args.policy,
        options=release_options(args),
    )
    if sum(map(bool, (args.zip, args.image, args.function_version))) != 1:
        raise UsageError("deploy: give exactly one of --zip FILE, --image URI@sha256:DIGEST and --version N")
    if args.function_version:
        execution_arn, _ = start_version(conn, builder, args.function_version)
    elif args.image:
        execution_arn, _ = start_image(conn, builder, args.image)
    else:
        execution_arn, _ = upload_and_start(conn, builder, args.zip)
    return _follow(conn, execution_arn, args, out)


def _watch(args: argparse.Namespace, out: TextIO) -> int:
    conn = Connection.from_args(args)
    try:
        return _watch_execution(conn, args.execution_arn, args, out)
    except ClientError as error:
        # a well-formed ARN of no execution is bad input (exit 2), like a malformed one
        if error.response.get("Error", {}).get("Code") in ("ExecutionDoesNotExist", "InvalidArn"):
            raise UsageError(f"EXECUTION: no execution {args.execution_arn} (stack {conn.stack})") from None
        raise


def run(argv: Sequence[str] | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """The command line, run: its exit code. With `--output json`, exactly one JSON document goes to
    `out` (also on a usage or AWS error), and the lines for people go to `err`."""
    words = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    try:
        args = parser.parse_args(words)
    except _BadUsage as bad:
        bad.parser.print_usage(err)
        print(f"{bad.parser.prog}: error: {bad}", file=err)
        if _asks_for_json(words):
            command = bad.parser.prog.partition(" ")[2] or None
            Output(json_mode=True, stdout=out, stderr=err).finish(command, EXIT_USAGE, UsageError(str(bad)))
        return EXIT_USAGE
    except SystemExit as exit_:  # --help, --version
        return EXIT_USAGE if exit_.code else EXIT_OK
    output = Output(json_mode=getattr(args, "output", "text") == "json", stdout=out, stderr=err)
    error: BaseException | None = None
    try:
        code = _dispatch(args, output, err)
    except (UsageError, InvalidRequest) as failure:
        print(f"rollgate: {failure}", file=err)
        code, error = EXIT_USAGE, failure
    except (RollgateError, ClientError, BotoCoreError) as failure:
        print(f"rollgate: {type(failure).__name__}: {failure}", file=err)
        code, error = EXIT_NOT_PROMOTED, failure
    except KeyboardInterrupt:
        error = KeyboardInterrupt("interrupted; a started execution keeps running (see `rollgate watch`)")
        print(f"rollgate: {error}", file=err)
        code = EXIT_NOT_PROMOTED
    except BrokenPipeError:
        return _reader_gone()
    try:
        output.finish(args.command, code, error)
    except BrokenPipeError:
        return _reader_gone()
    return code


def _reader_gone() -> int:
    """Whoever read our output closed it (`rollgate watch ARN | head -1`): stop, say nothing more
    (no traceback), and do not claim a success nobody saw."""
    return EXIT_NOT_PROMOTED


def _dispatch(args: argparse.Namespace, out: Output, err: TextIO) -> int:
    """Run the command; `out` is where its words go (stdout, or stderr in json mode), and where a
    command hands its JSON document (`rollgate_cli.output.report`)."""
    _check_arguments(args)
    if is_control_command(args.command):
        return run_control(args, out, follow=_follow)
    if args.command == "deploy":
        return _deploy(args, out)
    if args.command == "watch":
        return _watch(args, out)
    if args.command == "prune":
        from rollgate_cli.prune import run_prune

        conn = _connect(args)  # a function ARN must be in the stack's account and region
        return run_prune(
            conn,
            function=check_function_name(args.function),
            keep_last=int(args.keep_last),
            keep_days=int(args.keep_days),
            max_deletions=int(args.max_deletions),
            dry_run=args.dry_run,
            out=out,
        )
    if args.command == "redrive":
        from rollgate_cli.redrive import run_redrive

        return run_redrive(_connect(args), args, out, function=check_function_name(args.function))
    if args.command == "reconcile":
        from rollgate_cli.reconcile import run_reconcile

        conn = _connect(args)
        return run_reconcile(conn, function=check_function_name(args.function), alias=args.alias, out=out)
    if args.command == "release":
        return _release(args, out)
    if args.command == "rollback":
        return _rollback(args, out)
    if args.command == "releases":
        from rollgate_cli.releases import print_releases

        return print_releases(_connect(args), args.application, args.branch, out)
    if args.command == "status":
        from rollgate_cli.views import print_status

        return print_status(_connect(args), args.function, args.alias, out)
    if args.command == "history":
        from rollgate_cli.views import print_history

        return print_history(_connect(args), args.function, args.alias, args.limit, out)
    if args.command == "logs":
        from rollgate_cli.logs import run_logs

        return run_logs(_connect(args), args, out, function=check_function_name(args.function))
    if args.command == "report":
        from rollgate_cli.report import run_report

        return run_report(_connect(args), args, out)
    if args.command == "demo":
        if args.events:
            from rollgate_local.demo_events import run_event_demo

            return run_event_demo(out=out)
        from rollgate_local.demo import run_demo

        return run_demo(out=out)
    if args.command == "local":
        from rollgate_local.server import PortInUse, serve

        try:
            serve(port=args.port, speed=args.speed)
        except PortInUse as busy:  # a clear error at once, not a server that never starts
            print(f"rollgate local serve: {busy.strerror}", file=err)
            return EXIT_USAGE
        return EXIT_OK
    raise UsageError(f"unknown command {args.command}")


def main() -> None:
    code = run()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        # the reader is gone: what is still buffered goes nowhere, so that the interpreter's own
        # flush at exit does not fail on the closed pipe with a traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    sys.exit(code)

"""`rollgate deploy`: validate the request locally, upload the artifact (or name an image), start
the workflow.

The request is validated with the same model and rules the Validate task uses (function ARNs against
the stack's own account and region), and the zip is opened and checked, before anything is
uploaded, so a typo or a wrong file costs nothing.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rollgate.domain.deploy.start import parse_request
from rollgate.domain.shared.models import DeploymentRequest, Strategy
from rollgate.domain.shared.validation import StackHome, load_json
from rollgate_cli.session import Connection, UsageError

_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
#: Lambda's limit on a function's code, unzipped.
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024


def code_sha256(data: bytes) -> str:
    """Lambda's CodeSha256 of a zip: base64 of its SHA-256."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def parse_key_values(pairs: list[str], flag: str) -> dict[str, str]:
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{flag}: expected KEY=VALUE, got {pair!r}")
        result[key] = value
    return result


def build_request(
    *,
    function: str,
    alias: str,
    strategy: str,
    smoke_payloads: list[str],
    environment: list[str],
    required_environment: list[str],
    watch_seconds: int | None,
    policy_file: str | None,
    artifact: dict[str, Any],
    expected_sha: str | None,
    home: StackHome | None = None,
    options: dict[str, Any] | None = None,
) -> DeploymentRequest:
    smoke_tests = [
        {"name": f"smoke-{index}", "payload": load_json(payload, f"--smoke-payload {index}")}
        for index, payload in enumerate(smoke_payloads, start=1)
    ]
    body: dict[str, Any] = {
        "function_name": function,
        "alias": alias,
        "artifact": artifact,
        "strategy": Strategy.parse_shorthand(strategy).model_dump(mode="json"),
        "smoke_tests": smoke_tests,
        "environment": parse_key_values(environment, "--env"),
        "required_environment": required_environment,
        "provenance": {"trigger": "cli"},
    }
    if expected_sha:
        body["expected_code_sha256"] = expected_sha
    if watch_seconds is not None:
        body["watch_seconds"] = watch_seconds
    if policy_file:
        try:
            text = Path(policy_file).read_text(encoding="utf-8")
        except (OSError, ValueError) as error:  # ValueError: not UTF-8
            raise UsageError(f"--policy {policy_file}: cannot read it ({error})") from None
        body["health"] = load_json(text, f"--policy {policy_file}")
    body.update(options or {})
    return parse_request(body, home)


def execution_name(request: DeploymentRequest, sha: str, now: datetime | None = None) -> str:
    """Readable in the console and unique per attempt; at most 80 characters."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    digest = hashlib.sha256(sha.encode()).hexdigest()[:8]
    name = f"{request.function_name}-{request.alias}-{digest}-{stamp}"
    return _NAME_UNSAFE.sub("-", name)[-80:]


def read_zip(zip_path: str) -> bytes:
    """The deployment package's bytes, once it is known to be a zip Lambda can take: it opens, every
    member's CRC checks out, it holds at least one file and unzips within Lambda's limit."""
    path = Path(zip_path)
    if not path.is_file():
        raise UsageError(f"--zip: no such file {zip_path}")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"--zip: cannot read {zip_path} ({error.strerror or error})") from None
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            unzipped = sum(m.file_size for m in members)
            if not members:
                raise UsageError(f"--zip: {zip_path} holds no files")
            if unzipped > MAX_UNZIPPED_BYTES:
                raise UsageError(
                    f"--zip: {zip_path} unzips to {unzipped:,} bytes, over the {MAX_UNZIPPED_BYTES:,} Lambda takes"
                )
            broken = archive.testzip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError) as error:
        raise UsageError(f"--zip: {zip_path} is not a zip Lambda can open ({error})") from None
    if broken is not None:
        raise UsageError(f"--zip: {zip_path} is damaged: {broken!a} fails its CRC check")
    return data


def upload_and_start(conn: Connection, request_builder: Any, zip_path: str) -> tuple[str, DeploymentRequest]:
    """Validate first (nothing uploaded on bad input: the request, the function's account and region
    against the stack's, the zip itself), then upload the zip and start the workflow."""
    data = read_zip(zip_path)
    sha = code_sha256(data)
    placeholder = {"bucket": "validation", "key": "validation.zip"}
    request_builder(artifact=placeholder, expected_sha=sha)  # every rule that needs no stack
    outputs = conn.outputs()  # a read: where the stack is says which functions it may release
    home = StackHome.from_arn(outputs.state_machine_arn)
    request_builder(artifact=placeholder, expected_sha=sha, home=home)  # a function ARN: this stack's?
    path = Path(zip_path)
    key = f"artifacts/{_NAME_UNSAFE.sub('-', path.stem)[:64]}-{hashlib.sha256(data).hexdigest()[:16]}.zip"
    put = conn.client("s3").put_object(Bucket=outputs.artifact_bucket, Key=key, Body=data)
    artifact = {"bucket": outputs.artifact_bucket, "key": key}
    if put.get("VersionId"):
        artifact["version_id"] = put["VersionId"]
    request = request_builder(artifact=artifact, expected_sha=sha, home=home)
    started = conn.client("stepfunctions").start_execution(
        stateMachineArn=outputs.state_machine_arn,
        name=execution_name(request, sha),
        input=execution_input(request),
    )
    return started["executionArn"], request


# --------------------------------------------------------------------------- images, configuration, hooks
def _whole(text: str) -> int:
    """A plain whole number (int() would take fullwidth digits and " +10"); the request's own rules
    check the range and name the field."""
    if not re.fullmatch(r"[0-9]{1,9}", text, re.ASCII):
        raise argparse.ArgumentTypeError(f"{text!a} is not a whole number")
    return int(text)


def add_release_arguments(parser: Any) -> None:
    """The `deploy` flags for what else a release changes: an image instead of a zip, the function's
    configuration, provisioned concurrency, hooks and pruning (each one a request field)."""
    parser.add_argument("--image", metavar="URI@sha256:DIGEST", help="container image by digest (instead of --zip)")
    parser.add_argument("--memory", type=_whole, metavar="MB", help="configuration.memory_size (128-10240)")
    parser.add_argument("--timeout", type=_whole, metavar="SECONDS", help="configuration.timeout (1-900)")
    parser.add_argument("--ephemeral-storage", type=_whole, metavar="MB", help="configuration.ephemeral_storage")
    parser.add_argument(
        "--layer", action="append", metavar="ARN", help="layer version ARN, in order (repeatable; replaces the list)"
    )
    parser.add_argument("--architecture", choices=["x86_64", "arm64"], help="configuration.architectures")
    parser.add_argument("--runtime", help="configuration.runtime of a zip function, e.g. python3.12")
    parser.add_argument("--handler", help="configuration.handler of a zip function, e.g. app.handler")
    parser.add_argument(
        "--provisioned-concurrency",
        type=_whole,
        metavar="N",
        help="provisioned environments on the new version, READY before traffic (default: the live version's)",
    )
    parser.add_argument("--pre-traffic-hook", metavar="FUNCTION", help="hook function run before any traffic")
    parser.add_argument("--post-traffic-hook", metavar="FUNCTION", help="hook function run after the watch")
    parser.add_argument("--hook-timeout", type=_whole, metavar="SECONDS", help="how long a hook may take (default 60)")
    parser.add_argument(
        "--prune-keep-last", type=_whole, metavar="N", help="after promotion, prune to the last N versions"
    )
    parser.add_argument(
        "--health-policy",
        metavar="NAME",
        help="one of the stack's named health policies (cdk.json rollgate:healthPolicies); --policy fields override it",
    )


def release_options(args: Any) -> dict[str, Any]:
    """The request fields the flags of `add_release_arguments` set (validated with the request)."""
    options: dict[str, Any] = {}
    configuration = {
        "memory_size": args.memory,
        "timeout": args.timeout,
        "ephemeral_storage": args.ephemeral_storage,
        "layers": args.layer,
        "architectures": [args.architecture] if args.architecture else None,
        "runtime": args.runtime,
        "handler": args.handler,
    }
    configuration = {k: v for k, v in configuration.items() if v is not None}
    if configuration:
        options["configuration"] = configuration
    if args.provisioned_concurrency is not None:
        options["provisioned_concurrency"] = {"executions": args.provisioned_concurrency}
    hooks = {}
    for phase, function in (("pre_traffic", args.pre_traffic_hook), ("post_traffic", args.post_traffic_hook)):
        if function:
            hooks[phase] = {"function": function}
            if args.hook_timeout is not None:
                hooks[phase]["timeout_seconds"] = args.hook_timeout
    if args.hook_timeout is not None and not hooks:
        raise UsageError("--hook-timeout: give --pre-traffic-hook or --post-traffic-hook too")
    if hooks:
        options["hooks"] = hooks
    if args.prune_keep_last is not None:
        options["prune"] = {"enabled": True, "keep_last": args.prune_keep_last}
    if args.health_policy is not None:
        # only its form is checked here; the stack's Validate task knows the names and resolves it
        options["health_policy"] = args.health_policy
    return options


def execution_input(request: DeploymentRequest) -> str:
    """The workflow input. With a named health policy, `health` carries only the fields the user
    set (--policy): written out whole, every default would override the named policy."""
    if request.health_policy is None:
        return request.model_dump_json(exclude_defaults=False)
    document = request.model_dump(mode="json")
    document["health"] = request.health.model_dump(mode="json", exclude_unset=True)
    return json.dumps(document, ensure_ascii=False)


def start_image(conn: Connection, request_builder: Any, image_uri: str) -> tuple[str, DeploymentRequest]:
    """An image release: nothing to upload (the image is in ECR already)."""
    return start_without_upload(conn, request_builder, {"image_uri": image_uri}, image_uri)


def start_version(conn: Connection, request_builder: Any, version: str) -> tuple[str, DeploymentRequest]:
    """`deploy --version N`: a published version released as it is (undo to a known good version)."""
    return start_without_upload(conn, request_builder, {"function_version": version}, f"version-{version}")


def start_without_upload(
    conn: Connection, request_builder: Any, artifact: dict[str, str], name_seed: str
) -> tuple[str, DeploymentRequest]:
    """A release of code already in place: the request is validated, the function's account and
    region checked against the stack's, then the workflow started."""
    request_builder(artifact=artifact, expected_sha=None)
    home = StackHome.from_arn(conn.outputs().state_machine_arn)
    request = request_builder(artifact=artifact, expected_sha=None, home=home)
    started = conn.client("stepfunctions").start_execution(
        stateMachineArn=conn.outputs().state_machine_arn,
        name=execution_name(request, name_seed),
        input=execution_input(request),
    )
    return started["executionArn"], request

"""Where the CLI talks to: real AWS (standard credential chain, --profile, --region) or the local
runtime (--endpoint-url); and the Rollgate stack's outputs, looked up by stack name."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

from rollgate.aws.clock import current_clock
from rollgate.domain.shared.errors import RollgateError
from rollgate_cli.output import add_output_argument

DEFAULT_STACK = "Rollgate"


class UsageError(RollgateError):
    """Bad command-line usage or input: exit code 2."""


@dataclass(frozen=True)
class StackOutputs:
    state_machine_arn: str
    ledger_table: str
    artifact_bucket: str
    event_bus: str
    release_state_machine_arn: str | None = None
    remediate_state_machine_arn: str | None = None

    @classmethod
    def from_outputs(cls, outputs: dict[str, str], stack: str) -> StackOutputs:
        wanted = {
            "state_machine_arn": "DeployStateMachineArn",
            "ledger_table": "LedgerTableName",
            "artifact_bucket": "ArtifactBucketName",
            "event_bus": "EventBusName",
        }
        missing = [key for key in wanted.values() if key not in outputs]
        if missing:
            raise UsageError(f"stack {stack} has no output(s) {', '.join(missing)}: is it a Rollgate stack?")
        # stacks deployed before Release/Remediate existed lack these; the commands that need them say so
        return cls(
            **{attr: outputs[key] for attr, key in wanted.items()},
            release_state_machine_arn=outputs.get("ReleaseStateMachineArn"),
            remediate_state_machine_arn=outputs.get("RemediateStateMachineArn"),
        )

    def require(self, attribute: str, output: str, stack: str) -> str:
        value = getattr(self, attribute)
        if not value:
            raise UsageError(f"stack {stack} has no output {output}: deploy the current Rollgate stack (make deploy)")
        return str(value)


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the command talks to, and (every command that does has it) `--output text|json`."""
    add_output_argument(parser)
    group = parser.add_argument_group("where")
    group.add_argument(
        "--stack", default=DEFAULT_STACK, help="name of the deployed Rollgate stack (default: %(default)s)"
    )
    group.add_argument("--region", help="AWS region (default: from your AWS config)")
    group.add_argument("--profile", help="AWS named profile (default: the standard credential chain)")
    group.add_argument(
        "--endpoint-url",
        help="talk to the local runtime instead of AWS, e.g. http://127.0.0.1:4566 from `rollgate local serve`",
    )


class Connection:
    """boto3 clients for one place, made on first use."""

    def __init__(self, *, region: str | None, profile: str | None, endpoint_url: str | None, stack: str) -> None:
        self.endpoint_url = endpoint_url
        self.stack = stack
        kwargs: dict[str, Any] = {"profile_name": profile} if profile else {}
        if region:
            kwargs["region_name"] = region
        if endpoint_url:
            kwargs.setdefault("region_name", "us-east-1")
            kwargs.setdefault("aws_access_key_id", "local")
            kwargs.setdefault("aws_secret_access_key", "local")
        self.session = boto3.session.Session(**kwargs)
        self._clients: dict[str, Any] = {}
        self._outputs: StackOutputs | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Connection:
        return cls(region=args.region, profile=args.profile, endpoint_url=args.endpoint_url, stack=args.stack)

    @property
    def sleep(self) -> Callable[[float], None]:
        """How the CLI waits between polls: on the clock of an embedded local runtime running in this
        process (a test, the demo: its virtual time moves only while we wait on it), else real time."""
        return getattr(current_clock(), "sleep", time.sleep)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url)
        return self._clients[service]

    def outputs(self) -> StackOutputs:
        if self._outputs is None:
            try:
                stacks = self.client("cloudformation").describe_stacks(StackName=self.stack)["Stacks"]
            except ClientError as error:  # the stack is not there: a wrong --stack/--region is a usage error
                raise UsageError(f"cannot read stack {self.stack}: {error}") from None
            outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
            self._outputs = StackOutputs.from_outputs(outputs, self.stack)
        return self._outputs

"""Sessions in the accounts and regions a stack releases into besides its own.

A task acting on a function in a target assumes the deploy role there
(`arn:<partition>:iam::<account>:role/<role name>`, created in each target account by the CDK
`RollgateDeployRole` construct) and makes the function-side clients (Lambda, CloudWatch, Logs, SQS,
ECR, S3) from that session in the target's region. The ledger, the bus and the artifacts of the
release stay in the stack's own account.

`TargetSessions` caches one session per target until shortly before its credentials expire. Expiry
is read against the injected clock, so a virtual clock that runs ahead of the wall clock (the local
runtime) renews credentials when *its* time says so, and a test can move time to see a renewal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from rollgate.aws.errors import translate_client_errors
from rollgate.domain.shared.ports import Clock
from rollgate.domain.shared.validation import Target

#: Renew this long before the credentials expire: a task's calls must not outlive them.
RENEW_BEFORE = timedelta(minutes=5)
#: An hour: what a role allows by default (MaxSessionDuration), and far longer than one task runs.
SESSION_SECONDS = 3600


def deploy_role_arn(partition: str, account: str, role_name: str) -> str:
    return f"arn:{partition}:iam::{account}:role/{role_name}"


@dataclass(frozen=True)
class _Cached:
    session: Any
    expires_at: datetime


class TargetSessions:
    """boto3 sessions in each target, by AssumeRole of the deploy role, cached per target.

    `sts` is a home STS client (default: made on first use); `session_factory(credentials,
    region)` makes the session (default: a boto3.Session with the temporary credentials)."""

    def __init__(
        self,
        *,
        partition: str,
        role_name: str,
        clock: Clock,
        session_name: str = "rollgate",
        sts: Any = None,
        session_factory: Callable[[dict[str, Any], str], Any] | None = None,
    ) -> None:
        self.partition = partition
        self.role_name = role_name
        self._clock = clock
        self._session_name = session_name[:64]
        self._sts = sts
        self._session_factory = session_factory or _boto3_session
        self._cache: dict[Target, _Cached] = {}
        self._lock = threading.Lock()

    def session(self, target: Target) -> Any:
        """A session of the deploy role in `target`'s account, in its region."""
        with self._lock:
            cached = self._cache.get(target)
            if cached is not None and self._clock.now() < cached.expires_at - RENEW_BEFORE:
                return cached.session
            role_arn = deploy_role_arn(self.partition, target.account, self.role_name)
            with translate_client_errors(f"sts:AssumeRole {role_arn}"):
                answer = self._client().assume_role(
                    RoleArn=role_arn, RoleSessionName=self._session_name, DurationSeconds=SESSION_SECONDS
                )
            credentials = answer["Credentials"]
            session = self._session_factory(credentials, target.region)
            self._cache[target] = _Cached(session, _expiry(credentials, self._clock.now()))
            return session

    def _client(self) -> Any:
        if self._sts is None:
            self._sts = boto3.client("sts")
        return self._sts


def _expiry(credentials: dict[str, Any], now: datetime) -> datetime:
    """When the credentials expire. STS says so; when it says nothing readable, the session's
    duration from now (never a cache that lives forever)."""
    value = credentials.get("Expiration")
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            value = None
    if not isinstance(value, datetime):
        return now + timedelta(seconds=SESSION_SECONDS)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _boto3_session(credentials: dict[str, Any], region: str) -> Any:
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )

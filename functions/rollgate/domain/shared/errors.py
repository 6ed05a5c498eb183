"""Rollgate's error vocabulary.

Each class name is a Step Functions error name: a task that raises ``SmokeTestFailed`` fails its
state with Error ``SmokeTestFailed``, and the state machine's Retry/Catch lists name these classes.
Business failures (the release is bad, or the request is) are never retried; transient AWS
failures are retried by the state machine with backoff.
"""

from __future__ import annotations


class RollgateError(Exception):
    """Base of every error Rollgate raises on purpose."""


# --- business failures: the request or the release is wrong; retrying changes nothing ---------
class InvalidRequest(RollgateError):
    """The request does not validate. The message names the field."""


class DeploymentInProgress(RollgateError):
    """Another deployment holds the lease on this function+alias. The message names the holder."""


class PreflightFailed(RollgateError):
    """The infrastructure contract does not hold (missing env var, trigger not on the alias …)."""


class UpdateFailed(RollgateError):
    """Lambda reported LastUpdateStatus Failed; the message carries LastUpdateStatusReason."""


class UpdateTimedOut(RollgateError):
    """LastUpdateStatus stayed InProgress beyond the polling budget."""


class VersionMismatch(RollgateError):
    """The published version's code is not the artifact that was asked for."""


class SmokeTestFailed(RollgateError):
    """A smoke test of the new version failed before any user traffic reached it."""


class HookFailed(RollgateError):
    """A pre- or post-traffic hook answered fail, gave no valid answer, or did not answer in time."""


class ConcurrencyNotReady(RollgateError):
    """Provisioned concurrency of the new version failed, or was not READY within its budget."""


class HealthCheckFailed(RollgateError):
    """The judge found the new version UNHEALTHY (or INCONCLUSIVE past its budget)."""


class DeploymentAborted(RollgateError):
    """An operator or the Remediate workflow asked this deployment to stop."""


class ApprovalRejected(RollgateError):
    """A person rejected the promotion (`rollgate reject`), or nobody answered the approval in time
    and its on_timeout is reject."""


class RollbackFailed(RollgateError):
    """The alias could not be put back and verified on the baseline version."""


class ManifestNotFound(RollgateError):
    """The release manifest did not appear at its S3 location within the polling budget."""


# --- transient AWS failures: the state machine retries these with backoff -----------------------
class TransientAwsError(RollgateError):
    """A 5xx or a network fault talking to AWS."""


class ThrottledError(TransientAwsError):
    """AWS throttled the call (TooManyRequests, Throttling …)."""


class ConflictError(TransientAwsError):
    """ResourceConflictException or a stale RevisionId: someone else changed the resource."""


class NotFoundError(RollgateError):
    """A resource the request names does not exist."""


#: Outcome of a deployment that stopped on each business failure, before any traffic moved.
REJECTING_ERRORS: frozenset[str] = frozenset(
    {
        "InvalidRequest",
        "PreflightFailed",
        "NotFoundError",
        "UpdateFailed",
        "UpdateTimedOut",
        "VersionMismatch",
        "SmokeTestFailed",
        "HookFailed",
    }
)

#: Error names the state machine retries with backoff.
TRANSIENT_ERRORS: tuple[str, ...] = ("TransientAwsError", "ThrottledError", "ConflictError")

"""The contract between the places: the state machines (infra), the tasks, the CLI and the tests.

One module, standard library only, so `rollgate_cdk/` (which synthesizes) and the Lambda package (which
runs) read the same names without either importing the other's dependencies:
- the task states of each workflow, the task module each runs, and where it puts its record in the
  state document (its ResultPath), and which state's record is the execution's conclusion;
- the `next` answers the gates give and the state machine's Choice states route on;
- every outcome status, and which ones count as success per workflow;
- the Step Functions error names a failed execution ends with, derived from the exception classes;
- the environment variables the stack sets on its functions, with their defaults.
Every other place reads these; nothing keeps a copy.
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

from rollgate.domain.shared import errors


# --------------------------------------------------------------------------- states and records
class Step(NamedTuple):
    """A task state: its name in the state machine, the task module it invokes, and the key of the
    state document its record is written to (`ResultPath: $.<result>`; "" is the whole document)."""

    state: str
    task: str
    result: str

    @property
    def result_path(self) -> str:
        return f"$.{self.result}" if self.result else "$"


DEPLOY_STEPS: tuple[Step, ...] = (
    Step("Validate", "validate", ""),
    Step("Preflight", "preflight", "baseline"),
    Step("UpdateFunction", "update_function", "update"),
    Step("CheckUpdate", "check_update", "update"),
    Step("PublishVersion", "publish_version", "version"),
    Step("CheckVersion", "check_version", "version"),
    Step("SmokeTest", "smoke_test", "smoke"),
    Step("PreTrafficHook", "run_hook", "pre_traffic"),
    Step("ProvisionConcurrency", "provision_concurrency", "concurrency"),
    Step("CheckConcurrency", "provision_concurrency", "concurrency"),
    Step("ShiftTraffic", "shift_traffic", "canary"),
    Step("JudgeCanary", "judge_canary", "canary"),
    # a person's answer to the approval gate (or its default) is the canary record to go on with
    Step("AwaitApproval", "await_approval", "canary"),
    Step("ApprovalTimedOut", "await_approval", "canary"),
    Step("Promote", "promote", "watch"),
    Step("JudgeWatch", "judge_watch", "watch"),
    Step("ShiftControl", "promote", "watch"),
    Step("CompleteWatch", "promote", "watch"),
    Step("PostTrafficHook", "run_hook", "post_traffic"),
    Step("ReleaseConcurrency", "release_concurrency", "concurrency"),
    Step("Prune", "prune", "prune"),
    # only with request.redrive.after_fix, after a verified promotion: never a reason to roll back
    Step("StartRedrive", "start_redrive", "redrive"),
    Step("CheckRedrive", "check_redrive", "redrive"),
    Step("Rollback", "rollback", "rollback"),
    Step("Record", "record", "result"),
    Step("ReleaseLease", "release_lease", "lease"),
    # the execution's own Reconcile (after Record, ReleaseLease or Rollback failed) answers as Record does
    Step("Reconcile", "reconcile", "result"),
)
RELEASE_STEPS: tuple[Step, ...] = (
    Step("StartRelease", "start_release", ""),
    Step("LoadManifest", "load_manifest", ""),
    # before the first wave: this release's turn in its application+branch queue? (a Wait, then again)
    Step("CheckQueue", "check_queue", ""),
    Step("AdvanceWave", "advance_wave", ""),
    Step("RevertFunction", "revert_function", ""),
    # before each wave: inside the deployment windows? (a Wait until they open, then again)
    Step("CheckWindow", "check_window", ""),
    Step("AwaitWaveApproval", "await_wave_approval", "wave_approval"),
    Step("WaveApprovalTimedOut", "await_wave_approval", ""),
    Step("WaveNotApproved", "await_wave_approval", ""),
    # between two waves: the wave just promoted judged again for bake_seconds (a Wait, then again)
    Step("StartBake", "start_bake", ""),
    Step("JudgeBake", "judge_bake", ""),
    Step("RecordRelease", "record_release", "result"),
)
REMEDIATE_STEPS: tuple[Step, ...] = (
    Step("Assess", "assess_remediation", ""),
    Step("Remediate", "remediate", ""),
    Step("RecordRemediation", "record_remediation", "result"),
)

#: Where each task state puts its record in the state document.
RESULT_KEYS: dict[str, str] = {s.state: s.result for s in (*DEPLOY_STEPS, *RELEASE_STEPS, *REMEDIATE_STEPS) if s.result}
#: The states whose record is the execution's conclusion, per workflow.
RECORD_STATES = frozenset({"Record", "Reconcile", "RecordRelease", "RecordRemediation"})


#: The task package (``rollgate.tasks.<package>``) each workflow's steps run from.
STEPS_BY_PACKAGE: dict[str, tuple[Step, ...]] = {
    "deploy": DEPLOY_STEPS,
    "release": RELEASE_STEPS,
    "remediate": REMEDIATE_STEPS,
}


def task_handler(package: str, module: str) -> str:
    """The Lambda handler of task `module` of workflow package `package` (see STEPS_BY_PACKAGE)."""
    return f"rollgate.tasks.{package}.{module}.lambda_handler"


def step(name: str) -> Step:
    """The task state `name` of any workflow (KeyError for a name no workflow has)."""
    return _BY_NAME[name]


_BY_NAME = {s.state: s for s in (*DEPLOY_STEPS, *RELEASE_STEPS, *REMEDIATE_STEPS)}


# --------------------------------------------------------------------------- next answers
class CanaryNext(str, Enum):
    """What the canary gate asks the state machine for."""

    BAKE = "bake"
    SHIFT = "shift"
    PROMOTE = "promote"
    ROLLBACK = "rollback"
    APPROVE = "approve"


class WatchNext(str, Enum):
    """What the watch gate asks the state machine for."""

    WATCH = "watch"
    CONTROL = "control"
    COMPLETE = "complete"
    DONE = "done"
    ROLLBACK = "rollback"


class ReleaseNext(str, Enum):
    """What the release workflow's wave step asks for."""

    WAVE = "wave"
    REVERT = "revert"
    DONE = "done"
    APPROVE = "approve"
    BAKE = "bake"


class QueueNext(str, Enum):
    """What the release queue's step asks for (rollgate.domain.release.queue)."""

    RUN = "run"
    WAIT = "wait"
    SUPERSEDED = "superseded"
    TIMED_OUT = "timed_out"


class RemediationAction(str, Enum):
    """What the Remediate workflow's assessment decided to do."""

    ROLLBACK = "rollback"
    ABORT = "abort"
    TAKE_OVER = "take_over"
    NONE = "none"


# --------------------------------------------------------------------------- outcomes
class Status(str, Enum):
    """Every outcome a workflow records, in one vocabulary (each workflow uses its part)."""

    PROMOTED = "PROMOTED"
    ROLLED_BACK = "ROLLED_BACK"
    REJECTED = "REJECTED"
    FAILED = "FAILED"
    #: written only by Reconcile, for an execution stopped before its Record ran
    ABORTED = "ABORTED"
    RELEASED = "RELEASED"
    PARTIAL = "PARTIAL"
    ABORT_REQUESTED = "ABORT_REQUESTED"
    NO_ACTION = "NO_ACTION"
    #: a release's function whose wave never ran (not approved, outside its window, or after a failure)
    NOT_STARTED = "NOT_STARTED"
    #: a release a newer push of its branch took over: ended while queued, or before its next wave
    SUPERSEDED = "SUPERSEDED"
    #: a release that waited in its branch's queue past queue.max_wait_seconds: nothing deployed
    QUEUE_TIMEOUT = "QUEUE_TIMEOUT"


DEPLOY_STATUSES = frozenset({Status.PROMOTED, Status.ROLLED_BACK, Status.REJECTED, Status.FAILED, Status.ABORTED})
RELEASE_STATUSES = frozenset(
    {
        Status.RELEASED,
        Status.ROLLED_BACK,
        Status.PARTIAL,
        Status.REJECTED,
        Status.FAILED,
        Status.SUPERSEDED,
        Status.QUEUE_TIMEOUT,
    }
)
REMEDIATION_STATUSES = frozenset({Status.ROLLED_BACK, Status.ABORT_REQUESTED, Status.NO_ACTION, Status.FAILED})
#: Outcomes that count as success: a deployment promoted, a release released, a remediation that did
#: what the situation asked for (rolled back, asked a deployment to abort, or rightly nothing).
DEPLOY_SUCCESS = frozenset({Status.PROMOTED})
RELEASE_SUCCESS = frozenset({Status.RELEASED})
REMEDIATION_SUCCESS = frozenset({Status.ROLLED_BACK, Status.ABORT_REQUESTED, Status.NO_ACTION})


# --------------------------------------------------------------------------- error names
def error_name(error: type[BaseException]) -> str:
    """The Step Functions error a task raising `error` fails its state with: the class's name."""
    return error.__name__


class DeploymentRolledBack(errors.RollgateError):
    """The execution's end when its deployment was rolled back (its output is the record)."""


class DeploymentRejected(errors.RollgateError):
    """The execution's end when its request was rejected before anything changed."""


class DeploymentFailed(errors.RollgateError):
    """The execution's end when the deployment failed (the record says where)."""


class ReleaseRolledBack(errors.RollgateError):
    """A release one of whose functions was not promoted: every function is back."""


class ReleasePartial(errors.RollgateError):
    """A non-atomic release that promoted some functions and not others."""


class ReleaseRejected(errors.RollgateError):
    """A release whose manifest was invalid or never arrived: nothing deployed."""


class ReleaseFailed(errors.RollgateError):
    """A release that could not put something back, or whose workflow failed."""


class ReleaseSuperseded(errors.RollgateError):
    """A release a newer push of its branch took over (what it promoted stays)."""


class ReleaseQueueTimeout(errors.RollgateError):
    """A release that waited in its branch's queue too long: nothing deployed."""


#: The error a DeployFunction execution ends with for each unsuccessful outcome (a parent release
#: reads the child's outcome from it); the CLI maps them back.
DEPLOY_ERRORS = {
    Status.ROLLED_BACK: error_name(DeploymentRolledBack),
    Status.REJECTED: error_name(DeploymentRejected),
    Status.FAILED: error_name(DeploymentFailed),
}
RELEASE_ERRORS = {
    Status.ROLLED_BACK: error_name(ReleaseRolledBack),
    Status.PARTIAL: error_name(ReleasePartial),
    Status.REJECTED: error_name(ReleaseRejected),
    Status.FAILED: error_name(ReleaseFailed),
    Status.SUPERSEDED: error_name(ReleaseSuperseded),
    Status.QUEUE_TIMEOUT: error_name(ReleaseQueueTimeout),
}


class RemediationFailed(errors.RollgateError):
    """A remediation that could not do what the situation asked for."""


REMEDIATION_ERRORS = {Status.FAILED: error_name(RemediationFailed)}
#: Errors Validate ends an execution with before anything is locked or changed.
INVALID_REQUEST = error_name(errors.InvalidRequest)
DEPLOYMENT_IN_PROGRESS = error_name(errors.DeploymentInProgress)


# --------------------------------------------------------------------------- environment
class Variable(NamedTuple):
    """An environment variable the stack sets on its functions, and its default when it may be unset
    (None: required)."""

    name: str
    default: str | None = None


LEDGER_TABLE = Variable("LEDGER_TABLE_NAME")
EVENT_BUS = Variable("EVENT_BUS_NAME")
ARTIFACT_BUCKET = Variable("ARTIFACT_BUCKET_NAME")
LEASE_SECONDS = Variable("ROLLGATE_LEASE_SECONDS", "3600")
REMEDIATION_LOOKBACK_MINUTES = Variable("REMEDIATION_LOOKBACK_MINUTES", "60")
MANAGED_FUNCTION_TAG = Variable("ROLLGATE_MANAGED_FUNCTION_TAG", "rollgate:managed")
HEALTH_POLICIES = Variable("ROLLGATE_HEALTH_POLICIES", "{}")
DEPLOYMENT_WINDOWS = Variable("ROLLGATE_DEPLOYMENT_WINDOWS", "{}")
#: The defaults each function was declared with in the CDK app (Rollgate.manage): a JSON list
#: of {function_name, alias?, strategy?, smoke_tests?, health_policy?, health?}
MANAGED_FUNCTIONS = Variable("ROLLGATE_MANAGED_FUNCTIONS", "[]")
#: the accounts and regions the stack releases into besides its own: JSON [{"account", "regions"}]
TARGETS = Variable("ROLLGATE_TARGETS", "[]")
#: the role the tasks assume in each target account (RollgateDeployRole's role_name)
DEPLOY_ROLE_NAME = Variable("ROLLGATE_DEPLOY_ROLE_NAME", "rollgate-deploy")
RELEASE_STATE_MACHINE = Variable("RELEASE_STATE_MACHINE_ARN")
REMEDIATE_STATE_MACHINE = Variable("REMEDIATE_STATE_MACHINE_ARN")
RELEASE_BRANCHES = Variable("RELEASE_BRANCHES", "release/*")
GUARD_ALARM_PREFIX = Variable("GUARD_ALARM_PREFIX", "rollgate-guard-")
WEBHOOK_SECRET = Variable("WEBHOOK_SECRET_ARN")

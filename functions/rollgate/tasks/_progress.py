"""The tasks' side of the progress events (rollgate.domain.shared.progress): put `Deployment Step Changed`
on the bus under the progress source, and never fail a gate for it."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from rollgate.domain.shared.errors import RollgateError
from rollgate.domain.shared.models import CanaryProgress, DeploymentContext, WatchProgress
from rollgate.domain.shared.progress import PROGRESS_SOURCE, STEP_CHANGED, Step, step_changed
from rollgate.tasks._runtime import Dependencies, logger


def announce_step(
    ctx: DeploymentContext, progress: CanaryProgress | WatchProgress, step: Step | None, deps: Dependencies
) -> None:
    """Put the step event for what the task just did. A progress event is a courtesy: when it
    cannot be put (after the adapter's retries, or denied by a bus policy), the gate goes on and
    the outcome event still comes; failing the task would turn a chat glitch into a rollback. The
    error is logged as such, so an IAM gap stays visible."""
    if step == "judge" and not _judged_anew(ctx, progress):
        return  # a log poll that found nothing: no new verdict to announce
    event = step_changed(ctx, progress, step=step) if step else None
    if event is None:
        return
    try:
        deps.events.with_source(PROGRESS_SOURCE).publish(STEP_CHANGED, event.model_dump(mode="json"))
    except (RollgateError, ClientError, BotoCoreError) as error:
        logger.error("progress event not put", extra={"step": step, "error": f"{type(error).__name__}: {error}"})


def _judged_anew(ctx: DeploymentContext, progress: CanaryProgress | WatchProgress) -> bool:
    before = ctx.canary if isinstance(progress, CanaryProgress) else ctx.watch
    last_before = before.verdicts[-1] if before is not None and before.verdicts else None
    return bool(progress.verdicts) and progress.verdicts[-1] != last_before

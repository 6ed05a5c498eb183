"""Task StartRelease: validate the release input envelope (the manifest is LoadManifest's job)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from rollgate.domain.release.waves import ReleaseContext, start_release
from rollgate.tasks._runtime import Dependencies, entry_task


@entry_task(
    correlation_id=lambda ctx: ctx.release_id, started=lambda ctx: ("release started", {"release_id": ctx.release_id})
)
def lambda_handler(request: Any, execution: Any, context: LambdaContext, deps: Dependencies) -> ReleaseContext:
    return start_release(request, execution, clock=deps.clock)

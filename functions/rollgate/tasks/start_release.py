"""Task StartRelease: validate the release input envelope (the manifest is LoadManifest's job)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from rollgate.domain.release import start_release
from rollgate.tasks._runtime import dependencies, logger, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    ctx = start_release(event.get("request"), event.get("execution"), clock=deps.clock)
    logger.set_correlation_id(ctx.release_id)
    logger.info("release started", extra={"release_id": ctx.release_id})
    return ctx.model_dump(mode="json")

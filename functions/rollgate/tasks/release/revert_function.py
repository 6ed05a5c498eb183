"""Task RevertFunction (Release, one Map iteration): put one function the release promoted back on
its previous version, verified and smoke-tested, and write that into the function's history."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from rollgate.contract import Status
from rollgate.domain.deploy.start import deployment_id_for
from rollgate.domain.release.waves import RevertTarget
from rollgate.domain.remediate.remediation import remediation_record
from rollgate.domain.shared.models import Lenient
from rollgate.domain.shared.revert import revert_promotion
from rollgate.tasks._runtime import dependencies, logger, tracer


class RevertInput(Lenient):
    target: RevertTarget
    release_id: str
    execution_name: str
    execution_arn: str | None = None
    reason: str = "the release did not complete"


@logger.inject_lambda_context(correlation_id_path="release_id", clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    item = RevertInput.model_validate(event)
    target = item.target
    started = deps.clock.now()
    holder = deployment_id_for(started, f"{item.execution_name}-revert")
    report = revert_promotion(
        target.function_name,
        target.alias,
        promoted_version=target.promoted_version,
        restore_version=target.restore_version,
        smoke_tests=target.smoke_tests,
        holder=holder,
        lambda_api=deps.lambda_api,
        ledger=deps.ledger,
        clock=deps.clock,
    )
    status = Status.NO_ACTION if report.status == "MOVED_ON" else Status.ROLLED_BACK
    deps.ledger.put_deployment(
        remediation_record(
            remediation_id=holder,
            function_name=target.function_name,
            alias=target.alias,
            status=status,
            reason=f"release {item.release_id} rolled back (atomic): {item.reason}. {report.detail}",
            trigger="release",
            started_at=started,
            finished_at=deps.clock.now(),
            execution_arn=item.execution_arn,
            report=report,
            release_id=item.release_id,
        )
    )
    logger.info("function reverted", extra={"function_name": target.function_name, "status": report.status})
    return {"report": report.model_dump(mode="json")}

"""What the Release and Remediate task modules share: their handler decorators."""

from __future__ import annotations

from rollgate.domain.release.waves import ReleaseContext
from rollgate.domain.remediate.remediation import RemediationContext
from rollgate.tasks._runtime import workflow_task

#: A Release task: the document is the ReleaseContext, correlated by release id.
release_task = workflow_task(
    ReleaseContext,
    correlation_id_path="release_id",
    log_keys=lambda ctx: {"release_id": ctx.release_id, "wave": ctx.wave_index},
)

#: A Remediate task: the document is the RemediationContext, correlated by remediation id.
remediation_task = workflow_task(
    RemediationContext,
    correlation_id_path="remediation_id",
    log_keys=lambda ctx: {"function_name": ctx.function_name, "alias": ctx.alias},
)

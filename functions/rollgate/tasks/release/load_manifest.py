"""Task LoadManifest: one more poll for the manifest CI uploads after the push."""

from __future__ import annotations

from rollgate.domain.release.waves import ReleaseContext, load_manifest
from rollgate.tasks._release import release_task
from rollgate.tasks._runtime import Dependencies


@release_task
def lambda_handler(ctx: ReleaseContext, deps: Dependencies) -> object:
    return load_manifest(
        ctx,
        store=deps.artifacts,
        health_policies=deps.settings.health_policies,
        deployment_windows=deps.settings.deployment_windows,
        managed_functions=deps.settings.managed_functions,
    )

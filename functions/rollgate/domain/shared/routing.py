"""Moving alias traffic: every change is guarded by the alias's RevisionId and read back.

An alias is never left half-shifted by accident: each function here either ends with the alias in
the state asked for (verified by reading it back) or raises, and the state machine's Catch then
leads to Rollback, which uses `restore` below.
"""

from __future__ import annotations

from rollgate.domain.shared.errors import ConflictError, DeploymentAborted, RollbackFailed
from rollgate.domain.shared.ports import AliasRouting, LambdaApi


def describe(routing: AliasRouting) -> str:
    if not routing.additional_weights:
        return f"100% v{routing.version}"
    shares = [f"v{routing.version} {routing.weight_of(routing.version):.0%}"]
    shares += [f"v{v} {w:.0%}" for v, w in routing.additional_weights.items()]
    return " / ".join(shares)


def _same(routing: AliasRouting, version: str, weights: dict[str, float]) -> bool:
    current = {v: round(w, 4) for v, w in routing.additional_weights.items()}
    return routing.version == version and current == {v: round(w, 4) for v, w in weights.items()}


def set_routing(
    lambda_api: LambdaApi, function_name: str, alias: str, *, version: str, weights: dict[str, float]
) -> tuple[AliasRouting, bool]:
    """Put the alias on `version` plus `weights`; returns (routing, changed). Idempotent."""
    current = lambda_api.get_alias(function_name, alias)
    if _same(current, version, weights):
        return current, False
    lambda_api.update_alias(
        function_name, alias, version=version, additional_weights=weights, revision_id=current.revision_id
    )
    after = lambda_api.get_alias(function_name, alias)
    if not _same(after, version, weights):
        raise ConflictError(f"alias {alias} reads back as {describe(after)} after the update; retrying")
    return after, True


def guard_expected_primary(routing: AliasRouting, stable_version: str, alias: str) -> None:
    """During a canary the primary must still be the stable version; anything else means someone
    changed the alias outside Rollgate, and the deployment must stop rather than fight them."""
    if routing.version != stable_version:
        raise DeploymentAborted(
            f"alias {alias} was changed outside Rollgate: it now routes {describe(routing)}, "
            f"expected v{stable_version} as primary"
        )


def shift(
    lambda_api: LambdaApi, function_name: str, alias: str, *, stable: str, canary: str, percent: int
) -> tuple[AliasRouting, bool]:
    guard_expected_primary(lambda_api.get_alias(function_name, alias), stable, alias)
    return set_routing(lambda_api, function_name, alias, version=stable, weights={canary: percent / 100})


def promote(lambda_api: LambdaApi, function_name: str, alias: str, *, version: str) -> tuple[AliasRouting, bool]:
    return set_routing(lambda_api, function_name, alias, version=version, weights={})


def restore(lambda_api: LambdaApi, function_name: str, alias: str, *, version: str) -> tuple[AliasRouting, bool]:
    """Rollback: all traffic back on `version`, weights cleared, verified by reading it back."""
    try:
        return set_routing(lambda_api, function_name, alias, version=version, weights={})
    except ConflictError as error:
        raise RollbackFailed(f"could not verify alias {alias} back on v{version}: {error}") from error

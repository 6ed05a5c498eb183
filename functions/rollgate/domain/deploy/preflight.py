"""Gate 2 — the infrastructure contract, and the baseline everything later is judged against.

A canary is only real if every trigger goes through the alias, the new version can share the
alias with the old one (same role, same DLQ), and the configuration the new code needs is there.
Any breach rejects the release before anything is changed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol, runtime_checkable

from rollgate.domain.deploy import redeploy
from rollgate.domain.shared.errors import NotFoundError, PreflightFailed
from rollgate.domain.shared.models import (
    AlarmState,
    Baseline,
    DeploymentContext,
    Evidence,
    QueueDepth,
    StreamLag,
)
from rollgate.domain.shared.ports import (
    AliasRouting,
    ArtifactStore,
    Clock,
    EventSourceMapping,
    FunctionConfig,
    HealthProbes,
    ImageRegistry,
    LambdaApi,
    RedriveProbe,
)

_STREAM_SOURCES = (":kinesis:", ":dynamodb:", ":kafka:")
_INVOKE_ACTIONS = frozenset({"lambda:invokefunction", "lambda:invokefunctionurl", "lambda:*", "*"})


@runtime_checkable
class InvokerProbe(Protocol):
    """A LambdaApi that can also list who else invokes a function and whether Rollgate manages it:
    what preflight needs to see every invoker, not only event source mappings."""

    def resource_policy(self, function_name: str) -> list[dict[str, Any]]:
        """The statements of the function's resource-based policy ([] when it has none)."""
        ...

    def function_url_qualifiers(self, function_name: str) -> list[str | None]:
        """The qualifier of each function URL config (None: on the unqualified function)."""
        ...

    def is_managed(self, function_name: str) -> bool:
        """Whether the function carries the managed tag (Rollgate may change only those)."""
        ...


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _policy_bypasses(statements: list[dict[str, Any]], ctx: DeploymentContext) -> list[str]:
    """Allow statements that grant invoke on the unqualified function or another qualifier."""
    found = []
    for statement in statements:
        actions = {str(a).lower() for a in _as_list(statement.get("Action", []))}
        if statement.get("Effect", "Allow") != "Allow" or not actions & _INVOKE_ACTIONS:
            continue
        for resource in _as_list(statement.get("Resource", [])):
            if str(resource).endswith(f":function:{ctx.function_name}:{ctx.alias}"):
                continue
            principal = statement.get("Principal")
            who = principal.get("Service") or principal.get("AWS") if isinstance(principal, dict) else principal
            source = (statement.get("Condition") or {}).get("ArnLike", {}).get("AWS:SourceArn")
            found.append(
                f"resource policy statement {statement.get('Sid', '?')!r} lets {who}"
                + (f" ({source})" if source else "")
                + f" invoke {resource}: remove it and grant the alias instead (aws lambda add-permission "
                f"--function-name {ctx.function_name} --qualifier {ctx.alias} …), then point the caller at "
                f"{ctx.function_name}:{ctx.alias}"
            )
    return found


def _check_invokers(probe: InvokerProbe, mappings: list[EventSourceMapping], ctx: DeploymentContext) -> Evidence:
    """Every invoker goes through the alias: event source mappings, resource-policy grants and
    function URLs. A caller of the unqualified function would run the new code at 100% from
    UpdateFunctionCode on, before smoke and canary, while the ledger records a canary."""
    bypassing = [
        f"event source mapping {m.source_arn} invokes {m.function_arn}: point it at {ctx.function_name}:{ctx.alias}"
        for m in mappings
        if not m.function_arn.endswith(f":{ctx.alias}")
    ]
    bypassing += _policy_bypasses(probe.resource_policy(ctx.function_name), ctx)
    for qualifier in probe.function_url_qualifiers(ctx.function_name):
        if qualifier != ctx.alias:
            on = f"{ctx.function_name}:{qualifier}" if qualifier else f"{ctx.function_name} (unqualified)"
            bypassing.append(
                f"function URL on {on}: delete it and create it on the alias (aws lambda create-function-url-config "
                f"--function-name {ctx.function_name} --qualifier {ctx.alias} …)"
            )
    if bypassing:
        return _bypass_finding(
            "invokers_use_alias", f"invokers bypass alias {ctx.alias} (the canary would be fiction): ", bypassing, ctx
        )
    return Evidence(
        check="invokers_use_alias",
        ok=True,
        detail=f"every invoker (mappings, resource policy, function URLs) goes through alias {ctx.alias}",
    )


def _bypass_finding(check: str, headline: str, bypassing: list[str], ctx: DeploymentContext) -> Evidence:
    """Invokers that bypass the alias reject the release, unless the request's `bypass_invokers`
    is "warn": then the finding is recorded as a failed check and the release goes on (those
    callers run the new code at 100% from the update on; the canary only covers the others)."""
    finding = headline + "; ".join(bypassing)
    if ctx.request.bypass_invokers != "warn":
        raise PreflightFailed(finding)
    return Evidence(
        check=check,
        ok=False,
        detail=f"WARNING (bypass_invokers: warn, the release goes on): {finding}",
        data={"bypassing": bypassing, "bypass_invokers": "warn"},
    )


def source_queue_dlqs(mappings: list[EventSourceMapping], probes: HealthProbes, *, known: set[str]) -> list[QueueDepth]:
    """The redrive dead-letter queue of each SQS event source: where the records the function
    keeps failing end up (partial batch failures included, which produce no Errors)."""
    queues = probes.queues
    if not isinstance(queues, RedriveProbe):
        return []
    found: list[QueueDepth] = []
    for mapping in mappings:
        if ":sqs:" not in mapping.source_arn:
            continue
        target = queues.redrive_target(mapping.source_arn)
        if target and target not in known:
            known.add(target)
            found.append(
                QueueDepth(queue=target, depth=queues.depth(target), source=mapping.source_arn, kind="source_redrive")
            )
    return found


def desired_environment(latest: FunctionConfig, ctx: DeploymentContext) -> dict[str, str]:
    """The environment the new version runs with: the function's, overlaid by the request's."""
    return {**latest.environment, **ctx.request.environment}


def requested_settings(ctx: DeploymentContext) -> dict[str, Any]:
    """The FunctionConfiguration fields the request sets."""
    return ctx.request.configuration.requested() if ctx.request.configuration else {}


def settings_changes(config: FunctionConfig, ctx: DeploymentContext) -> dict[str, tuple[Any, Any]]:
    """Setting -> (what `config` has, what the request asks for), for each one that differs."""
    have = config.settings()
    return {name: (have[name], wanted) for name, wanted in requested_settings(ctx).items() if have[name] != wanted}


def describe_changes(changes: dict[str, tuple[Any, Any]]) -> str:
    return ", ".join(f"{name} {old} -> {new}" for name, (old, new) in changes.items())


def image_digest(image_uri: str) -> str:
    """Lambda reports an image function's CodeSha256 as the digest's hex."""
    return image_uri.rsplit("@sha256:", 1)[1]


def _read_function(lambda_api: LambdaApi, ctx: DeploymentContext) -> tuple[FunctionConfig, AliasRouting]:
    try:
        latest = lambda_api.get_config(ctx.function_name)
    except NotFoundError:
        raise PreflightFailed(f"function {ctx.function_name} does not exist") from None
    try:
        alias = lambda_api.get_alias(ctx.function_name, ctx.alias)
    except NotFoundError:
        raise PreflightFailed(
            f"alias {ctx.alias} of {ctx.function_name} does not exist: create it on the live version first"
        ) from None
    if alias.additional_weights:
        split = ", ".join(f"v{v} {w:.0%}" for v, w in alias.additional_weights.items())
        raise PreflightFailed(
            f"alias {ctx.alias} is mid-shift (v{alias.version} primary, {split}): a previous deployment "
            "did not finish; put the alias back on one version first (`aws lambda update-alias --routing-config "
            "'{\"AdditionalVersionWeights\": {}}'`)"
        )
    return latest, alias


def _artifact_sha(
    artifacts: ArtifactStore, ctx: DeploymentContext, latest: FunctionConfig, images: ImageRegistry | None
) -> str:
    artifact = ctx.request.artifact
    if artifact.is_image:
        if latest.package_type != "Image":
            raise PreflightFailed(
                f"{ctx.function_name} is a {latest.package_type} function; an image cannot be deployed to it"
            )
        sha = image_digest(artifact.image_uri or "")
        if images is not None:
            found = images.inspect_image(artifact.image_uri or "")
            if not found.exists:
                raise PreflightFailed(
                    f"image {artifact.image_uri} does not exist" + (f": {found.detail}" if found.detail else "")
                )
    else:
        if latest.package_type != "Zip":
            raise PreflightFailed(f"{ctx.function_name} is an image function; a zip cannot be deployed to it")
        info = artifacts.inspect(artifact.bucket or "", artifact.key or "", artifact.version_id)
        if not info.exists or info.code_sha256 is None:
            raise PreflightFailed(f"artifact {artifact.describe()} does not exist")
        sha = info.code_sha256
    expected = ctx.request.expected_code_sha256
    if expected and expected != sha:
        raise PreflightFailed(
            f"artifact {artifact.describe()} has CodeSha256 {sha}, not the expected_code_sha256 {expected}"
        )
    return sha


def _check_alias_compatibility(latest: FunctionConfig, live: FunctionConfig) -> Evidence:
    """Lambda splits an alias between two versions only if they share role and DLQ config."""
    problems = []
    if latest.role != live.role:
        problems.append(f"execution role differs ({live.role} live vs {latest.role} new)")
    if latest.dead_letter_target_arn != live.dead_letter_target_arn:
        problems.append(
            f"dead-letter config differs ({live.dead_letter_target_arn} live vs {latest.dead_letter_target_arn} new)"
        )
    if problems:
        raise PreflightFailed("a weighted alias needs both versions alike: " + "; ".join(problems))
    return Evidence(check="weighted_alias_rules", ok=True, detail="new and live version share role and DLQ config")


def _check_triggers(mappings: list[EventSourceMapping], ctx: DeploymentContext) -> Evidence:
    bypassing = [m for m in mappings if not m.function_arn.endswith(f":{ctx.alias}")]
    if bypassing:
        listed = ", ".join(f"{m.source_arn} -> {m.function_arn}" for m in bypassing)
        return _bypass_finding(
            "triggers_use_alias",
            f"triggers bypass alias {ctx.alias} (the canary would be fiction): ",
            [f"{listed}; point them at {ctx.function_name}:{ctx.alias}"],
            ctx,
        )
    return Evidence(
        check="triggers_use_alias",
        ok=True,
        detail=f"{len(mappings)} event source mapping(s), all through alias {ctx.alias}",
        data={"mappings": [m.source_arn for m in mappings]},
    )


def _check_environment(latest: FunctionConfig, ctx: DeploymentContext) -> Evidence:
    merged = desired_environment(latest, ctx)
    missing = [name for name in ctx.request.required_environment if not merged.get(name)]
    if missing:
        names = ", ".join(missing)
        raise PreflightFailed(
            f"required environment variable(s) {names} not set on {ctx.function_name} "
            "and not given in the request's environment"
        )
    return Evidence(
        check="required_environment",
        ok=True,
        detail=f"{len(ctx.request.required_environment)} required variable(s) present after merge",
    )


def run_preflight(
    ctx: DeploymentContext,
    *,
    lambda_api: LambdaApi,
    artifacts: ArtifactStore,
    probes: HealthProbes,
    clock: Clock,
    images: ImageRegistry | None = None,
) -> Baseline:
    now = clock.now()
    # first: a function or alias that does not exist is said as such
    latest, alias = _read_function(lambda_api, ctx)
    if isinstance(lambda_api, InvokerProbe) and not lambda_api.is_managed(ctx.function_name):
        # said here, not as a raw AccessDenied at UpdateFunctionCode once the lease is taken
        raise PreflightFailed(
            f"function {ctx.function_name} is not managed by Rollgate: give it the stack's managed-function tag "
            "(default rollgate:managed=true); Rollgate may change only functions that carry it"
        )
    live_version = alias.version
    live = lambda_api.get_config(ctx.function_name, live_version)
    existing = redeploy.existing_version_config(ctx, lambda_api) if redeploy.existing_version(ctx) else None
    artifact_sha = existing.code_sha256 if existing else _artifact_sha(artifacts, ctx, latest, images)
    mappings = lambda_api.list_event_source_mappings(ctx.function_name)
    # an adapter that can read the resource policy and function URLs sees every invoker
    invokers = (
        _check_invokers(lambda_api, mappings, ctx)
        if isinstance(lambda_api, InvokerProbe)
        else _check_triggers(mappings, ctx)
    )
    evidence = [
        Evidence(
            check="function_and_alias",
            ok=True,
            detail=f"{ctx.function_name}:{ctx.alias} is on version {live_version}",
            data={"live_version": live_version, "live_code_sha256": live.code_sha256},
        ),
        Evidence(
            check="artifact",
            ok=True,
            detail=f"{ctx.request.artifact.describe()} has CodeSha256 {artifact_sha}",
            data={"code_sha256": artifact_sha},
        ),
        _check_alias_compatibility(latest, live),
        invokers,
        _check_environment(latest, ctx),
    ]
    live_pc, pc_note = _check_provisioned_concurrency(lambda_api, ctx, live_version)
    evidence.append(pc_note)
    changes = settings_changes(live, ctx)
    if changes:
        evidence.append(
            Evidence(
                check="configuration",
                ok=True,
                detail=f"configuration changes from v{live_version}: {describe_changes(changes)}",
                data={"changes": {k: {"from": a, "to": b} for k, (a, b) in changes.items()}},
            )
        )

    policy = ctx.request.health
    dlq_names = policy.dead_letter_queues
    if dlq_names is None:
        dlq_names = (
            [live.dead_letter_target_arn]
            if live.dead_letter_target_arn and ":sqs:" in live.dead_letter_target_arn
            else []
        )
    dlqs = [QueueDepth(queue=q, depth=probes.queues.depth(q)) for q in dlq_names]
    if policy.dead_letter_queues is None:
        dlqs += source_queue_dlqs(mappings, probes, known={q.queue for q in dlqs})

    stream_mappings = [m for m in mappings if any(s in m.source_arn for s in _STREAM_SOURCES)]
    if policy.event_source_mappings is not None:
        stream_mappings = [m for m in stream_mappings if m.uuid in policy.event_source_mappings]
    period = policy.metric_period_seconds
    ages = probes.metrics.iterator_age(ctx.function_name, now - timedelta(seconds=5 * period), now, period)
    recent_age = next((s.value for s in reversed(ages) if s.value is not None), None)
    streams = [StreamLag(mapping_uuid=m.uuid, source=m.source_arn, iterator_age_ms=recent_age) for m in stream_mappings]

    alarm_states = (
        [AlarmState(name=a.name, state=a.state_now) for a in probes.alarms.states(policy.alarm_names)]
        if policy.alarm_names
        else []
    )
    firing = [a.name for a in alarm_states if a.state == "ALARM"]
    if firing:
        evidence.append(
            Evidence(
                check="alarms_at_preflight",
                ok=True,
                detail=(
                    f"already in ALARM before this deployment (raised by v{live_version}; "
                    f"will not fail the new version): {', '.join(firing)}"
                ),
            )
        )

    already_live = (
        artifact_sha == live.code_sha256 and desired_environment(latest, ctx) == live.environment and not changes
    )
    if existing is not None:  # an existing version is live only if it is the live one itself
        already_live = existing.version == live_version
    if already_live:
        evidence.append(
            Evidence(
                check="already_live",
                ok=True,
                detail=f"version {live_version} already runs this artifact and configuration",
            )
        )
    return Baseline(
        captured_at=now,
        live_version=live_version,
        live_code_sha256=live.code_sha256,
        alias_revision_id=alias.revision_id,
        function_revision_id=latest.revision_id,
        artifact_code_sha256=artifact_sha,
        already_live=already_live,
        dead_letter_queues=dlqs,
        streams=streams,
        alarms=alarm_states,
        live_configuration=live.settings(),
        live_provisioned_concurrency=live_pc,
        evidence=evidence,
    )


def _check_provisioned_concurrency(
    lambda_api: LambdaApi, ctx: DeploymentContext, live_version: str
) -> tuple[int, Evidence]:
    """The weighted-alias rules of provisioned concurrency. Lambda refuses routing weights on an
    alias that has provisioned concurrency of its own, so a canary through it is impossible; on
    versions it is fine, and the new version gets its own allocation before any traffic (the
    request's, else the live version's, so promotion does not move the traffic onto cold starts)."""
    qualifiers = lambda_api.provisioned_concurrency_versions(ctx.function_name)
    if ctx.alias in qualifiers:
        raise PreflightFailed(
            f"alias {ctx.alias} of {ctx.function_name} has provisioned concurrency of its own, and Lambda cannot "
            "split an alias that has it: move the allocation to the live version (`aws lambda "
            f"put-provisioned-concurrency-config --qualifier {live_version}`, then delete the alias's), and Rollgate "
            "allocates it on each new version before traffic moves"
        )
    config = (
        lambda_api.get_provisioned_concurrency(ctx.function_name, live_version) if live_version in qualifiers else None
    )
    live_pc = config.requested if config else 0
    asked = ctx.request.provisioned_concurrency
    new_pc = asked.executions if asked is not None else live_pc
    if live_pc or new_pc:
        detail = (
            f"provisioned concurrency: v{live_version} has {live_pc}; the new version gets {new_pc} "
            "before it takes traffic, and the old allocation is released after promotion"
        )
    else:
        detail = "no provisioned concurrency on the alias or the live version"
    others = sorted(q for q in qualifiers if q not in (live_version, ctx.alias))
    if others:
        detail += f" (also on {', '.join(others)}, left alone)"
    return live_pc, Evidence(
        check="provisioned_concurrency", ok=True, detail=detail, data={"live": live_pc, "new": new_pc}
    )

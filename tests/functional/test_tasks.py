"""Each task handler against moto: the happy path through the gates, and the AWS error paths the
state machine relies on (the error name a task raises is what Retry/Catch match)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rollgate.domain.shared.errors import ConflictError, DeploymentInProgress, InvalidRequest, ThrottledError
from rollgate.tasks import _runtime
from rollgate.tasks.deploy import (
    check_update,
    preflight,
    promote,
    provision_concurrency,
    prune,
    publish_version,
    record,
    release_concurrency,
    release_lease,
    run_hook,
    shift_traffic,
    smoke_test,
    update_function,
    validate,
)

V1 = "def handler(event, context):\n    return {'ok': True, 'build': 'v1'}\n"
V2 = "def handler(event, context):\n    return {'ok': True, 'build': 'v2'}\n"


@dataclass
class FakeContext:
    function_name: str = "rollgate-task"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:rollgate-task"
    aws_request_id: str = "req-1"


@pytest.fixture
def tasks_env(rollgate_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Rollgate")
    _runtime.dependencies.cache_clear()
    yield rollgate_env
    _runtime.dependencies.cache_clear()


@pytest.fixture
def app(make_function: Callable[..., str], lambda_client, s3_client, artifact_bucket: str, make_zip) -> dict[str, Any]:
    """A managed function (tagged rollgate:managed=true) live on v1 behind alias `live`, and the v2
    zip in the artifact bucket."""
    name = make_function(V1, name="orders-api", publish=True)
    arn = lambda_client.get_function_configuration(FunctionName=name)["FunctionArn"]
    lambda_client.tag_resource(Resource=arn, Tags={"rollgate:managed": "true"})
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    s3_client.put_object(Bucket=artifact_bucket, Key="v2.zip", Body=make_zip(V2))
    return {"function": name, "bucket": artifact_bucket}


def request(app: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body = {
        "function_name": app["function"],
        "artifact": {"bucket": app["bucket"], "key": "v2.zip"},
        "strategy": {"type": "canary", "steps": [10], "interval_seconds": 60},
        "smoke_tests": [{"name": "ping", "payload": {"ping": 1}}],
        "watch_seconds": 0,
    }
    body.update(overrides)
    return body


def run(module: Any, doc: dict[str, Any]) -> Any:
    return module.lambda_handler(json.loads(json.dumps(doc)), FakeContext())


def start(app: dict[str, Any], name: str = "exec-1", **overrides: Any) -> dict[str, Any]:
    return run(validate, {"request": request(app, **overrides), "execution": {"Name": name, "Id": f"arn:{name}"}})


def test_validate_names_the_bad_field(tasks_env, app) -> None:
    with pytest.raises(InvalidRequest, match=r"strategy\.steps"):
        start(app, strategy={"type": "linear", "steps": [30, 20], "interval_seconds": 60})


def test_validate_refuses_a_second_deployment_naming_the_holder(tasks_env, app) -> None:
    start(app, name="first")
    with pytest.raises(DeploymentInProgress, match="first"):
        start(app, name="second")


def test_gates_against_moto_promote_and_record(tasks_env, app, lambda_client, dynamodb_client, ledger_table) -> None:
    # given a validated, locked deployment
    doc = start(app)
    # when each gate runs in order, as the state machine would chain them
    doc["baseline"] = run(preflight, doc)
    assert doc["baseline"]["live_version"] == "1"
    doc["update"] = run(update_function, doc)
    while doc["update"]["status"] == "InProgress":
        doc["update"] = run(check_update, doc)
    doc["version"] = run(publish_version, doc)
    assert doc["version"]["code_sha256"] == doc["baseline"]["artifact_code_sha256"]
    doc["smoke"] = run(smoke_test, doc)
    doc["canary"] = run(shift_traffic, doc)
    alias = lambda_client.get_alias(FunctionName="orders-api", Name="live")
    assert alias["RoutingConfig"]["AdditionalVersionWeights"] == {doc["version"]["version"]: 0.1}
    doc["watch"] = run(promote, doc)
    assert doc["watch"]["next"] == "done"
    result = run(record, doc)
    assert run(release_lease, doc)["released"] is True  # ReleaseLease, Record's own next step
    # then the alias is on the new version, the ledger has it, and the lease is free
    alias = lambda_client.get_alias(FunctionName="orders-api", Name="live")
    assert alias["FunctionVersion"] == doc["version"]["version"]
    assert result["status"] == "PROMOTED" and result["error_name"] is None
    items = dynamodb_client.scan(TableName=ledger_table)["Items"]
    assert not [i for i in items if i["sk"]["S"] == "LEASE"]
    assert [i for i in items if i["sk"]["S"].startswith("DEPLOY#")]


def _fail_with(code: str, status: int) -> Callable[..., Any]:
    def raise_(*args: Any, **kwargs: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Injected"
        )

    return raise_


def test_throttling_surfaces_as_ThrottledError_for_the_state_machine_to_retry(tasks_env, app, monkeypatch) -> None:
    doc = start(app)
    client = _runtime.dependencies().lambda_api._client
    monkeypatch.setattr(client, "get_function_configuration", _fail_with("TooManyRequestsException", 429))
    with pytest.raises(ThrottledError):
        run(preflight, doc)


def test_stale_alias_revision_surfaces_as_ConflictError(tasks_env, app, monkeypatch) -> None:
    doc = start(app)
    doc["baseline"] = run(preflight, doc)
    doc["update"] = run(update_function, doc)
    while doc["update"]["status"] == "InProgress":
        doc["update"] = run(check_update, doc)
    doc["version"] = run(publish_version, doc)
    client = _runtime.dependencies().lambda_api._client
    monkeypatch.setattr(client, "update_alias", _fail_with("ResourceConflictException", 409))
    with pytest.raises(ConflictError):
        run(shift_traffic, doc)


def test_the_gates_after_smoke_and_after_promotion_on_moto(tasks_env, app, lambda_client, dynamodb_client) -> None:
    # given an old version 2 nobody routes to, and a release with pruning on
    lambda_client.update_function_configuration(FunctionName="orders-api", Timeout=9)
    assert lambda_client.publish_version(FunctionName="orders-api")["Version"] == "2"
    doc = start(app, prune={"enabled": True, "keep_last": 1, "keep_days": 0})
    doc["baseline"] = run(preflight, doc)
    doc["update"] = run(update_function, doc)
    while doc["update"]["status"] == "InProgress":
        doc["update"] = run(check_update, doc)
    doc["version"] = run(publish_version, doc)
    doc["smoke"] = run(smoke_test, doc)
    # when the new states run: no hook configured, no provisioned concurrency anywhere
    doc["pre_traffic"] = run(run_hook, doc)
    doc["concurrency"] = run(provision_concurrency, doc)
    assert (doc["pre_traffic"]["status"], doc["concurrency"]["status"]) == ("skipped", "Skipped")
    doc["canary"] = run(shift_traffic, doc)
    doc["watch"] = run(promote, doc)
    doc["post_traffic"] = run(run_hook, doc)
    assert doc["post_traffic"]["phase"] == "post_traffic"
    doc["concurrency"] = run(release_concurrency, doc)
    doc["prune"] = run(prune, doc)
    # then v1 (replaced: a remediation returns to it) and v3 (live) stay; v2 is deleted
    assert doc["version"]["version"] == "3" and doc["prune"]["deleted"] == ["2"]
    versions = [v["Version"] for v in lambda_client.list_versions_by_function(FunctionName="orders-api")["Versions"]]
    assert versions == ["$LATEST", "1", "3"]
    result = run(record, doc)
    assert result["status"] == "PROMOTED" and "prune" in result["evidence"]

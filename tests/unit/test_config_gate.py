"""Configuration through the gates: memory, timeout, storage, layers, architecture, runtime and
handler applied with the RevisionId guard, verified on the published version, restored on rollback
by moving the alias (nothing published)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rollgate.domain.judge.health import Outcome
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.models import DeploymentRequest, parse_model
from tests.unit.conftest import World, drive, request_for

LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:deps:7"


@pytest.fixture
def sized(world: World) -> World:
    """orders-api v1 runs with 512 MB, 30 s, 512 MB of /tmp, one layer, on x86_64."""
    fn = world.lambda_api.functions["orders-api"]
    settings = {
        "memory_size": 512,
        "timeout": 30,
        "ephemeral_storage": 512,
        "layers": ("arn:aws:lambda:us-east-1:123456789012:layer:deps:6",),
        "runtime": "python3.12",
        "handler": "app.handler",
    }
    fn.latest = replace(fn.latest, **settings)
    fn.versions["1"] = replace(fn.versions["1"], **settings)
    return world


def version(world: World, number: str):
    return world.lambda_api.functions["orders-api"].versions[number]


def test_a_configuration_change_is_applied_guarded_and_verified(sized: World) -> None:
    # given a release of new code with more memory, a shorter timeout and a newer layer
    body = request_for(configuration={"memory_size": 1024, "timeout": 10, "layers": [LAYER]})
    # when it goes through the gates
    result = drive(sized, body)
    # then the published version has exactly that configuration, and v1 kept its own
    assert result["status"] == "PROMOTED"
    v2, v1 = version(sized, "2"), version(sized, "1")
    assert (v2.memory_size, v2.timeout, v2.layers) == (1024, 10, (LAYER,))
    assert (v1.memory_size, v1.timeout) == (512, 30)
    # one UpdateFunctionConfiguration with only what changed
    assert sized.lambda_api.configuration_updates == [{"memory_size": 1024, "timeout": 10, "layers": [LAYER]}]
    details = [e["detail"] for e in result["evidence"]["preflight"] + result["evidence"]["publish"]]
    assert any("memory_size 512 -> 1024" in d for d in details)
    assert any("has the configuration asked for" in d for d in details)


def test_a_configuration_only_change_is_a_release_not_already_live(sized: World) -> None:
    # given the code that is live already, with a new timeout
    body = request_for(artifact={"bucket": "artifacts", "key": "orders/v1.zip"}, configuration={"timeout": 60})
    result = drive(sized, body)
    # then a new version is published and goes through the canary
    assert result["status"] == "PROMOTED" and result["to_version"] == "2"
    assert "already live" not in result["reason"]
    assert version(sized, "2").timeout == 60


def test_a_version_with_the_same_code_but_another_configuration_is_not_reused(sized: World) -> None:
    # given v2 published with 1024 MB
    drive(sized, request_for(configuration={"memory_size": 1024}), execution="first")
    # when the same code is released with 2048 MB
    result = drive(sized, request_for(configuration={"memory_size": 2048}), execution="second")
    # then a new version carries it (reusing v2 would deploy the wrong memory)
    assert result["to_version"] == "3" and version(sized, "3").memory_size == 2048


def test_rerunning_a_configuration_release_publishes_nothing(sized: World) -> None:
    body = request_for(configuration={"memory_size": 1024})
    drive(sized, body, execution="first")
    publishes = sized.lambda_api.publishes
    second = drive(sized, body, execution="second")
    assert "already live" in second["reason"]
    assert sized.lambda_api.publishes == publishes


def test_an_architecture_change_goes_with_the_code(sized: World) -> None:
    result = drive(sized, request_for(configuration={"architectures": ["arm64"]}))
    assert result["status"] == "PROMOTED"
    # Lambda takes Architectures in UpdateFunctionCode, not UpdateFunctionConfiguration
    assert sized.lambda_api.code_updates == [{"architectures": ("arm64",)}]
    assert sized.lambda_api.configuration_updates == []
    assert version(sized, "2").architectures == ("arm64",)


def test_a_configuration_change_rolled_back_restores_the_previous_configuration_publishing_nothing(
    sized: World,
) -> None:
    # given a timeout lowered below what the new version needs: the canary fails
    sized.verdicts = [Outcome.UNHEALTHY]
    result = drive(sized, request_for(configuration={"timeout": 3}))
    # then the alias is back on v1, which still has its own 30 s, and only v2 was ever published
    assert result["status"] == "ROLLED_BACK"
    routing = sized.lambda_api.get_alias("orders-api", "live")
    assert (routing.version, routing.additional_weights) == ("1", {})
    assert version(sized, "1").timeout == 30
    assert sized.lambda_api.publishes == 1


def test_a_published_version_without_the_configuration_asked_for_is_rejected(sized: World) -> None:
    # given a Lambda that drops the memory setting on publish
    api = sized.lambda_api
    original = api.publish_version

    def publish_without_memory(*args, **kwargs):
        published = original(*args, **kwargs)
        fn = api.functions["orders-api"]
        fn.versions[published.version] = replace(published, memory_size=128)
        return fn.versions[published.version]

    api.publish_version = publish_without_memory  # type: ignore[method-assign]
    result = drive(sized, request_for(configuration={"memory_size": 1024}))
    assert result["status"] == "REJECTED"
    assert "VersionMismatch" in result["reason"] and "memory_size 128 -> 1024" in result["reason"]
    assert api.alias_updates == 0


@pytest.mark.parametrize(
    ("configuration", "field"),
    [
        ({"memory_size": 64}, "configuration.memory_size"),
        ({"timeout": 901}, "configuration.timeout"),
        ({"ephemeral_storage": 100}, "configuration.ephemeral_storage"),
        ({"layers": ["not-an-arn"]}, "configuration.layers"),
        ({"architectures": ["x86_64", "arm64"]}, "configuration.architectures"),
        ({"architectures": ["sparc"]}, "configuration.architectures"),
        ({"runtime": "Python 3"}, "configuration.runtime"),
        ({"memory": 1024}, "configuration.memory"),
    ],
)
def test_bad_configuration_names_the_field(configuration: dict, field: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse_model(DeploymentRequest, request_for(configuration=configuration))
    assert str(raised.value).startswith(field)


def test_an_image_takes_no_runtime_or_handler() -> None:
    body = request_for(
        artifact={"image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders@sha256:" + "a" * 64},
        configuration={"handler": "app.handler"},
    )
    with pytest.raises(InvalidRequest, match="image function takes no runtime or handler"):
        parse_model(DeploymentRequest, body)

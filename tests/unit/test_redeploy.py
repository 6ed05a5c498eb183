"""`rollgate deploy --version N` (artifact.function_version): an existing published version released
through the gates that judge it, with nothing updated and nothing published."""

from __future__ import annotations

import pytest

from rollgate.domain.deploy.start import parse_request
from rollgate.domain.shared.errors import InvalidRequest
from tests.unit.conftest import World, drive, request_for


def versions(world: World) -> list[str]:
    return sorted(v.version for v in world.lambda_api.list_versions("orders-api"))


def test_an_older_version_goes_through_smoke_canary_and_watch_with_nothing_published(world: World) -> None:
    # given v2 promoted over v1
    assert drive(world, request_for(), execution="v2")["status"] == "PROMOTED"
    before, latest_code = versions(world), world.lambda_api.get_config("orders-api").code_sha256
    world.lambda_api.invocations.clear()
    # when version 1 is released again, as it is
    result = drive(world, request_for(artifact={"function_version": "1"}), execution="undo")
    # then it went through the smoke test (on version 1 itself), the canary and the watch
    assert result["status"] == "PROMOTED", result["reason"]
    assert (result["from_version"], result["to_version"]) == ("2", "1")
    assert ("orders-api", "1", {"ping": True}) in world.lambda_api.invocations
    assert {"smoke", "canary", "watch"} <= set(result["evidence"])
    run = world.runs[-1]
    assert run.path[0] == "shift_traffic" and "judge_watch" in run.path
    # and nothing was updated or published
    assert versions(world) == before
    assert world.lambda_api.get_config("orders-api").code_sha256 == latest_code
    details = [e["detail"] for e in result["evidence"]["update"] + result["evidence"]["publish"]]
    assert any("nothing updated" in d for d in details) and any("nothing published" in d for d in details)
    assert world.lambda_api.get_alias("orders-api", "live").version == "1"


def test_a_version_that_does_not_exist_is_rejected_at_preflight(world: World) -> None:
    result = drive(world, request_for(artifact={"function_version": "7"}))
    assert result["status"] == "REJECTED"
    assert "version 7 of orders-api does not exist" in result["reason"]
    assert world.lambda_api.get_alias("orders-api", "live").version == "1"


def test_the_live_version_itself_is_already_live(world: World) -> None:
    result = drive(world, request_for(artifact={"function_version": "1"}))
    assert result["status"] == "PROMOTED" and "already live" in result["reason"]
    assert versions(world) == ["1"]


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"environment": {"FEATURE_X": "on"}}, "artifact.function_version"),
        ({"configuration": {"memory_size": 256}}, "artifact.function_version"),
    ],
)
def test_an_existing_version_takes_no_new_environment_or_configuration(extra: dict, named: str) -> None:
    with pytest.raises(InvalidRequest, match=named):
        parse_request(request_for(artifact={"function_version": "3"}, **extra))


@pytest.mark.parametrize("artifact", [{"function_version": "3", "image_uri": "x"}, {"function_version": "v3"}])
def test_function_version_is_a_number_given_alone(artifact: dict) -> None:
    with pytest.raises(InvalidRequest, match="artifact"):
        parse_request(request_for(artifact=artifact))

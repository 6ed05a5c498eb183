"""What a release manifest carries into each function's request: configuration, provisioned
concurrency, pruning and hooks, with the defaults merged, and bad values refused by their path."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from rollgate.domain.release.manifest import deployment_request, parse_manifest
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.models import Provenance

ROOT = Path(__file__).resolve().parents[2]
SAMPLE: dict[str, Any] = json.loads((ROOT / "tests/events/release_manifest.json").read_text())
LAYER = "arn:aws:lambda:eu-west-1:123456789012:layer:shared:7"


def _manifest(**changes: Any) -> dict[str, Any]:
    manifest = copy.deepcopy(SAMPLE)
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node: Any = manifest
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[leaf] = value
    return manifest


def _requests(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    parsed = parse_manifest(manifest)
    return [
        deployment_request(parsed, w, f, Provenance()).model_dump(mode="json")
        for w, wave in enumerate(parsed.waves)
        for f in range(len(wave.functions))
    ]


def test_a_function_carries_its_configuration_and_provisioned_concurrency() -> None:
    # given: the payments function raises its memory, moves to a new layer and asks for 5 warm environments
    manifest = _manifest(
        waves__0__functions__0__configuration={"memory_size": 1024, "timeout": 30, "layers": [LAYER]},
        waves__0__functions__0__provisioned_concurrency={"executions": 5, "max_polls": 20},
    )
    # when
    payments, inventory, _ = _requests(manifest)
    # then: payments' request has them; inventory's keeps the function's own settings and allocation
    assert payments["configuration"] == {
        **{key: None for key in ("ephemeral_storage", "architectures", "runtime", "handler")},
        "memory_size": 1024,
        "timeout": 30,
        "layers": [LAYER],
    }
    assert payments["provisioned_concurrency"] == {"executions": 5, "poll_interval_seconds": 15, "max_polls": 20}
    assert inventory["configuration"] is None and inventory["provisioned_concurrency"] is None


def test_prune_defaults_merge_field_by_field() -> None:
    # given: pruning on for every function, one function keeping more versions
    manifest = _manifest(
        defaults__prune={"enabled": True, "keep_last": 5},
        waves__1__functions__0__prune={"keep_last": 20},
    )
    # when
    payments, _, orders = _requests(manifest)
    # then: orders keeps 20 and is still pruned; the others get the default
    assert payments["prune"] == {"enabled": True, "keep_last": 5, "keep_days": 30, "max_deletions": 50}
    assert orders["prune"] == {"enabled": True, "keep_last": 20, "keep_days": 30, "max_deletions": 50}


def test_without_a_prune_setting_nothing_is_pruned() -> None:
    assert all(request["prune"]["enabled"] is False for request in _requests(SAMPLE))


def test_hooks_default_for_every_function_and_a_function_may_drop_or_swap_one() -> None:
    # given: both hooks for everyone; inventory drops the pre-traffic one, orders swaps the post-traffic one
    manifest = _manifest(
        defaults__hooks={
            "pre_traffic": {"function": "shop-deep-check"},
            "post_traffic": {"function": "shop-journey", "timeout_seconds": 120},
        },
        waves__0__functions__1__hooks={"pre_traffic": None},
        waves__1__functions__0__hooks={"post_traffic": {"function": "orders-journey"}},
    )
    # when
    payments, inventory, orders = _requests(manifest)
    # then
    assert payments["hooks"] == {
        "pre_traffic": {"function": "shop-deep-check", "timeout_seconds": 60},
        "post_traffic": {"function": "shop-journey", "timeout_seconds": 120},
    }
    assert inventory["hooks"] == {"pre_traffic": None, "post_traffic": payments["hooks"]["post_traffic"]}
    assert orders["hooks"] == {
        "pre_traffic": payments["hooks"]["pre_traffic"],
        "post_traffic": {"function": "orders-journey", "timeout_seconds": 60},
    }


@pytest.mark.parametrize(
    ("where", "value", "problem"),
    [
        ("waves__0__functions__1__configuration", {"memory_size": 64}, ".memory_size: "),
        ("waves__1__functions__0__configuration", {"layers": ["not-a-layer"]}, ".layers: "),
        ("waves__0__functions__0__provisioned_concurrency", {"executions": -1}, ".executions: "),
        ("waves__0__functions__0__provisioned_concurrency", {"max_polls": 5}, ".executions: required"),
        ("defaults__prune", {"keep_last": 0}, ".keep_last: "),
        ("waves__1__functions__0__prune", {"keep_forever": True}, ".keep_forever: unknown field"),
        ("defaults__hooks", {"pre_traffic": {"function": "check", "timeout_seconds": 601}}, ".pre_traffic.timeout"),
        ("waves__0__functions__0__hooks", {"pre_traffic": {}}, ".pre_traffic.function: required"),
        ("defaults__configuration", {"memory_size": 512}, ": unknown field"),
        ("defaults__provisioned_concurrency", {"executions": 2}, ": unknown field"),
    ],
)
def test_a_bad_value_is_refused_by_its_path_before_anything_deploys(where: str, value: Any, problem: str) -> None:
    field = "manifest." + where.replace("__", ".") + problem
    with pytest.raises(InvalidRequest, match=re.escape(field)):
        parse_manifest(_manifest(**{where: value}))


def test_a_rule_of_the_whole_request_names_the_function_it_breaks() -> None:
    # given: an image function told to change its runtime (an image defines its own)
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop@sha256:" + "a" * 64
    manifest = _manifest(
        waves__0__functions__1__artifact={"image_uri": image},
        waves__0__functions__1__configuration={"runtime": "python3.12"},
    )
    # when / then: refused at parse time, naming that function
    with pytest.raises(InvalidRequest, match=r"manifest\.waves\.0\.functions\.1: .*image function takes no runtime"):
        parse_manifest(manifest)


def test_polls_of_a_requested_allocation_count_against_one_execution() -> None:
    # given: an allocation polled so often the execution could not hold it with the canary and watch
    manifest = _manifest(
        waves__0__functions__0__provisioned_concurrency={"executions": 1, "max_polls": 500},
        defaults__update_polling={"interval_seconds": 5, "max_polls": 900},
    )
    with pytest.raises(InvalidRequest, match=r"manifest\.waves\.0\.functions\.0: .*provisioned_concurrency\.max_polls"):
        parse_manifest(manifest)

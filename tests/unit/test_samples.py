"""The inputs people paste into the console are the ones the tests use: they must stay valid."""

from __future__ import annotations

import json
import re
from pathlib import Path

from rollgate.domain.deploy.start import parse_request

ROOT = Path(__file__).resolve().parents[2]


def test_sample_console_input_is_a_valid_request() -> None:
    request = parse_request(json.loads((ROOT / "tests/events/deployment_request.json").read_text()))
    assert request.strategy.steps == [10] and request.smoke_tests[0].name == "place-order"


def test_readme_input_example_is_a_valid_request() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The input: `DeploymentRequest`", 1)[1]
    example = re.search(r"```json\n(.*?)```", section, re.S)
    assert example, "the README lost its DeploymentRequest example"
    body = json.loads(example.group(1).replace("…", "x"))
    body["expected_code_sha256"] = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    assert parse_request(body).function_name == "orders-api"

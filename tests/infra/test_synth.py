"""`python -m rollgate_cdk.synth` and `python app.py` build the same app from cdk.json, with no CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from rollgate_cdk.build import PROJECT_ROOT, cdk_json_context
from rollgate_cdk.settings import LOG_RETENTION_DAYS, MANAGED_FUNCTION_TAG, Settings


def _env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "functions"), str(PROJECT_ROOT)]),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        **extra,
    }


def test_synth_module_and_app_py_write_the_same_template(synthesized: Any, tmp_path: Path) -> None:
    synth_out, app_out = tmp_path / "synth", tmp_path / "app"
    # both at once: each is a full synthesis
    synth = subprocess.Popen(
        [sys.executable, "-m", "rollgate_cdk.synth", str(synth_out)],
        cwd=PROJECT_ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # the CDK CLI runs `python app.py` with CDK_OUTDIR set
    app = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=PROJECT_ROOT,
        env=_env(CDK_OUTDIR=str(app_out)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    synth_stdout, synth_stderr = synth.communicate(timeout=120)
    _, app_stderr = app.communicate(timeout=120)
    assert synth.returncode == 0, synth_stderr
    assert app.returncode == 0, app_stderr
    assert "no unacknowledged findings" in synth_stdout

    templates = []
    for outdir in (synth_out, app_out):
        assert (outdir / "Rollgate.assets.json").is_file()
        templates.append(json.loads((outdir / "Rollgate.template.json").read_text()))
    assert templates[0] == templates[1]
    # the session's synthesis too, but for the code asset's hash (functions/ may change meanwhile)
    assert _without_code_hash(templates[0]) == _without_code_hash(synthesized.json)


def _without_code_hash(template: dict[str, Any]) -> str:
    return re.sub(r'"S3Key": "[0-9a-f]{64}\.zip"', '"S3Key": "<asset>.zip"', json.dumps(template))


def test_settings_come_from_cdk_json() -> None:
    context = cdk_json_context()
    settings = Settings.from_context(cdk.App(context=context).node)
    assert settings.managed_function_tag == context[MANAGED_FUNCTION_TAG] == "rollgate:managed"
    assert settings.log_retention_days == context[LOG_RETENTION_DAYS] == 30


def test_cli_context_overrides_and_is_validated() -> None:
    # `cdk -c rollgate:logRetentionDays=90` arrives as a string
    settings = Settings.from_context(cdk.App(context={LOG_RETENTION_DAYS: "90"}).node)
    assert settings.log_retention_days == 90
    with pytest.raises(ValueError, match="rollgate:logRetentionDays=31"):
        Settings.from_context(cdk.App(context={LOG_RETENTION_DAYS: 31}).node)

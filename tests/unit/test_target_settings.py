"""The stack's targets in the tasks' settings: ROLLGATE_TARGETS (JSON) and the deploy role name."""

from __future__ import annotations

import json

import pytest

from rollgate.aws.settings import ConfigurationError, Settings
from rollgate.domain.shared.validation import Target

BASE = {"LEDGER_TABLE_NAME": "ledger", "EVENT_BUS_NAME": "bus"}


def test_targets_are_read_as_account_region_pairs_with_the_default_role_name():
    targets = [{"account": "222222222222", "regions": ["eu-west-1", "us-east-1"]}]
    settings = Settings.from_environ({**BASE, "ROLLGATE_TARGETS": json.dumps(targets)})

    assert settings.allowed_targets() == {Target("222222222222", "eu-west-1"), Target("222222222222", "us-east-1")}
    assert settings.deploy_role_name == "rollgate-deploy"


def test_no_targets_by_default():
    assert Settings.from_environ(BASE).allowed_targets() == frozenset()


def test_a_malformed_target_fails_the_cold_start_naming_the_variable():
    bad = json.dumps([{"account": "22", "regions": ["eu-west-1"]}])
    with pytest.raises(ConfigurationError, match="ROLLGATE_TARGETS"):
        Settings.from_environ({**BASE, "ROLLGATE_TARGETS": bad})

"""The task runtime's dependencies for a function in a target: the function-side clients act in the
target account and region through the deploy role; the ledger stays home, keyed by the ARN."""

from __future__ import annotations

import json

import boto3
import pytest

from rollgate.aws.settings import ConfigurationError, load_settings
from rollgate.domain.shared.validation import FunctionLocation, StackHome, Target
from rollgate.tasks import _runtime

HOME = StackHome(partition="aws", region="us-east-1", account="123456789012")
EU = Target("222222222222", "eu-west-1")
ROLE = "arn:aws:iam::222222222222:role/rollgate-deploy"


@pytest.fixture
def runtime_env(aws, monkeypatch, ledger_table, make_zip):
    monkeypatch.setenv("LEDGER_TABLE_NAME", ledger_table)
    monkeypatch.setenv("EVENT_BUS_NAME", "default")
    monkeypatch.setenv("ROLLGATE_TARGETS", json.dumps([{"account": EU.account, "regions": [EU.region]}]))
    for cached in (_runtime.dependencies, _runtime._target_sessions, load_settings):
        cached.cache_clear()
    # the team's function in the target account and region (made there by an administrator)
    answer = boto3.client("sts").assume_role(RoleArn=ROLE, RoleSessionName="admin")["Credentials"]
    there = boto3.Session(
        aws_access_key_id=answer["AccessKeyId"],
        aws_secret_access_key=answer["SecretAccessKey"],
        aws_session_token=answer["SessionToken"],
        region_name=EU.region,
    )
    iam_role = there.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    there.client("lambda").create_function(
        FunctionName="orders",
        Runtime="python3.12",
        Role=iam_role,
        Handler="index.handler",
        Code={"ZipFile": make_zip("def handler(e, c):\n    return e\n")},
    )
    yield
    for cached in (_runtime.dependencies, _runtime._target_sessions, load_settings):
        cached.cache_clear()


def test_a_targets_function_is_read_in_its_account_and_region_and_leased_by_its_arn(runtime_env):
    # when the runtime builds the dependencies for `orders` in the target
    deps = _runtime.dependencies_for(FunctionLocation("orders", EU), HOME)

    # then its Lambda calls reach the target's function, which the home account does not have
    assert deps.lambda_api.get_config("orders").arn == "arn:aws:lambda:eu-west-1:222222222222:function:orders"
    with pytest.raises(Exception, match="orders"):
        _runtime.dependencies().lambda_api.get_config("orders")

    # and the ledger is the home table, the lease keyed by the function's ARN
    assert deps.ledger.table_name == _runtime.dependencies().ledger.table_name
    assert deps.ledger._key_of("orders") == "arn:aws:lambda:eu-west-1:222222222222:function:orders"
    assert deps.events is _runtime.dependencies().events

    # and a second task of the same target reuses the session (one AssumeRole per target)
    assert _runtime._target_sessions("aws")._cache.keys() == {EU}


def test_home_is_the_home_dependencies_and_an_unconfigured_target_is_refused(runtime_env):
    assert _runtime.dependencies_for(FunctionLocation("orders"), HOME) is _runtime.dependencies()
    with pytest.raises(ConfigurationError, match="ROLLGATE_TARGETS"):
        _runtime.dependencies_for(FunctionLocation("orders", Target("333333333333", "eu-west-1")), HOME)

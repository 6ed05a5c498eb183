"""Functions in other accounts and regions: a target the stack is configured with is accepted and
kept (never reduced to the home function of the same name); any other place is refused naming the
field."""

from __future__ import annotations

import pytest

from rollgate.domain.shared.validation import FunctionLocation, StackHome, Target, check_function_name, locate_function

HOME = StackHome(partition="aws", region="us-east-1", account="111111111111")
WITH_TARGETS = HOME.with_targets([("222222222222", "eu-west-1"), ("222222222222", "us-east-1")])
REMOTE_ARN = "arn:aws:lambda:eu-west-1:222222222222:function:orders-api"


def test_a_function_arn_in_a_configured_target_keeps_its_target_and_arn_key():
    # given a stack configured with account 2222 in eu-west-1, when its ARN is located
    located = locate_function(REMOTE_ARN, WITH_TARGETS)

    # then it is that target's function, keyed in the ledger by its full ARN
    assert located == FunctionLocation("orders-api", Target("222222222222", "eu-west-1"))
    assert located.key("aws") == REMOTE_ARN


def test_account_and_region_fields_name_the_same_target_as_the_arn():
    located = locate_function("orders-api", WITH_TARGETS, account="222222222222", region="eu-west-1")

    assert located.target == Target("222222222222", "eu-west-1")
    assert located.key("aws") == REMOTE_ARN


def test_the_home_named_explicitly_is_the_home_and_keeps_the_bare_key():
    located = locate_function("orders-api", WITH_TARGETS, account="111111111111", region="us-east-1")

    assert located == FunctionLocation("orders-api")
    assert located.key("aws") == "orders-api"  # home keys unchanged


def test_an_account_that_is_not_a_target_is_refused_naming_the_account_field():
    with pytest.raises(ValueError, match=r"^account: account 333333333333, region eu-west-1 is not one of"):
        locate_function("orders-api", WITH_TARGETS, account="333333333333", region="eu-west-1")


def test_a_region_of_a_target_account_that_is_not_configured_is_refused_naming_the_region_field():
    with pytest.raises(ValueError, match=r"^region: account 222222222222, region ap-south-1 is not one of"):
        locate_function("orders-api", WITH_TARGETS, account="222222222222", region="ap-south-1")


def test_fields_that_disagree_with_the_arn_are_refused():
    with pytest.raises(ValueError, match=r"^account: 333333333333 disagrees with the function ARN's account"):
        locate_function(REMOTE_ARN, WITH_TARGETS, account="333333333333")


def test_without_targets_an_arn_elsewhere_is_still_refused_as_before():
    # the stack's home only: reducing the ARN to its name would release the home function
    with pytest.raises(ValueError, match="releases functions in account 111111111111, region us-east-1 only"):
        check_function_name(REMOTE_ARN, HOME)
    with pytest.raises(ValueError, match="releases functions in account 111111111111, region us-east-1 only"):
        locate_function(REMOTE_ARN, HOME)


def test_an_arn_in_an_unknown_target_is_refused_by_the_name_check_too():
    with pytest.raises(ValueError, match="and account 222222222222, region eu-west-1"):
        check_function_name("arn:aws:lambda:ap-south-1:222222222222:function:orders-api", WITH_TARGETS)

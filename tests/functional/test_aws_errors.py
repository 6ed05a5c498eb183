"""botocore errors come out of every adapter as Rollgate's error names (the Step Functions errors
the state machine retries or catches)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from rollgate.aws.errors import translate, translate_client_errors
from rollgate.aws.lambda_api import Boto3LambdaApi
from rollgate.domain.shared.errors import (
    ConflictError,
    NotFoundError,
    ThrottledError,
    TransientAwsError,
)


def client_error(code: str, status: int, message: str = "AWS says no", operation: str = "UpdateAlias") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("TooManyRequestsException", 429, ThrottledError),
        ("ThrottlingException", 400, ThrottledError),
        ("Throttling", 400, ThrottledError),
        ("RequestLimitExceeded", 400, ThrottledError),
        ("ProvisionedThroughputExceededException", 400, ThrottledError),
        ("ResourceConflictException", 409, ConflictError),
        ("PreconditionFailedException", 412, ConflictError),
        ("TransactionConflict", 400, ConflictError),
        ("ResourceNotFoundException", 404, NotFoundError),
        ("NoSuchKey", 404, NotFoundError),
        ("NoSuchBucket", 404, NotFoundError),
        ("404", 404, NotFoundError),
        ("ServiceException", 500, TransientAwsError),
        ("InternalFailure", 500, TransientAwsError),
        ("SomethingNew", 503, TransientAwsError),
    ],
)
def test_each_aws_error_code_maps_to_its_rollgate_error(code, status, expected):
    # given an AWS error, when translated, then it is the Rollgate error the state machine expects
    translated = translate(client_error(code, status), "lambda:UpdateAlias orders:live")

    assert type(translated) is expected
    assert "lambda:UpdateAlias orders:live" in str(translated)
    assert "AWS says no" in str(translated)


def test_business_errors_are_not_translated_and_pass_through_unchanged():
    original = client_error("AccessDeniedException", 403)

    with pytest.raises(ClientError) as raised, translate_client_errors("lambda:GetAlias x:live"):
        raise original

    assert raised.value is original


def test_network_faults_are_transient():
    with pytest.raises(TransientAwsError, match="EndpointConnectionError"), translate_client_errors("sqs:GetQueueUrl"):
        raise EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com")
    with pytest.raises(TransientAwsError, match="ReadTimeoutError"), translate_client_errors("lambda:Invoke f"):
        raise ReadTimeoutError(endpoint_url="https://lambda.us-east-1.amazonaws.com")


def test_works_as_a_decorator_and_names_the_operation_when_no_call_is_given():
    @translate_client_errors()
    def update() -> None:
        raise client_error("TooManyRequestsException", 429, "Rate exceeded", operation="UpdateFunctionCode")

    with pytest.raises(ThrottledError, match="UpdateFunctionCode failed: TooManyRequestsException: Rate exceeded"):
        update()


def test_translated_error_keeps_the_original_as_its_cause():
    original = client_error("ResourceConflictException", 409)

    with pytest.raises(ConflictError) as raised, translate_client_errors():
        raise original

    assert raised.value.__cause__ is original


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("TooManyRequestsException", 429, ThrottledError),
        ("ResourceConflictException", 409, ConflictError),
        ("ServiceException", 500, TransientAwsError),
    ],
)
def test_adapter_calls_surface_translated_errors(lambda_client, code, status, expected):
    # given Lambda answering UpdateAlias with an error
    api = Boto3LambdaApi(lambda_client)
    with Stubber(lambda_client) as stub:
        stub.add_client_error(
            "update_alias", service_error_code=code, service_message="try later", http_status_code=status
        )

        # when the adapter shifts traffic, then the error has the Rollgate name and says which call failed
        with pytest.raises(expected, match=r"lambda:UpdateAlias orders:live failed: .*try later"):
            api.update_alias("orders", "live", version="2", additional_weights={"3": 0.1}, revision_id="r1")


def test_stale_revision_id_is_a_conflict(lambda_client):
    api = Boto3LambdaApi(lambda_client)
    with Stubber(lambda_client) as stub:
        stub.add_client_error(
            "update_function_code",
            service_error_code="PreconditionFailedException",
            service_message="The Revision Id provided does not match the latest Revision Id.",
            http_status_code=412,
        )
        with pytest.raises(ConflictError, match="Revision Id provided does not match"):
            api.update_code(
                "orders", bucket="artifacts", key="k.zip", object_version=None, image_uri=None, revision_id="stale"
            )

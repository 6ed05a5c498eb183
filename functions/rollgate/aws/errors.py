"""botocore errors -> Rollgate's error vocabulary.

The class names of `rollgate.domain.shared.errors` are the Step Functions error names, so the state
machine retries ThrottledError / ConflictError / TransientAwsError with backoff and never retries a
business failure. Every adapter call runs inside `translate_client_errors`; what it does not
recognise is re-raised unchanged (a bug or an IAM gap must stay visible as itself).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from rollgate.domain.shared.errors import (
    ConflictError,
    NotFoundError,
    RollgateError,
    ThrottledError,
    TransientAwsError,
)

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "ProvisionedThroughputExceededException",
        "SlowDown",  # S3's throttle (a 503)
    }
)
CONFLICT_CODES = frozenset(
    {
        "ResourceConflictException",  # Lambda: an update is in progress
        "PreconditionFailedException",  # Lambda: stale RevisionId
        "TransactionConflict",
        "TransactionConflictException",
    }
)
NOT_FOUND_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "NoSuchKey",
        "NoSuchBucket",
        "NoSuchVersion",
        "NotFound",
        "404",  # S3 HeadObject has no body, so the code is the status
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
    }
)
SERVER_ERROR_CODES = frozenset(
    {
        "ServiceException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "InternalServiceError",
    }
)


def translate(error: Exception, call: str | None = None) -> RollgateError | None:
    """The Rollgate error for a botocore error, or None when it is not one we translate.

    `call` says which call failed (e.g. ``lambda:UpdateAlias orders:live``); it defaults to the
    botocore operation name.
    """
    if isinstance(error, ClientError):
        response = error.response
        code = str(response.get("Error", {}).get("Code", ""))
        aws_message = response.get("Error", {}).get("Message") or str(error)
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        where = call or error.operation_name
        message = f"{where} failed: {code or status}: {aws_message}"
        if code in THROTTLING_CODES or status == 429:
            return ThrottledError(message)
        if code in CONFLICT_CODES:
            return ConflictError(message)
        if code in NOT_FOUND_CODES or status == 404:
            return NotFoundError(message)
        if code in SERVER_ERROR_CODES or status >= 500:
            return TransientAwsError(message)
        return None
    if isinstance(error, (BotoConnectionError, HTTPClientError)):
        # EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError …
        where = call or "AWS call"
        return TransientAwsError(f"{where} failed: {type(error).__name__}: {error}")
    return None


@contextmanager
def translate_client_errors(call: str | None = None) -> Iterator[None]:
    """Context manager (and, being a ContextDecorator, a decorator) that turns botocore errors into
    Rollgate errors, keeping the AWS message and naming the call::

        with translate_client_errors(f"lambda:GetAlias {function_name}:{alias}"):
            response = client.get_alias(FunctionName=function_name, Name=alias)
    """
    try:
        yield
    except (ClientError, BotoConnectionError, HTTPClientError) as error:
        translated = translate(error, call)
        if translated is None:
            raise
        raise translated from error


def error_code(error: ClientError) -> str:
    """The AWS error code of a ClientError ("" when the response has none)."""
    return str(error.response.get("Error", {}).get("Code", ""))

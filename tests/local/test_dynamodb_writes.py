"""Conditional writes are atomic on the local runtime as on DynamoDB (bridge patch 31): of writers
racing for one key under attribute_not_exists, exactly one wins (the lease relies on it)."""

from __future__ import annotations

import threading

from botocore.exceptions import ClientError

from rollgate_local.bridge import dynamodb
from rollgate_local.runtime import LocalRuntime


def test_of_racing_conditional_puts_on_one_key_exactly_one_succeeds(runtime: LocalRuntime) -> None:
    client = runtime.client("dynamodb")
    client.create_table(
        TableName="leases",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    won: list[str] = []
    refused: list[str] = []
    start = threading.Barrier(8)

    def take(holder: str) -> None:
        start.wait()
        try:
            client.put_item(
                TableName="leases",
                Item={"pk": {"S": "LEASE#orders-api#live"}, "holder": {"S": holder}},
                ConditionExpression="attribute_not_exists(pk)",
            )
            won.append(holder)
        except ClientError as error:
            refused.append(error.response["Error"]["Code"])

    threads = [threading.Thread(target=take, args=(f"execution-{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    assert refused == ["ConditionalCheckFailedException"] * 7
    item = client.get_item(TableName="leases", Key={"pk": {"S": "LEASE#orders-api#live"}})["Item"]
    assert item["holder"]["S"] == won[0]


def test_the_patched_writes_are_the_ones_the_patch_was_written_for() -> None:
    from rollgate_local import patch_sources

    assert patch_sources.changed(dynamodb.FINGERPRINTS, "rollgate_local.bridge.dynamodb") == []

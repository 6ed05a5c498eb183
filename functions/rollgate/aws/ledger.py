"""ports.Ledger over DynamoDB: leases, abort flags and the deployment audit trail.

Table (the CDK Ledger construct creates exactly this): partition key `pk` (S), sort key `sk` (S),
TTL attribute `ttl` (N, epoch seconds), GSI `by_function` on `gsi1pk` (S) / `gsi1sk` (S),
projection ALL.

    (<function> is the bare name at home and the full ARN of a function in another account or
    region: `DynamoLedger.for_function`)
    lease        pk=LEASE#<function>#<alias>   sk=LEASE
    abort flag   pk=LEASE#<function>#<alias>   sk=ABORT
    control      pk=LEASE#<function>#<alias>   sk=CONTROL#<deployment id>#<requested at>#<control>
                 (an operator's promote / pause / resume / abort, one item each: a log, never overwritten)
    approval     pk=APPROVAL#<execution arn>   sk=APPROVAL   (the task token an approval gate waits on)
    deployment   pk=DEPLOY#<function>#<alias>  sk=DEPLOY#<deployment id>
                 gsi1pk=FN#<function>          gsi1sk=<deployment id>
    (remediations of a function+alias are stored the same way, with kind "remediation", so its
    history reads as one timeline)
    release      pk=RELEASE#<release id>       sk=RUN#<run id>   (one item per run of the release)
    delivery     pk=DELIVERY#<id>              sk=DELIVERY       (webhook dedupe, rollgate.aws.deliveries)
    queue        pk=QUEUE#<application>#<branch>  sk=TICKET#<start>#<execution> | SLOT
                 (one release of a branch at a time, rollgate.aws.release_queue)

Deployment ids are time-sortable, so sort-key order is time order. A deployment's whole record is
stored as one JSON string (`document`): no float/Decimal round trip, and the scalar attributes
beside it are for people reading the table in the console. The document is a typed record of
rollgate.domain.shared.records (its `kind` says which), made into JSON here and read back into its model
here; an item that does not read as its kind is refused naming the item and the field.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from rollgate.aws.errors import error_code, translate_client_errors
from rollgate.aws.events import to_json_text
from rollgate.domain.deploy.controls import ApprovalRequest, ControlRecord
from rollgate.domain.shared.errors import DeploymentInProgress, InvalidRequest
from rollgate.domain.shared.ports import Clock, Lease
from rollgate.domain.shared.records import DeploymentRecord, HistoryRecord, ReleaseRecord, history_record

GSI_BY_FUNCTION = "by_function"
LEASE_SK = "LEASE"
ABORT_SK = "ABORT"
CONTROL_PREFIX = "CONTROL#"
DEPLOY_PREFIX = "DEPLOY#"
RELEASE_PREFIX = "RELEASE#"
RUN_PREFIX = "RUN#"
_CONDITION_FAILED = "ConditionalCheckFailedException"


def lease_pk(function_name: str, alias: str) -> str:
    return f"LEASE#{function_name}#{alias}"


def deployment_pk(function_name: str, alias: str) -> str:
    return f"DEPLOY#{function_name}#{alias}"


def _iso(moment: datetime) -> str:
    """One fixed ISO format in UTC, so timestamps compare correctly as strings in conditions."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _s(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return str(value) if value is not None else None


class _Dynamo:
    """DynamoDB calls in plain Python values, over a low-level client or a resource.

    A resource's client (de)serialises attribute values itself; a low-level client needs it done
    here. Items in errors (ReturnValuesOnConditionCheckFailure) are never converted by boto3.
    """

    _INPUT_ITEMS = ("Item", "Key", "ExclusiveStartKey")
    _OUTPUT_ITEMS = ("Item", "Attributes", "LastEvaluatedKey")

    def __init__(self, client_or_resource: Any) -> None:
        self.is_resource = hasattr(client_or_resource, "Table")
        self.client = client_or_resource.meta.client if self.is_resource else client_or_resource
        self._serializer = TypeSerializer()
        self._deserializer = TypeDeserializer()

    def call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        if not self.is_resource:
            for name in self._INPUT_ITEMS:
                if name in kwargs:
                    kwargs[name] = self.serialize(kwargs[name])
            if "ExpressionAttributeValues" in kwargs:
                kwargs["ExpressionAttributeValues"] = self.serialize(kwargs["ExpressionAttributeValues"])
        response: dict[str, Any] = getattr(self.client, operation)(**kwargs)
        if not self.is_resource:
            for name in self._OUTPUT_ITEMS:
                if response.get(name) is not None:
                    response[name] = self.deserialize(response[name])
            if "Items" in response:
                response["Items"] = [self.deserialize(item) for item in response["Items"]]
        return response

    def item_in_error(self, error: ClientError) -> dict[str, Any] | None:
        item = error.response.get("Item")
        return self.deserialize(item) if item else None

    def serialize(self, values: dict[str, Any]) -> dict[str, Any]:
        return {name: self._serializer.serialize(value) for name, value in values.items()}

    def deserialize(self, item: dict[str, Any]) -> dict[str, Any]:
        return {name: self._deserializer.deserialize(value) for name, value in item.items()}


class DynamoLedger:
    """ports.Ledger over a DynamoDB client (or resource) and the table described above."""

    def __init__(
        self, client_or_resource: Any, table_name: str, clock: Clock, *, abort_ttl_seconds: int = 7 * 24 * 3600
    ) -> None:
        self._db = _Dynamo(client_or_resource)
        self.table_name = table_name
        self._clock = clock
        self._abort_ttl = timedelta(seconds=abort_ttl_seconds)
        self._function_keys: dict[str, str] = {}

    def for_function(self, function_name: str, key: str) -> DynamoLedger:
        """This ledger, with `function_name` keyed as `key` (its full ARN, for a function in another
        account or region: the same name in several places never shares a lease or a history).
        Keys of other functions, and of a function at home, are unchanged."""
        scoped = copy.copy(self)
        scoped._function_keys = {**self._function_keys, function_name: key}
        return scoped

    def _key_of(self, function_name: str) -> str:
        return self._function_keys.get(function_name, function_name)

    def _lease_pk(self, function_name: str, alias: str) -> str:
        return lease_pk(self._key_of(function_name), alias)

    def _deployment_pk(self, function_name: str, alias: str) -> str:
        return deployment_pk(self._key_of(function_name), alias)

    # ----------------------------------------------------------------------- leases
    def acquire_lease(self, lease: Lease) -> Lease:
        """One conditional PutItem: free, expired, or already ours. Re-acquiring by the same
        holder (a rerun or a redrive) renews it and succeeds."""
        key = self._lease_pk(lease.function_name, lease.alias)
        item = {
            "pk": key,
            "sk": LEASE_SK,
            "holder": lease.holder,
            "function_name": lease.function_name,
            "alias": lease.alias,
            "acquired_at": _iso(lease.acquired_at),
            "expires_at": _iso(lease.expires_at),
            "ttl": int(lease.expires_at.timestamp()),
            "detail": to_json_text(lease.detail),
        }
        call = f"dynamodb:PutItem lease {lease.function_name}:{lease.alias} for {lease.holder}"
        for _attempt in range(2):
            with translate_client_errors(call):
                try:
                    self._db.call(
                        "put_item",
                        TableName=self.table_name,
                        Item=item,
                        ConditionExpression="attribute_not_exists(pk) OR holder = :me OR expires_at < :now",
                        ExpressionAttributeValues={":me": lease.holder, ":now": _iso(self._clock.now())},
                        ReturnValues="ALL_OLD",
                        ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    )
                except ClientError as error:
                    if error_code(error) != _CONDITION_FAILED:
                        raise
                    holder_item = self._db.item_in_error(error) or self._get(key, LEASE_SK)
                    if holder_item is None:  # released between our write and our read: try again
                        continue
                    raise DeploymentInProgress(_in_progress_message(lease, holder_item)) from None
            # also on re-entry by the same holder: a retried Validate whose first attempt took the
            # lease and then failed here must still clear the flag (the delete is conditional, so
            # repeating it is harmless)
            self._clear_stale_abort(lease)
            return lease
        raise DeploymentInProgress(
            f"{lease.function_name}:{lease.alias}: the lease changed hands while being taken; try again"
        )

    def release_lease(self, function_name: str, alias: str, holder: str) -> bool:
        with translate_client_errors(f"dynamodb:DeleteItem lease {function_name}:{alias} of {holder}"):
            try:
                self._db.call(
                    "delete_item",
                    TableName=self.table_name,
                    Key=self._key(self._lease_pk(function_name, alias), LEASE_SK),
                    ConditionExpression="holder = :me",
                    ExpressionAttributeValues={":me": holder},
                )
            except ClientError as error:
                if error_code(error) == _CONDITION_FAILED:
                    return False
                raise
        return True

    def current_lease(self, function_name: str, alias: str) -> Lease | None:
        """The unexpired lease on function+alias, or None (an expired lease is free to take)."""
        item = self._get(self._lease_pk(function_name, alias), LEASE_SK)
        if item is None:
            return None
        lease = _lease_from(item, function_name, alias)
        return lease if lease.expires_at > self._clock.now() else None

    # ----------------------------------------------------------------------- abort flags
    def request_abort(self, function_name: str, alias: str, reason: str) -> None:
        """Ask the deployment running on function+alias to stop (it checks between gates)."""
        now = self._clock.now()
        item = {
            "pk": self._lease_pk(function_name, alias),
            "sk": ABORT_SK,
            "reason": reason,
            "requested_at": _iso(now),
            "ttl": int((now + self._abort_ttl).timestamp()),
        }
        with translate_client_errors(f"dynamodb:PutItem abort flag {function_name}:{alias}"):
            self._db.call("put_item", TableName=self.table_name, Item=item)

    def clear_abort(self, function_name: str, alias: str) -> None:
        with translate_client_errors(f"dynamodb:DeleteItem abort flag {function_name}:{alias}"):
            self._db.call(
                "delete_item", TableName=self.table_name, Key=self._key(self._lease_pk(function_name, alias), ABORT_SK)
            )

    def abort_requested(self, function_name: str, alias: str) -> str | None:
        item = self._get(self._lease_pk(function_name, alias), ABORT_SK)
        return _s(item, "reason") if item else None

    def _clear_stale_abort(self, lease: Lease) -> None:
        """An abort asked for before this lease was taken was meant for an earlier deployment:
        without this, a flag nobody cleared would stop the next, innocent, deployment."""
        with translate_client_errors(f"dynamodb:DeleteItem stale abort flag {lease.function_name}:{lease.alias}"):
            try:
                self._db.call(
                    "delete_item",
                    TableName=self.table_name,
                    Key=self._key(self._lease_pk(lease.function_name, lease.alias), ABORT_SK),
                    ConditionExpression="requested_at < :acquired",
                    ExpressionAttributeValues={":acquired": _iso(lease.acquired_at)},
                )
            except ClientError as error:
                if error_code(error) != _CONDITION_FAILED:  # absent, or asked for after we started
                    raise

    # ----------------------------------------------------------------------- operator controls
    def put_control(self, record: ControlRecord) -> None:
        """Append an operator's control to the deployment's log (rollgate.domain.deploy.controls); kept as
        long as an abort flag, far longer than any deployment runs."""
        item = {
            "pk": self._lease_pk(record.function_name, record.alias),
            "sk": f"{CONTROL_PREFIX}{record.deployment_id}#{_iso(record.requested_at)}#{record.control.value}",
            "deployment_id": record.deployment_id,
            "control": record.control.value,
            "requested_by": record.requested_by,
            "document": record.model_dump_json(),
            "ttl": int((record.requested_at + self._abort_ttl).timestamp()),
        }
        with translate_client_errors(
            f"dynamodb:PutItem control {record.control.value} of {record.function_name}:{record.alias}"
        ):
            self._db.call("put_item", TableName=self.table_name, Item=item)

    def list_controls(self, function_name: str, alias: str, deployment_id: str) -> list[ControlRecord]:
        query: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": self._lease_pk(function_name, alias),
                ":prefix": f"{CONTROL_PREFIX}{deployment_id}#",
            },
            "ConsistentRead": True,
        }
        records: list[ControlRecord] = []
        with translate_client_errors(f"dynamodb:Query controls of {function_name}:{alias} {deployment_id}"):
            while True:
                response = self._db.call("query", TableName=self.table_name, **query)
                records.extend(ControlRecord.model_validate_json(str(i["document"])) for i in response.get("Items", []))
                if not response.get("LastEvaluatedKey"):
                    break
                query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return records

    def put_approval_request(self, request: ApprovalRequest, *, execution_arn: str) -> None:
        """The task token an approval gate of `execution_arn` waits on, for `rollgate approve|reject`;
        kept a day past the gate's timeout."""
        expires = request.asked_at + timedelta(seconds=request.timeout_seconds) + timedelta(days=1)
        item = {
            "pk": f"APPROVAL#{execution_arn}",
            "sk": "APPROVAL",
            "deployment_id": request.deployment_id,
            "document": request.model_dump_json(),
            "ttl": int(expires.timestamp()),
        }
        with translate_client_errors(f"dynamodb:PutItem approval request of {execution_arn}"):
            self._db.call("put_item", TableName=self.table_name, Item=item)

    def approval_request(self, execution_arn: str) -> ApprovalRequest | None:
        item = self._get(f"APPROVAL#{execution_arn}", "APPROVAL")
        return ApprovalRequest.model_validate_json(str(item["document"])) if item else None

    # ----------------------------------------------------------------------- deployments
    def put_deployment(self, record: HistoryRecord, *, only_if_new: bool = False) -> None:
        """Write (or overwrite: reruns are idempotent) one deployment or remediation record;
        `only_if_new`: only when none exists for its deployment id (put_outcome)."""
        document = record.document()
        for required in ("deployment_id", "function_name", "alias"):
            if not document.get(required):
                raise InvalidRequest(f"{required}: required field is missing from the deployment record")
        document_text = to_json_text(document)
        deployment_id = str(document["deployment_id"])
        function_name = str(document["function_name"])
        alias = str(document["alias"])
        if self._key_of(function_name) != function_name:
            document.setdefault("function_arn", self._key_of(function_name))
            document_text = to_json_text(document)
        item: dict[str, Any] = {
            "pk": self._deployment_pk(function_name, alias),
            "sk": DEPLOY_PREFIX + deployment_id,
            "gsi1pk": f"FN#{self._key_of(function_name)}",
            "gsi1sk": deployment_id,
            "deployment_id": deployment_id,
            "function_name": function_name,
            "alias": alias,
            "document": document_text,
        }
        for name in ("kind", "status", "from_version", "to_version", "started_at", "finished_at", "release_id"):
            value = document.get(name)
            if value is not None and value != "":
                item[name] = str(value)
        condition = {"ConditionExpression": "attribute_not_exists(sk)"} if only_if_new else {}
        with translate_client_errors(f"dynamodb:PutItem deployment {deployment_id} of {function_name}:{alias}"):
            try:
                self._db.call("put_item", TableName=self.table_name, Item=item, **condition)
            except ClientError as error:
                if only_if_new and error_code(error) == _CONDITION_FAILED:
                    raise _OutcomeExists(deployment_id) from None
                raise

    def put_outcome(self, record: DeploymentRecord) -> HistoryRecord:
        """Write a deployment's outcome record unless one exists for its deployment id (a
        conditional PutItem): the stored record, this one or the one written first. A retried
        Record concludes on what its first attempt wrote, never on a second decision."""
        try:
            self.put_deployment(record, only_if_new=True)
        except _OutcomeExists:
            stored = self.get_deployment(record.function_name, record.alias, record.deployment_id)
            if stored is not None:
                return stored
        return record

    # ----------------------------------------------------------------------- releases
    def put_release(self, record: ReleaseRecord) -> None:
        """Write (or overwrite: reruns are idempotent) one release run's record."""
        document = record.document()
        for required in ("release_id", "execution_name"):
            if not document.get(required):
                raise InvalidRequest(f"{required}: required field is missing from the release record")
        run_id = f"{document['started_at']}#{document['execution_name']}"
        item = {
            "pk": RELEASE_PREFIX + record.release_id,
            "sk": RUN_PREFIX + run_id,
            "release_id": record.release_id,
            "status": record.status.value,
            "document": to_json_text(document),
        }
        with translate_client_errors(f"dynamodb:PutItem release {record.release_id} run {run_id}"):
            self._db.call("put_item", TableName=self.table_name, Item=item)

    def get_deployment(self, function_name: str, alias: str, deployment_id: str) -> HistoryRecord | None:
        item = self._get(self._deployment_pk(function_name, alias), DEPLOY_PREFIX + deployment_id)
        return _history_record(item) if item else None

    def list_deployments(self, function_name: str, alias: str | None = None, limit: int = 20) -> list[HistoryRecord]:
        """Newest first: by function+alias, or across the function's aliases (GSI by_function)."""
        if limit <= 0:
            return []
        if alias is not None:
            query: dict[str, Any] = {
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
                "ExpressionAttributeValues": {
                    ":pk": self._deployment_pk(function_name, alias),
                    ":prefix": DEPLOY_PREFIX,
                },
                "ConsistentRead": True,
            }
            where = f"{function_name}:{alias}"
        else:
            query = {
                "IndexName": GSI_BY_FUNCTION,
                "KeyConditionExpression": "gsi1pk = :pk",
                "ExpressionAttributeValues": {":pk": f"FN#{self._key_of(function_name)}"},
            }
            where = f"{function_name} (index {GSI_BY_FUNCTION})"
        records: list[HistoryRecord] = []
        with translate_client_errors(f"dynamodb:Query deployments of {where}"):
            while len(records) < limit:
                response = self._db.call(
                    "query", TableName=self.table_name, ScanIndexForward=False, Limit=limit - len(records), **query
                )
                records.extend(_history_record(item) for item in response.get("Items", []))
                last_key = response.get("LastEvaluatedKey")
                if not last_key:
                    break
                query["ExclusiveStartKey"] = last_key
        return records[:limit]

    # ----------------------------------------------------------------------- helpers
    @staticmethod
    def _key(pk: str, sk: str) -> dict[str, Any]:
        return {"pk": pk, "sk": sk}

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        with translate_client_errors(f"dynamodb:GetItem {pk} {sk}"):
            response = self._db.call("get_item", TableName=self.table_name, Key=self._key(pk, sk), ConsistentRead=True)
        return response.get("Item")


class _OutcomeExists(Exception):
    """put_deployment(only_if_new=True) found a record for the deployment id already."""


def _lease_from(item: dict[str, Any], function_name: str, alias: str) -> Lease:
    detail_text = _s(item, "detail")
    return Lease(
        function_name=function_name,
        alias=alias,
        holder=_s(item, "holder") or "",
        acquired_at=datetime.fromisoformat(_s(item, "acquired_at") or "1970-01-01T00:00:00+00:00"),
        expires_at=datetime.fromisoformat(_s(item, "expires_at") or "1970-01-01T00:00:00+00:00"),
        detail=json.loads(detail_text) if detail_text else {},
    )


def _in_progress_message(wanted: Lease, item: dict[str, Any]) -> str:
    held = _lease_from(item, wanted.function_name, wanted.alias)
    return (
        f"{wanted.function_name}:{wanted.alias} is being deployed by {held.holder} since "
        f"{held.acquired_at.isoformat()} (lease expires {held.expires_at.isoformat()})"
    )


def _history_record(item: dict[str, Any]) -> HistoryRecord:
    """The record an item stores in `document`; InvalidRequest names the item and the bad field."""
    where = f"ledger item {_s(item, 'pk')} {_s(item, 'sk')}"
    text = _s(item, "document")
    if not text:
        raise InvalidRequest(f"{where}: it stores no document")
    return history_record(json.loads(text), where)

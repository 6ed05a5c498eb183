"""The input rules every entry point applies: the CLI, StartExecution of each workflow, the release
manifest, a manual rollback, alarm events and the webhook.

Two layers, both pure:

* **Document rules** (`check_document`, `load_json`) run on the raw JSON before any model sees it:
  nesting depth, strings that are not Unicode text (lone surrogates cannot be sent to AWS), numbers
  that are not finite, and the size that must fit the Step Functions state limit. They walk the
  document without recursion, so a pathological input cannot crash the walker itself.
* **Field rules** (the ``Annotated`` types and ``check_*`` functions) encode AWS's own naming rules
  (function names and ARNs, alias names, environment keys) and Rollgate's bounds (durations capped
  at what a Standard execution's event history and the lease allow). The models in
  `rollgate.domain.shared.models` and `rollgate.domain.release.manifest` use them, so pydantic reports each
  failure at the field's dotted path (``strategy.interval_seconds: …``).

A function ARN is checked against the stack's own account and region (`StackHome`). The domain never
reads the environment: the task handler or the CLI passes the home in, taken from an ARN it already
has (the task's own function ARN, the execution ARN, the stack's state machine ARN). Without a home,
ARNs are checked for syntax only.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo

from rollgate.domain.shared.errors import InvalidRequest

# --------------------------------------------------------------------------- limits
#: Step Functions refuses a state's input or output above 256 KiB (UTF-8).
STATE_LIMIT_BYTES = 256 * 1024
#: What a request may take of it: the gates add baseline, update, version, smoke, canary, watch,
#: rollback and error records to the same document, so half is kept for them.
MAX_REQUEST_BYTES = STATE_LIMIT_BYTES // 2
#: Deeper than any real request or manifest; deep enough that recursive code never meets it.
MAX_DEPTH = 32
#: One canary step, the watch, the inconclusive extension: at most a day each.
MAX_STAGE_SECONDS = 86_400
#: A Standard execution's history holds 25,000 events; each Wait -> Task -> Choice loop (an update
#: or version poll, a bake period, a watch period) writes 9. 2,000 loops leave room for the rest.
MAX_WAIT_LOOPS = 2_000
#: CloudWatch periods above an hour would make a canary that cannot see its own traffic.
MAX_METRIC_PERIOD_SECONDS = 3_600
#: Lambda's limit on a function's environment: keys and values together, in bytes.
MAX_ENVIRONMENT_BYTES = 4 * 1024
#: A number any JSON reader holds exactly; bigger is never a meaningful count or duration.
MAX_SAFE_INTEGER = 2**53 - 1

#: Environment keys Lambda sets itself and refuses in a function's configuration.
RESERVED_ENVIRONMENT_KEYS = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_REGION",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "LAMBDA_RUNTIME_DIR",
        "LAMBDA_TASK_ROOT",
    }
)

# Every pattern is ASCII-only and used with fullmatch: `\d` would take fullwidth digits and `$`
# would let a trailing newline through.
_NAME = r"[A-Za-z0-9_-]{1,64}"
_PARTITION = r"aws|aws-cn|aws-us-gov|aws-iso|aws-iso-[a-z]|aws-eusc"
_REGION = r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-[0-9]"
_ACCOUNT = r"[0-9]{12}"
_FUNCTION_NAME = re.compile(_NAME, re.ASCII)
_FUNCTION_ARN = re.compile(
    rf"arn:(?P<partition>{_PARTITION}):lambda:(?P<region>{_REGION}):(?P<account>{_ACCOUNT}):function:"
    rf"(?P<name>{_NAME})(?::(?P<qualifier>[^:]*))?",
    re.ASCII,
)
_PARTIAL_ARN = re.compile(rf"(?P<account>{_ACCOUNT}):function:(?P<name>{_NAME})(?::(?P<qualifier>[^:]*))?", re.ASCII)
_ANY_ARN = re.compile(rf"arn:(?P<partition>{_PARTITION}):[a-z0-9-]+:(?P<region>{_REGION}):(?P<account>{_ACCOUNT}):.+")
_ALIAS = re.compile(r"(?![0-9]+\Z)[A-Za-z0-9_-]{1,128}", re.ASCII)
_ENVIRONMENT_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]+", re.ASCII)
_CODE_SHA256 = re.compile(r"[A-Za-z0-9+/]{43}=", re.ASCII)
# what S3 ever allowed (buckets made in us-east-1 before 2018 may have capitals and _, up to 255)
_S3_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]", re.ASCII)
_IMAGE_BY_DIGEST = re.compile(r"[a-z0-9][a-z0-9._/:-]*[a-z0-9]@sha256:[0-9a-f]{64}", re.ASCII)
_QUEUE_ARN = re.compile(rf"arn:(?:{_PARTITION}):sqs:{_REGION}:{_ACCOUNT}:[A-Za-z0-9_-]{{1,80}}(?:\.fifo)?", re.ASCII)
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)  # shown as it is in a dotted path; else quoted
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", re.ASCII)


# --------------------------------------------------------------------------- the stack's home
@dataclass(frozen=True, order=True)
class Target:
    """An account and region, other than the stack's own, that the stack is configured to release
    functions into (through the deploy role it assumes there)."""

    account: str
    region: str

    def describe(self) -> str:
        return f"account {self.account}, region {self.region}"


@dataclass(frozen=True)
class FunctionLocation:
    """Where a function lives: its bare name, and its Target (None: the stack's own account and
    region)."""

    name: str
    target: Target | None = None

    def key(self, partition: str) -> str:
        """How the ledger and the lease name the function: the bare name at home (as always), the
        full ARN in a target, so one name in several accounts and regions never collides."""
        if self.target is None:
            return self.name
        return f"arn:{partition}:lambda:{self.target.region}:{self.target.account}:function:{self.name}"


@dataclass(frozen=True)
class StackHome:
    """The account and region the Rollgate stack runs in, and the targets it may release into
    besides (none unless configured: then its home is the only place it releases functions)."""

    partition: str
    region: str
    account: str
    targets: frozenset[Target] = frozenset()

    def with_targets(self, targets: object) -> StackHome:
        """This home with `targets` (Target values, or (account, region) pairs) allowed."""
        allowed = frozenset(t if isinstance(t, Target) else Target(*t) for t in targets)  # type: ignore[attr-defined]
        return StackHome(partition=self.partition, region=self.region, account=self.account, targets=allowed)

    def allows(self, account: str, region: str) -> bool:
        return (account, region) == (self.account, self.region) or Target(account, region) in self.targets

    @classmethod
    def from_arn(cls, arn: object) -> StackHome | None:
        """The home an ARN of the stack's own resources shows (a task's function ARN, an execution
        ARN, the state machine ARN), or None when `arn` is not an ARN."""
        match = _ANY_ARN.fullmatch(arn) if isinstance(arn, str) else None
        if match is None:
            return None
        return cls(partition=match["partition"], region=match["region"], account=match["account"])

    def describe(self) -> str:
        return f"account {self.account}, region {self.region}"


def home_of(info: ValidationInfo | None) -> StackHome | None:
    """The StackHome a parse was given through pydantic's validation context, if any."""
    context = info.context if info is not None else None
    home = context.get("home") if isinstance(context, dict) else None
    return home if isinstance(home, StackHome) else None


# --------------------------------------------------------------------------- field rules
def check_function_name(value: str, home: StackHome | None = None) -> str:
    """The bare function name of a name, an ARN or a partial ARN (`123456789012:function:name`).
    ValueError when it is none of these, carries a qualifier, or lives in another account or region
    than `home`: reducing such an ARN to its name would release *this* account's function of that
    name."""
    if _FUNCTION_NAME.fullmatch(value):
        return value
    match = _FUNCTION_ARN.fullmatch(value) or _PARTIAL_ARN.fullmatch(value)
    if match is None:
        raise ValueError(f"{_shown(value)} is not a Lambda function name (1-64 of A-Z a-z 0-9 - _) or function ARN")
    if match["qualifier"] is not None:
        raise ValueError(
            f"{_shown(value)} names a version or alias: give the function unqualified (the alias has its own field)"
        )
    if home is not None:
        groups = match.groupdict()
        elsewhere = [
            f"{what} {groups[what]}"
            for what in ("partition", "region", "account")
            if groups.get(what) is not None and groups[what] != getattr(home, what)
        ]
        account, region = groups.get("account") or home.account, groups.get("region") or home.region
        if elsewhere and not (groups.get("partition") in (None, home.partition) and home.allows(account, region)):
            raise ValueError(
                f"{_shown(value)} is in {', '.join(elsewhere)}, but this Rollgate stack releases functions in "
                f"{home.describe()}{_targets_named(home)} only"
            )
    return str(match["name"])


def _targets_named(home: StackHome) -> str:
    return "".join(f" and {t.describe()}" for t in sorted(home.targets))


def locate_function(
    value: str, home: StackHome | None, *, account: str | None = None, region: str | None = None
) -> FunctionLocation:
    """Where a function named by `value` (a name, ARN or partial ARN) and the optional `account` /
    `region` fields lives. Unlike `check_function_name`, a function in one of `home`'s targets keeps
    its target, so it is never mistaken for the home function of the same name. ValueError, its
    message led by the field at fault (`account: …`), when the fields and the ARN disagree or the
    place is neither home nor a target. Without a home, only the syntax is checked and the target is
    what the fields say."""
    name = check_function_name(value, home)
    match = _FUNCTION_ARN.fullmatch(value) or _PARTIAL_ARN.fullmatch(value)
    groups = match.groupdict() if match is not None else {}
    for field, given in (("account", account), ("region", region)):
        if given is not None and groups.get(field) is not None and groups[field] != given:
            raise ValueError(f"{field}: {given} disagrees with the function ARN's {field} {groups[field]}")
    if account is not None and not re.fullmatch(_ACCOUNT, account, re.ASCII):
        raise ValueError(f"account: {_shown(account)} is not an AWS account id (12 digits)")
    if region is not None and not re.fullmatch(_REGION, region, re.ASCII):
        raise ValueError(f"region: {_shown(region)} is not an AWS region name")
    if home is None:
        if account is None and region is None:
            return FunctionLocation(name)
        raise ValueError("account: a function in another account or region needs the stack's home to be checked")
    where_account = account or groups.get("account") or home.account
    where_region = region or groups.get("region") or home.region
    if (where_account, where_region) == (home.account, home.region):
        return FunctionLocation(name)
    if not home.allows(where_account, where_region):
        known_account = where_account == home.account or any(t.account == where_account for t in home.targets)
        field = "region" if known_account else "account"
        if (region if known_account else account) is None:
            field = "function_name"  # the place came from the ARN
        raise ValueError(
            f"{field}: {Target(where_account, where_region).describe()} is not one of this stack's targets "
            f"(it releases into {home.describe()}{_targets_named(home)}; cdk.json context rollgate:targets)"
        )
    return FunctionLocation(name, Target(where_account, where_region))


def _function_ref(value: str, info: ValidationInfo) -> str:
    check_function_name(value, home_of(info))
    return value  # kept as given; `check_function_name` gives the bare name where one is needed


def check_alias(value: str) -> str:
    if value == "$LATEST":
        raise ValueError("$LATEST cannot be deployed to: it is not an alias")
    if not _ALIAS.fullmatch(value):
        raise ValueError(
            f"{_shown(value)} is not an alias name (1-128 of A-Z a-z 0-9 - _, not only digits: that is a version)"
        )
    return value


def check_environment_key(value: str) -> str:
    if not _ENVIRONMENT_KEY.fullmatch(value):
        raise ValueError(
            f"{_shown(value)} is not an environment variable name (a letter, then letters, digits or _, "
            "at least 2 characters)"
        )
    if value in RESERVED_ENVIRONMENT_KEYS:
        raise ValueError(f"{value} is reserved: Lambda sets it itself")
    return value


def check_environment(environment: dict[str, str]) -> dict[str, str]:
    size = sum(len(key.encode()) + len(value.encode()) for key, value in environment.items())
    if size > MAX_ENVIRONMENT_BYTES:
        raise ValueError(f"{size} bytes of keys and values, over the {MAX_ENVIRONMENT_BYTES} Lambda allows a function")
    return environment


def check_text(value: str) -> str:
    """Text a person reads in the ledger, events and notifications: no control characters, no
    lone surrogates, no leading or trailing whitespace."""
    bad = next((c for c in value if unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp")), None)
    if bad is not None:
        raise ValueError(f"contains the control character {bad!a}")
    if value != value.strip():
        raise ValueError(f"{_shown(value)} starts or ends with whitespace")
    return value


def check_code_sha256(value: str) -> str:
    if not _CODE_SHA256.fullmatch(value):
        raise ValueError(f"{_shown(value)} is not a base64 SHA-256 (44 characters ending in =), as Lambda reports it")
    return value


def check_bucket(value: str) -> str:
    if not _S3_BUCKET.fullmatch(value):
        raise ValueError(f"{_shown(value)} is not an S3 bucket name (3-63 of a-z 0-9 . -)")
    return value


def check_object_key(value: str) -> str:
    check_text(value)
    if len(value.encode()) > 1024:
        raise ValueError("an S3 key is at most 1024 bytes")
    return value


def check_image_uri(value: str) -> str:
    if not _IMAGE_BY_DIGEST.fullmatch(value):
        raise ValueError(f"{_shown(value)} must name the image by digest (…@sha256:<64 hex>), not by tag")
    return value


def check_queue_arn(value: str) -> str:
    if not _QUEUE_ARN.fullmatch(value):
        raise ValueError(f"{_shown(value)} is not an SQS queue ARN")
    return value


def check_uuid(value: str) -> str:
    if not _UUID.fullmatch(value):
        raise ValueError(f"{_shown(value)} is not an event source mapping UUID")
    return value


def _shown(value: str, limit: int = 80) -> str:
    """A value quoted for an error message: escaped, and cut so one field cannot flood the output."""
    text = ascii(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}…{text[-4:]}"


# --------------------------------------------------------------------------- annotated types
#: A function name, ARN or partial ARN; with a StackHome in the validation context, only this stack's.
FunctionRef = Annotated[str, Field(min_length=1, max_length=170), AfterValidator(_function_ref)]
AliasName = Annotated[str, AfterValidator(check_alias)]
EnvironmentKey = Annotated[str, AfterValidator(check_environment_key)]
EnvironmentValue = Annotated[str, Field(max_length=MAX_ENVIRONMENT_BYTES)]
Environment = Annotated[dict[EnvironmentKey, EnvironmentValue], AfterValidator(check_environment)]
Text = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(check_text)]
LongText = Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(check_text)]
CodeSha256 = Annotated[str, AfterValidator(check_code_sha256)]
BucketName = Annotated[str, AfterValidator(check_bucket)]
ObjectKey = Annotated[str, Field(min_length=1), AfterValidator(check_object_key)]
ImageUri = Annotated[str, Field(max_length=512), AfterValidator(check_image_uri)]
QueueArn = Annotated[str, AfterValidator(check_queue_arn)]
MappingUuid = Annotated[str, AfterValidator(check_uuid)]
#: A duration of one stage (a canary step, the watch, the extension), in seconds.
StageSeconds = Annotated[int, Field(ge=0, le=MAX_STAGE_SECONDS)]


# --------------------------------------------------------------------------- document rules
def check_document(data: Any, where: str = "", *, max_bytes: int | None = MAX_REQUEST_BYTES) -> None:
    """Raise InvalidRequest naming the path of the first part of `data` no AWS API and no Step
    Functions state can carry: nesting deeper than MAX_DEPTH, a string (or key) that is not valid
    Unicode, a number that is not finite or beyond MAX_SAFE_INTEGER, a value that is not JSON; then
    the whole document over `max_bytes` of JSON."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise InvalidRequest(f"{_path(where, path[:MAX_DEPTH])}: nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, str):
            _check_unicode(value, where, path)
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if abs(value) > MAX_SAFE_INTEGER:
                raise InvalidRequest(f"{_path(where, path)}: {value:.3g} is beyond the largest integer accepted")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidRequest(f"{_path(where, path)}: must be a finite number (got {value})")
        elif isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise InvalidRequest(f"{_path(where, path)}: keys must be strings (got {key!r})")
                _check_unicode(key, where, (*path, key))
                stack.append((item, (*path, key)))
        elif isinstance(value, list | tuple):
            stack.extend((item, (*path, str(index))) for index, item in enumerate(value))
        else:
            raise InvalidRequest(f"{_path(where, path)}: {type(value).__name__} is not a JSON value")
    if max_bytes is not None:
        size = _json_bytes(data)
        if size > max_bytes:
            raise InvalidRequest(
                f"{where or '(request)'}: {size:,} bytes of JSON{_largest_part(data)}, over the {max_bytes:,} that "
                f"fit (the Step Functions state limit is {STATE_LIMIT_BYTES:,}, and the gates' records need the rest)"
            )


def _json_bytes(data: Any) -> int:
    return len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())


def _largest_part(data: Any) -> str:
    """Which field makes a document too big: its largest top-level value."""
    if not isinstance(data, dict) or not data:
        return ""
    key = max(data, key=lambda name: _json_bytes(data[name]))
    return f" ({_shown(key, 40)[1:-1]} takes {_json_bytes(data[key]):,})"


def load_json(text: str, where: str, *, max_bytes: int | None = MAX_REQUEST_BYTES) -> Any:
    """Parse JSON text given by a person (a CLI flag, a file) and apply `check_document`;
    InvalidRequest naming `where` for anything that is not plain JSON (NaN and Infinity are
    JavaScript, not JSON)."""

    def refuse_constant(name: str) -> Any:
        raise InvalidRequest(f"{where}: {name} is not a JSON number")

    try:
        data = json.loads(text, parse_constant=refuse_constant)
    except RecursionError:
        raise InvalidRequest(f"{where}: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as error:
        raise InvalidRequest(f"{where}: not valid JSON ({error})") from None
    check_document(data, where, max_bytes=max_bytes)
    return data


def _check_unicode(text: str, where: str, path: tuple[str, ...]) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest(f"{_path(where, path)}: contains a lone surrogate (not Unicode text)") from None


def path_part(part: object) -> str:
    """One step of a dotted field path: a plain key or index as it is, anything else quoted."""
    text = str(part)
    return text if _PLAIN_KEY.fullmatch(text) else _shown(text, 40)


def _path(where: str, path: tuple[str, ...]) -> str:
    return ".".join(part for part in (where, *map(path_part, path)) if part) or "(request)"

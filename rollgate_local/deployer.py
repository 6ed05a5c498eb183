"""Deploy a synthesized CDK stack (cdk.out) into the local runtime, without CloudFormation.

Public API:

    synthesize(outdir="cdk.out", *, force=False, repo_root=None) -> Path
        runs `python -m rollgate_cdk.synth <outdir>` unless <outdir>/Rollgate.template.json is newer than
        every file under functions/ and rollgate_cdk/ (and app.py / cdk.json); returns the template path.
    deploy_stack(outdir, client_factory, *, stack_name="Rollgate", account="123456789012",
                 region="us-east-1", register_stack=True) -> StackOutputs
    deploy_template(template, assets, client_factory, ...) -> StackOutputs
        the same from an already-loaded template and {s3 key -> asset path} map (used by tests).
    StackOutputs   a read-only mapping of the template's Outputs, resolved (DeployStateMachineArn,
                   LedgerTableName, ArtifactBucketName, EventBusName ...), also readable as
                   attributes; plus .physical_ids {logical id -> physical id}, .skipped
                   ["Type LogicalId: why"] and .function_urls {FunctionUrl -> function ARN, with
                   the URL's qualifier} (served over HTTP by `local serve`).

How: read <outdir>/<stack>.template.json and <stack>.assets.json (asset hash -> asset.<hash> folder
or file), order the resources by their references, resolve intrinsics (Ref, Fn::GetAtt, Fn::Join,
Fn::Sub, Fn::Select, Fn::Split, Fn::If/Equals/And/Or/Not, Fn::FindInMap, Fn::Base64, Fn::GetAZs;
AWS::Region/AccountId/Partition/URLSuffix/StackName/StackId/NoValue) and create through boto3 (so
moto's public API) the types that matter: IAM roles and inline policies, Lambda functions (code
zipped from their asset folder; layers ignored, dependencies come from the virtualenv; an image
function's Docker image asset pushed to the local ECR by ``rollgate_local.images`` as its build context
under /var/task with the Dockerfile's CMD, the Dockerfile's other instructions not run) and their
URLs, DynamoDB tables (GSIs, TTL, streams, PITR), S3 buckets (versioning, encryption, public access
block), EventBridge buses and rules, SQS queues, SNS topics and subscriptions, log groups, Step
Functions state machines (DefinitionString resolved, DefinitionSubstitutions applied), Secrets
Manager secrets (GenerateSecretString through GetRandomPassword), CloudWatch alarms and dashboards.
Rule targets on Lambda functions, SNS topics and state machines are delivered by
``rollgate_local.bridge``; Lambda permissions are skipped (nothing checks them locally). Other types are
skipped with a one-line note in `.skipped`; a Ref or GetAtt on a skipped resource resolves to a
placeholder name/ARN. Physical names are deterministic (stack, logical id and a hash of it), so
cached Lambda settings stay valid across runtimes. Finally a CloudFormation stack of the same name
is registered in moto holding the resolved Outputs, so clients that look outputs up by stack name
(the CLI) work unchanged against the local endpoint, and describing the resources the deployment
created (ListStackResources, DescribeStackResource(s): logical id, physical id = the Ref value,
type; ``rollgate_local.bridge`` patch 25).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import re
import subprocess
import sys
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from rollgate_local import bridge, images

LOG = logging.getLogger(__name__)
ClientFactory = Callable[[str], Any]
REPO_ROOT = Path(__file__).resolve().parents[1]
_NO_VALUE = object()


# --------------------------------------------------------------------------------------------
# synth with a cache
# --------------------------------------------------------------------------------------------
def synthesize(
    outdir: str | os.PathLike[str] = "cdk.out",
    *,
    force: bool = False,
    repo_root: Path | None = None,
    stack_name: str = "Rollgate",
) -> Path:
    """Synthesize the CDK app into `outdir` unless the template is newer than every source file."""
    root = Path(repo_root or REPO_ROOT)
    out = Path(outdir).resolve()  # relative to the current directory, like deploy_stack
    template = out / f"{stack_name}.template.json"
    if not force and template.exists() and template.stat().st_mtime > _newest_source(root):
        return template
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "functions"), str(root)])}
    completed = subprocess.run(
        [sys.executable, "-m", "rollgate_cdk.synth", str(out)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"`python -m rollgate_cdk.synth {out}` failed ({completed.returncode}):\n"
            f"{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}"
        )
    if not template.exists():
        raise RuntimeError(f"synth finished but {template} does not exist")
    return template


def _newest_source(root: Path) -> float:
    newest = 0.0
    candidates: list[Path] = [root / "app.py", root / "cdk.json"]
    for folder in ("functions", "rollgate_cdk"):
        candidates.extend(p for p in (root / folder).rglob("*") if "__pycache__" not in p.parts)
    for path in candidates:
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
    return newest


# --------------------------------------------------------------------------------------------
# outputs
# --------------------------------------------------------------------------------------------
class StackOutputs(Mapping[str, str]):
    """The stack's resolved Outputs (mapping and attributes), physical ids and skipped resources."""

    def __init__(
        self,
        stack_name: str,
        outputs: dict[str, str],
        physical_ids: dict[str, str],
        skipped: list[str],
        function_urls: dict[str, str] | None = None,
    ) -> None:
        self.stack_name = stack_name
        self._outputs = dict(outputs)
        self.physical_ids = dict(physical_ids)
        self.skipped = list(skipped)
        self.function_urls = dict(function_urls or {})

    def __getitem__(self, key: str) -> str:
        return self._outputs[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._outputs)

    def __len__(self) -> int:
        return len(self._outputs)

    def __getattr__(self, name: str) -> str:
        outputs = self.__dict__.get("_outputs", {})
        if name in outputs:
            return outputs[name]
        raise AttributeError(f"stack {self.__dict__.get('stack_name')} has no output {name!r}")

    def __repr__(self) -> str:
        return f"StackOutputs({self.stack_name!r}, {self._outputs!r})"


# --------------------------------------------------------------------------------------------
# deploy
# --------------------------------------------------------------------------------------------
def deploy_stack(
    outdir: str | os.PathLike[str],
    client_factory: ClientFactory,
    *,
    stack_name: str = "Rollgate",
    account: str = "123456789012",
    region: str = "us-east-1",
    register_stack: bool = True,
) -> StackOutputs:
    """Deploy `<outdir>/<stack_name>.template.json` with its assets into the mock."""
    out = Path(outdir)
    template = json.loads((out / f"{stack_name}.template.json").read_text())
    manifest_path = out / f"{stack_name}.assets.json"
    assets = _asset_paths(out, json.loads(manifest_path.read_text())) if manifest_path.exists() else {}
    return deploy_template(
        template,
        assets,
        client_factory,
        stack_name=stack_name,
        account=account,
        region=region,
        register_stack=register_stack,
    )


def _asset_paths(outdir: Path, manifest: dict[str, Any]) -> dict[str, Path]:
    """{S3 object key -> local asset path} from a cdk asset manifest, and {image tag -> build
    context folder} for its Docker image assets."""
    paths: dict[str, Path] = {}
    for asset_hash, image in (manifest.get("dockerImages") or {}).items():
        context = outdir / image["source"]["directory"]
        for destination in (image.get("destinations") or {}).values():
            paths[destination.get("imageTag", asset_hash)] = context
        paths.setdefault(asset_hash, context)
    for asset_hash, asset in (manifest.get("files") or {}).items():
        source = outdir / asset["source"]["path"]
        for destination in (asset.get("destinations") or {}).values():
            paths[destination.get("objectKey", f"{asset_hash}.zip")] = source
        paths.setdefault(f"{asset_hash}.zip", source)
        paths.setdefault(asset_hash, source)
    return paths


def deploy_template(
    template: dict[str, Any],
    assets: Mapping[str, Path],
    client_factory: ClientFactory,
    *,
    stack_name: str = "Rollgate",
    account: str = "123456789012",
    region: str = "us-east-1",
    register_stack: bool = True,
) -> StackOutputs:
    deployment = _Deployment(template, assets, client_factory, stack_name, account, region)
    deployment.run()
    outputs = {
        name: str(deployment.resolve(spec["Value"]))
        for name, spec in (template.get("Outputs") or {}).items()
        if deployment.condition_holds(spec.get("Condition"))
    }
    if register_stack:
        _register_stack(client_factory, stack_name, outputs, deployment, account, region)
    return StackOutputs(stack_name, outputs, deployment.physical_ids, deployment.skipped, deployment.function_urls)


def _register_stack(
    client_factory: ClientFactory,
    stack_name: str,
    outputs: dict[str, str],
    deployment: _Deployment,
    account: str,
    region: str,
) -> None:
    """A stack of the same name in moto CloudFormation, holding the Outputs and describing the
    resources the deployment created."""
    template = {
        "Resources": {"LocalRuntimePlaceholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {name: {"Value": value} for name, value in outputs.items()},
    }
    try:
        with warnings.catch_warnings():  # moto notes that it does not model WaitConditionHandle: that is the point
            warnings.simplefilter("ignore", UserWarning)
            client_factory("cloudformation").create_stack(StackName=stack_name, TemplateBody=json.dumps(template))
        bridge.register_stack_resources(
            account,
            region,
            stack_name,
            [
                bridge.StackResource(
                    logical_id, deployment.physical_ids[logical_id], deployment.resources[logical_id]["Type"]
                )
                for logical_id in deployment.created
            ],
        )
    except Exception as error:  # the outputs are returned anyway; the lookup by name is a convenience
        LOG.warning("could not register stack %s in the local CloudFormation: %s", stack_name, error)


class _Deployment:
    def __init__(
        self,
        template: dict[str, Any],
        assets: Mapping[str, Path],
        client_factory: ClientFactory,
        stack_name: str,
        account: str,
        region: str,
    ) -> None:
        self.template = template
        self.resources: dict[str, dict[str, Any]] = template.get("Resources") or {}
        self.assets = assets
        self.clients = client_factory
        self.stack_name = stack_name
        self.account = account
        self.region = region
        self.refs: dict[str, Any] = {}
        self.attrs: dict[str, dict[str, Any]] = {}
        self.physical_ids: dict[str, str] = {}
        self.skipped: list[str] = []
        self.function_urls: dict[str, str] = {}
        self.created: list[str] = []  # logical ids, in creation order
        self._conditions: dict[str, bool] = {}
        self.zips: dict[Path, bytes] = {}

    # ---- ordering ------------------------------------------------------------------------------
    def run(self) -> None:
        for logical_id in self._order():
            resource = self.resources[logical_id]
            kind = resource.get("Type", "?")
            if not self.condition_holds(resource.get("Condition")):
                self.skipped.append(f"{kind} {logical_id}: condition {resource['Condition']} is false")
                continue
            creator = _CREATORS.get(kind)
            if creator is None:
                self._placeholder(logical_id, kind, "not modelled locally")
                continue
            properties = self.resolve(resource.get("Properties") or {})
            try:
                ref, attrs = creator(self, logical_id, properties)
            except _Skip as skip:
                self._placeholder(logical_id, kind, str(skip))
                continue
            except Exception as error:
                if kind in _BEST_EFFORT:
                    self._placeholder(logical_id, kind, f"could not be created locally ({error})")
                    continue
                raise RuntimeError(f"deploying {kind} {logical_id} failed: {error}") from error
            self.refs[logical_id] = ref
            self.attrs[logical_id] = attrs
            self.physical_ids[logical_id] = str(ref)
            self.created.append(logical_id)

    def _order(self) -> list[str]:
        dependencies = {lid: set(_references(res)) & set(self.resources) for lid, res in self.resources.items()}
        for lid, res in self.resources.items():
            depends = res.get("DependsOn") or []
            dependencies[lid] |= set([depends] if isinstance(depends, str) else depends) & set(self.resources)
        ordered: list[str] = []
        visiting: set[str] = set()

        def visit(lid: str) -> None:
            if lid in ordered:
                return
            if lid in visiting:
                raise ValueError(f"circular reference through {lid}")
            visiting.add(lid)
            for dep in sorted(dependencies[lid]):
                visit(dep)
            visiting.discard(lid)
            ordered.append(lid)

        for lid in self.resources:
            visit(lid)
        return ordered

    def _placeholder(self, logical_id: str, kind: str, why: str) -> None:
        self.skipped.append(f"{kind} {logical_id}: {why}")
        service = kind.split("::")[1].lower() if kind.count("::") >= 2 else "custom"
        name = self.physical_name(logical_id, 64)
        self.refs[logical_id] = name
        self.attrs[logical_id] = {"Arn": f"arn:aws:{service}:{self.region}:{self.account}:{logical_id.lower()}/{name}"}
        self.physical_ids[logical_id] = name

    # ---- names ---------------------------------------------------------------------------------
    def physical_name(self, logical_id: str, limit: int, *, lower: bool = False, suffix: str = "") -> str:
        digest = hashlib.sha256(f"{self.stack_name}/{logical_id}".encode()).hexdigest()[:12].upper()
        head = f"{self.stack_name}-{logical_id}"
        room = limit - len(digest) - 1 - len(suffix)
        name = f"{head[:room]}-{digest}{suffix}"
        if lower:
            name = re.sub(r"[^a-z0-9.-]", "-", name.lower())
        return name

    # ---- intrinsics ----------------------------------------------------------------------------
    def pseudo(self, name: str) -> Any:
        values = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account}:stack/{self.stack_name}/local",
            "AWS::NoValue": _NO_VALUE,
            "AWS::NotificationARNs": [],
        }
        if name in values:
            return values[name]
        raise KeyError(name)

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.refs:
            return self.refs[name]
        parameter = (self.template.get("Parameters") or {}).get(name)
        if parameter is not None:
            return parameter.get("Default", "")
        raise KeyError(f"Ref {name}: no such resource or parameter (or it is not created yet)")

    def get_att(self, logical_id: str, attribute: str) -> Any:
        if logical_id not in self.attrs:
            raise KeyError(f"Fn::GetAtt {logical_id}.{attribute}: {logical_id} is not created")
        attrs = self.attrs[logical_id]
        if attribute not in attrs:
            raise KeyError(f"Fn::GetAtt {logical_id}.{attribute}: known attributes are {sorted(attrs)}")
        return attrs[attribute]

    def condition_holds(self, name: str | None) -> bool:
        if not name:
            return True
        if name not in self._conditions:
            conditions = self.template.get("Conditions") or {}
            self._conditions[name] = bool(self.resolve(conditions[name]))
        return self._conditions[name]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            resolved = [self.resolve(v) for v in value]
            return [v for v in resolved if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            handler = _INTRINSICS.get(key)
            if handler is not None:
                return handler(self, arg)
        resolved_dict = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved_dict.items() if v is not _NO_VALUE}

    def sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def replace(match: re.Match[str]) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if token in variables:
                return str(variables[token])
            if "." in token and not token.startswith("AWS::"):
                logical_id, attribute = token.split(".", 1)
                return str(self.get_att(logical_id, attribute))
            return str(self.ref(token))

        return re.sub(r"\$\{([^}]+)\}", replace, text)


class _Skip(Exception):
    """Raised by a creator for a resource it cannot model (e.g. an image function without its image asset)."""


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, list):
        for item in value:
            yield from _references(item)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                yield arg
            elif key == "Fn::GetAtt":
                yield arg[0] if isinstance(arg, list) else str(arg).split(".", 1)[0]
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                for token in re.findall(r"\$\{([^}!][^}]*)\}", text):
                    yield token.split(".", 1)[0]
                if isinstance(arg, list):
                    yield from _references(arg[1])
            else:
                yield from _references(arg)


def _join(d: _Deployment, arg: Any) -> str:
    separator, items = arg
    return str(separator).join(str(v) for v in d.resolve(items))


def _select(d: _Deployment, arg: Any) -> Any:
    index, items = d.resolve(arg[0]), d.resolve(arg[1])
    return items[int(index)]


def _split(d: _Deployment, arg: Any) -> list[str]:
    separator, text = arg
    return str(d.resolve(text)).split(separator)


def _get_att(d: _Deployment, arg: Any) -> Any:
    logical_id, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
    return d.get_att(logical_id, d.resolve(attribute))


def _if(d: _Deployment, arg: Any) -> Any:
    name, when_true, when_false = arg
    return d.resolve(when_true if d.condition_holds(name) else when_false)


def _find_in_map(d: _Deployment, arg: Any) -> Any:
    name, top, second = (d.resolve(a) for a in arg[:3])
    return (d.template.get("Mappings") or {})[name][top][second]


_INTRINSICS: dict[str, Callable[[_Deployment, Any], Any]] = {
    "Ref": lambda d, arg: d.ref(arg),
    "Fn::GetAtt": _get_att,
    "Fn::Join": _join,
    "Fn::Sub": lambda d, arg: d.sub(arg),
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::If": _if,
    "Fn::Equals": lambda d, arg: d.resolve(arg[0]) == d.resolve(arg[1]),
    "Fn::And": lambda d, arg: all(d.resolve(a) for a in arg),
    "Fn::Or": lambda d, arg: any(d.resolve(a) for a in arg),
    "Fn::Not": lambda d, arg: not d.resolve(arg[0]),
    "Condition": lambda d, arg: d.condition_holds(arg),
    "Fn::FindInMap": _find_in_map,
    "Fn::Base64": lambda d, arg: base64.b64encode(str(d.resolve(arg)).encode()).decode(),
    "Fn::GetAZs": lambda d, arg: [f"{d.region}{z}" for z in "abc"],
}


# --------------------------------------------------------------------------------------------
# creators: (deployment, logical id, resolved properties) -> (Ref value, {attribute: value})
# --------------------------------------------------------------------------------------------
def _tags(properties: dict[str, Any]) -> list[dict[str, str]]:
    tags = properties.get("Tags") or []
    if isinstance(tags, dict):
        return [{"Key": k, "Value": str(v)} for k, v in tags.items()]
    return [{"Key": t["Key"], "Value": str(t["Value"])} for t in tags]


def _create_role(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    iam = d.clients("iam")
    name = p.get("RoleName") or d.physical_name(logical_id, 64)
    kwargs: dict[str, Any] = {
        "RoleName": name,
        "Path": p.get("Path", "/"),
        "AssumeRolePolicyDocument": json.dumps(p.get("AssumeRolePolicyDocument") or {}),
    }
    if p.get("Description"):
        kwargs["Description"] = p["Description"]
    if _tags(p):
        kwargs["Tags"] = _tags(p)
    role = iam.create_role(**kwargs)["Role"]
    for arn in p.get("ManagedPolicyArns") or []:
        try:
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        except Exception:  # AWS-managed policies are not loaded in moto; nothing enforces them locally
            LOG.debug("managed policy %s not attached to %s", arn, name)
    for policy in p.get("Policies") or []:
        iam.put_role_policy(
            RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(policy["PolicyDocument"])
        )
    return name, {"Arn": role["Arn"], "RoleId": role["RoleId"]}


def _create_policy(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    iam = d.clients("iam")
    name = p.get("PolicyName") or d.physical_name(logical_id, 128)
    for role in p.get("Roles") or []:
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(p["PolicyDocument"]))
    return name, {"Id": name}


def _zip_folder(path: Path) -> bytes:
    if path.is_file():
        return path.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(path.rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts:
                info = zipfile.ZipInfo(file.relative_to(path).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, file.read_bytes())
    return buffer.getvalue()


def _function_code(d: _Deployment, logical_id: str, code: dict[str, Any]) -> dict[str, Any]:
    if "ZipFile" in code:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("index.py", code["ZipFile"])
        return {"ZipFile": buffer.getvalue()}
    if "ImageUri" in code:
        return {"ImageUri": _push_image_asset(d, logical_id, str(code["ImageUri"]))}
    key = str(code.get("S3Key", ""))
    asset = d.assets.get(key) or d.assets.get(key.rsplit("/", 1)[-1])
    if asset is None:
        raise KeyError(f"{logical_id}: no asset for S3Key {key!r} in the asset manifest")
    if asset not in d.zips:
        d.zips[asset] = _zip_folder(asset)
    return {"ZipFile": d.zips[asset]}


def _push_image_asset(d: _Deployment, logical_id: str, image_uri: str) -> str:
    """The function's Docker image asset (found by the URI's tag) pushed to the local ECR; its URI
    by digest. Only the build context and the Dockerfile's CMD are used: nothing is built."""
    tag = image_uri.rsplit(":", 1)[-1] if "@" not in image_uri else ""
    context = d.assets.get(tag) if tag else None
    if context is None or not context.is_dir():
        raise _Skip(f"image {image_uri} has no Docker image asset in the asset manifest to run locally")
    dockerfile = context / "Dockerfile"
    cmd = _dockerfile_cmd(dockerfile.read_text() if dockerfile.exists() else "")
    if cmd is None:
        raise _Skip(f"the Docker image asset {context.name} has no CMD (the handler) in its Dockerfile")
    files = {
        path.relative_to(context).as_posix(): path.read_bytes()
        for path in sorted(context.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.name not in ("Dockerfile", ".dockerignore")
    }
    repository = d.physical_name(logical_id, 200, lower=True)
    return images.push_image(_ClientSession(d.clients), repository, files, cmd=cmd)


def _dockerfile_cmd(dockerfile: str) -> str | None:
    """The handler a Lambda base image gets from the last CMD: exec form ["app.handler"] or shell form."""
    cmd = None
    for line in dockerfile.splitlines():
        words = line.strip().split(None, 1)
        if len(words) == 2 and words[0].upper() == "CMD":
            try:
                parsed = json.loads(words[1])
            except ValueError:
                parsed = words[1].split()
            cmd = str(parsed[0]) if isinstance(parsed, list) and parsed else None
    return cmd


class _ClientSession:
    def __init__(self, client_factory: ClientFactory) -> None:
        self.client = client_factory


_LAMBDA_KEYS = (
    "ImageConfig",
    "Runtime",
    "Handler",
    "Description",
    "Timeout",
    "MemorySize",
    "Environment",
    "TracingConfig",
    "Architectures",
    "DeadLetterConfig",
    "EphemeralStorage",
    "LoggingConfig",
    "KMSKeyArn",
)


def _create_function(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    lambda_ = d.clients("lambda")
    name = p.get("FunctionName") or d.physical_name(logical_id, 64)
    kwargs = {k: p[k] for k in _LAMBDA_KEYS if k in p}
    kwargs.update(
        FunctionName=name,
        Role=p["Role"],
        Code=_function_code(d, logical_id, p.get("Code") or {}),
        PackageType=p.get("PackageType", "Zip"),
    )
    tags = {t["Key"]: t["Value"] for t in _tags(p)}
    if tags:
        kwargs["Tags"] = tags
    function = lambda_.create_function(**kwargs)
    if p.get("ReservedConcurrentExecutions") is not None:
        lambda_.put_function_concurrency(
            FunctionName=name, ReservedConcurrentExecutions=int(p["ReservedConcurrentExecutions"])
        )
    return name, {"Arn": function["FunctionArn"]}


def _create_function_url(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """AWS::Lambda::Url. moto keeps one URL per function and ignores the Qualifier (an alias), so the
    FunctionArn attribute adds it back; `local serve` serves the URL over HTTP (see .function_urls)."""
    kwargs: dict[str, Any] = {"FunctionName": p["TargetFunctionArn"], "AuthType": p.get("AuthType", "NONE")}
    for key in ("Cors", "InvokeMode"):
        if p.get(key):
            kwargs[key] = p[key]
    if p.get("Qualifier"):
        kwargs["Qualifier"] = p["Qualifier"]
    url = d.clients("lambda").create_function_url_config(**kwargs)
    function_arn = url["FunctionArn"] + (f":{p['Qualifier']}" if p.get("Qualifier") else "")
    d.function_urls[url["FunctionUrl"]] = function_arn
    return function_arn, {"FunctionArn": function_arn, "FunctionUrl": url["FunctionUrl"]}


def _create_table(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    dynamodb = d.clients("dynamodb")
    name = p.get("TableName") or d.physical_name(logical_id, 255)
    billing = p.get("BillingMode", "PROVISIONED")
    kwargs: dict[str, Any] = {
        "TableName": name,
        "KeySchema": p["KeySchema"],
        "AttributeDefinitions": p["AttributeDefinitions"],
        "BillingMode": billing,
    }
    if billing != "PAY_PER_REQUEST":
        kwargs["ProvisionedThroughput"] = p.get("ProvisionedThroughput") or {
            "ReadCapacityUnits": 5,
            "WriteCapacityUnits": 5,
        }
    indexes = []
    for index in p.get("GlobalSecondaryIndexes") or []:
        index = {
            k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput")
        }
        if billing != "PAY_PER_REQUEST":
            index.setdefault("ProvisionedThroughput", kwargs["ProvisionedThroughput"])
        else:
            index.pop("ProvisionedThroughput", None)
        indexes.append(index)
    if indexes:
        kwargs["GlobalSecondaryIndexes"] = indexes
    if p.get("LocalSecondaryIndexes"):
        kwargs["LocalSecondaryIndexes"] = p["LocalSecondaryIndexes"]
    if p.get("StreamSpecification"):
        kwargs["StreamSpecification"] = {"StreamEnabled": True, **p["StreamSpecification"]}
    if p.get("SSESpecification"):  # CloudFormation says SSEEnabled where the API says Enabled
        sse = p["SSESpecification"]
        kwargs["SSESpecification"] = {
            "Enabled": bool(sse.get("SSEEnabled")),
            **{k: sse[k] for k in ("SSEType", "KMSMasterKeyId") if k in sse},
        }
    if _tags(p):
        kwargs["Tags"] = _tags(p)
    if "DeletionProtectionEnabled" in p:
        kwargs["DeletionProtectionEnabled"] = bool(p["DeletionProtectionEnabled"])
    table = dynamodb.create_table(**kwargs)["TableDescription"]
    ttl = p.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
        )
    pitr = p.get("PointInTimeRecoverySpecification")
    if pitr and pitr.get("PointInTimeRecoveryEnabled"):
        try:
            dynamodb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        except Exception:
            LOG.debug("point-in-time recovery not set on %s", name)
    attrs = {"Arn": table["TableArn"]}
    if table.get("LatestStreamArn"):
        attrs["StreamArn"] = table["LatestStreamArn"]
    return name, attrs


def _create_bucket(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    s3 = d.clients("s3")
    name = p.get("BucketName") or d.physical_name(logical_id, 63, lower=True)
    kwargs: dict[str, Any] = {"Bucket": name}
    if d.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": d.region}
    s3.create_bucket(**kwargs)
    versioning = (p.get("VersioningConfiguration") or {}).get("Status")
    if versioning:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning})
    encryption = p.get("BucketEncryption")
    if encryption:  # CloudFormation's ServerSideEncryptionByDefault is the API's ApplyServerSideEncryptionByDefault
        rules = [
            {
                **(
                    {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
                    if "ServerSideEncryptionByDefault" in rule
                    else {}
                ),
                **({"BucketKeyEnabled": bool(rule["BucketKeyEnabled"])} if "BucketKeyEnabled" in rule else {}),
            }
            for rule in encryption["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if p.get("PublicAccessBlockConfiguration"):
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=p["PublicAccessBlockConfiguration"])
    if _tags(p):
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tags(p)})
    return name, {
        "Arn": f"arn:aws:s3:::{name}",
        "DomainName": f"{name}.s3.amazonaws.com",
        "RegionalDomainName": f"{name}.s3.{d.region}.amazonaws.com",
        "WebsiteURL": f"http://{name}.s3-website-{d.region}.amazonaws.com",
    }


def _create_event_bus(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    name = p.get("Name") or d.physical_name(logical_id, 256)
    arn = d.clients("events").create_event_bus(Name=name)["EventBusArn"]
    return name, {"Arn": arn, "Name": name}


_RULE_TARGET_KEYS = (
    "Id",
    "Arn",
    "RoleArn",
    "Input",
    "InputPath",
    "InputTransformer",
    "DeadLetterConfig",
    "RetryPolicy",
    "SqsParameters",
)


def _create_rule(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    events = d.clients("events")
    name = p.get("Name") or d.physical_name(logical_id, 64)
    bus = str(p.get("EventBusName") or "default").rsplit("/", 1)[-1]
    kwargs: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": p.get("State", "ENABLED")}
    if p.get("EventPattern") is not None:
        kwargs["EventPattern"] = json.dumps(p["EventPattern"])
    if p.get("ScheduleExpression"):
        kwargs["ScheduleExpression"] = p["ScheduleExpression"]
    if p.get("Description"):
        kwargs["Description"] = p["Description"]
    arn = events.put_rule(**kwargs)["RuleArn"]
    # Lambda, SNS and state machine targets are delivered by rollgate_local.bridge (patch 15), the others by moto
    targets = [{k: v for k, v in t.items() if k in _RULE_TARGET_KEYS} for t in p.get("Targets") or []]
    if targets:
        events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
    return f"{bus}|{name}" if bus != "default" else name, {"Arn": arn}


def _create_queue(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    sqs = d.clients("sqs")
    fifo = bool(p.get("FifoQueue"))
    name = p.get("QueueName") or d.physical_name(logical_id, 80, suffix=".fifo" if fifo else "")
    attributes = {}
    for key, value in p.items():
        if key in ("QueueName", "Tags"):
            continue
        if key in ("RedrivePolicy", "RedriveAllowPolicy"):
            value = json.dumps(value)
        attributes[key] = str(value).lower() if isinstance(value, bool) else str(value)
    kwargs: dict[str, Any] = {"QueueName": name, "Attributes": attributes}
    if _tags(p):
        kwargs["tags"] = {t["Key"]: t["Value"] for t in _tags(p)}
    url = sqs.create_queue(**kwargs)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, {"Arn": arn, "QueueName": name, "QueueUrl": url}


def _create_topic(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    sns = d.clients("sns")
    fifo = bool(p.get("FifoTopic"))
    name = p.get("TopicName") or d.physical_name(logical_id, 256, suffix=".fifo" if fifo else "")
    # KmsMasterKeyId is kept as given (a key id, alias or ARN, or a skipped key's placeholder): moto
    # stores it and nothing is encrypted locally
    attributes = {k: str(p[k]) for k in ("DisplayName", "KmsMasterKeyId") if p.get(k)}
    if fifo:
        attributes["FifoTopic"] = "true"
    arn = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
    for subscription in p.get("Subscription") or []:
        sns.subscribe(TopicArn=arn, Protocol=subscription["Protocol"], Endpoint=subscription["Endpoint"])
    return arn, {"TopicArn": arn, "TopicName": name}


def _create_subscription(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    arn = d.clients("sns").subscribe(TopicArn=p["TopicArn"], Protocol=p["Protocol"], Endpoint=p["Endpoint"])[
        "SubscriptionArn"
    ]
    return arn, {"Arn": arn}


def _create_log_group(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    logs = d.clients("logs")
    name = p.get("LogGroupName") or d.physical_name(logical_id, 512)
    logs.create_log_group(logGroupName=name)
    if p.get("RetentionInDays"):
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(p["RetentionInDays"]))
    return name, {"Arn": f"arn:aws:logs:{d.region}:{d.account}:log-group:{name}:*"}


def _create_state_machine(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    sfn = d.clients("stepfunctions")
    name = p.get("StateMachineName") or d.physical_name(logical_id, 80)
    definition = p.get("DefinitionString")
    if definition is None:
        definition = json.dumps(p.get("Definition") or {})
    for key, value in (p.get("DefinitionSubstitutions") or {}).items():
        definition = definition.replace("${" + key + "}", str(value))
    kwargs: dict[str, Any] = {
        "name": name,
        "definition": definition,
        "roleArn": p["RoleArn"],
        "type": p.get("StateMachineType", "STANDARD"),
    }
    if p.get("TracingConfiguration"):
        kwargs["tracingConfiguration"] = {"enabled": bool(p["TracingConfiguration"].get("Enabled"))}
    if p.get("LoggingConfiguration"):
        logging_config = p["LoggingConfiguration"]
        kwargs["loggingConfiguration"] = {
            "level": logging_config.get("Level", "OFF"),
            "includeExecutionData": bool(logging_config.get("IncludeExecutionData", False)),
            "destinations": [
                {"cloudWatchLogsLogGroup": {"logGroupArn": dest["CloudWatchLogsLogGroup"]["LogGroupArn"]}}
                for dest in logging_config.get("Destinations") or []
            ],
        }
    if _tags(p):
        kwargs["tags"] = [{"key": t["Key"], "value": t["Value"]} for t in _tags(p)]
    arn = sfn.create_state_machine(**kwargs)["stateMachineArn"]
    return arn, {"Arn": arn, "Name": name}


def _create_secret(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    secrets = d.clients("secretsmanager")
    name = p.get("Name") or d.physical_name(logical_id, 256)
    value = p.get("SecretString")
    if value is None:
        value = _generated_secret(secrets, p.get("GenerateSecretString") or {})
    kwargs: dict[str, Any] = {"Name": name, "SecretString": value}
    if p.get("Description"):
        kwargs["Description"] = p["Description"]
    if _tags(p):
        kwargs["Tags"] = _tags(p)
    arn = secrets.create_secret(**kwargs)["ARN"]
    return arn, {"Id": arn}


_PASSWORD_OPTIONS = (
    "ExcludeCharacters",
    "ExcludeLowercase",
    "ExcludeNumbers",
    "ExcludePunctuation",
    "ExcludeUppercase",
    "IncludeSpace",
    "RequireEachIncludedType",
)


def _generated_secret(secrets: Any, generate: dict[str, Any]) -> str:
    """What CloudFormation stores for GenerateSecretString: a random password made by the service with
    the given options (32 characters by default), alone or under GenerateStringKey in the template."""
    options: dict[str, Any] = {k: generate[k] for k in _PASSWORD_OPTIONS if k in generate}
    for key in options:
        if key != "ExcludeCharacters":
            options[key] = str(options[key]).lower() == "true"
    password = secrets.get_random_password(PasswordLength=int(generate.get("PasswordLength", 32)), **options)[
        "RandomPassword"
    ]
    if generate.get("SecretStringTemplate") and generate.get("GenerateStringKey"):
        document = json.loads(generate["SecretStringTemplate"])
        document[generate["GenerateStringKey"]] = password
        return json.dumps(document)
    return str(password)


def _create_alarm(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    name = p.get("AlarmName") or d.physical_name(logical_id, 255)
    kwargs = {k: v for k, v in p.items() if k != "AlarmName"}
    d.clients("cloudwatch").put_metric_alarm(AlarmName=name, **kwargs)
    return name, {"Arn": f"arn:aws:cloudwatch:{d.region}:{d.account}:alarm:{name}"}


def _create_dashboard(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    name = p.get("DashboardName") or d.physical_name(logical_id, 255)
    body = p["DashboardBody"] if isinstance(p["DashboardBody"], str) else json.dumps(p["DashboardBody"])
    d.clients("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=body)
    return name, {}


_CREATORS: dict[str, Callable[[_Deployment, str, dict[str, Any]], tuple[Any, dict[str, Any]]]] = {
    "AWS::IAM::Role": _create_role,
    "AWS::IAM::Policy": _create_policy,
    "AWS::Lambda::Function": _create_function,
    "AWS::Lambda::Url": _create_function_url,
    "AWS::DynamoDB::Table": _create_table,
    "AWS::S3::Bucket": _create_bucket,
    "AWS::Events::EventBus": _create_event_bus,
    "AWS::Events::Rule": _create_rule,
    "AWS::SQS::Queue": _create_queue,
    "AWS::SNS::Topic": _create_topic,
    "AWS::SNS::Subscription": _create_subscription,
    "AWS::Logs::LogGroup": _create_log_group,
    "AWS::StepFunctions::StateMachine": _create_state_machine,
    "AWS::SecretsManager::Secret": _create_secret,
    "AWS::CloudWatch::Alarm": _create_alarm,
    "AWS::CloudWatch::Dashboard": _create_dashboard,
}

# Types whose failure to create locally does not stop the deployment (noted in `skipped`).
_BEST_EFFORT = frozenset(
    {
        "AWS::Events::Rule",
        "AWS::SNS::Subscription",
        "AWS::SecretsManager::Secret",
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::Dashboard",
        "AWS::IAM::Policy",
    }
)

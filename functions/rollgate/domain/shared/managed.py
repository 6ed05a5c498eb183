"""Managed-function defaults: what a function was declared with in the CDK app, next to its
definition (``Rollgate.manage(fn, alias=…, policy=…, strategy=…, smoke_tests=…)``), filled into
what a deployment request or a release manifest leaves out, so a push or a console input need not
repeat them.

The construct passes them to the tasks as one JSON list (``ROLLGATE_MANAGED_FUNCTIONS``);
Validate fills a DeployFunction input from them and LoadManifest a manifest's functions. What the
input writes always wins, field by field: a request's own field; in a manifest, the function's
field, then the manifest's ``defaults``. A request that names a health policy of its own keeps it:
the managed policy (a name, or inline fields) fills only a request that names none, and its
inline fields sit under the request's own ``health`` fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.models import HealthPolicy, HealthPolicyName, SmokeTest, Strategy, Strict, parse_model
from rollgate.domain.shared.validation import AliasName, FunctionRef, check_function_name

#: Fields a managed default fills when the input leaves them out, as they are (the policy apart).
_PLAIN_FIELDS = ("alias", "strategy", "smoke_tests")


class ManagedFunction(Strict):
    """One managed function's defaults; every field optional (None: the request's own default)."""

    function_name: FunctionRef
    alias: AliasName | None = Field(default=None, description="the alias a request of this function deploys")
    strategy: Strategy | None = Field(default=None, description="the traffic strategy")
    smoke_tests: list[SmokeTest] | None = Field(default=None, max_length=20, description="the smoke tests")
    health_policy: HealthPolicyName | None = Field(
        default=None, description="one of the stack's named health policies (rollgate:healthPolicies)"
    )
    health: HealthPolicy | None = Field(
        default=None, description="inline HealthPolicy fields, only those it sets (under a request's own)"
    )

    @property
    def name(self) -> str:
        return check_function_name(self.function_name)

    def defaults(self) -> dict[str, Any]:
        """The fields it sets, as JSON (an inline policy: only the fields it names)."""
        filled: dict[str, Any] = {}
        if self.alias is not None:
            filled["alias"] = self.alias
        if self.strategy is not None:
            filled["strategy"] = self.strategy.model_dump(mode="json")
        if self.smoke_tests is not None:
            filled["smoke_tests"] = [test.model_dump(mode="json") for test in self.smoke_tests]
        if self.health_policy is not None:
            filled["health_policy"] = self.health_policy
        if self.health is not None:
            filled["health"] = self.health.model_dump(mode="json", exclude_unset=True)
        return filled


def parse_managed_functions(data: Any, where: str = "managed functions") -> dict[str, ManagedFunction]:
    """`[{function_name, …defaults}]` by bare function name; InvalidRequest naming `where.N.field`,
    or a function listed twice."""
    if not isinstance(data, list):
        raise InvalidRequest(f"{where}: expected a list of managed functions, got {type(data).__name__}")
    managed: dict[str, ManagedFunction] = {}
    for index, body in enumerate(data):
        function = parse_model(ManagedFunction, body, f"{where}.{index}")
        if function.name in managed:
            raise InvalidRequest(f"{where}.{index}.function_name: {function.name} is managed twice")
        managed[function.name] = function
    return managed


def _managed_for(body: Any, managed: Mapping[str, ManagedFunction] | None) -> ManagedFunction | None:
    if not managed or not isinstance(body, dict) or not isinstance(body.get("function_name"), str):
        return None
    try:
        return managed.get(check_function_name(body["function_name"]))
    except ValueError:
        return None  # not a function name: the model names the field


def _filled(
    body: dict[str, Any], function: ManagedFunction, *, written: set[str], under_health: Any = None
) -> dict[str, Any]:
    """`body` with `function`'s defaults in the fields no one `written` sets; an inline policy's
    fields under `under_health` (a manifest's defaults.health), then under the body's own."""
    defaults = function.defaults()
    filled = dict(body)
    for field in _PLAIN_FIELDS:
        if field in defaults and field not in written:
            filled[field] = defaults[field]
    if "health_policy" in written:
        return filled  # the input names its own policy: the managed one stays out
    if "health_policy" in defaults:
        filled["health_policy"] = defaults["health_policy"]
    own = body.get("health")
    if "health" in defaults and (own is None or isinstance(own, dict)):
        above = under_health if isinstance(under_health, dict) else {}
        filled["health"] = {**defaults["health"], **above, **(own or {})}
    return filled


def request_with_managed_defaults(raw: Any, managed: Mapping[str, ManagedFunction] | None) -> Any:
    """A DeployFunction input with its function's managed defaults in the fields it leaves out
    (unchanged when the function is not managed, or the input is not an object: the model names it)."""
    function = _managed_for(raw, managed)
    if function is None:
        return raw
    return _filled(raw, function, written=set(raw))


def manifest_with_managed_defaults(data: Any, managed: Mapping[str, ManagedFunction] | None) -> Any:
    """A release manifest whose managed functions carry their defaults in the fields neither the
    function's entry nor the manifest's `defaults` sets (anything malformed is left as it is, for
    the manifest's model to name)."""
    if not managed or not isinstance(data, dict) or not isinstance(data.get("waves"), list):
        return data
    release_defaults = data.get("defaults")
    release_defaults = release_defaults if isinstance(release_defaults, dict) else {}
    waves = []
    for wave in data["waves"]:
        if isinstance(wave, dict) and isinstance(wave.get("functions"), list):
            entries = []
            for entry in wave["functions"]:
                function = _managed_for(entry, managed)
                entries.append(
                    entry
                    if function is None
                    else _filled(
                        entry,
                        function,
                        written=set(entry) | set(release_defaults),
                        under_health=release_defaults.get("health"),
                    )
                )
            wave = {**wave, "functions": entries}
        waves.append(wave)
    return {**data, "waves": waves}

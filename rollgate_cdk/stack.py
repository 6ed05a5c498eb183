"""The Rollgate stack: the Rollgate construct, configured from cdk.json context (rollgate_cdk.build)."""

from __future__ import annotations

from aws_cdk import Stack
from constructs import Construct

from rollgate_cdk.construct import Rollgate, settings_options
from rollgate_cdk.settings import Settings

STACK_NAME = "Rollgate"

#: The construct's id in the stack. "Default" is left out of logical ids (CDK's rule for that id),
#: so the resources keep the logical ids they had when the stack built them itself: a deployed
#: stack updates in place instead of replacing its table, bucket and state machines.
CONSTRUCT_ID = "Default"


class RollgateStack(Stack):
    """A stack holding one Rollgate, with `settings` (read from cdk.json context by build_app) as its
    options; what the construct creates is reachable here too (`stack.deploy`, `stack.ledger` …)."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.rollgate = Rollgate(self, CONSTRUCT_ID, **settings_options(settings))
        rollgate = self.rollgate
        self.ledger = rollgate.ledger
        self.artifacts = rollgate.artifacts
        self.events = rollgate.events
        self.deploy_tasks = rollgate.deploy_tasks
        self.reconciler = rollgate.reconciler
        self.deploy = rollgate.deploy
        self.release_tasks = rollgate.release_tasks
        self.release = rollgate.release
        self.remediate_tasks = rollgate.remediate_tasks
        self.remediate = rollgate.remediate
        self.triggers = rollgate.triggers
        self.webhook = rollgate.webhook
        self.observability = rollgate.observability

"""LocalRuntime: the embedded local AWS in one object.

Public API:

    LocalRuntime(*, seed: int = 7, speed: float | None = None, start: datetime | float | None = None,
                 update_seconds: float = 15.0, echo_logs: bool = False, quiet_moto: bool = True)
        context manager; or .start() / .stop()
        .clock           the runtime's clock (rollgate_local.clock): a VirtualClock unless `speed` is given
        .data_plane      the LambdaDataPlane
        .account, .region ("123456789012", "us-east-1")
        .client(service) -> boto3 client bound to the mock (cached per service)
        .deploy_stack(outdir="cdk.out", *, synth=False) -> StackOutputs
        .sample_app(function_name="orders-api", alias="live", **kw) -> SampleApp
        .traffic(function_name="orders-api", alias="live", rate_per_second=5.0, **kw) -> Traffic
              (started; a context manager; stopped by .stop() at the latest)
        .started_traffic -> list[Traffic]   every traffic started, in order
        .wait_for_execution(execution_arn, timeout=86400.0, poll_seconds=5.0) -> dict
              DescribeExecution once it ended; TimeoutError after `timeout` seconds of the clock
        .stop()          stops traffic and running executions, uninstalls the bridge, ends the mock

The clock. By default time is *virtual with autojump* (rollgate_local.virtual_time): `now` is a stored
instant that moves only when every actor waits: the thread that started the runtime (in
runtime.clock.sleep, wait_for_execution, an ExecutionWatcher given runtime.clock.sleep), every
thread of moto's Step Functions interpreter (Wait states, retry backoff, the .sync poll, task
timeouts) and every EventBridge delivery. It then jumps to the earliest deadline, after the traffic
due up to there has run, each invocation at its own instant and routed by the weights in force then.
So a five-minute bake costs only the CPU work of its states and the traffic in it, and the same seed
gives the same outcomes and verdicts on any machine under any load; a wait nothing can end raises
rollgate_local.virtual_time.Deadlock instead of hanging. Work outside the clock's sight (a handler's real
time.sleep) simply holds virtual time still. `start` pins the virtual origin (default: the real now
down to the minute). With `speed` (what `rollgate local serve` uses, a person watching), the clock is
scaled from wall time instead and traffic runs on a thread.

What start() does: saves os.environ; sets fake credentials and region us-east-1, removes AWS_PROFILE
/ AWS_ENDPOINT_URL (they would send boto3 past the mock); starts ``moto.mock_aws`` with Step
Functions execution on; builds the clock, counts this thread as its actor, and installs it as the
in-process tasks' clock (rollgate.aws.clock.set_clock_provider: the Lambda package itself only
knows the system clock); builds the data plane; installs ``rollgate_local.bridge``; with quiet_moto,
silences moto's Step Functions interpreter logger below CRITICAL (it logs every Fail state at
ERROR; the execution history has the same facts). stop() undoes all of it, restoring the
environment exactly. Handler output goes to the function's log in the data plane
(`data_plane.logs(name)`; echo_logs=True also copies it to stderr).
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from botocore.config import Config

from rollgate.aws.clock import set_clock_provider
from rollgate_local import bridge
from rollgate_local.clock import LocalClock, VirtualClock, start_clock, virtual_clock
from rollgate_local.data_plane import LambdaDataPlane
from rollgate_local.deployer import StackOutputs, deploy_stack, synthesize
from rollgate_local.sample_app import SampleApp, create_sample_app
from rollgate_local.traffic import Traffic

ACCOUNT = "123456789012"
REGION = "us-east-1"
_FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
_REMOVED_ENV = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


class LocalRuntime:
    def __init__(
        self,
        *,
        seed: int = 7,
        speed: float | None = None,
        start: datetime | float | None = None,
        update_seconds: float = 15.0,
        echo_logs: bool = False,
        quiet_moto: bool = True,
    ) -> None:
        self.speed = speed
        self.seed = seed
        self._start = start
        self._clock_live = False
        self.account = ACCOUNT
        self.region = REGION
        self._update_seconds = update_seconds
        self._echo_logs = echo_logs
        self._quiet_moto = quiet_moto
        self._moto_log_level: int | None = None
        self._mock: Any = None
        self._saved_env: dict[str, str] | None = None
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._traffic: list[Traffic] = []
        # set by start(): typed as always there, because every use (demos, tests) comes after it
        self.clock: LocalClock = None  # type: ignore[assignment]
        self.data_plane: LambdaDataPlane | None = None  # type: ignore[assignment]

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> LocalRuntime:
        if self._mock is not None:
            return self
        from moto import mock_aws

        self._saved_env = dict(os.environ)
        for key in _REMOVED_ENV:
            os.environ.pop(key, None)
        os.environ.update(_FAKE_ENV)
        # Keep moto's default Lambda backend ("use_docker" True): the bridge replaces its Docker part.
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        if self._quiet_moto:  # every Fail state is logged at ERROR by moto's interpreter: normal here
            sfn_log = logging.getLogger("moto.stepfunctions.parser")
            self._moto_log_level = sfn_log.level
            sfn_log.setLevel(logging.CRITICAL)
        try:
            clock = virtual_clock(self._start) if self.speed is None else start_clock(self.speed)
            self.clock = clock
            self._clock_live = True
            if isinstance(clock, VirtualClock):
                clock.join_actor()
            set_clock_provider(lambda: clock)
            self.data_plane = LambdaDataPlane(
                clock,
                client_factory=self.client,
                account=self.account,
                region=self.region,
                seed=self.seed,
                update_seconds=self._update_seconds,
                echo_logs=self._echo_logs,
            )
            bridge.install(self.data_plane, clock)
            bridge.set_traffic_catch_up(self._catch_up_traffic)
            self.data_plane.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for traffic in self._traffic:
            traffic.stop()
        self._traffic.clear()
        if self._mock is not None:
            self._stop_running_executions()
        virtual = self.clock if self._clock_live and isinstance(self.clock, VirtualClock) else None
        if virtual is not None:
            virtual.sleep(0)  # the stopped executions wind down (until every other actor waits)
        if self.data_plane is not None:
            self.data_plane.stop()
        bridge.uninstall()
        set_clock_provider(None)
        if virtual is not None:
            virtual.close()
            virtual.leave_actor()
        self._clock_live = False
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        if self._moto_log_level is not None:
            logging.getLogger("moto.stepfunctions.parser").setLevel(self._moto_log_level)
            self._moto_log_level = None
        self._clients.clear()
        if self._saved_env is not None:
            os.environ.clear()
            os.environ.update(self._saved_env)
            self._saved_env = None

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _stop_running_executions(self) -> None:
        """Executions left running would call AWS after the mock ends; stop them first."""
        try:
            sfn = self.client("stepfunctions")
            for machine in sfn.list_state_machines()["stateMachines"]:
                running = sfn.list_executions(stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING")
                for execution in running["executions"]:
                    sfn.stop_execution(executionArn=execution["executionArn"], cause="local runtime stopped")
        except Exception:  # best effort on the way out
            pass

    # ---- clients -------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        """A boto3 client bound to the mock (same region and fake credentials). No retries: what a
        test or the demo sees is exactly what the local AWS answered."""
        with self._clients_lock:
            client = self._clients.get(service)
            if client is None:
                client = boto3.client(
                    service,
                    region_name=self.region,
                    config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
                )
                self._clients[service] = client
            return client

    # ---- conveniences --------------------------------------------------------------------------
    def deploy_stack(self, outdir: str | os.PathLike[str] = "cdk.out", *, synth: bool = False) -> StackOutputs:
        """Deploy the synthesized stack in `outdir` (synthesizing first when `synth`)."""
        if synth:
            outdir = synthesize(outdir).parent
        return deploy_stack(Path(outdir), self.client, account=self.account, region=self.region)

    def sample_app(self, function_name: str = "orders-api", alias: str = "live", **kwargs: Any) -> SampleApp:
        return create_sample_app(self, function_name=function_name, alias=alias, **kwargs)

    def traffic(
        self,
        function_name: str = "orders-api",
        alias: str | None = "live",
        *,
        rate_per_second: float = 5.0,
        **kwargs: Any,
    ) -> Traffic:
        """Steady traffic on function:alias (alias=None: unqualified), already started; also a
        context manager that stops it on exit."""
        assert self.data_plane is not None and self.clock is not None, "start the runtime first"
        traffic = Traffic(self.data_plane, self.clock, function_name, alias, rate_per_second=rate_per_second, **kwargs)
        self._traffic.append(traffic)
        return traffic.start()

    def wait_for_execution(
        self, execution_arn: str, timeout: float = 86_400.0, poll_seconds: float = 5.0
    ) -> dict[str, Any]:
        """Poll DescribeExecution every `poll_seconds` until the execution ends; TimeoutError once
        `timeout` seconds of the runtime's clock have passed (on the virtual clock: deterministic)."""
        assert self.clock is not None, "start the runtime first"
        sfn = self.client("stepfunctions")
        deadline = self.clock.timestamp() + timeout
        while True:
            described = sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return described
            if self.clock.timestamp() >= deadline:
                raise TimeoutError(f"{execution_arn} still RUNNING after {timeout:g} s of the runtime's clock")
            self.clock.sleep(poll_seconds)

    @property
    def started_traffic(self) -> list[Traffic]:
        return list(self._traffic)

    def _catch_up_traffic(self) -> None:
        for traffic in list(self._traffic):
            traffic.catch_up()

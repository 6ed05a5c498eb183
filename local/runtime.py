"""LocalRuntime: the embedded local AWS in one object.

Public API:

    LocalRuntime(speed: float = 60.0, seed: int = 7, *, update_seconds: float = 15.0,
                 echo_logs: bool = False, quiet_moto: bool = True)
        context manager; or .start() / .stop()
        .clock           the LocalClock (virtual origin = real now at start)
        .data_plane      the LambdaDataPlane
        .account, .region ("123456789012", "us-east-1")
        .client(service) -> boto3 client bound to the mock (cached per service)
        .deploy_stack(outdir="cdk.out", *, synth=False) -> StackOutputs
        .sample_app(function_name="orders-api", alias="live", **kw) -> SampleApp
        .traffic(function_name="orders-api", alias="live", rate_per_second=5.0, **kw) -> Traffic
              (started; a context manager; stopped by .stop() at the latest)
        .wait_for_execution(execution_arn, timeout=60.0) -> dict   DescribeExecution once it ended
        .stop()          stops traffic and running executions, uninstalls the bridge, ends the mock

What start() does: saves os.environ; sets fake credentials, region us-east-1 and the
ROLLGATE_CLOCK_* variables (so in-process code that reads the clock from the environment agrees with
the handlers), removes AWS_PROFILE / AWS_ENDPOINT_URL (they would send boto3 past the mock); starts
``moto.mock_aws`` with Step Functions execution on; builds the clock and the data plane; installs
``local.moto_bridge``; with quiet_moto, silences moto's Step Functions interpreter logger below
CRITICAL (it logs every Fail state at ERROR; the execution history has the same facts). stop()
undoes all of it, restoring the environment exactly. Handler output goes to the function's log in
the data plane (`data_plane.logs(name)`; echo_logs=True also copies it to stderr).

Why speed 60 by default: one virtual minute (the metric period) per real second, so a production
policy (60 s periods, a bake of several minutes, a watch after promotion) runs in seconds, while a
real millisecond spent in moto's interpreter or a handler is only 60 virtual milliseconds; at much
higher speeds the interpreter's own overhead (tens of real ms per state) becomes virtual seconds and
starts to distort update budgets and metric windows.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from botocore.config import Config

from local import moto_bridge
from local.clock import LocalClock, clock_env, start_clock
from local.data_plane import LambdaDataPlane
from local.deployer import StackOutputs, deploy_stack, synthesize
from local.sample_app import SampleApp, create_sample_app
from local.traffic import Traffic

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
    def __init__(self, speed: float = 60.0, seed: int = 7, *, update_seconds: float = 15.0,
                 echo_logs: bool = False, quiet_moto: bool = True) -> None:
        self.speed = speed
        self.seed = seed
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
        self.clock: LocalClock | None = None  # type: ignore[assignment]
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
            self.clock = start_clock(self.speed)
            os.environ.update(clock_env(self.clock))
            self.data_plane = LambdaDataPlane(
                self.clock, client_factory=self.client, account=self.account, region=self.region,
                seed=self.seed, update_seconds=self._update_seconds, echo_logs=self._echo_logs)
            moto_bridge.install(self.data_plane, self.clock)
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
        if self.data_plane is not None:
            self.data_plane.stop()
        moto_bridge.uninstall()
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

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
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
                client = boto3.client(service, region_name=self.region,
                                      config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
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

    def traffic(self, function_name: str = "orders-api", alias: str | None = "live", *,
                rate_per_second: float = 5.0, **kwargs: Any) -> Traffic:
        """Steady traffic on function:alias (alias=None: unqualified), already started; also a
        context manager that stops it on exit."""
        assert self.data_plane is not None and self.clock is not None, "start the runtime first"
        traffic = Traffic(self.data_plane, self.clock, function_name, alias,
                          rate_per_second=rate_per_second, **kwargs)
        self._traffic.append(traffic)
        return traffic.start()

    def wait_for_execution(self, execution_arn: str, timeout: float = 60.0) -> dict[str, Any]:
        """Poll DescribeExecution until the execution ends (real-seconds timeout)."""
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while True:
            described = sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return described
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} still RUNNING after {timeout} s")
            time.sleep(0.05)

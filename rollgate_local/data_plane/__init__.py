"""The in-process Lambda data plane of the local runtime.

moto keeps the Lambda *control plane* (functions, versions, aliases, configuration); this module is
the *data plane* it lacks without Docker: it runs handlers in this process, honours alias weights,
publishes AWS/Lambda metrics, reports updates as InProgress for a while, sends failed asynchronous
events to the dead-letter queue and models a stream consumer's iterator age. moto reaches it through
``rollgate_local.bridge``; the traffic generator calls it directly. Each invocation's output is
written to CloudWatch Logs as Lambda writes it.

Public API:

    LambdaDataPlane(clock, *, client_factory, account="123456789012", region="us-east-1", seed=7,
                    update_seconds=15.0, async_retries=2,
                    stream_batch_interval_seconds=10.0, extra_env=None, echo_logs=False,
                    own_packages=("rollgate",), provisioning_seconds=60.0,
                    log_delay_seconds=(1.0, 5.0), log_retention_seconds=6 * 3600.0)
        client_factory(service) -> boto3 client (the runtime's; used for CloudWatch, SQS, SNS)
        .invoke(function_name, qualifier=None, payload=None, invocation_type="RequestResponse",
                *, log_type=None, at=None) -> InvokeResult
              raises LambdaServiceError (404 unknown function, 429 throttled, 400 bad JSON)
        .set_update_seconds(function_name, seconds)       how long updates stay InProgress
        .fail_next_update(function_name, reason=..., reason_code="InvalidConfiguration")
        .set_concurrency_limit(function_name, limit | None)   throttle above `limit` in flight
        .set_provisioning_seconds(function_name, seconds)  how long an allocation stays IN_PROGRESS
        .fail_next_provisioning(function_name, reason=...)  the next allocation ends FAILED
        .drive_stream_consumers(function_name=None, *, at=None, record_factory=None) -> int
        .set_metric_delay(low_seconds, high_seconds=None)   each minute's metrics published a seeded
                                  low..high s after the minute ends (default 0: when read)
        .flush_metrics(*, everything=False)   write the pending metrics due by now to CloudWatch
        .logs(function_name) -> list[str]   the last 200 invocations' logs, one text each (what
                                            CloudWatch Logs got, joined: START ... REPORT)
        .start() / .stop()        output routing on / last flush, environment and code cleaned up
      and the hooks the bridge calls: handle_invoke, function_updated, update_status, flush_metrics,
      put_provisioned_concurrency, provisioned_concurrency, delete_provisioned_concurrency.
    LambdaContext    what handlers receive (function_name, function_version, invoked_function_arn,
                     memory_limit_in_mb, aws_request_id, log_group_name, log_stream_name,
                     get_remaining_time_in_millis() on the runtime clock)
    InvokeResult(status_code, payload, function_error, executed_version, log_result).json()

Behaviour, as on AWS Lambda:

* Qualifier: an alias picks a version by its RoutingConfig weights (seeded RNG); a number is that
  version; None or $LATEST the latest. The response carries X-Amz-Executed-Version.
* Code: the version's zip from moto, extracted once per CodeSha256 under a temporary directory;
  for an image function, the image its ImageUri names in the local ECR (see `rollgate_local.images`): its
  layers (tar archives) extracted in order, the code run from the image's WorkingDir (/var/task),
  the handler its ImageConfig Command or else the image's CMD, as the Lambda base images do.
  Rollgate's own task code (a zip holding the `rollgate/` package; `own_packages`) is imported
  normally by module path with its directory appended to sys.path (an already-imported `rollgate`
  from functions/ is the same code; module-level functools caches of those packages, like the
  lazily built `_deps()`, are cleared when a new data plane first runs own code, as a cold start
  would). Any other code (the sample app's builds) is loaded in
  isolation by file path under a module name unique per code sha and environment, so v1..v7 of
  `app.py` coexist and each version sees its own environment at import time (on AWS each version
  gets its own execution environment).
* Environment: the function's variables, Lambda's reserved ones (AWS_LAMBDA_FUNCTION_NAME, ...),
  and `extra_env` are what os.environ shows
  in the invoking thread for the duration of the call: while the data plane runs, os.environ is a
  per-thread overlay on the process environment, so handlers run concurrently (traffic next to the
  state machine's tasks) and nested invokes work, without a global lock. Writes a handler makes
  stay in its invocation; threads a handler starts see the process environment.
  POWERTOOLS_TRACE_DISABLED is forced on: there is no X-Ray daemon locally.
* Errors: an exception becomes FunctionError "Unhandled" with {"errorType", "errorMessage",
  "requestId", "stackTrace"}; init failures follow the Python runtime (ImportError ->
  Runtime.ImportModuleError "Unable to import module 'app': ...", SyntaxError ->
  Runtime.UserCodeSyntaxError, missing handler -> Runtime.HandlerNotFound, any other exception at
  import -> its class name). Failed inits are retried on the next invoke, as Lambda does.
* Async (InvocationType Event): 202 at once; the handler runs in the caller's thread, is retried
  `async_retries` times on failure, then the event goes to the DeadLetterConfig target (SQS or SNS)
  with the RequestID/ErrorCode/ErrorMessage attributes Lambda sets.
* Throttling: with a concurrency limit set (or reserved concurrency from PutFunctionConcurrency),
  invocations overlapping in virtual time beyond the limit get 429 TooManyRequestsException and a
  Throttles datapoint.
* Metrics (namespace AWS/Lambda, timestamps from the runtime clock, aggregated per virtual minute):
  Invocations, Errors, Throttles (0/1 per request, so Sum is the count and SampleCount the
  requests), Duration (a distribution, so p95/p99 work) with the dimension sets {FunctionName},
  {FunctionName, Resource} for qualified calls (Resource = "fn:alias" or "fn:version") and
  {FunctionName, Resource, ExecutedVersion} for alias calls; IteratorAge (ms) for stream consumers
  with {FunctionName} and {FunctionName, Resource}. Flushed before any GetMetricData /
  GetMetricStatistics is served (traffic due by then generated first) and at stop; no thread.
  With `set_metric_delay` a minute's datapoints are published only a seeded delay after the minute
  ends (Lambda's metrics reach CloudWatch a minute or more late); by default they are visible as
  soon as they are read.
* Output: what an invocation prints or writes to stdout/stderr (and loggers on them) and what
  reaches the root logger is its log, like the Python runtime's. The routing streams behind that
  are put into sys.stdout/sys.stderr once, by the thread that starts the data plane, and taken out
  by stop(), with the runtime's log handler on the root logger; handler modules also get a routed
  `print`, so their prints are logged whoever holds sys.stdout. Threads a handler starts write to
  the process's streams.
* Logs in CloudWatch Logs: each invocation's events go to the function's log group
  (LoggingConfig.LogGroup, else /aws/lambda/NAME, created with the function, retention unset), in
  the stream of the execution environment it ran in, named `YYYY/MM/DD/[VERSION]<32 hex>` (the UTC
  day the environment started; seeded, so the same seed names the same streams). An environment
  of a version is busy while an invocation runs on it in this process and, for invocations that
  start later in virtual time, until the modelled end of its last one (invocations at one instant
  run one after another: the clock stands still while this process runs them), so overlapping
  traffic opens more environments; an environment's first invocation is its cold start, a timeout
  restarts its runtime (the next is cold again) and an init that fails leaves none. Text format
  (the default): `INIT_START Runtime Version: ...` on a cold start; `START RequestId: ID Version:
  N`; each line printed; each logging record `[LEVEL]	<time>Z	ID	<message>` (a traceback in
  the same event); an uncaught exception or init error as one event `[ERROR] Type: message

  Traceback (most recent call last):
...` (the frames indented with no-break spaces, as the
  runtime writes them; an init error after the runtime's `[WARNING]` "Unhandled exception ..."
  line); `<time>Z ID Task timed out after N.00 seconds`;
  `END RequestId: ID`; `REPORT RequestId: ID	Duration: D ms	Billed Duration: B ms	Memory
  Size: M MB	Max Memory Used: U MB` (+ `	Init Duration: I ms` on a cold start, whose INIT phase
  is billed; `	Status: timeout`, or `	Status: error	Error Type: T` after a failed init).
  LoggingConfig.LogFormat JSON: platform.initStart / platform.start / platform.runtimeDone /
  platform.report records (status success|error|timeout, metrics in ms and MB), logging records
  as {"timestamp", "level", "message", "logger", "requestId"} (+ stackTrace, errorType,
  errorMessage, location with exc_info, and `extra=` fields), an uncaught exception as
  {"timestamp", "level", "errorMessage", "errorType", "requestId", "stackTrace"}, prints as
  plain text; ApplicationLogLevel drops records below it,
  a SystemLogLevel above INFO the platform records. Event timestamps are on the runtime clock;
  request ids are seeded too (and so every line quoted in evidence); every event of an invocation
  is ingested (readable by FilterLogEvents / GetLogEvents) a seeded
  1-5 s (`log_delay_seconds`) after the invocation ends (``rollgate_local.bridge`` patch 30). Events
  older than `log_retention_seconds` (6 virtual hours; None: kept) are dropped now and then, so a
  long `local serve` session (60 virtual hours a wall hour) keeps bounded memory. Init
  Duration (seeded, 150-450 ms) and Max Memory Used (seeded per environment) are log values only:
  Duration and the metrics are unchanged by a cold start.
* Duration: handlers run in microseconds here, so a handler module may define the local-only
  convention ``SIMULATED_LATENCY_MS`` (a float, or a callable(event) -> float); that is reported as
  Duration instead of the measured time. Handlers without it report their real run time.
* Timeout: an invocation whose modelled Duration (``SIMULATED_LATENCY_MS``) exceeds the version's
  Timeout fails as Lambda's do: FunctionError Unhandled, errorType Sandbox.Timedout, "Task timed
  out after N.00 seconds", Duration = the timeout. The handler is not cut off (it has already
  returned; its side effects stand), and measured run times are never timed out (a busy machine
  must not fail a task).
* Provisioned concurrency: Put/Get/Delete/ListProvisionedConcurrencyConfig(s) (through
  ``rollgate_local.bridge``) keep an allocation per version or alias, IN_PROGRESS for
  `provisioning_seconds` of virtual time after each put (set per function), then READY with every
  requested environment available (or FAILED when told to). The allocation changes no invocation:
  cold starts are not modelled, so provisioned environments are not faster here.
* Stream consumers: for each event source mapping on a Kinesis/DynamoDB stream,
  `drive_stream_consumers` (called by the traffic generator every loop) invokes the mapped
  function/alias with a synthetic batch every `stream_batch_interval_seconds` of virtual time.
  While batches succeed IteratorAge stays well under a second; while they fail the batch is retried
  and IteratorAge grows with virtual time since the first failure.

Not modelled: cutting a handler off at its timeout, memory (Max Memory Used is a seeded number),
cold starts' latency (Init Duration is logged, never added to Duration, so what provisioned
concurrency buys), environments idling out, per-environment module state (the environments of a
version share one import), the root logger's level (the process's, not Lambda's WARNING; a JSON
ApplicationLogLevel only drops records below it), an image's ENTRYPOINT, environment and layers
other than files (the image's runtime is the virtualenv's).

The package, by concern (each part a class ``LambdaDataPlane`` inherits, over the state they
share in ``base.DataPlaneBase``):

    rollgate_local.data_plane.base         DataPlaneBase: settings, clients, locks, state
    rollgate_local.data_plane.records      the internal records (updates, aggregates, environments, ...)
    rollgate_local.data_plane.output       the routing streams, an invocation's log, the runtime's log handler
    rollgate_local.data_plane.environment  Environments: execution environments, the layered environ, capture
    rollgate_local.data_plane.code         CodeLoading: zip and image code on disk, handlers imported
    rollgate_local.data_plane.logs         LogWriting: what Lambda writes to CloudWatch Logs
    rollgate_local.data_plane.metrics      Metrics: AWS/Lambda metrics, their delay and flush
    rollgate_local.data_plane.updates      Updates: LastUpdateStatus, update delays, provisioned concurrency
    rollgate_local.data_plane.invoke       Invoking: routing, throttling, the handler run, async and the DLQ
    rollgate_local.data_plane.streams      Streams: stream consumers and IteratorAge
"""

from __future__ import annotations

import shutil
import sys

from rollgate_local.bridge import InvokeResult, LambdaServiceError
from rollgate_local.data_plane.base import LOG, NAMESPACE, ClientFactory
from rollgate_local.data_plane.invoke import LambdaContext
from rollgate_local.data_plane.output import _routing
from rollgate_local.data_plane.streams import Streams

__all__ = ["NAMESPACE", "ClientFactory", "InvokeResult", "LambdaContext", "LambdaDataPlane", "LambdaServiceError"]


class LambdaDataPlane(Streams):
    """In-process Lambda data plane; see the module docstring."""

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Install the output routing streams (from this, the starting thread). Metrics need no
        thread: they are flushed before every CloudWatch read and at stop."""
        if not self._routes_output:
            self._routes_output = True
            _routing.acquire()

    def stop(self) -> None:
        """Flush the metrics a last time, give os.environ back, drop the extracted code."""
        try:
            self.flush_metrics(everything=True)
        except Exception:
            LOG.debug("final metrics flush failed", exc_info=True)
        self._unlayer_environ()
        for path in self._added_paths:
            if path in sys.path:
                sys.path.remove(path)
        self._added_paths.clear()
        shutil.rmtree(self._code_root, ignore_errors=True)
        if self._routes_output:
            self._routes_output = False
            _routing.release()

"""`rollgate local serve`: the local runtime behind an HTTP endpoint for the CLI, boto3 or the AWS CLI.

Public API:

    serve(port=5005, speed=60.0, *, host="127.0.0.1", outdir="cdk.out", synth=True, sample_app=True,
          traffic_rate=5.0, seed=7, ready=None, stop=None, on_ready=None, out=sys.stdout) -> None
        Starts a LocalRuntime (moto + bridge + data plane + clock) and moto's ThreadedMotoServer on
        host:port in this process, deploys the stack from `outdir` (synthesizing it first when
        `synth`; outdir=None: no stack), creates the sample app with steady traffic (optional),
        prints the endpoint and the stack outputs, then blocks until Ctrl-C (or until `stop`, a
        threading.Event, is set). Once everything is up it calls `on_ready(ServeInfo)` and sets
        `ready` (a threading.Event).
    ServeInfo  what serve() prints: endpoint, stack outputs, sample app, skipped resources.
    main(argv) -> int   `python -m local.server --port 5005 --speed 60 [--no-stack] [--no-sample-app]`

Then, from another shell:

    aws --endpoint-url http://127.0.0.1:5005 --region us-east-1 lambda list-functions
    rollgate deploy --endpoint-url http://127.0.0.1:5005 --function orders-api --zip build.zip --watch

How calls flow: clients outside the process talk HTTP to the moto server. Everything running
inside the process (moto's Step Functions interpreter, the task Lambdas the data plane runs, the
data plane itself) keeps using moto in-process through ``mock_aws``, which stays active for the
whole session; both paths reach the same moto backends. So task Lambdas need no AWS_ENDPOINT_URL
(their boto3 calls never leave the process, exactly as in tests and the demo), and a task that
invokes another function (the smoke gate invokes the user's function) re-enters the data plane in
its own thread instead of making an HTTP round trip to itself. MOTO_PORT is still set to the port,
so anything that does fall back to moto's HTTP endpoint (moto's SFN does when no mock is active)
finds this server. The stack is also registered as a CloudFormation stack, so tools that look
outputs up by stack name work unchanged.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from local.deployer import StackOutputs, synthesize
from local.runtime import LocalRuntime
from local.sample_app import SampleApp


@dataclass
class ServeInfo:
    endpoint_url: str
    region: str
    outputs: dict[str, str] = field(default_factory=dict)
    sample_app: SampleApp | None = None
    skipped: list[str] = field(default_factory=list)


def serve(port: int = 5005, speed: float = 60.0, *, host: str = "127.0.0.1", outdir: str | None = "cdk.out",
          synth: bool = True, sample_app: bool = True, traffic_rate: float = 5.0, seed: int = 7,
          ready: threading.Event | None = None, stop: threading.Event | None = None,
          on_ready: Callable[[ServeInfo], None] | None = None, out: TextIO | None = None) -> None:
    from moto.server import ThreadedMotoServer

    out = out or sys.stdout
    previous_port = os.environ.get("MOTO_PORT")
    os.environ["MOTO_PORT"] = str(port)
    stop = stop or threading.Event()
    server: Any = None
    try:
        with LocalRuntime(speed=speed, seed=seed) as runtime:
            os.environ["MOTO_PORT"] = str(port)  # the runtime restores the environment it found
            server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
            server.start()
            info = ServeInfo(endpoint_url=f"http://{host}:{port}", region=runtime.region)
            if outdir is not None:
                template_dir = synthesize(outdir).parent if synth else outdir
                outputs: StackOutputs = runtime.deploy_stack(template_dir)
                info.outputs = dict(outputs)
                info.skipped = outputs.skipped
            if sample_app:
                info.sample_app = runtime.sample_app()
                if traffic_rate > 0:
                    runtime.traffic(info.sample_app.function_name, info.sample_app.alias,
                                    rate_per_second=traffic_rate)
            _print_info(info, speed, out)
            if on_ready is not None:
                on_ready(info)
            if ready is not None:
                ready.set()
            try:
                while not stop.wait(0.5):
                    pass
            except KeyboardInterrupt:
                out.write("\nstopping the local runtime\n")
    finally:
        if server is not None:
            server.stop()
        if previous_port is None:
            os.environ.pop("MOTO_PORT", None)
        else:
            os.environ["MOTO_PORT"] = previous_port


def _print_info(info: ServeInfo, speed: float, out: TextIO) -> None:
    out.write(f"Rollgate local runtime on {info.endpoint_url} (region {info.region}, clock x{speed:g})\n")
    out.write(f"  export AWS_ENDPOINT_URL={info.endpoint_url} AWS_DEFAULT_REGION={info.region} "
              "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing\n")
    if info.outputs:
        out.write("Stack outputs:\n" + json.dumps(info.outputs, indent=2) + "\n")
    if info.skipped:
        out.write(f"({len(info.skipped)} template resources not modelled locally)\n")
    if info.sample_app is not None:
        out.write(f"Sample app: {info.sample_app.function_name}:{info.sample_app.alias} -> version "
                  f"{info.sample_app.live_version}\n")
    out.write("Ctrl-C to stop.\n")
    out.flush()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m local.server", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=5005)
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument("--outdir", default="cdk.out")
    parser.add_argument("--no-stack", action="store_true")
    parser.add_argument("--no-sample-app", action="store_true")
    parser.add_argument("--traffic-rate", type=float, default=5.0)
    args = parser.parse_args(argv)
    serve(args.port, args.speed, outdir=None if args.no_stack else args.outdir,
          sample_app=not args.no_sample_app, traffic_rate=args.traffic_rate)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

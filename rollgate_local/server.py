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
    ServeInfo  what serve() prints: endpoint, stack outputs, function URLs, sample app, skipped resources.
    PortInUse  raised by serve() at once when host:port is taken (the message names it).
    main(argv) -> int   `python -m rollgate_local.server --port 5005 --speed 60 [--no-stack] [--no-sample-app]`

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

Function URLs (the GitHub webhook receiver's) are served on the same port: a request whose Host is
the URL's own (``<url-id>.lambda-url.<region>.on.aws``, e.g. through ``curl --connect-to``) or whose
path starts with ``/lambda-url/<url-id>/`` invokes the function (its alias, when the URL is on one)
with Lambda's function URL event (payload format 2.0) and answers what the handler returns
(statusCode, headers, body, isBase64Encoded; anything else as a 200 JSON body), as Lambda does.
Auth type AWS_IAM is not checked. The request log goes to `out`, coloured only on a terminal.
"""

from __future__ import annotations

import base64
import errno
import json
import os
import re
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import unquote

from rollgate_local.deployer import StackOutputs, synthesize
from rollgate_local.runtime import LocalRuntime
from rollgate_local.sample_app import SampleApp


@dataclass
class ServeInfo:
    endpoint_url: str
    region: str
    outputs: dict[str, str] = field(default_factory=dict)
    sample_app: SampleApp | None = None
    skipped: list[str] = field(default_factory=list)
    function_urls: dict[str, str] = field(default_factory=dict)  # local URL -> function (qualified) ARN


class PortInUse(OSError):
    """The port `local serve` was asked to listen on is taken."""

    def __init__(self, host: str, port: int, error: OSError) -> None:
        super().__init__(
            error.errno,
            f"port {port} on {host} is already in use ({error.strerror}): stop what "
            f"listens there or choose another with --port",
        )
        self.host = host
        self.port = port


_URL_HOST = re.compile(r"^(?P<id>[a-z0-9]+)\.lambda-url\.[a-z0-9-]+\.on\.aws(:\d+)?$")
_URL_PATH = re.compile(r"^/lambda-url/(?P<id>[a-z0-9]+)(?P<path>/.*)?$")


def _url_id(function_url: str) -> str:
    return function_url.split("://", 1)[-1].split(".", 1)[0]


class _FunctionUrls:
    """WSGI middleware: function URL requests to the data plane, everything else to moto."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.runtime: LocalRuntime | None = None  # set once the runtime is up
        self.routes: dict[str, str] = {}  # url id -> function ARN (with the URL's qualifier)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        host = str(environ.get("HTTP_HOST", "")).lower()
        path = unquote(str(environ.get("PATH_INFO", "")))
        by_host, by_path = _URL_HOST.match(host), _URL_PATH.match(path)
        url_id = by_host.group("id") if by_host else by_path.group("id") if by_path else None
        if url_id is None or url_id not in self.routes or self.runtime is None:
            return self.app(environ, start_response)
        raw_path = path if by_host or by_path is None else (by_path.group("path") or "/")
        status, headers, body = self._invoke(self.routes[url_id], environ, raw_path, url_id)
        start_response(status, headers)
        return [body]

    def _invoke(
        self, function_arn: str, environ: dict[str, Any], raw_path: str, url_id: str
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw_body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").lower(): str(value) for key, value in environ.items() if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = str(environ["CONTENT_TYPE"])
        try:
            text, is_base64 = raw_body.decode(), False
        except UnicodeDecodeError:
            text, is_base64 = base64.b64encode(raw_body).decode(), True
        method = str(environ.get("REQUEST_METHOD", "GET"))
        event = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": raw_path,
            "rawQueryString": str(environ.get("QUERY_STRING", "")),
            "headers": headers,
            "requestContext": {
                "accountId": "anonymous",
                "apiId": url_id,
                "domainName": headers.get("host", ""),
                "domainPrefix": url_id,
                "requestId": os.urandom(16).hex(),
                "routeKey": "$default",
                "stage": "$default",
                "http": {
                    "method": method,
                    "path": raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": str(environ.get("REMOTE_ADDR", "")),
                    "userAgent": headers.get("user-agent", ""),
                },
            },
            "body": text,
            "isBase64Encoded": is_base64,
        }
        assert self.runtime is not None and self.runtime.data_plane is not None
        result = self.runtime.data_plane.invoke(function_arn, None, event)
        if result.function_error:  # Lambda answers a function error on a URL with 502
            return "502 Bad Gateway", [("Content-Type", "application/json")], b'{"Message":"Internal Server Error"}'
        answer = result.json()
        if not (isinstance(answer, dict) and "statusCode" in answer):
            return "200 OK", [("Content-Type", "application/json")], json.dumps(answer).encode()
        body = answer.get("body") or ""
        payload = base64.b64decode(body) if answer.get("isBase64Encoded") else str(body).encode()
        out_headers = [(str(k), str(v)) for k, v in (answer.get("headers") or {}).items()]
        code = int(answer["statusCode"])
        from http import HTTPStatus

        reason = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else ""
        return f"{code} {reason}".strip(), out_headers, payload


def _request_handler(out: TextIO) -> Any:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class RequestLog(MotoRequestHandler):
        """moto's handler, its request log written to `out`, with colour codes only on a terminal."""

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            if _is_terminal(out):
                super().log_request(code, size)
                return
            self.log("info", '"%s" %s %s', self.requestline, code, size)

        def log(self, type: str, message: str, *args: Any) -> None:
            out.write(f"{self.address_string()} - - [{self.log_date_time_string()}] {message % args}\n")
            out.flush()

    return RequestLog


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _listen(host: str, port: int, app: Any, out: TextIO) -> Any:
    """The HTTP server, bound now: a taken port is PortInUse at once (werkzeug would print and exit,
    and moto's threaded server would wait for ever for a server that never started)."""
    from werkzeug.serving import make_server

    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug does; a listener still wins
        listener.bind((host, port))
        listener.listen(128)
    except OSError as error:
        listener.close()
        if error.errno in (errno.EADDRINUSE, errno.EACCES):
            raise PortInUse(host, port, error) from error
        raise
    try:
        return make_server(host, port, app, threaded=True, request_handler=_request_handler(out), fd=listener.fileno())
    finally:
        listener.close()  # the server holds its own duplicate of the socket


def serve(
    port: int = 5005,
    speed: float = 60.0,
    *,
    host: str = "127.0.0.1",
    outdir: str | None = "cdk.out",
    synth: bool = True,
    sample_app: bool = True,
    traffic_rate: float = 5.0,
    seed: int = 7,
    ready: threading.Event | None = None,
    stop: threading.Event | None = None,
    on_ready: Callable[[ServeInfo], None] | None = None,
    out: TextIO | None = None,
) -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    out = out or sys.stdout
    urls = _FunctionUrls(DomainDispatcherApplication(create_backend_app))
    server = _listen(host, port, urls, out)  # before anything starts: a taken port fails at once
    serving = threading.Thread(target=server.serve_forever, name="rollgate-local-serve", daemon=True)
    previous_port = os.environ.get("MOTO_PORT")
    os.environ["MOTO_PORT"] = str(port)
    stop = stop or threading.Event()
    try:
        with LocalRuntime(speed=speed, seed=seed) as runtime:
            os.environ["MOTO_PORT"] = str(port)  # the runtime restores the environment it found
            urls.runtime = runtime
            serving.start()
            info = ServeInfo(endpoint_url=f"http://{host}:{port}", region=runtime.region)
            if outdir is not None:
                template_dir = synthesize(outdir).parent if synth else outdir
                outputs: StackOutputs = runtime.deploy_stack(template_dir)
                info.outputs = dict(outputs)
                info.skipped = outputs.skipped
                for function_url, function_arn in outputs.function_urls.items():
                    urls.routes[_url_id(function_url)] = function_arn
                    info.function_urls[f"{info.endpoint_url}/lambda-url/{_url_id(function_url)}/"] = function_arn
            if sample_app:
                info.sample_app = runtime.sample_app()
                if traffic_rate > 0:
                    runtime.traffic(info.sample_app.function_name, info.sample_app.alias, rate_per_second=traffic_rate)
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
        if serving.is_alive():
            server.shutdown()
        server.server_close()
        if previous_port is None:
            os.environ.pop("MOTO_PORT", None)
        else:
            os.environ["MOTO_PORT"] = previous_port


def _print_info(info: ServeInfo, speed: float, out: TextIO) -> None:
    out.write(f"Rollgate local runtime on {info.endpoint_url} (region {info.region}, clock x{speed:g})\n")
    out.write(
        f"  export AWS_ENDPOINT_URL={info.endpoint_url} AWS_DEFAULT_REGION={info.region} "
        "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing\n"
    )
    if info.outputs:
        out.write("Stack outputs:\n" + json.dumps(info.outputs, indent=2) + "\n")
    for url, function_arn in info.function_urls.items():
        out.write(f"Function URL: {url} -> {function_arn}\n")
    if info.skipped:
        out.write(f"({len(info.skipped)} template resources not modelled locally)\n")
    if info.sample_app is not None:
        out.write(
            f"Sample app: {info.sample_app.function_name}:{info.sample_app.alias} -> version "
            f"{info.sample_app.live_version}\n"
        )
    out.write("Ctrl-C to stop.\n")
    out.flush()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m rollgate_local.server", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=5005)
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument("--outdir", default="cdk.out")
    parser.add_argument("--no-stack", action="store_true")
    parser.add_argument("--no-sample-app", action="store_true")
    parser.add_argument("--traffic-rate", type=float, default=5.0)
    args = parser.parse_args(argv)
    try:
        serve(
            args.port,
            args.speed,
            outdir=None if args.no_stack else args.outdir,
            sample_app=not args.no_sample_app,
            traffic_rate=args.traffic_rate,
        )
    except PortInUse as busy:
        print(f"python -m rollgate_local.server: {busy.strerror}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

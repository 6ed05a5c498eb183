"""The sample application "orders-api": builds v1..v9 and its deployment on the local runtime.

Public API:

    BUILDS: tuple[str, ...]                     ("v1", ..., "v9")
    build_zip(build: str) -> bytes              deterministic in-memory zip holding app.py
    push_build_image(runtime_session, repository, build) -> str
        the build as a container image in the local ECR (``rollgate_local.images``), its URI by digest
    code_sha256(zip_bytes: bytes) -> str        base64 SHA-256, as Lambda reports CodeSha256
    order_payload(rng: random.Random) -> dict   one realistic order; ~30 % carry a coupon
    smoke_payload() -> dict                     an order without coupon (what smoke tests send)
    create_sample_app(runtime_session, function_name="orders-api", alias="live",
                      stream_name="orders-events", *, build="v1", image=False) -> SampleApp
        role, SQS DLQ, the function from `build` (DeadLetterConfig, tag rollgate:managed=true),
        version 1, alias -> 1, a Kinesis stream with an event source mapping on the alias
        (stream_name=None: none); image=True: an image function, its image pushed to a repository
        named after the function; `runtime_session` is anything with .client(service), e.g. a
        LocalRuntime
    upload_build(runtime_session, bucket, build, key=None, function_name="orders-api") -> Artifact
        the build's zip into S3; Artifact(build, bucket, key, version_id, code_sha256)

What each build does (handler ``app.handler``; orders are {order_id, items: [{sku, qty}], coupon?};
a good answer is {"ok": true, "order_id", "status": "accepted", "total", "build"}):

    v1  good; SIMULATED_LATENCY_MS ~ 40 +- 10 ms
    v2  good; a slightly different response (adds "currency": "EUR")
    v3  raises for orders that carry a coupon: smoke payloads have none, real traffic ~30 %, so it
        fails only under canary traffic
    v4  reads os.environ["PAYMENTS_URL"] at import: needs a variable the function lacks
    v5  crashes at import (imports a module missing from the build): Runtime.ImportModuleError
    v6  good answers, ~3x the latency of v1 (a latency-only regression)
    v7  the fix for a coupon campaign (SPRING20) that v1..v6 fail
    v8  good answers, ~0.4 s per order line (3 lines: ~1.3 s): fine within a 10 s timeout, not 1 s
    v9  v3's fault caught: for an order with a coupon it logs `[ERROR] ... coupon 'SAVE10' not
        applied: order charged in full` with the KeyError's traceback (logger.exception) and
        answers 200 "accepted" at the full price: no Errors metric, no failed invocation, only
        its logs show it (smoke payloads have no coupon)

Every build also consumes Kinesis batches ({"Records": [...]}) of orders, failing the batch where
it would fail one of its orders, so a stream consumer on the alias sees the same faults.

``SIMULATED_LATENCY_MS`` is the local runtime's convention for a handler's Duration (see
``rollgate_local.data_plane``); it means nothing on AWS.
"""

from rollgate_local.sample_app.builds import BUILDS, build_zip, code_sha256, order_payload, smoke_payload
from rollgate_local.sample_app.deploy import Artifact, SampleApp, create_sample_app, push_build_image, upload_build

__all__ = [
    "BUILDS",
    "Artifact",
    "SampleApp",
    "build_zip",
    "code_sha256",
    "create_sample_app",
    "order_payload",
    "push_build_image",
    "smoke_payload",
    "upload_build",
]

"""The builds of orders-api as deterministic in-memory zips, and realistic payloads."""

from __future__ import annotations

import base64
import hashlib
import io
import random
import zipfile
from dataclasses import dataclass
from typing import Any

BUILDS = ("v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9")

SKUS = ("sku-apple", "sku-bread", "sku-cheese", "sku-dates", "sku-eggs")
COUPONS = ("SAVE10", "WELCOME5")
COUPON_SHARE = 0.30

_APP = '''"""orders-api {build}: prices an order (and consumes batches of orders from a stream)."""

import base64
import json
import os
import random
{import_time}
BUILD = "{build}"
PRICES = {{"sku-apple": 1.25, "sku-bread": 2.5, "sku-cheese": 6.0, "sku-dates": 4.75, "sku-eggs": 3.2}}
COUPON_RATES = {coupon_rates}
_latency = random.Random({seed})


def SIMULATED_LATENCY_MS(event):
    """Local runtime convention: the Duration this invocation reports (meaningless on AWS)."""
    lines = len(event.get("items") or ()) if isinstance(event, dict) else 0
    return max(1.0, _latency.gauss({latency_mean}, {latency_sd}) + {latency_per_item} * lines)


def price(order):
    subtotal = sum(PRICES.get(item["sku"], 5.0) * int(item.get("qty", 1)) for item in order["items"])
    coupon = order.get("coupon")
    discount = subtotal * COUPON_RATES[coupon] if coupon else 0.0
    return round(subtotal - discount, 2)


def handler(event, context):
    if "Records" in event:
        for record in event["Records"]:
            {charge}(json.loads(base64.b64decode(record["kinesis"]["data"])))
        return {{"processed": len(event["Records"])}}
    total = {charge}(event)
    return {response}
'''

_GOOD_COUPONS = '{"SAVE10": 0.10, "WELCOME5": 0.05}'
_CHARGED_IN_FULL = '''
import logging

logger = logging.getLogger("orders")


def charged(order):
    """The order's price; a coupon that cannot be applied is logged and the full price charged."""
    try:
        return price(order)
    except KeyError:
        logger.exception("coupon %r not applied: order charged in full", order.get("coupon"))
        return price(dict(order, coupon=None))
'''


@dataclass(frozen=True)
class _Build:
    import_time: str = ""
    coupon_rates: str = _GOOD_COUPONS
    latency_mean: float = 40.0
    latency_sd: float = 5.0
    latency_per_item: float = 0.0  # ms per order line, on top of the mean
    response: str = '{"ok": True, "order_id": event["order_id"], "status": "accepted", "total": total, "build": BUILD}'
    charge: str = "price"  # what the handler calls to price an order


_SPECS: dict[str, _Build] = {
    "v1": _Build(),
    "v2": _Build(
        response='{"ok": True, "order_id": event["order_id"], "status": "accepted", "total": total, '
        '"currency": "EUR", "build": BUILD}'
    ),
    # A refactor lost the coupon table: every order with a coupon raises KeyError.
    "v3": _Build(coupon_rates="{}"),
    # Reads configuration the function does not have, at import.
    "v4": _Build(import_time='\nPAYMENTS_URL = os.environ["PAYMENTS_URL"]\n'),
    # Imports a module that is not in the build: the runtime cannot import app.
    "v5": _Build(import_time="\nfrom orders_schema import OrderV2  # noqa: F401  (missing from the build)\n"),
    # Same answers, about three times slower.
    "v6": _Build(latency_mean=120.0, latency_sd=15.0),
    # The fix for a campaign the live version does not know: v1..v6 raise KeyError for SPRING20.
    "v7": _Build(coupon_rates='{"SAVE10": 0.10, "WELCOME5": 0.05, "SPRING20": 0.20}'),
    # Good answers, priced line by line against a slow tax service: ~0.4 s an order line, so an
    # order of 3 lines takes ~1.3 s (well within its 10 s timeout; not within 1 s).
    "v8": _Build(latency_per_item=420.0),
    # v3's lost coupon table, but the KeyError is caught: logged (logger.exception) and the order
    # charged in full, answered 200 "accepted". The Errors metric never moves; only its logs show it.
    "v9": _Build(coupon_rates="{}", import_time=_CHARGED_IN_FULL, charge="charged"),
}


def app_source(build: str) -> str:
    """The app.py of `build`."""
    try:
        spec = _SPECS[build]
    except KeyError:
        raise ValueError(f"unknown build {build!r}; builds are {', '.join(BUILDS)}") from None
    return _APP.format(
        build=build,
        import_time=spec.import_time,
        coupon_rates=spec.coupon_rates,
        seed=BUILDS.index(build) + 1,
        latency_mean=spec.latency_mean,
        latency_sd=spec.latency_sd,
        latency_per_item=spec.latency_per_item,
        response=spec.response,
        charge=spec.charge,
    )


def build_zip(build: str) -> bytes:
    """`build` as a Lambda zip (app.py at the root). Same bytes every time, so the same CodeSha256."""
    source = app_source(build).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("app.py", date_time=(2024, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, source)
    return buffer.getvalue()


def code_sha256(zip_bytes: bytes) -> str:
    """Base64 SHA-256 of a zip, the way Lambda reports CodeSha256."""
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()


def order_payload(rng: random.Random) -> dict[str, Any]:
    """One order as real traffic sends it: 1-3 items, a coupon on about 30 % of orders."""
    order: dict[str, Any] = {
        "order_id": f"ord-{rng.getrandbits(40):010x}",
        "items": [{"sku": rng.choice(SKUS), "qty": rng.randint(1, 4)} for _ in range(rng.randint(1, 3))],
    }
    if rng.random() < COUPON_SHARE:
        order["coupon"] = rng.choice(COUPONS)
    return order


def image_files(build: str) -> dict[str, str]:
    """`build` as an image's code (``rollgate_local.images.push_image``): app.py, CMD app.handler."""
    return {"app.py": app_source(build)}


def smoke_payload() -> dict[str, Any]:
    """The order smoke tests send: no coupon."""
    return {"order_id": "smoke-0001", "items": [{"sku": "sku-apple", "qty": 2}]}

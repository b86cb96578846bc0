"""What the JSON nesting check (`payments_common.http.json_nesting_exceeds`) adds to the parse it
follows, on ordinary and hostile JSON up to the default body limit.

    .venv/bin/python benchmarks/json_depth_check.py [--limit 32] [--repeat 7]

`read_json_object` parses first (orjson, in C, refuses past 1024 levels by itself) and checks the
nesting of what it accepted, so only JSON that orjson accepts is measured. For each body: the median
time of the check and of `orjson.loads` (the baseline, measured in the same run), and their ratio.
Goal: the check costs at most twice the parse on any of them. It runs on every JSON body of every
service, but stops after one count for a body with fewer opening brackets than the limit. Needs no
running system.
"""

from __future__ import annotations

import argparse
import statistics
import timeit
from collections.abc import Callable

import orjson

from payments_common.http import json_nesting_exceeds

BODY_LIMIT = 64 * 1024


def bodies() -> dict[str, bytes]:
    webhook = {
        "orderId": "order_01a2216c-b11e-7231-b3f5-933441d3ccc7",
        "paymentId": "pay_01a2216c-b123-75ff-9130-a08a4f728159",
        "gatewayPaymentId": "gw_01a2216c-b1df-7249-babe-17ca226f639b",
        "signature": "a" * 64,
        "status": "SUCCESS",
        "method": {"type": "upi", "vpa": "success@razorpay"},
    }
    return {
        "a webhook (typical)": orjson.dumps(webhook),
        "many shallow arrays": b"[" + b",".join([b"[]"] * (BODY_LIMIT // 3 - 1)) + b"]",
        "1000 deep": b"[" * 1000 + b"]" * 1000,
        "chains 32 deep": b"[" + b",".join([b"[" * 31 + b"]" * 31] * (BODY_LIMIT // 63)) + b"]",
        "escapes in one string": b'["' + b'\\"' * (BODY_LIMIT // 2 - 4) + b'"]',
        "short strings, 33 deep": b"[" * 32 + orjson.dumps(["ab"] * (BODY_LIMIT // 6)) + b"]" * 32,
        "long strings, 33 deep": b"[" * 32 + orjson.dumps(["x" * 100] * 500) + b"]" * 32,
        "strings of brackets, 33 deep": b"[" * 32 + orjson.dumps(["[[", "]]"] * (BODY_LIMIT // 14)) + b"]" * 32,
    }


def median_us(function: Callable[[], object], repeat: int) -> float:
    runs = timeit.repeat(function, number=50, repeat=repeat)
    return statistics.median(runs) / 50 * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    print(f"{'body':30} {'bytes':>7} {'check µs':>10} {'orjson µs':>10} {'ratio':>7}  too deep?")
    worst = 0.0
    for name, raw in bodies().items():
        checked = median_us(lambda raw=raw: json_nesting_exceeds(raw, args.limit), args.repeat)  # type: ignore[misc]
        parsed = median_us(lambda raw=raw: orjson.loads(raw), args.repeat)  # type: ignore[misc]
        worst = max(worst, checked / parsed)
        verdict = json_nesting_exceeds(raw, args.limit)
        print(f"{name:30} {len(raw):>7} {checked:>10.1f} {parsed:>10.1f} {checked / parsed:>7.2f}  {verdict}")
    print(f"\nworst ratio: {worst:.2f} (goal: at most 2)")


if __name__ == "__main__":
    main()

"""The faults the gateway can inject into its webhooks, and how a payment gets them.

Real gateways duplicate, reorder, delay and re-send webhooks, and sometimes overturn an outcome;
the merchant's side must cope with each. Every fault here is one of those misbehaviours:

- `duplicate`: the settlement event goes out as two concurrent copies under the same webhook-id, and
  once more under a new event id with the same body (`purpose='duplicate'`).
- `reorder`: the payment's deliveries are released in reverse order, each with 0 to 1 s of random
  jitter, so later events overtake earlier ones and other payments' events. A late success stays
  behind the failure it overturns: that order is what makes it late.
- `delay`: the settlement (and what follows it) is held `MOCK_GATEWAY_FAULT_DELAY_MS` longer.
- `timeout`: the settlement's first try is sent and the receiver's answer recorded, but the gateway
  acts as if it timed out and retries the same event id.
- `late_success`: only for a payment whose outcome is failure: it settles FAILED first; once that
  webhook is done (delivered, refused or given up), `MOCK_GATEWAY_FAULT_DELAY_MS` later, its true
  status flips to `captured` and a SUCCESS webhook goes out under a new event id (`purpose='late_success'`).

A payment gets the faults named in its test vpa (`success.duplicate.timeout@razorpay`) and, per run,
each fault with the probability `MOCK_GATEWAY_FAULTS` gives it (`duplicate=0.3,reorder=0.2`).
Everything here is pure: randomness comes in as a `random.Random`.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping
from typing import Any

from mock_gateway.payments.domain import OUTCOME_WORDS, vpa_tokens


class Fault(enum.Enum):
    DUPLICATE = "duplicate"
    REORDER = "reorder"
    DELAY = "delay"
    TIMEOUT = "timeout"
    LATE_SUCCESS = "late_success"

    @classmethod
    def from_token(cls, token: str) -> Fault | None:
        """`late-success` and `late_success` alike: a vpa may hold either, an env var usually the latter."""
        try:
            return cls(token.strip().lower().replace("-", "_"))
        except ValueError:
            return None


FaultRates = Mapping[Fault, float]


def parse_fault_rates(raw: str) -> dict[Fault, float]:
    """`name=probability`, comma-separated, each probability in [0, 1]; empty means no fault.

    Raises ValueError with a message naming the bad entry (there is nothing secret in it).
    """
    rates: dict[Fault, float] = {}
    for n, item in enumerate(part.strip() for part in raw.split(",")):
        if not item:
            continue
        name, sep, value = item.partition("=")
        fault = Fault.from_token(name)
        if not sep or fault is None:
            known = ", ".join(f.value for f in Fault)
            raise ValueError(f"entry {n + 1} ({item!r}) is not name=probability with a name among {known}")
        if fault in rates:
            raise ValueError(f"entry {n + 1}: {fault.value} is given twice")
        try:
            probability = float(value)
        except ValueError:
            raise ValueError(f"entry {n + 1}: {value.strip()!r} is not a number") from None
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"entry {n + 1}: the probability of {fault.value} must be within [0, 1]")
        rates[fault] = probability
    return rates


def requested_faults(method: Mapping[str, Any] | None) -> frozenset[Fault]:
    """The fault tokens of the test vpa; unknown tokens are ignored, so a typo only loses its fault."""
    tokens = vpa_tokens(method)
    if tokens and tokens[0] in OUTCOME_WORDS:
        tokens = tokens[1:]
    return frozenset(fault for token in tokens if (fault := Fault.from_token(token)) is not None)


def draw_faults(rates: FaultRates, rng: random.Random) -> frozenset[Fault]:
    """One independent draw per configured fault, in a fixed order so that a seed replays a run."""
    return frozenset(fault for fault in Fault if fault in rates and rng.random() < rates[fault])


def canonical(faults: frozenset[Fault]) -> list[str]:
    """The faults as stored and logged: their names, in declaration order."""
    return [fault.value for fault in Fault if fault in faults]

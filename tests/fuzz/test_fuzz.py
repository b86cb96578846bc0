"""Schemathesis against the running services: every documented operation with generated valid and
invalid input (its examples, boundary values, then random cases), and chains of linked client calls
(create an order, read it, pay it, read it again). Each answer must not be a 5xx and must be as the
document says."""

from __future__ import annotations

import uuid
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck

from .conftest import CHECKS, REQUIRED, Target, budget, load_schema, load_target
from .signing import StandardWebhooksSigner, sign_payment
from .tally import TALLY

# the schemas are read when the module is collected, as schemathesis's parametrize needs them then
_loaded = load_target()
if _loaded is None:
    pytest.skip(f"{', '.join(REQUIRED)} unset: run this tier with `make fuzz`", allow_module_level=True)
TARGET: Target = _loaded
client_api = load_schema(TARGET.api_url)
webhooks = load_schema(TARGET.webhook_url)


def _record(service: str, case: Any, response: Any) -> None:
    TALLY.record(
        service,
        case.operation.label,
        response.status_code,
        f"{case.operation.label} -> {response.status_code}: {response.text[:300]!r}",
    )


@client_api.parametrize()  # type: ignore[untyped-decorator]
def test_client_api(case: Any) -> None:
    response = case.call(auth=TARGET.basic_auth)
    _record("order-svc", case, response)
    case.validate_response(response, checks=CHECKS)


@webhooks.parametrize()  # type: ignore[untyped-decorator]
def test_webhook_endpoint(case: Any) -> None:
    sign_payment(case.body, TARGET.payment_key, case.id)
    response = case.call(auth=StandardWebhooksSigner(TARGET.webhook_key))
    _record("webhook-gateway", case, response)
    case.validate_response(response, checks=CHECKS)


def test_client_api_linked_calls() -> None:
    """The document's links: POST /orders -> GET /orders/{order_id}, -> POST /payments/initiate with
    that orderId -> GET /orders/{order_id} again."""

    basic_auth = TARGET.basic_auth

    class LinkedCalls(client_api.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Any) -> None:
            # a client following the links uses a fresh key per request, as a real one does: keys the
            # generator repeats would replay or refuse (422) earlier answers, so whether a step yields an
            # order would depend on the steps before it, which hypothesis rejects as flaky generation
            if case.method.upper() == "POST":
                case.headers = {**(case.headers or {}), "Idempotency-Key": uuid.uuid4().hex}

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"auth": basic_auth}

        def after_call(self, response: Any, case: Any) -> None:
            _record("order-svc (linked)", case, response)

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    LinkedCalls.run(
        settings=hypothesis.settings(
            max_examples=budget("FUZZ_STATEFUL_EXAMPLES", 60),
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            # the steps draw on the live system's answers, which a replay (shrinking, saved examples)
            # cannot reproduce: hypothesis then fails the run as flaky data generation, not as a finding
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
            database=None,
        )
    )

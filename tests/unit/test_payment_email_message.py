"""The customer's payment email, built without I/O: the order's `customer` input rules, the message (both
parts, escaping, no header injection, a Message-ID fixed by the payment id), and `SMTP_URL`."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from openapi_schema_validator import OAS31Validator
from pydantic import SecretStr, ValidationError

from order_svc.emails.domain import PaymentReceipt, build, message_id_for
from order_svc.emails.smtp import parse_smtp_url
from order_svc.openapi import document
from order_svc.orders.domain import Order, check_header_safe
from order_svc.orders.schemas import CreateOrder, OrderResource
from order_svc.settings import DEFAULT_SMTP_FROM, Settings
from payments_common.config import ConfigError
from payments_common.errors import ApiError
from payments_common.http import parse_model
from payments_common.openapi import dump

PAYMENT_ID = "pay_0190b6a2-8c4e-7d2a-9f00-0123456789ab"
ORDER_ID = "order_0190b6a2-8c4e-7d2a-9f00-0123456789ab"


def _order(customer: Any) -> dict[str, Any]:
    return {"amount": 1500, "currency": "INR", "customer": customer}


def _field_of(body: dict[str, Any]) -> str | None:
    with pytest.raises(ApiError) as caught:
        parse_model(CreateOrder, body)
    assert caught.value.status == 400
    return caught.value.field


# ---------------------------------------------------------------------------------------------
# POST /orders `customer`
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("customer", "field"),
    [
        ({"email": "not-an-address", "name": "Asha"}, "customer.email"),
        ({"email": "a@b", "name": "Asha"}, "customer.email"),
        ({"email": "asha@localhost", "name": "Asha"}, "customer.email"),
        ({"email": "ü@example.com", "name": "Asha"}, "customer.email"),  # would need SMTPUTF8
        (
            {"email": "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".com", "name": "A"},
            "customer.email",
        ),
        ({"email": 5, "name": "Asha"}, "customer.email"),
        ({"name": "Asha"}, "customer.email"),
        ({"email": "asha@example.com"}, "customer.name"),
        ({"email": "asha@example.com", "name": ""}, "customer.name"),
        ({"email": "asha@example.com", "name": "   "}, "customer.name"),
        ({"email": "asha@example.com", "name": "n" * 101}, "customer.name"),
        ({"email": "asha@example.com", "name": "Asha\r\nBcc: everyone@example.com"}, "customer.name"),
        ({"email": "asha@example.com", "name": "Asha\nX"}, "customer.name"),
        ({"email": "asha@example.com", "name": "Asha\x00"}, "customer.name"),
        ({"email": "asha@example.com", "name": "Asha\u2028X"}, "customer.name"),
        ({"email": "asha@example.com", "name": "Asha", "phone": "1"}, "customer.phone"),
        ("asha@example.com", "customer"),
    ],
)
def test_an_invalid_customer_names_the_field(customer: Any, field: str) -> None:
    assert _field_of(_order(customer)) == field


def test_a_valid_customer_is_kept_with_its_domain_normalised() -> None:
    order = parse_model(CreateOrder, _order({"email": "Asha.Rao@Example.COM", "name": "Asha Rao"}))
    assert order.customer is not None
    assert (order.customer.email, order.customer.name) == ("Asha.Rao@example.com", "Asha Rao")
    unicode_name = parse_model(CreateOrder, _order({"email": "p@example.in", "name": "प्रिया शर्मा"}))
    assert unicode_name.customer is not None and unicode_name.customer.name == "प्रिया शर्मा"
    assert parse_model(CreateOrder, {"amount": 1500, "currency": "INR"}).customer is None


# ---------------------------------------------------------------------------------------------
# the message
# ---------------------------------------------------------------------------------------------


def _receipt(**overrides: Any) -> PaymentReceipt:
    values: dict[str, Any] = {
        "payment_id": PAYMENT_ID,
        "order_id": ORDER_ID,
        "amount": 1500,
        "currency": "INR",
        "customer_email": "asha@example.com",
        "customer_name": "Asha Rao",
    }
    values.update(overrides)
    return PaymentReceipt(**values)


def _on_the_wire(message: EmailMessage) -> EmailMessage:
    """The message as a receiver parses it from the bytes an SMTP client sends."""
    parsed = BytesParser(policy=policy.default).parsebytes(message.as_bytes())
    assert isinstance(parsed, EmailMessage)
    return parsed


def _parts(message: EmailMessage) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.iter_parts()}  # type: ignore[attr-defined]


def test_the_email_has_a_plain_text_and_an_html_part_with_the_amount_and_ids() -> None:
    message = _on_the_wire(build(_receipt(method="UPI success@razorpay"), DEFAULT_SMTP_FROM))
    assert message.get_content_type() == "multipart/alternative"
    parts = _parts(message)
    assert list(parts) == ["text/plain", "text/html"]  # the richer part last, as readers prefer it
    for body in parts.values():
        assert "₹15.00" in body
        assert ORDER_ID in body and PAYMENT_ID in body
        assert "UPI success@razorpay" in body
        assert "Asha Rao" in body
    assert message["Subject"] == f"Payment received: ₹15.00 for order {ORDER_ID}"
    assert message["To"].addresses[0].addr_spec == "asha@example.com"
    assert message["To"].addresses[0].display_name == "Asha Rao"
    assert message["From"].addresses[0].addr_spec == "receipts@payments.local"
    assert message["Auto-Submitted"] == "auto-generated"


def test_no_method_line_when_the_method_is_unknown() -> None:
    parts = _parts(_on_the_wire(build(_receipt(), DEFAULT_SMTP_FROM)))
    assert all("Method" not in body for body in parts.values())


def test_the_customers_name_is_escaped_in_html() -> None:
    hostile = '<script>alert("x")</script> & <b>Bold</b>'
    parts = _parts(_on_the_wire(build(_receipt(customer_name=hostile), DEFAULT_SMTP_FROM)))
    assert "<script>" not in parts["text/html"] and "<b>Bold</b>" not in parts["text/html"]
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;Bold&lt;/b&gt;" in parts["text/html"]
    assert hostile in parts["text/plain"]  # plain text is shown as text: nothing to escape there


@pytest.mark.parametrize("name", ["Asha\r\nBcc: everyone@example.com", "Asha\nBcc: x@example.com", "A\rB", "A\x00"])
def test_a_name_that_would_inject_a_header_is_refused(name: str) -> None:
    with pytest.raises(ValueError):
        check_header_safe(name)
    with pytest.raises(ValueError):
        build(_receipt(customer_name=name), DEFAULT_SMTP_FROM)


def test_a_name_with_header_syntax_stays_inside_the_to_header() -> None:
    message = _on_the_wire(build(_receipt(customer_name='Rao, Asha "A" <x@evil.example>'), DEFAULT_SMTP_FROM))
    assert [a.addr_spec for a in message["To"].addresses] == ["asha@example.com"]
    assert message["Bcc"] is None and message["Cc"] is None


def test_a_non_ascii_name_and_domain_travel_encoded() -> None:
    message = build(_receipt(customer_name="प्रिया", customer_email="p@münchen.de"), DEFAULT_SMTP_FROM)
    raw = message.as_bytes()
    raw.decode("ascii")  # headers RFC 2047-encoded, the domain as punycode, bodies transfer-encoded
    parsed = _on_the_wire(message)
    assert parsed["To"].addresses[0].display_name == "प्रिया"
    assert parsed["To"].addresses[0].addr_spec == "p@xn--mnchen-3ya.de"


def test_the_message_id_is_fixed_by_the_payment_id() -> None:
    first = build(_receipt(), DEFAULT_SMTP_FROM)
    again = build(_receipt(customer_name="Someone Else"), DEFAULT_SMTP_FROM)
    other = build(_receipt(payment_id="pay_0190b6a2-8c4e-7d2a-9f00-ffffffffffff"), DEFAULT_SMTP_FROM)
    assert first["Message-ID"] == again["Message-ID"] == message_id_for(PAYMENT_ID, DEFAULT_SMTP_FROM)
    assert first["Message-ID"] == f"<paid.{PAYMENT_ID}@payments.local>"
    assert other["Message-ID"] != first["Message-ID"]
    assert message_id_for(PAYMENT_ID, "Shop <billing@shop.example>").endswith("@shop.example>")


# ---------------------------------------------------------------------------------------------
# SMTP_URL and SMTP_FROM
# ---------------------------------------------------------------------------------------------


def test_smtp_urls() -> None:
    assert parse_smtp_url("") is None
    local = parse_smtp_url("smtp://127.0.0.1:8025")
    assert local is not None and (local.host, local.port, local.implicit_tls, local.username) == (
        "127.0.0.1",
        8025,
        False,
        None,
    )
    relay = parse_smtp_url("smtps://mailer%40shop:p%40ss%3Aword@smtp.example.com")
    assert relay is not None
    assert (relay.host, relay.port, relay.implicit_tls) == ("smtp.example.com", 465, True)
    assert (relay.username, relay.password) == ("mailer@shop", "p@ss:word")
    assert "p@ss:word" not in relay.display() and "p@ss:word" not in repr(relay)
    default_port = parse_smtp_url("smtp://mail.example.com")
    assert default_port is not None and default_port.port == 25


@pytest.mark.parametrize(
    "raw", ["http://mail.example.com", "smtp://", "smtp://host/path", "smtp://host?x=1", "mail.example.com:25"]
)
def test_a_malformed_smtp_url_is_refused_without_quoting_it(raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_smtp_url(raw)
    assert raw not in str(caught.value)


def _settings(**values: Any) -> Settings:
    return Settings(
        API_KEYS=SecretStr("rzp_a:secret-a-123456"),
        PAYMENT_SIGNING_SECRET=SecretStr("ab" * 32),
        INTERNAL_API_TOKEN=SecretStr("internal-token-0123456789abcdef"),
        **values,
    )


def test_the_smtp_password_is_one_of_the_secrets_masked_in_logs() -> None:
    settings = _settings(SMTP_URL=SecretStr("smtp://mailer:smtp-password-99@mail.example.com:587"))
    assert "smtp-password-99" in settings.secrets()
    assert "smtp-password-99" not in repr(settings)
    assert _settings().smtp() is None


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"SMTP_URL": SecretStr("ftp://x")}, "SMTP_URL"),
        ({"SMTP_FROM": "no address"}, "SMTP_FROM"),
        ({"SMTP_FROM": "Shop <a@b.example>\r\nBcc: x@y.example"}, "SMTP_FROM"),
    ],
)
def test_bad_mail_settings_stop_the_service_at_start(values: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _settings(**values)
    assert caught.value.errors()[0]["loc"] == (field,)


# ---------------------------------------------------------------------------------------------
# the customer in GET /orders/{id}
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("customer", [None, {"email": "asha@example.com", "name": "Asha <Rao>"}])
def test_the_order_answer_shows_the_customer_as_documented(customer: dict[str, str] | None) -> None:
    now = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
    order = Order(
        id=ORDER_ID,
        merchant_id="rzp_a",
        amount=1500,
        currency="INR",
        status="PAID",
        receipt=None,
        notes=None,
        created_at=now,
        updated_at=now,
        customer_email=customer["email"] if customer else None,
        customer_name=customer["name"] if customer else None,
    )
    body = dump(OrderResource.of(order, []))
    assert body["customer"] == customer
    OrderResource.model_validate(body)
    doc = document()
    schema = doc["paths"]["/orders/{order_id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    OAS31Validator({**schema, "components": doc["components"]}).validate(body)

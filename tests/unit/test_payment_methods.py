"""Payment methods' pure rules: the Luhn check, networks by BIN, card expiry at the month's end, the summary
that never holds a card's number or CVV, how people read it, the client's method as order-svc validates it,
the mock gateway's test values, and the idempotency fingerprint of a body with a card in it."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from mock_gateway.payments.domain import (
    BANK_DECLINED,
    CARD_DECLINED,
    INSUFFICIENT_FUNDS,
    UPI_DECLINED,
    WALLET_DECLINED,
    Decline,
    NewPayment,
    Outcome,
    decide,
    webhook_body,
)
from order_svc.idempotency.domain import canonical_body, fingerprint, fingerprint_key, fingerprint_keys
from order_svc.payments.schemas import InitiatePayment
from payments_common import ids
from payments_common.errors import ApiError
from payments_common.http import parse_model
from payments_common.methods import (
    BANKS,
    WALLETS,
    card_digits,
    card_expired,
    cvv_length,
    describe,
    luhn_valid,
    network_of,
    summary,
)
from payments_common.timeutil import utcnow

VISA = "4111111111111111"
CVV = "987"


def card(**changes: Any) -> dict[str, Any]:
    method: dict[str, Any] = {
        "type": "card",
        "number": "4111 1111 1111 1111",
        "expiryMonth": 12,
        "expiryYear": utcnow().year + 4,
        "cvv": CVV,
        "name": "Asha Rao",
    }
    method.update(changes)
    return method


# --- Luhn, digits, networks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [VISA, "4000000000000002", "4000000000009995", "5555555555554444", "378282246310005", "6011111111111117",
     "6521111111111110", "4222222222222", "6362970000457013"],
)  # fmt: skip
def test_luhn_accepts_valid_numbers(number: str) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize("number", ["4111111111111112", "4111111111111121", "0000000000000001", "", "41111x1111111111",
                                    "٤١١١١١١١١١١١١١١١"])  # fmt: skip
def test_luhn_refuses_a_wrong_check_digit_and_anything_not_ascii_digits(number: str) -> None:
    assert not luhn_valid(number)


@pytest.mark.parametrize(
    ("number", "digits"),
    [
        ("4111 1111 1111 1111", VISA),
        (VISA, VISA),
        ("  4111111111111111 ", VISA),
        ("411111111111", "411111111111"),  # 12 digits, the shortest
        ("4" * 19, "4" * 19),  # 19, the longest
        ("41111111111", None),
        ("4" * 20, None),
        ("4111-1111-1111-1111", None),
        ("4111\t1111 1111 1111", None),
        ("٤١١١١١١١١١١١١١١١", None),  # Arabic-Indic digits are digits to str.isdigit, not to a card
    ],
)
def test_card_digits_drop_spaces_only(number: str, digits: str | None) -> None:
    assert card_digits(number) == digits


@pytest.mark.parametrize(
    ("digits", "network"),
    [
        ("4111111111111111", "visa"),
        ("5105105105105100", "mastercard"),
        ("5555555555554444", "mastercard"),
        ("5011111111111111", None),
        ("5611111111111111", None),
        ("2221000000000009", "mastercard"),
        ("2720990000000000", "mastercard"),
        ("2220990000000000", None),
        ("2721000000000000", None),
        ("378282246310005", "amex"),
        ("341111111111111", "amex"),
        ("6011111111111117", "discover"),  # the longer prefix wins over RuPay's 60
        ("6071111111111111", "rupay"),
        ("6521111111111110", "rupay"),
        ("8111111111111111", "rupay"),
        ("8211111111111111", "rupay"),
        ("5081111111111111", "rupay"),
        ("36111111111111", "diners"),
        ("30511111111111", "diners"),
        ("3530111333300000", "jcb"),
        ("9111111111111110", None),
    ],
)
def test_the_network_comes_from_the_bin(digits: str, network: str | None) -> None:
    assert network_of(digits) == network


def test_only_american_express_has_a_4_digit_cvv() -> None:
    assert cvv_length("amex") == 4
    assert {cvv_length(network) for network in ("visa", "mastercard", "rupay", None)} == {3}


# --- expiry ---------------------------------------------------------------------------------------

END_OF_DECEMBER = datetime(2030, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def test_a_card_is_good_through_the_last_moment_of_its_expiry_month() -> None:
    assert not card_expired(12, 2030, END_OF_DECEMBER)
    assert card_expired(12, 2030, END_OF_DECEMBER + timedelta(microseconds=1))
    assert card_expired(11, 2030, END_OF_DECEMBER)
    assert not card_expired(1, 2031, END_OF_DECEMBER + timedelta(microseconds=1))


def test_expiry_is_counted_in_utc_whatever_the_clocks_zone() -> None:
    # 03:00 on 1 January in India is still 31 December in UTC: a 12/2030 card is still good
    india = timezone(timedelta(hours=5, minutes=30))
    assert not card_expired(12, 2030, datetime(2031, 1, 1, 3, 0, tzinfo=india))
    assert card_expired(12, 2030, datetime(2031, 1, 1, 6, 0, tzinfo=india))


def test_the_last_expressible_month_never_overflows() -> None:
    assert not card_expired(12, 9999, END_OF_DECEMBER)


# --- summary and describe ---------------------------------------------------------------------------


def test_a_card_summary_keeps_last4_network_and_expiry_only() -> None:
    method = card(extra="dropped")
    assert summary(method) == {
        "type": "card",
        "last4": "1111",
        "network": "visa",
        "expiryMonth": 12,
        "expiryYear": method["expiryYear"],
    }
    text = orjson.dumps(summary(method)).decode()
    for secret in (VISA, "4111 1111 1111 1111", CVV, "Asha", "cvv", "number", "dropped"):
        assert secret not in text


@pytest.mark.parametrize(
    "method",
    [
        card(),
        card(number="378282246310005", cvv="1234"),
        card(number="9111111111111110"),
        card(number="4111-1111-1111-1111"),
        card(number=4111111111111111),
        card(expiryMonth="12", expiryYear=True),
        {"type": "upi", "vpa": "success@razorpay", "pin": "1234"},
        {"type": "wallet", "provider": "paytm", "otp": "1234"},
        {"type": "netbanking", "bank": "HDFC", "password": "1234"},
        {"type": "crypto", "number": VISA, "cvv": CVV},
        {"number": VISA},
        {},
    ],
)
def test_the_summary_of_a_summary_is_itself_and_never_holds_a_secret(method: dict[str, Any]) -> None:
    once = summary(method)
    assert summary(once) == once
    text = orjson.dumps(once).decode()
    for secret in (VISA, CVV, "1234", "Asha"):
        assert secret not in text


def test_a_malformed_number_gives_no_last4_rather_than_a_slice_of_it() -> None:
    assert summary(card(number="4111-1111-1111-1111"))["last4"] is None
    assert summary(card(number="1234", last4="1234"))["last4"] is None
    assert summary({"type": "card", "last4": "12a4", "network": "bogus"}) == {
        "type": "card",
        "last4": None,
        "network": None,
        "expiryMonth": None,
        "expiryYear": None,
    }


@pytest.mark.parametrize(
    ("method", "text"),
    [
        (summary(card(expiryMonth=12, expiryYear=2030)), "Visa card ending 1111, expires 12/2030"),
        (summary(card(number="5555555555554444", expiryMonth=3, expiryYear=2031)),
         "Mastercard card ending 4444, expires 03/2031"),
        (summary(card(number="378282246310005", expiryMonth=1, expiryYear=2032)),
         "American Express card ending 0005, expires 01/2032"),
        (summary(card(number="9111111111111110", expiryMonth=7, expiryYear=2030)), "Card ending 1110, expires 07/2030"),
        ({"type": "card", "last4": "4242", "network": "rupay"}, "RuPay card ending 4242"),
        ({"type": "upi", "vpa": "success@razorpay"}, "UPI success@razorpay"),
        ({"type": "wallet", "provider": "paytm"}, "Wallet: Paytm"),
        ({"type": "wallet", "provider": "amazonpay"}, "Wallet: Amazon Pay"),
        ({"type": "netbanking", "bank": "HDFC"}, "Netbanking: HDFC Bank"),
        ({"type": "netbanking", "bank": "SBIN"}, "Netbanking: State Bank of India"),
        ({"type": "netbanking", "bank": "ZZZZ"}, "Netbanking: ZZZZ"),
        (None, "Not specified"),
        ({"type": "crypto"}, "Not specified"),
    ],
)  # fmt: skip
def test_describe_reads_as_people_write_it(method: dict[str, Any] | None, text: str) -> None:
    assert describe(method) == text


def test_describe_given_a_whole_card_prints_only_its_summary() -> None:
    text = describe(card(expiryMonth=12, expiryYear=2030))
    assert text == "Visa card ending 1111, expires 12/2030"
    assert VISA not in text and CVV not in text and "Asha" not in text


# --- the client's method, as order-svc validates it -----------------------------------------------


def initiate(method: Any) -> InitiatePayment:
    return parse_model(InitiatePayment, {"orderId": "order_x", "method": method})


def refusal(method: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        initiate(method)
    assert caught.value.status == 400
    return caught.value


@pytest.mark.parametrize(
    "method",
    [
        card(),
        card(number=VISA),
        card(number="3782 822463 10005", cvv="1234"),
        card(number="9111111111111110"),  # a network not listed is no reason to refuse
        card(expiryMonth=utcnow().month, expiryYear=utcnow().year),  # good through this month
        {"type": "upi", "vpa": "success@razorpay"},
        *({"type": "wallet", "provider": provider} for provider in WALLETS),
        *({"type": "netbanking", "bank": bank} for bank in BANKS),
    ],
)
def test_valid_methods_pass(method: dict[str, Any]) -> None:
    assert initiate(method).method is not None


def test_the_card_goes_on_as_digits() -> None:
    sent = initiate(card()).method_dict()
    assert sent is not None
    assert sent["number"] == VISA
    assert (sent["cvv"], sent["name"]) == (CVV, "Asha Rao")


def _last_month() -> tuple[int, int]:
    now = utcnow()
    return (12, now.year - 1) if now.month == 1 else (now.month - 1, now.year)


@pytest.mark.parametrize(
    ("method", "field"),
    [
        (card(number="4111 1111 1111 1112"), "method.number"),
        (card(number="4111"), "method.number"),
        (card(number="4111-1111-1111-1111"), "method.number"),
        (card(number="4" * 41), "method.number"),
        (card(number=4111111111111111), "method.number"),
        ({k: v for k, v in card().items() if k != "number"}, "method.number"),
        (card(cvv="12"), "method.cvv"),
        (card(cvv="1234"), "method.cvv"),
        (card(cvv="12a"), "method.cvv"),
        (card(cvv=987), "method.cvv"),
        (card(number="378282246310005", cvv="123"), "method.cvv"),
        (card(expiryMonth=0), "method.expiryMonth"),
        (card(expiryMonth=13), "method.expiryMonth"),
        (card(expiryMonth="12"), "method.expiryMonth"),
        (card(expiryYear=30), "method.expiryYear"),
        (card(expiryYear=2020), "method.expiryYear"),
        (card(expiryMonth=_last_month()[0], expiryYear=_last_month()[1]), "method.expiryYear"),
        (card(name=""), "method.name"),
        (card(name="   "), "method.name"),
        (card(name="x" * 101), "method.name"),
        (card(name="A\x00B"), "method.name"),
        (card(pin="1234"), "method.pin"),
        ({"type": "upi", "vpa": "not-a-vpa"}, "method.vpa"),
        ({"type": "wallet", "provider": "Paytm"}, "method.provider"),
        ({"type": "wallet", "provider": "applepay"}, "method.provider"),
        ({"type": "wallet"}, "method.provider"),
        ({"type": "netbanking", "bank": "hdfc"}, "method.bank"),
        ({"type": "netbanking", "bank": "CHAS"}, "method.bank"),
        ({"type": "crypto"}, "method.type"),
        ({"type": None}, "method.type"),
        ({"vpa": "success@razorpay"}, "method.type"),
        ("card", "method"),
    ],
)
def test_each_invalid_field_is_a_400_naming_it(method: Any, field: str) -> None:
    assert refusal(method).field == field


@pytest.mark.parametrize(
    "method",
    [card(number="4111 1111 1111 1112"), card(cvv="98"), card(number="378282246310005", cvv=CVV), card(cvv=987),
     card(expiryYear=2020), card(extra="x")],
)  # fmt: skip
def test_no_refusal_quotes_the_number_or_the_cvv(method: dict[str, Any]) -> None:
    description = refusal(method).description
    for secret in ("4111", "1112", "378282246310005", "98", CVV):
        assert secret not in description
    # nor does pydantic's own rendering, should anything ever log it
    with pytest.raises(ValidationError) as caught:
        InitiatePayment.model_validate({"orderId": "order_x", "method": method})
    rendered = f"{caught.value} {caught.value.errors(include_url=False)!r}"
    for secret in ("4111 1111 1111 111", "378282246310005", f"'{CVV}'", "'98'"):
        assert secret not in rendered


def test_the_validated_card_is_not_in_its_repr() -> None:
    text = repr(initiate(card()))
    assert "4111" not in text and CVV not in text
    assert "expiryYear" in text


# --- the mock gateway's test values -------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "outcome", "decline"),
    [
        (card(), Outcome.SUCCESS, None),
        (card(number="4000000000000002"), Outcome.FAILED, CARD_DECLINED),
        (card(number="4000 0000 0000 0002"), Outcome.FAILED, CARD_DECLINED),
        (card(number="4000000000009995"), Outcome.FAILED, INSUFFICIENT_FUNDS),
        (card(number="5555555555554444"), Outcome.SUCCESS, None),
        # a card never reads a vpa's test words
        ({**card(), "vpa": "failure@razorpay"}, Outcome.SUCCESS, None),
        ({"type": "upi", "vpa": "success@razorpay"}, Outcome.SUCCESS, None),
        ({"type": "upi", "vpa": "failure@razorpay"}, Outcome.FAILED, UPI_DECLINED),
        ({"type": "upi", "vpa": "failure.late-success@razorpay"}, Outcome.FAILED, UPI_DECLINED),
        ({"type": "upi", "vpa": "pending@razorpay"}, Outcome.PENDING, None),
        ({"type": "wallet", "provider": "paytm"}, Outcome.SUCCESS, None),
        ({"type": "wallet", "provider": "phonepe"}, Outcome.SUCCESS, None),
        ({"type": "wallet", "provider": "freecharge"}, Outcome.FAILED, WALLET_DECLINED),
        ({"type": "netbanking", "bank": "HDFC"}, Outcome.SUCCESS, None),
        ({"type": "netbanking", "bank": "SBIN"}, Outcome.SUCCESS, None),
        ({"type": "netbanking", "bank": "YESB"}, Outcome.FAILED, BANK_DECLINED),
        (None, Outcome.SUCCESS, None),
    ],
)
def test_the_gateway_decides_by_each_methods_test_values(
    method: dict[str, Any] | None, outcome: Outcome, decline: Decline | None
) -> None:
    decision = decide(method)
    assert (decision.outcome, decision.decline) == (outcome, decline)


def test_every_decline_has_its_own_code() -> None:
    declines = [CARD_DECLINED, INSUFFICIENT_FUNDS, UPI_DECLINED, WALLET_DECLINED, BANK_DECLINED]
    assert len({d.code for d in declines}) == len(declines)
    assert CARD_DECLINED.description == "The card was declined by the issuing bank"


def test_a_failed_webhook_reports_the_methods_decline_and_its_summary() -> None:
    method = card(number="4000000000009995")
    payment = NewPayment(
        id=ids.new_id(ids.GATEWAY_PAYMENT),
        payment_id=ids.new_id(ids.PAYMENT),
        order_id=ids.new_id(ids.ORDER),
        amount=1500,
        currency="INR",
        method=summary(method),
        signature="ab" * 32,
        decline=decide(method).decline,
    )
    body = webhook_body(payment, Outcome.FAILED)
    assert (body["errorCode"], body["errorDescription"]) == (INSUFFICIENT_FUNDS.code, INSUFFICIENT_FUNDS.description)
    assert body["method"]["last4"] == "9995"
    assert "4000000000009995" not in orjson.dumps(body).decode()
    assert "errorCode" not in webhook_body(payment, Outcome.SUCCESS)


# --- the idempotency fingerprint --------------------------------------------------------------------

KEY = fingerprint_key(b"server-secret-1", "rzp_a")
OTHER_KEY = fingerprint_key(b"server-secret-1", "rzp_b")


def body_with(method: dict[str, Any]) -> bytes:
    return orjson.dumps({"orderId": "order_x", "method": method})


def test_the_fingerprinted_body_has_no_card_number_or_cvv() -> None:
    canonical = canonical_body(body_with(card(number=VISA)), KEY)
    assert VISA.encode() not in canonical
    assert f'"{CVV}"'.encode() not in canonical
    assert b"Asha Rao" in canonical  # the rest of the body is as it came


def test_a_card_body_is_no_plain_hash_of_the_card() -> None:
    raw = body_with(card(number=VISA))
    plain = hashlib.sha256(b"json:" + orjson.dumps(orjson.loads(raw), option=orjson.OPT_SORT_KEYS)).hexdigest()
    assert plain not in fingerprint("POST", "/payments/initiate", raw, KEY)


def test_card_fingerprints_tell_requests_apart_and_depend_on_the_key() -> None:
    first = fingerprint("POST", "/payments/initiate", body_with(card(number=VISA)), KEY)
    assert first == fingerprint("POST", "/payments/initiate", body_with(card(number=VISA)), KEY)
    assert first != fingerprint("POST", "/payments/initiate", body_with(card(number="5555555555554444")), KEY)
    assert first != fingerprint("POST", "/payments/initiate", body_with(card(number=VISA, cvv="988")), KEY)
    assert first != fingerprint(
        "POST", "/payments/initiate", body_with(card(number=VISA)), fingerprint_key(b"server-secret-1", "rzp_b")
    )


def test_a_body_without_a_card_is_fingerprinted_as_before() -> None:
    raw = body_with({"type": "upi", "vpa": "success@razorpay"})
    plain = hashlib.sha256(b"json:" + orjson.dumps(orjson.loads(raw), option=orjson.OPT_SORT_KEYS)).hexdigest()
    assert fingerprint("POST", "/payments/initiate", raw, KEY) == f"POST /payments/initiate sha256={plain}"


def test_a_body_that_is_not_json_is_keyed_whole() -> None:
    raw = b'{"method": {"number": "4111111111111111", "cvv": "987",}}'
    assert b"4111111111111111" not in canonical_body(raw, KEY)
    assert canonical_body(raw, KEY) != canonical_body(raw, OTHER_KEY)


def test_each_merchant_has_its_own_fingerprint_key_whatever_its_api_keys() -> None:
    key_of = fingerprint_keys(b"server-secret-1")
    assert key_of("rzp_a") == fingerprint_key(b"server-secret-1", "rzp_a")
    assert key_of("rzp_a") != key_of("rzp_b")
    # another server secret, other keys; and derived, never the server secret itself
    assert fingerprint_keys(b"server-secret-2")("rzp_a") != key_of("rzp_a")
    assert key_of("rzp_a") != b"server-secret-1"

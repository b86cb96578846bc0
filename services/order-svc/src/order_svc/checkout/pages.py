"""The checkout pages' HTML: server-rendered, no script, every value escaped; a phone-width layout; each
method a form of its own with labelled fields, in the order they are filled, so the keyboard alone pays."""

from __future__ import annotations

from html import escape

from payments_common.methods import BANKS, WALLETS
from payments_common.money import format_amount

_STYLE = """
*{box-sizing:border-box}body{margin:0;font:16px/1.45 system-ui,sans-serif;color:#1b1f24;background:#f3f5f8}
main{max-width:28rem;margin:0 auto;padding:1rem}header{background:#fff;border-radius:.5rem;padding:1rem;
margin-bottom:1rem}h1{font-size:1.1rem;margin:0 0 .25rem}.amount{font-size:1.8rem;font-weight:700;margin:.25rem 0}
.muted{color:#57606a}details{background:#fff;border-radius:.5rem;margin-bottom:.75rem;padding:.25rem 1rem}
summary{font-weight:600;padding:.6rem 0;cursor:pointer}label{display:block;margin:.5rem 0 .2rem;font-weight:500}
input,select{width:100%;padding:.6rem;font-size:1rem;border:1px solid #8c959f;border-radius:.35rem}
.row{display:flex;gap:.75rem}.row>div{flex:1}button,.button{display:block;width:100%;margin:1rem 0 .75rem;
padding:.75rem;font-size:1rem;font-weight:600;color:#fff;background:#0b5cad;border:0;border-radius:.35rem;
text-align:center;text-decoration:none}:focus-visible{outline:3px solid #f0a30a;outline-offset:2px}
.notice{background:#fff;border-radius:.5rem;padding:1rem;border-left:.35rem solid #0b5cad}
.error{border-left-color:#b42318}.paid{border-left-color:#1a7f37}.hint{font-size:.85rem;color:#57606a}
"""


# each method's button, "Pay ₹25.00 by card"
_BY = {"card": "by card", "upi": "by UPI", "wallet": "from a wallet", "netbanking": "by netbanking"}


def _document(title: str, body: str, refresh_seconds: int | None = None) -> str:
    refresh = f'<meta http-equiv="refresh" content="{refresh_seconds}">' if refresh_seconds is not None else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"{refresh}<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def _header(merchant: str, amount: int, currency: str, description: str | None) -> str:
    about = f'<p class="muted">{escape(description)}</p>' if description else ""
    return (
        f'<header><h1>{escape(merchant)}</h1><p class="amount" id="amount">{escape(format_amount(amount, currency))}'
        f"</p>{about}</header>"
    )


def _field(name: str, label: str, attributes: str = "") -> str:
    return f'<label for="{name}">{label}</label><input id="{name}" name="{name}" {attributes}>'


def _options(choices: dict[str, str]) -> str:
    return "".join(f'<option value="{escape(code)}">{escape(name)}</option>' for code, name in choices.items())


def _form(kind: str, title: str, fields: str, csrf: str, action: str, pay: str, opened: bool) -> str:
    return (
        f'<details id="{kind}"{" open" if opened else ""}><summary>{title}</summary>'
        f'<form method="post" action="{escape(action)}" autocomplete="off">'
        f'<input type="hidden" name="method" value="{kind}">'
        f'<input type="hidden" name="csrf_token" value="{escape(csrf)}">{fields}'
        f'<button type="submit">Pay {escape(pay)} {_BY[kind]}</button></form></details>'
    )


def pay_page(
    merchant: str,
    amount: int,
    currency: str,
    description: str | None,
    csrf: str,
    action: str,
    error: str | None = None,
) -> str:
    """The forms, each posting to `action` (the page itself, its query kept)."""
    pay = format_amount(amount, currency)
    card = (
        _field("card_number", "Card number", 'inputmode="numeric" autocomplete="off" required maxlength="23"')
        + '<div class="row"><div>'
        + _field("expiry", "Expiry (MM/YY)", 'inputmode="numeric" placeholder="MM/YY" required maxlength="7"')
        + "</div><div>"
        + _field("cvv", "CVV", 'inputmode="numeric" autocomplete="off" required maxlength="4" type="password"')
        + "</div></div>"
        + _field("card_name", "Name on card", 'required maxlength="100"')
    )
    upi = _field("vpa", "UPI ID", 'required maxlength="100" placeholder="name@bank"')
    wallet = f'<label for="wallet">Wallet</label><select id="wallet" name="wallet">{_options(WALLETS)}</select>'
    bank = f'<label for="bank">Bank</label><select id="bank" name="bank">{_options(BANKS)}</select>'
    alert = f'<p class="notice error" role="alert" id="error">{escape(error)}</p>' if error else ""
    body = (
        _header(merchant, amount, currency, description)
        + alert
        + _form("card", "Card", card, csrf, action, pay, True)
        + _form("upi", "UPI", upi, csrf, action, pay, False)
        + _form("wallet", "Wallet", wallet, csrf, action, pay, False)
        + _form("netbanking", "Netbanking", bank, csrf, action, pay, False)
        + '<p class="hint">Your card details go to the payment gateway only: they are not kept here.</p>'
    )
    return _document(f"Pay {merchant}", body)


def notice_page(
    merchant: str,
    amount: int,
    currency: str,
    description: str | None,
    kind: str,
    message: str,
    action: tuple[str, str] | None = None,
    refresh_seconds: int | None = None,
) -> str:
    """A page that only says something: the link's state, a payment in progress, a decline, a payment made.
    `action` is a (href, label) button; `kind` styles the notice (paid, error, or none)."""
    button = f'<a class="button" href="{escape(action[0])}">{escape(action[1])}</a>' if action else ""
    body = (
        _header(merchant, amount, currency, description)
        + f'<p class="notice {kind}" role="status" id="status">{escape(message)}</p>'
        + button
    )
    return _document(merchant, body, refresh_seconds)


def not_found_page() -> str:
    body = '<p class="notice error" role="status" id="status">This payment page does not exist.</p>'
    return _document("Payment page not found", body)

"""The attack table's rows against merchants' webhook endpoints (server-side request forgery): a merchant
registers an endpoint URL that points inside our network, and expects merchant-webhooks to call it.

Through the merchant-facing routes on order-svc (`POST /webhook-endpoints`): loopback and private addresses
(outside `WEBHOOK_ALLOWED_HTTP_HOSTS`, which payments-stack sets to 127.0.0.1 and localhost), the cloud
metadata address, and a name of this machine's that resolves to loopback, each refused with a 400. And an
endpoint on an allowed host that answers with a redirect to a private address: the delivery is a failed
attempt (its 3xx in the log), and the redirect's target is never called.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from tests.security.wire import Target

if TYPE_CHECKING:
    from tests.security.attacks import NotRun, Outcome, Victim

# names an /etc/hosts commonly maps to this machine
LOCAL_NAMES = ("vm", "runsc", "ip6-localhost", "ip6-loopback", "localhost.localdomain", socket.gethostname())


# counted in place of a 400 that refused something other than the URL, or of an attempt that never came:
# an answer no row expects, so the row fails rather than pass on nothing
WRONG_REFUSAL = 0


def _register(target: Target, url: str) -> int:
    r = target.merchant_a.post("/webhook-endpoints", json={"url": url, "events": ["*"]})
    if r.status_code == 201:
        # let in: take it away again, so that no later row's events are sent to it
        target.merchant_a.delete(f"/webhook-endpoints/{r.json()['id']}")
    if r.status_code == 400 and (r.json().get("error") or {}).get("field") != "url":
        return WRONG_REFUSAL
    return r.status_code


def _outcome(note: str) -> Outcome:
    from tests.security.attacks import Outcome

    return Outcome(note=note)


def loopback_url(target: Target, victim: Victim) -> Outcome:
    urls = ("https://127.0.0.2:8082/internal/payments", "https://[::1]:5432/", "http://127.0.0.2:8085/")
    outcome = _outcome("127.0.0.2 (payment-svc's port), [::1] (the database's), plain http to 127.0.0.2")
    for url in urls:
        outcome.add(_register(target, url))
    return outcome


def metadata_url(target: Target, victim: Victim) -> Outcome:
    urls = (
        "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "https://[::ffff:169.254.169.254]/latest/meta-data/",
        "https://[fd00:ec2::254]/latest/meta-data/",
    )
    outcome = _outcome("169.254.169.254, as IPv4-mapped IPv6, and AWS's IPv6 metadata address")
    for url in urls:
        outcome.add(_register(target, url))
    return outcome


def _allowed_hosts() -> set[str]:
    return {h.strip().lower() for h in os.environ.get("WEBHOOK_ALLOWED_HTTP_HOSTS", "").split(",") if h.strip()}


def private_names() -> list[str]:
    """This machine's names that resolve to a loopback or private address and are not on the http list."""
    import ipaddress

    found = []
    for name in dict.fromkeys(LOCAL_NAMES):
        if not name or name.lower() in _allowed_hosts():
            continue
        try:
            infos = socket.getaddrinfo(name, 443, type=socket.SOCK_STREAM)
        except OSError:
            continue
        addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
        if addresses and all(not address.is_global for address in addresses):
            found.append(name)
    return found


def name_resolving_to_private(target: Target, victim: Victim) -> Outcome | NotRun:
    names = private_names()
    if not names:
        from tests.security.attacks import NotRun as NotRunRow

        return NotRunRow(f"none of {', '.join(LOCAL_NAMES)} resolves to a private address on this machine")
    outcome = _outcome(f"names resolving to loopback here: {', '.join(names)}")
    for name in names:
        outcome.add(_register(target, f"https://{name}:8082/internal/payments"))
    return outcome


class _Counting(BaseHTTPRequestHandler):
    hits: list[str]
    location: str | None = None

    def do_POST(self) -> None:
        self.hits.append(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.location is not None:
            self.send_response(302)
            self.send_header("Location", self.location)
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


@dataclass
class _Listener:
    server: ThreadingHTTPServer
    hits: list[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _listen(location: str | None) -> _Listener:
    hits: list[str] = []
    handler = type("Handler", (_Counting,), {"hits": hits, "location": location})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return _Listener(server, hits)


@dataclass
class _Redirects:
    listeners: list[_Listener]
    endpoints: list[str]
    inside: _Listener
    # what went wrong in the preparation: the row reports it rather than stopping the whole table
    refused: int | None = None
    problem: str = ""


def _attempts(target: Target, endpoints: list[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for endpoint in endpoints:
        r = target.merchant_a.get(f"/webhook-endpoints/{endpoint}/deliveries")
        items = r.json()["items"] if r.status_code == 200 else []
        found[endpoint] = [attempt for delivery in items for attempt in delivery["attempts"]]
    return found


def redirect_prepare(target: Target, victim: Victim) -> None:
    """Two endpoints on an allowed host: one redirects to a loopback listener standing in for a private
    service, the other to the metadata address; then an event of merchant A's (the victim's payment settled by
    a genuine gateway webhook, before the baseline is read) and its first attempts."""
    inside = _listen(None)
    listeners = [inside, _listen(inside.url + "/admin"), _listen("http://169.254.169.254/latest/meta-data/")]
    prepared = _Redirects(listeners, [], inside)
    victim.prepared = prepared
    for listener in listeners[1:]:
        r = target.merchant_a.post("/webhook-endpoints", json={"url": listener.url + "/hook", "events": ["*"]})
        if r.status_code != 201:
            prepared.refused, prepared.problem = r.status_code, f"registering {listener.url}: {r.text[:200]}"
            return
        prepared.endpoints.append(r.json()["id"])
    if target.send(target.signed(target.payload(victim.order, victim.payment))) != 200:
        prepared.problem = "the genuine webhook the row builds on was refused"
        return
    endpoints = prepared.endpoints
    deadline = time.monotonic() + 30
    while not all(_attempts(target, endpoints).values()) and time.monotonic() < deadline:
        time.sleep(0.2)


def redirect_to_private(target: Target, victim: Victim) -> Outcome:
    """Each attempt is a failed 3xx in the log, and the redirect's target is never called."""
    prepared: _Redirects = victim.prepared
    outcome = _outcome("")
    try:
        attempts = [attempt for found in _attempts(target, prepared.endpoints).values() for attempt in found]
        for endpoint in prepared.endpoints:
            target.merchant_a.delete(f"/webhook-endpoints/{endpoint}")
    finally:
        for listener in prepared.listeners:
            listener.close()
    if prepared.refused is not None:
        outcome.add(prepared.refused)
    for attempt in attempts:
        outcome.add(attempt["statusCode"] or 0)
    if not attempts:
        # nothing was tried, so nothing was shown: not a pass
        outcome.add(WRONG_REFUSAL)
    if prepared.inside.hits:
        # followed: an answer no refusal allows, so the row fails
        outcome.add(200)
    errors = sorted({str(attempt["error"]) for attempt in attempts})
    outcome.note = prepared.problem or (
        f"{len(attempts)} attempts logged ({'; '.join(errors) or 'none'}); the loopback listener behind the "
        f"redirect was called {len(prepared.inside.hits)} times"
    )
    return outcome

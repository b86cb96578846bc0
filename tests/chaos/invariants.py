"""What must hold once the system has settled, judged on rows read from the database and the broker.

Pure: `check(snapshot, order_ids)` takes a `Snapshot` (see `observe.read_snapshot` for where each part
comes from) and returns a `Verdict` with the counts of the report and every violation found. With
`order_ids` it judges only those orders, their payment attempts and the webhook events naming those
attempts (one fault phase); without, everything.

The invariants:
- every accepted webhook event is applied exactly once: payment-svc recorded it (a `payment_events`
  row with its event id, or its inbox claim); `lost` are accepted events it never recorded;
  `applied twice` are event ids recorded more than once (a `duplicate_ignored` row, a redelivery the
  inbox turned away, does not count) and payments that left INITIATED more than
  once (more than one `settled` row; two for a manual capture's, authorised then captured or voided);
- `PAID` ⇔ exactly one `SUCCESS` attempt, per order; no order is left `CREATED` with attempts;
- order-svc's view of each attempt has payment-svc's status; no attempt is left `INITIATED` (nor
  `AUTHORIZED`: chaos runs never ask for manual capture, so one would be a wrong report);
- a late SUCCESS after a FAILED leaves the payment FAILED and is recorded as an anomaly;
- every webhook the gateway planned for these attempts ended `delivered` (not pending, refused or
  given up);
- the gateway agrees (`gateway_disagreement`): each settled attempt's final status is what the
  gateway's own record (`gateway.payments`) says happened, for the order's amount and currency;
- global (`global_checks`): both outboxes drained, every work and retry queue empty, and each
  dead-letter queue holds exactly the messages deliberately made bad and left there.

A part the snapshot could not provide (None) does not pass silently: the checks that need it are
listed in `Verdict.not_run`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

# a payment leaving INITIATED, whoever settles it (webhook, reconciliation, expiry, api)
TRANSITION_KIND = "settled"
# trail rows that apply nothing: payment-svc records a redelivery its inbox turned away, so counting
# it would call every duplicate delivery "applied twice"
NOT_APPLYING_KINDS = frozenset({"duplicate_ignored"})
LATE_SUCCESS_PURPOSE = "late_success"
LATE_SUCCESS_ANOMALY = "SUCCESS_AFTER_FAILED"
DLQ_SUFFIX = ".dlq"
DELIVERED = "delivered"
GATEWAY_CHECK = "gateway agrees"
# the gateway's own statuses: `created` until a webhook of it falls due, then `captured` or `failed`
GATEWAY_CREATED = "created"
GATEWAY_CAPTURED = "captured"
GATEWAY_FAILED = "failed"
# a manual capture's: `authorized` by its webhook, then `captured` or `voided`
GATEWAY_AUTHORIZED = "authorized"
GATEWAY_VOIDED = "voided"
# how payment-svc fails an attempt without the gateway's word: it gave up waiting (the reconciler's
# expiry), or never learned the gateway's answer to the creation (the gateway was down or killed)
GAVE_UP_CODES = frozenset({"EXPIRED", "GATEWAY_ERROR"})
# anomalies payment-svc records when it keeps FAILED a payment the gateway captured: a success after
# it gave up, or a success for the wrong amount or currency
REFUSED_CAPTURE_ANOMALIES = frozenset({LATE_SUCCESS_ANOMALY, "AMOUNT_MISMATCH", "CURRENCY_MISMATCH"})


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    status: str
    # the load tags each order with its phase here
    receipt: str | None = None
    amount: int | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class Payment:
    id: str
    order_id: str
    status: str
    error_code: str | None = None
    gateway_payment_id: str | None = None
    # authorised, then captured or voided: it leaves INITIATED, then AUTHORIZED (two `settled` rows)
    manual_capture: bool = False


@dataclass(frozen=True, slots=True)
class View:
    """order-svc's copy of an attempt (`orders.payment_views`)."""

    id: str
    order_id: str
    status: str


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """A row of payment-svc's `payment_events` trail."""

    payment_id: str
    kind: str
    source: str
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class AcceptedEvent:
    """A webhook event the webhook gateway answered 2xx to; `purpose` as the gateway sent it."""

    event_id: str
    payment_id: str | None
    purpose: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A webhook event the gateway planned (`gateway.deliveries`) and where it ended."""

    event_id: str
    payment_id: str
    purpose: str
    state: str


@dataclass(frozen=True, slots=True)
class GatewayRecord:
    """The gateway's own record of a payment (`gateway.payments`), under our payment id."""

    payment_id: str
    order_id: str
    status: str
    amount: int
    currency: str
    # the gateway's id of it
    id: str = ""


@dataclass(frozen=True, slots=True)
class Anomaly:
    payment_id: str
    kind: str
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    orders: Sequence[Order]
    payments: Sequence[Payment]
    views: Sequence[View]
    events: Sequence[PaymentEvent]
    # message ids payment-svc's webhook consumer claimed in its inbox
    inbox: Collection[str]
    # None: nothing recorded which webhooks were accepted
    accepted: Sequence[AcceptedEvent] | None
    accepted_source: str = ""
    # None: payment-svc has no anomalies table
    anomalies: Sequence[Anomaly] | None = None
    # None: the gateway does not record its deliveries
    deliveries: Sequence[Delivery] | None = None
    # None: the gateway does not record its payments
    gateway_payments: Sequence[GatewayRecord] | None = None
    # attempts the harness wrote into payment-svc's tables itself: the gateway never heard of them
    harness_payments: Collection[str] = frozenset()
    # schema -> unpublished outbox rows
    outbox_backlog: Mapping[str, int] = field(default_factory=dict)
    # queue -> messages (ready + unacknowledged); None: the broker could not be asked
    queues: Mapping[str, int] | None = None
    # dead-letter queue -> messages deliberately made bad and left there
    expected_dead_letters: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Violation:
    check: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.subject}: {self.detail}"


@dataclass(slots=True)
class Verdict:
    orders: int = 0
    # orders with at least one payment attempt: the payments a client started
    orders_with_attempts: int = 0
    # payment attempts (an order may have several)
    payments: int = 0
    # None when the accepted events were unknown
    accepted: int | None = None
    applied: int | None = None
    # settled attempts held against the gateway's record, and how many of them it contradicts;
    # None when the gateway's records were unknown
    gateway_compared: int | None = None
    gateway_disagreed: int = 0
    lost: list[str] = field(default_factory=list)
    applied_twice: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations and not self.lost and not self.applied_twice

    @property
    def complete(self) -> bool:
        return not self.not_run

    def add(self, check: str, subject: str, detail: str) -> None:
        self.violations.append(Violation(check, subject, detail))


def check(
    snapshot: Snapshot,
    order_ids: Collection[str] | None = None,
    *,
    global_checks: bool = True,
    set_aside: Collection[str] = (),
) -> Verdict:
    """Judge the snapshot; with `order_ids`, only those orders and what belongs to them. Orders in
    `set_aside` (deliberately broken and left so) and their attempts and events are left out."""
    scope = set(order_ids) if order_ids is not None else None
    orders = [o for o in snapshot.orders if (scope is None or o.id in scope) and o.id not in set_aside]
    order_set = {o.id for o in orders}
    payments = [p for p in snapshot.payments if p.order_id in order_set]
    payment_ids = {p.id for p in payments}
    if set_aside:
        aside = {p.id for p in snapshot.payments if p.order_id in set_aside}
        snapshot = replace(snapshot, accepted=_without(snapshot.accepted, aside))
    verdict = Verdict(
        orders=len(orders),
        orders_with_attempts=len({p.order_id for p in payments}),
        payments=len(payments),
    )

    _exactly_once(snapshot, scope, payment_ids, verdict)
    _orders_and_attempts(orders, payments, verdict)
    _views(snapshot, payments, order_set, verdict)
    _late_successes(snapshot, payments, verdict)
    _delivered(snapshot, payment_ids, verdict)
    _gateway_agrees(snapshot, orders, payments, verdict, whole_run=scope is None)
    if global_checks:
        _drained(snapshot, verdict)
    return verdict


def _without(accepted: Sequence[AcceptedEvent] | None, payment_ids: set[str]) -> Sequence[AcceptedEvent] | None:
    return None if accepted is None else [a for a in accepted if a.payment_id not in payment_ids]


def _exactly_once(snapshot: Snapshot, scope: set[str] | None, payment_ids: set[str], verdict: Verdict) -> None:
    events = [e for e in snapshot.events if e.payment_id in payment_ids]
    recorded = Counter(e.event_id for e in events if e.event_id is not None and e.kind not in NOT_APPLYING_KINDS)
    for event_id, times in sorted(recorded.items()):
        if times > 1:
            verdict.applied_twice.append(f"event {event_id} recorded {times} times")
    transitions = Counter(e.payment_id for e in events if e.kind == TRANSITION_KIND)
    manual = {p.id for p in snapshot.payments if p.manual_capture}
    for payment_id, times in sorted(transitions.items()):
        if times > 1 + (payment_id in manual):
            verdict.applied_twice.append(f"payment {payment_id} settled {times} times")

    if snapshot.accepted is None:
        verdict.not_run.append(
            "lost (accepted but never applied): no record of which webhooks were accepted"
            + (f" ({snapshot.accepted_source})" if snapshot.accepted_source else "")
        )
        return
    # an event naming a payment payment-svc never had belongs to no phase: only the global check sees it
    accepted = {a.event_id for a in snapshot.accepted if scope is None or a.payment_id in payment_ids}
    everywhere = {e.event_id for e in snapshot.events if e.event_id is not None}
    applied = {e for e in accepted if e in everywhere or e in snapshot.inbox}
    verdict.accepted = len(accepted)
    verdict.applied = len(applied)
    verdict.lost = sorted(accepted - applied)


def _orders_and_attempts(orders: Sequence[Order], payments: Sequence[Payment], verdict: Verdict) -> None:
    by_order: dict[str, list[Payment]] = defaultdict(list)
    for payment in payments:
        by_order[payment.order_id].append(payment)
    for order in orders:
        attempts = by_order.get(order.id, [])
        successes = sum(1 for p in attempts if p.status == "SUCCESS")
        if order.status == "PAID" and successes != 1:
            verdict.add("PAID <=> one SUCCESS", order.id, f"order PAID with {successes} SUCCESS attempts")
        elif order.status != "PAID" and successes:
            verdict.add("PAID <=> one SUCCESS", order.id, f"order {order.status} with {successes} SUCCESS attempts")
        if order.status == "CREATED":
            detail = f"{len(attempts)} attempts" if attempts else "no payment attempt at all"
            verdict.add("order settled", order.id, f"order left CREATED ({detail})")
    for payment in payments:
        if payment.status in ("INITIATED", "AUTHORIZED"):
            verdict.add("no attempt INITIATED", payment.id, f"attempt of {payment.order_id} still {payment.status}")


def _views(snapshot: Snapshot, payments: Sequence[Payment], order_set: set[str], verdict: Verdict) -> None:
    views = {v.id: v for v in snapshot.views if v.order_id in order_set}
    for payment in payments:
        view = views.pop(payment.id, None)
        if view is None:
            verdict.add("order-svc view = payment-svc", payment.id, f"order-svc has no view ({payment.status})")
        elif view.status != payment.status:
            verdict.add(
                "order-svc view = payment-svc",
                payment.id,
                f"order-svc says {view.status}, payment-svc says {payment.status}",
            )
    for view in views.values():
        verdict.add("order-svc view = payment-svc", view.id, "order-svc has an attempt payment-svc does not know")


def _late_successes(snapshot: Snapshot, payments: Sequence[Payment], verdict: Verdict) -> None:
    if snapshot.accepted is None:
        verdict.not_run.append("late success stays FAILED: no record of the gateway's late_success deliveries")
        return
    by_id = {p.id: p for p in payments}
    late = sorted(_late_success_ids(snapshot.accepted, by_id))
    anomalies = None if snapshot.anomalies is None else {(a.payment_id, a.kind) for a in snapshot.anomalies}
    for payment_id in late:
        payment = by_id[payment_id]
        if payment.status != "FAILED":
            verdict.add("late success stays FAILED", payment_id, f"payment is {payment.status}")
        elif anomalies is not None and (payment_id, LATE_SUCCESS_ANOMALY) not in anomalies:
            verdict.add("late success is an anomaly", payment_id, f"no {LATE_SUCCESS_ANOMALY} anomaly recorded")
    if late and anomalies is None:
        verdict.not_run.append("late success is an anomaly: payment-svc has no anomalies table")


def _late_success_ids(accepted: Sequence[AcceptedEvent], payment_ids: Collection[str]) -> set[str]:
    return {
        a.payment_id
        for a in accepted
        if a.purpose == LATE_SUCCESS_PURPOSE and a.payment_id is not None and a.payment_id in payment_ids
    }


def _delivered(snapshot: Snapshot, payment_ids: set[str], verdict: Verdict) -> None:
    if snapshot.deliveries is None:
        verdict.not_run.append("every planned webhook delivered: the gateway does not record its deliveries")
        return
    for delivery in snapshot.deliveries:
        if delivery.payment_id in payment_ids and delivery.state != DELIVERED:
            verdict.add(
                "every planned webhook delivered",
                delivery.event_id,
                f"{delivery.purpose} webhook of {delivery.payment_id} ended {delivery.state}",
            )


def gateway_disagreement(
    payment: Payment, record: GatewayRecord | None, order: Order | None, anomalies: Collection[str]
) -> str | None:
    """How payment-svc's final status of a settled attempt contradicts the gateway's record of it, or
    None when the two agree. `anomalies`: the kinds payment-svc recorded for the attempt."""
    ours = payment.status + (f" ({payment.error_code})" if payment.error_code else "")
    if record is None:
        if payment.status == "FAILED" and payment.error_code in GAVE_UP_CODES:
            return None
        return f"payment-svc says {ours}, the gateway never heard of it"
    if record.order_id != payment.order_id:
        return f"the gateway has it for order {record.order_id}, payment-svc for {payment.order_id}"
    if payment.gateway_payment_id is not None and record.id and record.id != payment.gateway_payment_id:
        return f"the gateway's id is {record.id}, payment-svc holds {payment.gateway_payment_id}"
    if order is not None and order.amount is not None:
        charged, ordered = f"{record.amount} {record.currency}", f"{order.amount} {order.currency}"
        if charged != ordered:
            return f"payment-svc says {ours}, the gateway has it for {charged}, the order is for {ordered}"
    both = f"payment-svc says {ours}, the gateway says {record.status}"
    if record.status == GATEWAY_CAPTURED:
        if payment.status == "SUCCESS" or (payment.status == "FAILED" and REFUSED_CAPTURE_ANOMALIES & set(anomalies)):
            return None
        return both + (" and no anomaly was recorded" if payment.status == "FAILED" else "")
    if record.status in (GATEWAY_FAILED, GATEWAY_VOIDED):
        return None if payment.status == "FAILED" else both
    if record.status == GATEWAY_AUTHORIZED:
        return None if payment.status == "AUTHORIZED" else both
    if record.status == GATEWAY_CREATED:
        # never settled at the gateway (a `pending` vpa, or a creation whose answer we never got)
        return None if payment.status == "FAILED" and payment.error_code in GAVE_UP_CODES else both
    return both + ", a status the gateway does not have"


NO_ANOMALIES_TABLE = f"{GATEWAY_CHECK}: a capture payment-svc kept FAILED needs its anomalies table"


def _gateway_agrees(
    snapshot: Snapshot, orders: Sequence[Order], payments: Sequence[Payment], verdict: Verdict, *, whole_run: bool
) -> None:
    if snapshot.gateway_payments is None:
        verdict.not_run.append(f"{GATEWAY_CHECK}: the gateway does not record its payments")
        return
    records = {r.payment_id: r for r in snapshot.gateway_payments}
    order_of = {o.id: o for o in orders}
    by_payment: dict[str, set[str]] = defaultdict(set)
    for anomaly in snapshot.anomalies or ():
        by_payment[anomaly.payment_id].add(anomaly.kind)
    # a late success's anomaly is the late-success check's business: counted there, not again here
    late = _late_success_ids(snapshot.accepted or (), {p.id for p in payments})
    compared = disagreed = 0
    for payment in payments:
        # an attempt still INITIATED fails "no attempt INITIATED"; the harness's own never went to the gateway
        if payment.status == "INITIATED" or payment.id in snapshot.harness_payments:
            continue
        record = records.get(payment.id)
        anomalies = by_payment[payment.id] | ({LATE_SUCCESS_ANOMALY} if payment.id in late else set())
        refused_capture = record is not None and record.status == GATEWAY_CAPTURED and payment.status == "FAILED"
        if refused_capture and snapshot.anomalies is None and payment.id not in late:
            if NO_ANOMALIES_TABLE not in verdict.not_run:
                verdict.not_run.append(NO_ANOMALIES_TABLE)
            continue
        compared += 1
        detail = gateway_disagreement(payment, record, order_of.get(payment.order_id), anomalies)
        if detail is not None:
            disagreed += 1
            verdict.add(GATEWAY_CHECK, payment.id, detail)
    if whole_run:
        # every gateway payment starts as an attempt of ours; one nobody has came from somewhere else
        ours = {p.id for p in snapshot.payments}
        for record in snapshot.gateway_payments:
            if record.payment_id not in ours:
                compared += 1
                disagreed += 1
                verdict.add(
                    GATEWAY_CHECK,
                    record.payment_id,
                    f"the gateway says {record.status}, payment-svc has no such attempt",
                )
    verdict.gateway_compared = compared
    verdict.gateway_disagreed = disagreed


def _drained(snapshot: Snapshot, verdict: Verdict) -> None:
    for schema, backlog in sorted(snapshot.outbox_backlog.items()):
        if backlog:
            verdict.add("outbox drained", f"{schema}.outbox", f"{backlog} rows unpublished")
    if snapshot.queues is None:
        verdict.not_run.append("queues drained / DLQs hold only deliberate dead letters: could not list the queues")
        return
    for name, messages in sorted(snapshot.queues.items()):
        if name.endswith(DLQ_SUFFIX):
            expected = snapshot.expected_dead_letters.get(name, 0)
            if messages != expected:
                verdict.add("DLQ holds only deliberate dead letters", name, f"{messages} messages, expected {expected}")
        elif messages:
            verdict.add("queues drained", name, f"{messages} messages left")
    for name, expected in sorted(snapshot.expected_dead_letters.items()):
        if expected and name not in snapshot.queues:
            verdict.add("DLQ holds only deliberate dead letters", name, f"queue missing, expected {expected}")


def combine(whole: Verdict, parts: Sequence[Verdict]) -> Verdict:
    """The whole run's verdict: its counts from `whole` (every order and event once), its violations
    and checks not run from `whole` and every part, each distinct one once."""

    def distinct(items: list[Any]) -> list[Any]:
        return list(dict.fromkeys(items))

    return Verdict(
        orders=whole.orders,
        orders_with_attempts=whole.orders_with_attempts,
        payments=whole.payments,
        accepted=whole.accepted,
        applied=whole.applied,
        gateway_compared=whole.gateway_compared,
        gateway_disagreed=whole.gateway_disagreed,
        lost=distinct([*whole.lost, *(e for part in parts for e in part.lost)]),
        applied_twice=distinct([*whole.applied_twice, *(e for part in parts for e in part.applied_twice)]),
        violations=distinct([*(v for part in parts for v in part.violations), *whole.violations]),
        not_run=distinct([*(n for part in parts for n in part.not_run), *whole.not_run]),
    )

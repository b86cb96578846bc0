"""Payment links' requests and answers, with Razorpay's field names (`POST/GET/PATCH /v1/payment_links`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, model_validator

from order_svc.native.schemas import Moment, moment, seconds
from order_svc.orders.domain import MAX_EMAIL, MAX_NAME, Notes, Order, check_header_safe, deliverable_address
from order_svc.orders.schemas import SupportedCurrency
from order_svc.payment_links.domain import PaymentLink, status_at
from order_svc.payments.domain import PaymentView
from order_svc.v1.domain import amount_paid, method_fields, unix
from order_svc.v1.schemas import MAX_UNIX
from payments_common.money import MAX_AMOUNT
from payments_common.openapi import Timestamp

NO_NUL = "^[^\\u0000]*$"


def _web_url(value: str) -> str:
    """Only an absolute http(s) URL: the customer's browser is sent there, so no `javascript:` or the like."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http or https URL")
    if any(char in value for char in "\r\n\x00 "):
        raise ValueError("must not contain spaces or control characters")
    return value


def _future(value: int) -> int:
    if value <= int(datetime.now(UTC).timestamp()):
        raise ValueError("must be in the future")
    return value


def _future_moment(value: datetime) -> datetime:
    _future(seconds(value))
    return value


CallbackUrl = Annotated[StrictStr, Field(max_length=2048), AfterValidator(_web_url)]
ReferenceId = Annotated[StrictStr, Field(min_length=1, max_length=40, pattern=NO_NUL)]
ExpireBy = Annotated[StrictInt, Field(gt=0, le=MAX_UNIX), AfterValidator(_future)]


class LinkCustomer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[StrictStr, Field(min_length=1, max_length=MAX_NAME), AfterValidator(check_header_safe)] | None = (
        None
    )
    email: (
        Annotated[StrictStr, Field(min_length=3, max_length=MAX_EMAIL), AfterValidator(deliverable_address)] | None
    ) = None
    contact: Annotated[StrictStr, Field(min_length=8, max_length=20, pattern="^\\+?[0-9 -]+$")] | None = None


class Notify(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sms: StrictBool = False
    email: StrictBool = False


class CreatePaymentLink(BaseModel):
    """`POST /v1/payment_links`: a standard link for the whole amount (`accept_partial` false only)."""

    model_config = ConfigDict(extra="forbid")

    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT)
    currency: SupportedCurrency = "INR"
    accept_partial: Literal[False] = False
    description: Annotated[StrictStr, Field(max_length=2048, pattern=NO_NUL)] | None = None
    customer: LinkCustomer | None = None
    expire_by: ExpireBy | None = None
    reference_id: ReferenceId | None = None
    callback_url: CallbackUrl | None = None
    callback_method: Literal["get"] | None = None
    notes: Notes | None = None
    # accepted as Razorpay takes them; this system sends no SMS or reminder
    notify: Notify | None = None
    reminder_enable: StrictBool = False

    @model_validator(mode="after")
    def _callback_method(self) -> CreatePaymentLink:
        if self.callback_method is not None and self.callback_url is None:
            raise ValueError("callback_method: only with callback_url")
        return self


class EditPaymentLink(BaseModel):
    """`PATCH /v1/payment_links/{id}`, while the link is `created`: each field given replaces the link's."""

    model_config = ConfigDict(extra="forbid")

    reference_id: ReferenceId | None = None
    expire_by: ExpireBy | None = None
    notes: Notes | None = None
    accept_partial: Literal[False] | None = None
    reminder_enable: StrictBool | None = None


class LinkPayment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: int
    created_at: int
    method: str | None
    payment_id: str
    plink_id: str
    status: Literal["captured", "authorized"]
    updated_at: int


class PaymentLinkEntity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    entity: Literal["payment_link"]
    accept_partial: bool
    amount: int
    amount_paid: int
    currency: str
    description: str
    customer: dict[str, str]
    expire_by: int
    expired_at: int
    cancelled_at: int
    first_min_partial_amount: int
    notes: dict[str, Any] | None
    notify: dict[str, bool]
    payments: list[LinkPayment] | None
    reference_id: str
    reminder_enable: bool
    reminders: list[Any]
    callback_url: str
    callback_method: str
    short_url: str
    status: Literal["created", "paid", "expired", "cancelled"]
    upi_link: bool
    user_id: str
    created_at: int
    updated_at: int

    @classmethod
    def of(
        cls, link: PaymentLink, order: Order, payments: list[PaymentView], short_url: str, now: datetime
    ) -> PaymentLinkEntity:
        """`payments`: the order's attempts; those that took the money are listed (null when none did)."""
        status = status_at(link, now)
        paid = [
            LinkPayment(
                amount=view.amount,
                created_at=unix(view.created_at),
                method=method_fields(view.method)["method"],
                payment_id=view.id,
                plink_id=link.id,
                status="captured" if view.status == "SUCCESS" else "authorized",
                updated_at=unix(view.updated_at),
            )
            for view in payments
            if view.status in ("SUCCESS", "AUTHORIZED")
        ]
        customer = {
            key: value
            for key, value in (
                ("name", link.customer_name),
                ("email", link.customer_email),
                ("contact", link.customer_contact),
            )
            if value is not None
        }
        return cls(
            id=link.id,
            entity="payment_link",
            accept_partial=False,
            amount=order.amount,
            amount_paid=amount_paid(order),
            currency=order.currency,
            description=link.description or "",
            customer=customer,
            expire_by=unix(link.expire_by) if link.expire_by is not None else 0,
            expired_at=unix(link.expire_by) if status == "expired" and link.expire_by is not None else 0,
            cancelled_at=unix(link.cancelled_at) if link.cancelled_at is not None else 0,
            first_min_partial_amount=0,
            notes=link.notes,
            notify={"sms": False, "email": False},
            payments=paid or None,
            reference_id=link.reference_id or "",
            reminder_enable=False,
            reminders=[],
            callback_url=link.callback_url or "",
            callback_method=link.callback_method or "",
            short_url=short_url,
            status=status,
            upi_link=False,
            user_id="",
            created_at=unix(link.created_at),
            updated_at=unix(link.updated_at),
        )


class PaymentLinkCollection(BaseModel):
    """Razorpay's answer to `GET /v1/payment_links`: the links under `payment_links`, newest first."""

    model_config = ConfigDict(extra="forbid")

    payment_links: list[PaymentLinkEntity]


class PaymentLinkListQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    count: int = Field(default=10, ge=1, le=100)
    skip: int = Field(default=0, ge=0, le=1_000_000)
    reference_id: Annotated[str, Field(max_length=40, pattern=NO_NUL)] | None = None


# --- the native API (`POST /payment-links`, …): camelCase, ISO 8601 moments, upper-case statuses. The use
# cases take and answer the /v1 models above, so each native model converts to or from one


class NewPaymentLink(BaseModel):
    """`POST /payment-links`: a link to pay the whole `amount`, with an order of its own. `expireBy`: when it
    stops being payable; `referenceId`: the merchant's own, unique among its links; `callbackUrl`: where the
    customer's browser is sent once it is paid, with the signed outcome."""

    model_config = ConfigDict(extra="forbid")

    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT)
    currency: SupportedCurrency
    description: Annotated[StrictStr, Field(max_length=2048, pattern=NO_NUL)] | None = None
    customer: LinkCustomer | None = None
    expireBy: Annotated[Moment, AfterValidator(_future_moment)] | None = None
    referenceId: ReferenceId | None = None
    callbackUrl: CallbackUrl | None = None
    notes: Notes | None = None

    def command(self) -> CreatePaymentLink:
        return CreatePaymentLink(
            amount=self.amount,
            currency=self.currency,
            description=self.description,
            customer=self.customer,
            expire_by=seconds(self.expireBy) if self.expireBy is not None else None,
            reference_id=self.referenceId,
            callback_url=self.callbackUrl,
            notes=self.notes,
        )


class LinkPaymentResource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paymentId: str
    amount: int
    method: str | None
    status: Literal["SUCCESS", "AUTHORIZED"]
    createdAt: Timestamp
    updatedAt: Timestamp


class PaymentLinkResource(BaseModel):
    """A payment link: CREATED until it is paid (PAID), cancelled (CANCELLED) or past `expireBy` (EXPIRED);
    `shortUrl` is its hosted checkout page, `payments` the attempts that took the money."""

    model_config = ConfigDict(extra="forbid")

    id: str
    amount: int
    amountPaid: int
    currency: str
    description: str | None
    customer: dict[str, str]
    expireBy: Timestamp | None
    expiredAt: Timestamp | None
    cancelledAt: Timestamp | None
    referenceId: str | None
    callbackUrl: str | None
    notes: dict[str, Any]
    payments: list[LinkPaymentResource]
    shortUrl: str
    status: Literal["CREATED", "PAID", "EXPIRED", "CANCELLED"]
    createdAt: Timestamp
    updatedAt: Timestamp

    @classmethod
    def of(cls, link: PaymentLinkEntity) -> PaymentLinkResource:
        """/v1 writes 0 and "" for what a link has not got; here that is null."""
        payments = [
            LinkPaymentResource.model_validate(
                {
                    "paymentId": payment.payment_id,
                    "amount": payment.amount,
                    "method": payment.method,
                    "status": "SUCCESS" if payment.status == "captured" else "AUTHORIZED",
                    "createdAt": moment(payment.created_at),
                    "updatedAt": moment(payment.updated_at),
                }
            )
            for payment in link.payments or []
        ]
        return cls.model_validate(
            {
                "id": link.id,
                "amount": link.amount,
                "amountPaid": link.amount_paid,
                "currency": link.currency,
                "description": link.description or None,
                "customer": link.customer,
                "expireBy": moment(link.expire_by) if link.expire_by else None,
                "expiredAt": moment(link.expired_at) if link.expired_at else None,
                "cancelledAt": moment(link.cancelled_at) if link.cancelled_at else None,
                "referenceId": link.reference_id or None,
                "callbackUrl": link.callback_url or None,
                "notes": link.notes or {},
                "payments": payments,
                "shortUrl": link.short_url,
                "status": link.status.upper(),
                "createdAt": moment(link.created_at),
                "updatedAt": moment(link.updated_at),
            }
        )

"""What the console sends the dead-letter actions, and its names for two answers. Every answer the console
reads is a model of payments_common's admin-API contract (`payments_common.admin_api`), the very one the
service answers with."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from payments_common.admin_api.orders import AdminOrder
from payments_common.dlq import DeadLetterView

# one dead letter: the model payments_common writes the admin API's answers with
DeadLetter = DeadLetterView
# one order: order-svc's `GET /admin/orders/{id}`
OrderView = AdminOrder


class Selection(BaseModel):
    """Which dead letters an action takes: payment-svc's `SelectionBody`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    ids: list[str] = Field(default_factory=list)
    queue: str | None = None
    reason: str | None = None
    all: bool = False
    dryRun: bool = False

"""The admin APIs' answers, one pydantic model each: payment-svc's and order-svc's admin views answer with
them and the console reads those answers with them. Unknown fields are ignored, so a service may add to an
answer without breaking a reader; a missing or mistyped field is an error. `Timestamp` renders a moment as
`timeutil.iso` does and reads any ISO 8601 date and time."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

"""A stored record (a dataclass with snake_case attributes) as the camelCase pydantic model others see."""

from __future__ import annotations

import functools
import re
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


# a function of the name alone, asked for every field of every record rendered: computed once per name
@functools.cache
def attribute_of(field: str) -> str:
    """`gatewayPaymentId` -> `gateway_payment_id`: the wire's name of a field as the record's attribute."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", field).lower()


def model_of(model: type[M], record: Any) -> M:
    """`record` as `model`: each of the model's fields from the record's attribute of the same name, so a
    column the model does not show stays inside; an enum is given as its value."""
    values = {name: getattr(record, attribute_of(name)) for name in model.model_fields}
    return model.model_validate({k: v.value if isinstance(v, Enum) else v for k, v in values.items()})

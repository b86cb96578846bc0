"""Errors that decide what happens to a message or a request.

A consumer retries a `RetryableError` (and anything it cannot classify: infrastructure blinks)
through the delay queues, and dead-letters a `PermanentError` at once.
"""

from __future__ import annotations


class ProcessingError(Exception):
    """Base of the classified processing errors; `reason` is a stable machine-readable code."""

    reason = "PROCESSING_ERROR"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class RetryableError(ProcessingError):
    """May pass by itself: the row is not there yet, a dependency is down, a timeout."""

    reason = "RETRYABLE"


class PermanentError(ProcessingError):
    """Will fail the same way every time: unknown ids, a mismatched pairing, a malformed event."""

    reason = "PERMANENT"


class ApiError(Exception):
    """An error answered over HTTP as `{"error": {"code", "description", "field"?}}`."""

    def __init__(self, status: int, code: str, description: str, field: str | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description
        self.field = field

    def body(self) -> dict[str, object]:
        error: dict[str, object] = {"code": self.code, "description": self.description}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}


BAD_REQUEST = "BAD_REQUEST_ERROR"
UNAUTHORIZED = "UNAUTHORIZED"
NOT_FOUND = "NOT_FOUND"
ORDER_ALREADY_PAID = "ORDER_ALREADY_PAID"
# a receipt of an order that is not PAID: there is no payment to confirm yet
ORDER_NOT_PAID = "ORDER_NOT_PAID"
PAYMENT_IN_PROGRESS = "PAYMENT_IN_PROGRESS"
# a refund of an attempt that is not SUCCESS (still INITIATED, or FAILED): there is nothing to give back
PAYMENT_NOT_REFUNDABLE = "PAYMENT_NOT_REFUNDABLE"
INVALID_SIGNATURE = "INVALID_SIGNATURE"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
GATEWAY_ERROR = "GATEWAY_ERROR"
SERVER_ERROR = "SERVER_ERROR"


def bad_request(description: str, field: str | None = None) -> ApiError:
    return ApiError(400, BAD_REQUEST, description, field)


def not_found(what: str) -> ApiError:
    """The 404 of a resource that does not exist, or not for this caller: `"<what> not found"`."""
    return ApiError(404, NOT_FOUND, f"{what} not found")

"""Events for merchants' webhook endpoints: which change of a payment, an order or a refund is an event, the
event's fixed id and its Razorpay-shaped payload, recorded in the outbox in the change's own transaction."""

"""A merchant's webhook endpoints and their delivery log, order-svc's side: the merchant-facing routes, in
front of the merchant-webhooks process's internal API, which keeps the endpoints and delivers the events."""

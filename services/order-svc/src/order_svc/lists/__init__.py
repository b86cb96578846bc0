"""A merchant's orders, payments and refunds as pages, newest first: the native lists (`GET /orders`,
`GET /payments`, `GET /refunds`, keyset cursors) and the queries the /v1 collections read too."""

"""The payment gateway as payment-svc sees it: an HTTP client creating and looking up payments and refunds,
and the gateway's records of them."""

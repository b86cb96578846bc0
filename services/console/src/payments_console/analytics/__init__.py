"""The analytics page: payment and order figures over a window, as payment-svc's and order-svc's admin
APIs compute them in SQL, with charts over time."""

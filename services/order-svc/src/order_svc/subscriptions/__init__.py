"""Plans, subscriptions, their invoices and test clocks: a customer charged once per billing cycle with
the token of the first payment, by the scheduler in `scheduler.py`."""

"""The Razorpay-compatible routes of plans, subscriptions, invoices and test clocks (over
`order_svc.subscriptions`)."""

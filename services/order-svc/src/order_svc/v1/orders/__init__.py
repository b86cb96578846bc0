"""/v1 orders: create, fetch, list, and an order's payments, as Razorpay's order entity."""

"""/v1 refunds: refund a payment, and read refunds, as Razorpay's refund entity."""

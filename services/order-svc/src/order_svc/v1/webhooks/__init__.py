"""/v1 webhooks: a merchant's endpoints and their delivery log, as Razorpay's `webhook` entities."""

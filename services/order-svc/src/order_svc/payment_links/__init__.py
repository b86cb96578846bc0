"""Payment links: a merchant's order shared as a short URL (Razorpay's /v1/payment_links), paid on the
hosted checkout page, and the signed callback to the merchant's site once paid."""

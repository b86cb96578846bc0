"""The Razorpay-compatible `/v1` surface: Razorpay's entities, collections, error shapes and checkout
signature over the same orders, attempts and refunds as the native API, so the official SDK works."""

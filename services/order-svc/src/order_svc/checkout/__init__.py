"""The hosted checkout page: a payment link's short URL served as a server-rendered page where the customer
picks a method and pays, sees the outcome, and is sent back to the merchant's callback_url."""

"""Webhook delivery: which webhooks a payment gets and when (the plan, with its faults), the worker that
sends each once due and survives restarts, the signing sender, and the SQL of the delivery rows."""

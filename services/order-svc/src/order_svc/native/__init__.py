"""Plumbing of the native routes whose use cases /v1 shares (plans, subscriptions, payment links): their
errors in the native API's words, bodies that may be empty, and their part of the OpenAPI document."""

"""Outgoing calls to untrusted URLs: which URLs and addresses may be called, and the resolver that enforces it."""

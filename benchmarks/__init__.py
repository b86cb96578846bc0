"""Benchmarks of the payment system: `python -m benchmarks.bench` (`make bench`) and `webhook_flood.py`."""

"""The events received and their deliveries: the fan-out, the worker that sends them, the log."""

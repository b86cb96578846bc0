"""webhook-gateway: the payment gateway's way in. Verifies each webhook, publishes it durably to RabbitMQ,
then answers; it keeps no state of its own (app.py wires it, settings.py configures it)."""

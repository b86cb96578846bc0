"""mock-gateway: a payment gateway simulator. It takes payments and refunds over its API and settles them
later by signed webhooks, with the faults real gateways show (app.py wires it, settings.py configures it)."""

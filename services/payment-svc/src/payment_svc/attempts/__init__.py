"""Payment attempts: the state machine, starting an attempt at the gateway, and applying the gateway's
reports of its outcome (webhooks, the reconciler, the expiry), with the payment's trail and anomalies."""

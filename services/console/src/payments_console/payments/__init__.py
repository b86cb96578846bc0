"""Finding payments (by any of their ids, merchant, status, method, time) and one payment's page: its order,
the order's attempts, refunds, anomalies and the trail of what happened, with each step's source."""

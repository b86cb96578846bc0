"""The operators' console in the browser: analytics, payments, dead letters, anomalies and health, read
through each service's own admin API, behind operator sessions."""

"""Anomalies: reports that contradicted a settled payment, as payment-svc keeps them, and resolving one
(a note, or a refund of money captured for a payment kept FAILED), recorded with who and when."""

"""Webhooks to merchants through merchant-webhooks' admin API: the deliveries by status, merchant, endpoint
or event, one delivery with every attempt, and a redelivery recorded with who and when."""

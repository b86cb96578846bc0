"""merchant-webhooks: tells merchants' servers of their events, signed, retried and logged."""

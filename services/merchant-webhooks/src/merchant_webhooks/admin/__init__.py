"""The operators' admin API of deliveries: list, show, redeliver."""

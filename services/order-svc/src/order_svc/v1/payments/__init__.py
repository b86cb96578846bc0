"""/v1 payments: the server-to-server checkout, fetch, list, notes, and the checkout signature."""

"""Orders: what a merchant's client creates and reads, the order's state machine, its customer, and its
table (`orders`)."""

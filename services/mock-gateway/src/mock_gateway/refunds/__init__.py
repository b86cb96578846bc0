"""The gateway's refunds of captured payments: how one ends, the API that creates one (idempotent on
`refundId`) and reads it back, and the SQL that stores it with its webhook."""

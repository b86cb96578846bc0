"""The gateway's payments: how a test value in the method decides the outcome, the API that creates one
(idempotent on `paymentId`) and reads it back, and the SQL that stores it with its planned webhooks."""

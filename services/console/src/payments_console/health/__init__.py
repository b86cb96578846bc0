"""The health page: each service ready or not and why, outbox backlogs, queue depths, the reconciler's
last run, and what operators did lately."""

"""Payment analytics for the operators' console (`GET /admin/analytics`): every number counted by SQL."""

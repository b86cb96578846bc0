"""The admin API operators' console reads (behind `ADMIN_TOKEN`): order analytics and one order."""

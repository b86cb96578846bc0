"""Access control of the client API: HTTP Basic auth with the merchants' API keys (cached per instance),
and the rate limits per merchant and per source of failed authentications."""

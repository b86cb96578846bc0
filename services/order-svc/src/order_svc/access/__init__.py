"""Access control of the client API: HTTP Basic auth with the keys of API_KEYS (one merchant each),
and the rate limits per API key and per source of failed authentications."""

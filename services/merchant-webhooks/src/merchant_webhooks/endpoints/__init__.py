"""A merchant's webhook endpoints: the URLs, the events each is subscribed to, the signing secrets."""

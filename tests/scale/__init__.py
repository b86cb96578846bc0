"""`make scale`: two instances of every service under load."""

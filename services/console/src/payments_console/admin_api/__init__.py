"""The console's client of the services' admin APIs, and typed models of what each admin route answers:
the only way the console reads or changes another service's data."""

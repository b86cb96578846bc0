"""Operators, their passwords and sessions, CSRF tokens and the failed-login throttle:
who may use the console, and the proof each request carries."""

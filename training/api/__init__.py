"""The read-only JSON API for HR systems, and the bearer tokens that open it."""

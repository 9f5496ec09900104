"""The case file of a platform: every step of the procedure in time order, from the audit record."""

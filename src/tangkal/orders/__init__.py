"""Takedown orders: filed by the regulator, delivered to a platform, answered on the record."""

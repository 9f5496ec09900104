"""Sanctions: access blocking of a platform's registered names, decided by officials."""

"""Organisations, people, roles and API tokens: who may do what, always within one organisation."""

"""Normalisation (normalisasi): restoring access after a sanction, on the profile's conditions."""

"""Objections (sanggah): a platform contests an order, a warning, a fine, a sanction or a block."""

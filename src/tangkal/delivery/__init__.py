"""Delivering orders to platforms: a transactional outbox, signed webhooks, a pull inbox."""

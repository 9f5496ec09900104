"""The order-intake benchmark: ``python -m bench.orders.intake``."""

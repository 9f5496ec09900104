"""The ``tangkal`` command line."""

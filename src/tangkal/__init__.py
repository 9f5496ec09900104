"""tangkal: the shared procedure by which a regulator and online platforms handle unlawful content."""

__version__ = "0.1.0"

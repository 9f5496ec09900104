"""tangkal: the shared procedure by which a regulator and platforms handle unlawful content."""

__version__ = "0.1.0"

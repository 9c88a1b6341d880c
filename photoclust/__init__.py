"""photoclust: organise photo folders into clusters by content, and learn from corrections."""

__version__ = "0.1.0"

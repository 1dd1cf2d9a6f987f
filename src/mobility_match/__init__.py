"""mobility_match: places vocational graduates in host companies abroad."""

__version__ = "0.1.0"

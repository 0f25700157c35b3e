"""card-audit: prove with a real browser where card data typed on a payment page goes."""

__version__ = "0.1.0"

"""Panier: market-basket association rules, mined and checked by a reproducible DVC pipeline."""

__version__ = "0.1.0"

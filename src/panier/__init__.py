"""Panier: market-basket association rules, mined and checked by a reproducible DVC pipeline."""

import warnings

__version__ = "0.1.0"

# PySpark (the optional spark engine) warns about pandas 3 whenever it is imported, also by
# pandera, which imports it when installed; Panier hands Spark only Arrow data, not pandas.
warnings.filterwarnings(
    "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
)

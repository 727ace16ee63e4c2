"""Panier's recommendation service: an HTTP application that serves a trained rules model.

It is deliberately separate from the pipeline (the ``panier`` package): it never imports
it. The contract between the two is the model artifact (``rules.parquet``,
``items.parquet`` and ``model_card.json``) whose schema ``panier_service.artifact``
documents and checks when a model loads.
"""

__version__ = "0.1.0"

"""Modules every stage shares: the params schema and its defaults (config), paths, file IO, errors,
the canonical line-item schema, baskets, recommenders, column mapping and the stage runner.
"""

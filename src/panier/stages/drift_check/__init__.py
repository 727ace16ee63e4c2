"""Stage ``drift-check``: data and concept drift of the current window (line items or request logs)
against the training window.
"""

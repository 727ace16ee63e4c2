"""Stage ``gate``: champion versus challenger on the same held-out baskets."""

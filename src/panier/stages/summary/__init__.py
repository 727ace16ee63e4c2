"""Stage ``summary``: the dozen figures a reviewer compares, from the detailed metrics."""

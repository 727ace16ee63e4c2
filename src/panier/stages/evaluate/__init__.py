"""Stage ``evaluate``: leave-one-out ranking quality of the rules against baselines."""

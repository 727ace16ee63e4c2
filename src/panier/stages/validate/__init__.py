"""Stage ``validate``: parse and check line items; every row ends clean or rejected with a
reason."""

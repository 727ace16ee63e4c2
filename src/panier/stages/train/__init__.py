"""Stage ``train``: mine frequent itemsets and association rules, write the model."""

"""Stage ``check-params``: refuse a params.yaml that would hang DVC or make it print a secret."""

"""Stage ``ingest``: read the source (file, folder, URL, S3, DVC remote, SQL or the generator) into
canonical line items, accounting for every record.
"""

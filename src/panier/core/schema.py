"""The canonical line-item table: one row per product on an invoice.

Every source is mapped onto these columns before validation; every stage after
validation reads them with these types.
"""

from __future__ import annotations

INVOICE = "invoice_id"
TIMESTAMP = "timestamp"
CUSTOMER = "customer_id"
COUNTRY = "country"
ITEM = "item_code"
DESCRIPTION = "description"
QUANTITY = "quantity"
PRICE = "unit_price"

# Column -> pandas dtype after validation, in canonical order.
DTYPES: dict[str, str] = {
    INVOICE: "str",
    TIMESTAMP: "datetime64[ns]",
    CUSTOMER: "str",
    COUNTRY: "str",
    ITEM: "str",
    DESCRIPTION: "str",
    QUANTITY: "int64",
    PRICE: "float64",
}
COLUMNS: list[str] = list(DTYPES)
REQUIRED: list[str] = [INVOICE, TIMESTAMP, ITEM, QUANTITY, PRICE]
OPTIONAL: list[str] = [c for c in COLUMNS if c not in REQUIRED]

# Not a canonical column: a reader puts here the text of a source row it could not split into
# fields, so that validation rejects the row (reason ``malformed_row``) instead of losing it.
MALFORMED = "malformed_line"

# Not canonical columns either: where each row comes from, carried from the reader through
# validation into the clean and rejected tables, so that accounting can be checked row by row.
# SOURCE_ROW: for delimited text, the line on which the record starts (the header is line 1);
# for Parquet and SQL, the 1-based row number. SOURCE_FILE: the file, when a folder holds
# several.
SOURCE_ROW = "source_row"
SOURCE_FILE = "source_file"
PROVENANCE: list[str] = [SOURCE_ROW, SOURCE_FILE]

"""The reason codes a rejected row carries: what each means, the column it is about and the
usual fix, in priority order (a row that breaks several rules is rejected for the first)."""

from __future__ import annotations

from panier.core import schema as S
from panier.core.config import ValidateParams
from panier.core.errors import ConfigError

# Reason code -> what it means, in priority order (the first that applies is the one recorded).
REASONS: dict[str, str] = {
    "malformed_row": "row that could not be split into the source's columns",
    "missing_invoice_id": "no invoice id",
    "missing_timestamp": "no timestamp",
    "unparseable_timestamp": "timestamp that does not parse as a date",
    "future_timestamp": "timestamp after the validation date",
    "too_old_timestamp": "timestamp before validate.min_timestamp (or 1678)",
    "missing_item_code": "no item code",
    "missing_quantity": "no quantity",
    "unparseable_quantity": "quantity that is not a whole number",
    "quantity_out_of_range": "quantity at or beyond +/-2^53, where whole numbers are no "
    "longer held exactly (and int64 would wrap)",
    "missing_unit_price": "no unit price",
    "unparseable_unit_price": "unit price that is not a number",
    "cancelled_invoice": "invoice id marks a cancellation",
    "return": "zero or negative quantity (a return)",
    "non_positive_price": "zero or negative unit price",
    "non_product": "item code is a fee, postage or manual adjustment",
    "quantity_too_large": "quantity above validate.max_quantity",
    "duplicate_row": "exact copy of an earlier row",
    "basket_too_large": "invoice holds more distinct items than validate.max_basket_items",
}
RANK = {code: rank for rank, code in enumerate(REASONS)}
NO_REASON = len(REASONS)

# The canonical column each reason is about (malformed rows: the whole row).
REASON_COLUMNS: dict[str, str] = {
    "malformed_row": S.MALFORMED,
    "missing_invoice_id": S.INVOICE,
    "missing_timestamp": S.TIMESTAMP,
    "unparseable_timestamp": S.TIMESTAMP,
    "future_timestamp": S.TIMESTAMP,
    "too_old_timestamp": S.TIMESTAMP,
    "missing_item_code": S.ITEM,
    "missing_quantity": S.QUANTITY,
    "unparseable_quantity": S.QUANTITY,
    "quantity_out_of_range": S.QUANTITY,
    "missing_unit_price": S.PRICE,
    "unparseable_unit_price": S.PRICE,
    "cancelled_invoice": S.INVOICE,
    "return": S.QUANTITY,
    "non_positive_price": S.PRICE,
    "non_product": S.ITEM,
    "quantity_too_large": S.QUANTITY,
    "duplicate_row": "(all columns)",
    "basket_too_large": S.INVOICE,
}

# How to fix each reason when it passes its threshold: the usual cause first.
FIXES: dict[str, str] = {
    "malformed_row": "rows with more or fewer fields than the header: check "
    "ingest.csv.delimiter and ingest.csv.quote_char, or repair the export",
    "missing_invoice_id": "map invoice_id to the source's invoice column "
    "(ingest.mapping.columns.invoice_id)",
    "missing_timestamp": "map timestamp to the source's date column "
    "(ingest.mapping.columns.timestamp)",
    "unparseable_timestamp": "set ingest.parsing.timestamp_format to the source's format "
    "(e.g. '%d/%m/%Y %H:%M') or ingest.parsing.dayfirst: true",
    "future_timestamp": "check the source's clock and time zone, or set validate.max_timestamp",
    "too_old_timestamp": "placeholder dates (e.g. 1900-01-01) in the source: repair them, or "
    "lower validate.min_timestamp",
    "missing_item_code": "map item_code to the source's product column "
    "(ingest.mapping.columns.item_code)",
    "missing_quantity": "map quantity to the source's quantity column "
    "(ingest.mapping.columns.quantity)",
    "unparseable_quantity": "check the column mapped to quantity; decimal commas need "
    "ingest.parsing.decimal: ','",
    "quantity_out_of_range": "the column mapped to quantity holds huge numbers (an id or a "
    "barcode?): check ingest.mapping.columns.quantity, or repair them "
    "at the source",
    "missing_unit_price": "map unit_price to the price column, or to null when the source has "
    "no prices (ingest.mapping.columns.unit_price: null)",
    "unparseable_unit_price": "check the column mapped to unit_price (currency symbols, "
    "thousands separators); decimal commas need "
    "ingest.parsing.decimal: ','",
    "cancelled_invoice": "cancellations are normal in retail exports: give them their own "
    "limit (validate.max_rejected_share_by_reason.cancelled_invoice); if "
    "real invoice ids start with the prefix, change validate.cancelled_prefix",
    "return": "returns are normal in retail exports: give them their own limit "
    "(validate.max_rejected_share_by_reason.return)",
    "non_positive_price": "check the column mapped to unit_price: all-zero prices usually mean "
    "the wrong column",
    "non_product": "check validate.non_product_codes and validate.non_product_pattern",
    "quantity_too_large": "raise validate.max_quantity (null: no limit)",
    "duplicate_row": "the export repeats rows: deduplicate it at the source",
    "basket_too_large": "set validate.max_basket_items: null (big invoices are then kept, and "
    "train.max_basket_items leaves them out of mining only), or check the "
    "column mapped to invoice_id (several invoices merged into one?)",
}


def column_label(report: dict, code: str) -> str:
    """The column a reason is about, with the source's name for it when that differs."""
    column = REASON_COLUMNS[code]
    source = report.get("source_columns", {}).get(column)
    return f"{column} ({source!r} in the source)" if source else column


def check_reason_limits(params: ValidateParams) -> None:
    """Raise ``ConfigError`` for a per-reason limit on an unknown reason code."""
    unknown = sorted(set(params.max_rejected_share_by_reason) - set(REASONS))
    if unknown:
        raise ConfigError(
            f"validate.max_rejected_share_by_reason: unknown reason code(s) {unknown}; "
            f"valid codes: {', '.join(REASONS)}"
        )

"""A small retail export in the common layout (InvoiceNo, StockCode, Description, Quantity,
InvoiceDate, UnitPrice, CustomerID, Country), written the way shop systems write it, with
real-world dirt planted in known amounts so that tests can check the accounting exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd

from panier import schema as S
from panier.config import GeneratorParams, PlantedRule
from panier.generate import generate_line_items

LAYOUT = {S.INVOICE: "InvoiceNo", S.ITEM: "StockCode", S.DESCRIPTION: "Description",
          S.QUANTITY: "Quantity", S.TIMESTAMP: "InvoiceDate", S.PRICE: "UnitPrice",
          S.CUSTOMER: "CustomerID", S.COUNTRY: "Country"}

# Reason code -> rows of that kind planted in every export.
PLANTED = {"cancelled_invoice": 12, "return": 5, "non_product": 13, "non_positive_price": 7,
           "duplicate_row": 9, "missing_item_code": 1}
GUEST_INVOICES = 40
MISSING_DESCRIPTIONS = 15


def _us_time(t: pd.Timestamp) -> str:
    return f"{t.month}/{t.day}/{t.year} {t.hour}:{t.minute:02d}"  # as in 12/1/2010 8:26


def retail_export_frame(seed: int = 1, n_invoices: int = 1500) -> pd.DataFrame:
    """The export as text columns, in invoice-time order; ``PLANTED`` says what is dirty."""
    rng = np.random.default_rng(seed)
    lines = generate_line_items(GeneratorParams(
        seed=seed, n_invoices=n_invoices, n_items=120, n_customers=300,
        start_date="2024-01-01", days=180, mean_basket_size=4.0, guest_share=0.0,
        description_missing_share=0.0, dirty_share=0.0,
        planted_rules=[PlantedRule(antecedent=["10010"], consequent="10020", confidence=0.8,
                                   antecedent_share=0.08),
                       PlantedRule(antecedent=["10030"], consequent="10040", confidence=0.7,
                                   antecedent_share=0.06)]))
    invoices = lines[S.INVOICE].unique()
    guests = rng.choice(invoices, GUEST_INVOICES, replace=False)
    lines.loc[lines[S.INVOICE].isin(guests), S.CUSTOMER] = None
    lines.loc[rng.choice(len(lines), MISSING_DESCRIPTIONS, replace=False), S.DESCRIPTION] = None

    def pick(n: int) -> pd.DataFrame:
        return lines.iloc[rng.choice(len(lines), n, replace=False)].copy()

    cancelled = pick(PLANTED["cancelled_invoice"])
    cancelled[S.INVOICE] = "C" + cancelled[S.INVOICE]
    cancelled[S.QUANTITY] = -cancelled[S.QUANTITY]
    returns = pick(PLANTED["return"])
    returns[S.QUANTITY] = -returns[S.QUANTITY]
    returns[S.INVOICE] = [str(900_000 + i) for i in range(len(returns))]
    fees = pick(PLANTED["non_product"])
    fees[S.ITEM] = ["POST"] * 10 + ["M"] * 3
    fees[S.DESCRIPTION] = ["POSTAGE"] * 10 + ["Manual"] * 3
    fees[S.QUANTITY] = 1
    free = pick(PLANTED["non_positive_price"])
    free[S.PRICE] = 0.0
    copies = pick(PLANTED["duplicate_row"])
    no_code = pick(PLANTED["missing_item_code"])
    no_code[S.ITEM] = None
    dirty = pd.concat([lines, cancelled, returns, fees, free, copies, no_code],
                      ignore_index=True)
    dirty = dirty.sort_values(S.TIMESTAMP, kind="stable", ignore_index=True)

    export = pd.DataFrame({
        "InvoiceNo": dirty[S.INVOICE],
        "StockCode": dirty[S.ITEM],
        "Description": dirty[S.DESCRIPTION],
        "Quantity": dirty[S.QUANTITY].astype(str),
        "InvoiceDate": dirty[S.TIMESTAMP].map(_us_time),
        "UnitPrice": dirty[S.PRICE].map(lambda p: f"{p:g}"),
        # Exported through a float column, as many shop exports are: 17850.0
        "CustomerID": dirty[S.CUSTOMER].map(lambda c: None if c is None or pd.isna(c)
                                            else f"{c}.0"),
        "Country": dirty[S.COUNTRY],
    })
    export = export.astype("str")
    # What validation must keep and count: the guest checkouts' rows that are not dirt.
    export.attrs["clean_guest_rows"] = int(lines[S.CUSTOMER].isna().sum())
    export.attrs["clean_rows"] = len(lines)
    return export


def retail_export_csv(seed: int = 1, n_invoices: int = 1500) -> str:
    return retail_export_frame(seed, n_invoices).to_csv(index=False, lineterminator="\n")

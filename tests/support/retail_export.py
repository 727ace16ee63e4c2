"""A small retail export in the common layout (InvoiceNo, StockCode, Description, Quantity,
InvoiceDate, UnitPrice, CustomerID, Country), written the way shop systems write it, with
real-world dirt planted in known amounts so that tests can check the accounting exactly."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from panier.core import schema as S
from panier.core.config import GeneratorParams, PlantedRule
from panier.stages.ingest.generate import generate_line_items
from support.repos import ROOT

LAYOUT = {
    S.INVOICE: "InvoiceNo",
    S.ITEM: "StockCode",
    S.DESCRIPTION: "Description",
    S.QUANTITY: "Quantity",
    S.TIMESTAMP: "InvoiceDate",
    S.PRICE: "UnitPrice",
    S.CUSTOMER: "CustomerID",
    S.COUNTRY: "Country",
}
HEADER = list(LAYOUT.values())  # the export's columns, in file order

# Reason code -> rows of that kind planted in every export.
PLANTED = {
    "cancelled_invoice": 12,
    "return": 5,
    "non_product": 13,
    "non_positive_price": 7,
    "duplicate_row": 9,
    "missing_item_code": 1,
}
GUEST_INVOICES = 40
MISSING_DESCRIPTIONS = 15


def _us_time(t: pd.Timestamp) -> str:
    return f"{t.month}/{t.day}/{t.year} {t.hour}:{t.minute:02d}"  # as in 12/1/2010 8:26


def retail_export_frame(seed: int = 1, n_invoices: int = 1500) -> pd.DataFrame:
    """The export as text columns, in invoice-time order; ``PLANTED`` says what is dirty."""
    rng = np.random.default_rng(seed)
    lines = generate_line_items(
        GeneratorParams(
            seed=seed,
            n_invoices=n_invoices,
            n_items=120,
            n_customers=300,
            start_date="2024-01-01",
            days=180,
            mean_basket_size=4.0,
            guest_share=0.0,
            description_missing_share=0.0,
            dirty_share=0.0,
            planted_rules=[
                PlantedRule(
                    antecedent=["10010"], consequent="10020", confidence=0.8, antecedent_share=0.08
                ),
                PlantedRule(
                    antecedent=["10030"], consequent="10040", confidence=0.7, antecedent_share=0.06
                ),
            ],
        )
    )
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
    dirty = pd.concat([lines, cancelled, returns, fees, free, copies, no_code], ignore_index=True)
    dirty = dirty.sort_values(S.TIMESTAMP, kind="stable", ignore_index=True)

    export = pd.DataFrame(
        {
            "InvoiceNo": dirty[S.INVOICE],
            "StockCode": dirty[S.ITEM],
            "Description": dirty[S.DESCRIPTION],
            "Quantity": dirty[S.QUANTITY].astype(str),
            "InvoiceDate": dirty[S.TIMESTAMP].map(_us_time),
            "UnitPrice": dirty[S.PRICE].map(lambda p: f"{p:g}"),
            # Exported through a float column, as many shop exports are: 17850.0
            "CustomerID": dirty[S.CUSTOMER].map(
                lambda c: None if c is None or pd.isna(c) else f"{c}.0"
            ),
            "Country": dirty[S.COUNTRY],
        }
    )
    export = export.astype("str")
    # What validation must keep and count: the guest checkouts' rows that are not dirt.
    export.attrs["clean_guest_rows"] = int(lines[S.CUSTOMER].isna().sum())
    export.attrs["clean_rows"] = len(lines)
    return export


def retail_export_csv(seed: int = 1, n_invoices: int = 1500) -> str:
    return retail_export_frame(seed, n_invoices).to_csv(index=False, lineterminator="\n")


# --- the shape of a real wholesale/retail export ----------------------------------------------

#: Shares of all rows, as measured on the public UCI Online Retail export (541,909 line items):
#: cancellations 1.7%, other zero or negative quantities 0.25%, zero prices 0.46%, postage,
#: fees and manual adjustments about 0.5%, exact duplicates 1%.
WHOLESALE_DIRT = {
    "cancelled_invoice": 0.017,
    "return": 0.0025,
    "non_positive_price": 0.0046,
    "non_product": 0.005,
    "duplicate_row": 0.0097,
}
#: Share of invoices with more than 100 distinct items (3.0% in the export, holding 27% of
#: the rows); 77% of those rows are guest checkouts.
BIG_INVOICE_SHARE = 0.03
BIG_INVOICE_GUEST_SHARE = 0.77
NON_PRODUCT_CODES = ["POST"] * 45 + ["DOT"] * 25 + ["M"] * 20 + ["C2"] * 6 + ["BANK CHARGES"] * 4


def wholesale_export_frame(seed: int = 3, n_invoices: int = 3000) -> pd.DataFrame:
    """An export with the shape of a real UK online retailer's (columns and date style as
    ``retail_export_frame``): a long tail of wholesale invoices with 100 to 1,100 distinct
    items carrying about a quarter of the rows, most of them guest checkouts; cancellations,
    returns, zero prices, postage and manual adjustments, exact duplicates, codes whose
    description varies, and two absurd quantities. Dirt is planted as extra rows, so the
    expected outcome is exact: ``attrs`` holds the rows per reason (``planted``), the clean
    rows, the big invoices and their rows."""
    rng = np.random.default_rng(seed)
    n_big = round(n_invoices * BIG_INVOICE_SHARE)
    lines = generate_line_items(
        GeneratorParams(
            seed=seed,
            n_invoices=n_invoices - n_big,
            n_items=1500,
            n_customers=900,
            start_date="2010-12-01",
            days=373,
            mean_basket_size=20.0,
            popularity_skew=0.8,
            guest_share=0.0,
            description_missing_share=0.0,
            dirty_share=0.0,
            countries={
                "United Kingdom": 0.9,
                "Germany": 0.03,
                "France": 0.03,
                "EIRE": 0.02,
                "Netherlands": 0.02,
            },
            planted_rules=[
                PlantedRule(
                    antecedent=["10010"], consequent="10020", confidence=0.8, antecedent_share=0.08
                ),
                PlantedRule(
                    antecedent=["10030"], consequent="10040", confidence=0.7, antecedent_share=0.06
                ),
            ],
        )
    )
    # A few retail guests (in the export 18% of guest rows are outside the big invoices).
    retail_invoices = lines[S.INVOICE].unique()
    guests = rng.choice(retail_invoices, round(len(retail_invoices) * 0.065), replace=False)
    lines.loc[lines[S.INVOICE].isin(guests), S.CUSTOMER] = None

    # Wholesale invoices: sizes from a heavy tail above 100, items by popularity.
    by_item = lines.groupby(S.ITEM).agg(
        n=(S.ITEM, "size"), price=(S.PRICE, "median"), description=(S.DESCRIPTION, "first")
    )
    weights = by_item["n"].to_numpy() / by_item["n"].sum()
    sizes = np.minimum(1110, (100 * (1 + rng.pareto(2.0, n_big))).astype(int) + 1)
    start = pd.Timestamp("2010-12-01 08:00")
    customers = lines[S.CUSTOMER].dropna().unique()
    big_rows = []
    for number, size in enumerate(sizes):
        codes = rng.choice(by_item.index.to_numpy(), size, replace=False, p=weights)
        when = start + pd.Timedelta(
            days=int(rng.integers(0, 373)), minutes=int(rng.integers(0, 600))
        )
        guest = rng.random() < BIG_INVOICE_GUEST_SHARE
        big_rows.append(
            pd.DataFrame(
                {
                    S.INVOICE: str(700_000 + number),
                    S.ITEM: codes,
                    S.DESCRIPTION: by_item.loc[codes, "description"].to_numpy(),
                    S.QUANTITY: rng.choice([1, 2, 3, 4, 6, 10, 12, 24, 48], size),
                    S.TIMESTAMP: when,
                    S.PRICE: by_item.loc[codes, "price"].to_numpy(),
                    S.CUSTOMER: None if guest else str(rng.choice(customers)),
                    S.COUNTRY: "United Kingdom",
                }
            )
        )
    lines = pd.concat([lines, *big_rows], ignore_index=True)
    big_invoices = {str(700_000 + number) for number in range(n_big)}

    # One code in six has a second description on some of its rows, as in the export.
    codes = lines[S.ITEM].unique()
    varied = rng.choice(codes, len(codes) // 6, replace=False)
    vary = lines[S.ITEM].isin(varied).to_numpy() & (rng.random(len(lines)) < 0.2)
    lines.loc[vary, S.DESCRIPTION] = lines.loc[vary, S.DESCRIPTION].str.lower() + " "
    # Products with odd codes that are real sales all the same (gift vouchers, kits).
    odd = lines.iloc[rng.choice(len(lines), 8, replace=False)].copy()
    odd[S.ITEM] = [
        "DCGSSGIRL",
        "DCGSSBOY",
        "gift_0001_20",
        "DCGSSGIRL",
        "gift_0001_10",
        "DCGSSBOY",
        "DCGSSGIRL",
        "gift_0001_20",
    ]
    odd[S.INVOICE] = [str(800_000 + i) for i in range(len(odd))]
    clean = pd.concat([lines, odd], ignore_index=True)

    n_rows = len(clean) / (1 - sum(WHOLESALE_DIRT.values()))
    planted = {code: round(share * n_rows) for code, share in WHOLESALE_DIRT.items()}
    planted["quantity_too_large"] = 2

    def pick(n: int) -> pd.DataFrame:
        return clean.iloc[rng.choice(len(clean), n, replace=False)].copy()

    cancelled = pick(planted["cancelled_invoice"])
    cancelled[S.INVOICE] = "C" + cancelled[S.INVOICE]
    cancelled[S.QUANTITY] = -cancelled[S.QUANTITY]
    returns = pick(planted["return"])  # adjustments: "damaged", "?", no customer, no price
    returns[S.QUANTITY] = -rng.integers(0, 50, len(returns))
    returns[S.INVOICE] = [str(900_000 + i) for i in range(len(returns))]
    returns[S.DESCRIPTION] = rng.choice(["damaged", "?", "check", None], len(returns))
    returns[S.CUSTOMER] = None
    returns[S.PRICE] = 0.0
    free = pick(planted["non_positive_price"])
    free[S.PRICE] = 0.0
    free[S.CUSTOMER] = None
    free.loc[free.index[: len(free) // 2], S.DESCRIPTION] = None
    fees = pick(planted["non_product"])
    fees[S.ITEM] = rng.choice(NON_PRODUCT_CODES, len(fees))
    fees[S.DESCRIPTION] = fees[S.ITEM].map(
        {
            "POST": "POSTAGE",
            "DOT": "DOTCOM POSTAGE",
            "M": "Manual",
            "C2": "CARRIAGE",
            "BANK CHARGES": "Bank Charges",
        }
    )
    fees[S.QUANTITY] = 1
    huge = pick(planted["quantity_too_large"])
    huge[S.QUANTITY] = [80995, 74215]
    copies = pick(planted["duplicate_row"])
    dirty = pd.concat([clean, cancelled, returns, free, fees, huge, copies], ignore_index=True)
    dirty = dirty.sort_values(S.TIMESTAMP, kind="stable", ignore_index=True)

    export = _as_export(dirty)
    sizes = clean.groupby(S.INVOICE)[S.ITEM].nunique()  # a few retail invoices pass 100 too
    in_big = clean[S.INVOICE].isin(big_invoices | set(sizes.index[sizes > 100]))
    export.attrs.update(
        planted=planted,
        clean_rows=len(clean),
        big_invoices=int((sizes > 100).sum()),
        big_invoice_rows=int(in_big.sum()),
        clean_guest_rows=int(clean[S.CUSTOMER].isna().sum()),
        big_invoice_guest_rows=int((in_big & clean[S.CUSTOMER].isna()).sum()),
    )
    return export


def _as_export(dirty: pd.DataFrame) -> pd.DataFrame:
    """Canonical line items written as the export writes them: text, US dates, float ids."""
    return pd.DataFrame(
        {
            "InvoiceNo": dirty[S.INVOICE],
            "StockCode": dirty[S.ITEM],
            "Description": dirty[S.DESCRIPTION],
            "Quantity": dirty[S.QUANTITY].astype(str),
            "InvoiceDate": dirty[S.TIMESTAMP].map(_us_time),
            "UnitPrice": dirty[S.PRICE].map(lambda p: f"{p:g}"),
            "CustomerID": dirty[S.CUSTOMER].map(
                lambda c: None if c is None or pd.isna(c) else f"{c}.0"
            ),
            "Country": dirty[S.COUNTRY],
        }
    ).astype("str")


# --- the own-data guide's recipe for this layout ----------------------------------------


def readme_recipe() -> dict:
    """The params of "Bringing your own data", step 2, exactly as its guide shows them."""
    readme = (ROOT / "docs" / "how-to" / "own-data.md").read_text()
    after = readme.split("For the common retail export layout", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", after, re.DOTALL).group(1)
    return yaml.safe_load(block)


def write_export(path: Path, export: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        gzip.compress(export.to_csv(index=False, lineterminator="\n").encode(), mtime=0)
    )

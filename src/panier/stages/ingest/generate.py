"""A seeded generator of retail line items: the pipeline's embedded default source.

It imitates an online retailer's invoice export: Zipf-skewed item popularity, long-tailed
basket sizes, repeat customers in several countries, guest checkouts, a year of invoices,
and a little real-world dirt (cancellations, postage lines, zero prices, duplicates).
It plants known association rules, so that mining can be checked against the truth, and,
when asked, drift in its last days, so that the drift check can be checked too.

All randomness flows from ``GeneratorParams.seed``: equal params give equal frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from panier.core import schema as S
from panier.core.config import GeneratorParams, PlantedRule
from panier.core.errors import ConfigError

_ADJECTIVES = [
    "VINTAGE",
    "WHITE",
    "RED",
    "PINK",
    "BLUE",
    "GREEN",
    "JUMBO",
    "SET OF 3",
    "REGENCY",
    "HEART",
    "STRIPED",
    "POLKA DOT",
    "RETRO",
    "WOODEN",
    "GLASS",
    "ENAMEL",
    "PAPER",
    "LARGE",
    "SMALL",
    "HANGING",
]
_NOUNS = [
    "T-LIGHT HOLDER",
    "LUNCH BAG",
    "TEACUP",
    "CAKE STAND",
    "BUNTING",
    "LANTERN",
    "DOORMAT",
    "NAPKINS",
    "CHALKBOARD",
    "ALARM CLOCK",
    "WATER BOTTLE",
    "SHOPPER",
    "PHOTO FRAME",
    "CANDLE",
    "COAT HANGER",
    "STORAGE TIN",
    "PARTY BAG",
    "SIGN",
    "MUG",
    "TRINKET BOX",
]
ITEM_CODE_BASE = 10_000
CUSTOMER_ID_BASE = 12_000
INVOICE_BASE = 500_000


@dataclass(frozen=True)
class Catalog:
    """Items in popularity order: index 0 is the most popular."""

    codes: np.ndarray
    descriptions: np.ndarray
    base_prices: np.ndarray
    weights: np.ndarray  # sampling probability of each item, sums to 1

    def index_of(self, code: str) -> int:
        hits = np.flatnonzero(self.codes == code)
        if hits.size == 0:
            raise ConfigError(
                f"planted rule item {code!r} is not in the generated catalog: codes run from "
                f"{self.codes[0]} to {self.codes[-1]} (ingest.generator.n_items)"
            )
        return int(hits[0])


def item_code(rank: int) -> str:
    """The code of the item with the given popularity rank (1 = most popular)."""
    return str(ITEM_CODE_BASE + rank)


def make_catalog(params: GeneratorParams, rng: np.random.Generator) -> Catalog:
    n = params.n_items
    codes = np.array([item_code(rank) for rank in range(1, n + 1)], dtype=object)
    combos = [f"{adj} {noun}" for noun in _NOUNS for adj in _ADJECTIVES]
    order = rng.permutation(len(combos))
    descriptions = np.array(
        [
            combos[order[i % len(combos)]] + ("" if i < len(combos) else f" {i // len(combos)}")
            for i in range(n)
        ],
        dtype=object,
    )
    base_prices = np.round(rng.lognormal(mean=np.log(2.5), sigma=0.8, size=n), 2).clip(0.1)
    weights = 1.0 / np.arange(1, n + 1) ** params.popularity_skew
    return Catalog(codes, descriptions, base_prices, weights / weights.sum())


def _basket_sizes(rng: np.random.Generator, n: int, mean: float) -> np.ndarray:
    # 1 + negative binomial: every basket holds an item, and a few hold very many.
    extra = max(mean - 1.0, 1e-9)
    r = 1.5
    return 1 + rng.negative_binomial(r, r / (r + extra), size=n)


def _dedupe_lines(inv: np.ndarray, item: np.ndarray, n_items: int) -> tuple[np.ndarray, ...]:
    """Keep the first line of each (invoice, item) pair, ordered by invoice."""
    key = inv.astype(np.int64) * n_items + item
    _, first = np.unique(key, return_index=True)
    first.sort()
    order = first[np.argsort(inv[first], kind="stable")]
    return inv[order], item[order]


def _has_all(inv: np.ndarray, item: np.ndarray, wanted: list[int], n_inv: int) -> np.ndarray:
    result = np.ones(n_inv, dtype=bool)
    for code in wanted:
        has = np.zeros(n_inv, dtype=bool)
        has[inv[item == code]] = True
        result &= has
    return result


def _plant_rule(
    rng: np.random.Generator,
    inv: np.ndarray,
    item: np.ndarray,
    rule: PlantedRule,
    catalog: Catalog,
    confidence: np.ndarray,
    n_inv: int,
) -> tuple[np.ndarray, np.ndarray]:
    antecedent = [catalog.index_of(code) for code in rule.antecedent]
    consequent = catalog.index_of(rule.consequent)
    chosen = np.flatnonzero(rng.random(n_inv) < rule.antecedent_share)
    inv = np.concatenate([inv, *[chosen for _ in antecedent]])
    item = np.concatenate([item, *[np.full(chosen.size, a) for a in antecedent]])
    holders = _has_all(inv, item, antecedent, n_inv)
    wants = holders & (rng.random(n_inv) < confidence)
    # Baskets holding the antecedent get the consequent exactly when drawn to.
    keep = ~((item == consequent) & holders[inv] & ~wants[inv])
    added = np.flatnonzero(wants)
    inv = np.concatenate([inv[keep], added])
    item = np.concatenate([item[keep], np.full(added.size, consequent)])
    return inv, item


def _add_dirt(frame: pd.DataFrame, share: float, rng: np.random.Generator) -> pd.DataFrame:
    """Append real-world dirt: the kinds of rows validation must catch and count."""
    n_dirty = round(len(frame) * share)
    if n_dirty == 0:
        return frame
    kinds = rng.integers(0, 5, size=n_dirty)
    source = frame.iloc[rng.integers(0, len(frame), size=n_dirty)].reset_index(drop=True)
    dirt = source.copy()
    cancel = kinds == 0
    dirt.loc[cancel, S.INVOICE] = "C" + dirt.loc[cancel, S.INVOICE]
    dirt.loc[cancel, S.QUANTITY] = -dirt.loc[cancel, S.QUANTITY]
    dirt.loc[cancel, S.TIMESTAMP] = dirt.loc[cancel, S.TIMESTAMP] + pd.Timedelta(hours=2)
    postage = kinds == 1
    dirt.loc[postage, S.ITEM] = "POST"
    dirt.loc[postage, S.DESCRIPTION] = "POSTAGE"
    dirt.loc[postage, S.QUANTITY] = 1
    dirt.loc[postage, S.PRICE] = 18.0
    dirt.loc[kinds == 2, S.PRICE] = 0.0
    dirt.loc[kinds == 3, S.ITEM] = None
    # kinds == 4: an exact duplicate of an existing row.
    return pd.concat([frame, dirt], ignore_index=True)


def generate_line_items(params: GeneratorParams) -> pd.DataFrame:
    """Generate the canonical line-item table described by ``params``.

    Returns one row per product on an invoice with the columns of ``panier.core.schema``,
    sorted by timestamp and invoice.
    """
    rng = np.random.default_rng(params.seed)
    catalog = make_catalog(params, rng)
    drift = params.drift
    n_inv = params.n_invoices

    # Invoices: a time during opening hours on a uniformly drawn day.
    day = np.sort(rng.integers(0, params.days, size=n_inv))
    seconds = rng.integers(8 * 3600, 20 * 3600, size=n_inv)
    start = np.datetime64(params.start_date.isoformat(), "s")
    when = start + (day * 86400 + seconds).astype("timedelta64[s]")
    order = np.argsort(when, kind="stable")
    when = when[order]
    day = day[order]
    in_window = day >= params.days - drift.window_days

    # Customers: a few come back often, most rarely; each lives in one country.
    country_names = np.array(list(params.countries), dtype=object)
    country_p = np.array(list(params.countries.values()))
    country_p = country_p / country_p.sum()
    customer_country = rng.choice(len(country_names), size=params.n_customers, p=country_p)
    activity = rng.lognormal(0.0, 1.2, size=params.n_customers)
    customer = rng.choice(params.n_customers, size=n_inv, p=activity / activity.sum())
    guest = rng.random(n_inv) < params.guest_share
    country = country_names[customer_country[customer]]
    country[guest] = country_names[
        rng.choice(len(country_names), size=int(guest.sum()), p=country_p)
    ]
    new_country = in_window & (rng.random(n_inv) < drift.new_country_share)
    country[new_country] = drift.new_country

    # Lines: basket sizes, then items drawn by popularity (the window may boost one item).
    sizes = _basket_sizes(rng, n_inv, params.mean_basket_size)
    if drift.basket_size_shift > 0:
        sizes[in_window] = _basket_sizes(
            rng, int(in_window.sum()), params.mean_basket_size + drift.basket_size_shift
        )
    inv = np.repeat(np.arange(n_inv), sizes)
    item = rng.choice(params.n_items, size=inv.size, p=catalog.weights)
    if drift.boosted_item_rank is not None and drift.boost_factor != 1.0:
        boosted = catalog.weights.copy()
        boosted[drift.boosted_item_rank - 1] *= drift.boost_factor
        window_lines = in_window[inv]
        item[window_lines] = rng.choice(
            params.n_items, size=int(window_lines.sum()), p=boosted / boosted.sum()
        )
    for index, rule in enumerate(params.planted_rules):
        confidence = np.full(n_inv, rule.confidence)
        if drift.weakened_rule == index:
            confidence[in_window] = drift.weakened_confidence
        inv, item = _plant_rule(rng, inv, item, rule, catalog, confidence, n_inv)
    inv, item = _dedupe_lines(inv, item, params.n_items)

    # Line values.
    n_lines = inv.size
    quantity = rng.geometric(0.55, size=n_lines)
    bulk = rng.random(n_lines) < 0.03
    quantity[bulk] *= 12
    price = catalog.base_prices[item] * np.where(rng.random(n_lines) < 0.1, 0.85, 1.0)
    price = np.where(in_window[inv], price * (1.0 + drift.price_shift), price)

    customer_ids = (CUSTOMER_ID_BASE + customer).astype(str).astype(object)
    customer_ids[guest] = None
    frame = pd.DataFrame(
        {
            S.INVOICE: (INVOICE_BASE + inv).astype(str),
            S.TIMESTAMP: when[inv].astype("datetime64[ns]"),
            S.CUSTOMER: customer_ids[inv],
            S.COUNTRY: country[inv],
            S.ITEM: catalog.codes[item],
            S.DESCRIPTION: catalog.descriptions[item],
            S.QUANTITY: quantity.astype(np.int64),
            S.PRICE: np.round(price, 2),
        }
    )
    missing = rng.random(n_lines) < params.description_missing_share
    frame.loc[missing, S.DESCRIPTION] = None
    if drift.missing_share > 0:
        gone = in_window[inv] & (rng.random(n_lines) < drift.missing_share)
        frame.loc[gone, drift.missing_column] = None

    frame = _add_dirt(frame, params.dirty_share, rng)
    frame = frame.sort_values([S.TIMESTAMP, S.INVOICE], kind="stable", ignore_index=True)
    return frame.astype({c: S.DTYPES[c] for c in S.COLUMNS})[S.COLUMNS]

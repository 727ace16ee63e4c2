"""Column mapping: which column of a source feeds each canonical column.

Users name their columns in ``params.yaml`` (``ingest.mapping``): a shipped preset, and
per-column overrides. A mapped column that the source lacks is reported with the source's
closest column name and the exact ``params.yaml`` lines that would map it.
"""

from __future__ import annotations

import difflib
import re
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pyarrow as pa

from panier.core import schema as S
from panier.core.config import IngestParams
from panier.core.errors import ConfigError, DataError

# Canonical column -> source column; None: the source has no such column.
PRESETS: dict[str, dict[str, str | None]] = {
    "canonical": {column: column for column in S.COLUMNS},
    # The common retail export layout (the "Online Retail" data set and most shop systems).
    "retail_export": {
        S.INVOICE: "InvoiceNo",
        S.TIMESTAMP: "InvoiceDate",
        S.CUSTOMER: "CustomerID",
        S.COUNTRY: "Country",
        S.ITEM: "StockCode",
        S.DESCRIPTION: "Description",
        S.QUANTITY: "Quantity",
        S.PRICE: "UnitPrice",
    },
    # Its later revision ("Online Retail II"): three columns renamed.
    "retail_export_ii": {
        S.INVOICE: "Invoice",
        S.TIMESTAMP: "InvoiceDate",
        S.CUSTOMER: "Customer ID",
        S.COUNTRY: "Country",
        S.ITEM: "StockCode",
        S.DESCRIPTION: "Description",
        S.QUANTITY: "Quantity",
        S.PRICE: "Price",
    },
    # Basket lists and FIMI files, as read by ingest: one synthetic invoice per line,
    # quantity 1, no prices or customers. A basket list's item is a name: also the description.
    "basket_list": {
        S.INVOICE: "basket",
        S.TIMESTAMP: "timestamp",
        S.CUSTOMER: None,
        S.COUNTRY: None,
        S.ITEM: "item",
        S.DESCRIPTION: "item",
        S.QUANTITY: "quantity",
        S.PRICE: None,
    },
    "fimi": {
        S.INVOICE: "basket",
        S.TIMESTAMP: "timestamp",
        S.CUSTOMER: None,
        S.COUNTRY: None,
        S.ITEM: "item",
        S.DESCRIPTION: None,
        S.QUANTITY: "quantity",
        S.PRICE: None,
    },
}

# Columns a source may lack. Baskets need invoices, times, items and quantities; prices feed
# only drift-check's price features, and basket lists have none.
MAY_BE_ABSENT: tuple[str, ...] = (*S.OPTIONAL, S.PRICE)


_SUFFIX_FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".dat": "fimi",
}


def format_of(name: str, configured: str = "auto") -> str | None:
    """The format to parse ``name`` with: the configured one, else by its file name
    (compression suffixes ignored); None when the name does not tell."""
    if configured != "auto":
        return configured
    suffixes = [s.lower() for s in PurePosixPath(urlsplit(name).path).suffixes]
    suffixes = [s for s in suffixes if s not in (".gz", ".bz2", ".xz")]
    return _SUFFIX_FORMATS.get(suffixes[-1]) if suffixes else None


def preset_name(params: IngestParams) -> str:
    """The preset in force: ``auto`` follows the format (basket lists and FIMI files have
    their own), else canonical."""
    if params.mapping.preset != "auto":
        return params.mapping.preset
    fmt = None if params.source in ("generator", "sql") else format_of(params.path, params.format)
    return fmt if fmt in ("basket_list", "fimi") else "canonical"


def resolve_mapping(params: IngestParams) -> dict[str, str | None]:
    """The mapping in force (canonical column -> source column or None), preset plus
    overrides; the generator always yields canonical columns."""
    if params.source == "generator":
        return dict(PRESETS["canonical"])
    mapping = dict(PRESETS[preset_name(params)])
    mapping.update(params.mapping.columns)
    absent_required = [
        c for c, source in mapping.items() if source is None and c not in MAY_BE_ABSENT
    ]
    if absent_required:
        raise ConfigError(
            f"ingest.mapping leaves required column(s) {absent_required} unmapped: map each to "
            "a column of the source in params.yaml (ingest.mapping.columns)"
        )
    return mapping


def not_provided(params: IngestParams) -> list[str]:
    """Canonical columns the source does not have (mapped to null)."""
    return [c for c, source in resolve_mapping(params).items() if source is None]


def _normalized(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def likely_rename(wanted: str, candidates: list[str]) -> str | None:
    """The candidate column most probably meant by ``wanted`` (case, spaces and
    underscores ignored), or None."""
    by_key = {_normalized(c): c for c in candidates}
    if _normalized(wanted) in by_key:
        return by_key[_normalized(wanted)]
    close = difflib.get_close_matches(_normalized(wanted), list(by_key), n=1, cutoff=0.6)
    return by_key[close[0]] if close else None


def params_fix(column: str, source_column: str) -> str:
    """The ``params.yaml`` lines that map ``column`` to ``source_column``."""
    return (
        f"  ingest:\n    mapping:\n      columns:\n        {column}: {_yaml_scalar(source_column)}"
    )


def _yaml_scalar(value: str) -> str:
    return value if re.fullmatch(r"[A-Za-z_][\w .-]*[\w.]|[A-Za-z_]", value) else repr(value)


def suggest_preset(present: list[str]) -> str | None:
    """A shipped preset whose every source column is present, if any."""
    for name, mapping in PRESETS.items():
        wanted = {source for source in mapping.values() if source is not None}
        if wanted <= set(present):
            return name
    return None


def apply_mapping(
    frame: pd.DataFrame, mapping: dict[str, str | None], location: str
) -> pd.DataFrame:
    """Rename the source's columns to canonical ones.

    Returns the canonical columns in canonical order (a column the source does not have is
    all missing), then every unmapped source column unchanged, so validation can report it.
    Raises ``DataError`` naming each mapped column the source lacks, with the likely rename
    and the ``params.yaml`` lines that fix it.
    """
    present = [str(c) for c in frame.columns]
    frame = frame.set_axis(present, axis=1)
    missing = [
        (c, source) for c, source in mapping.items() if source is not None and source not in present
    ]
    if missing:
        used = {source for source in mapping.values() if source in present}
        spare = [c for c in present if c not in used]
        lines = []
        preset = suggest_preset(present)
        if preset:
            lines.append(
                f"  the columns match the shipped mapping {preset!r}: set "
                f"ingest.mapping.preset: {preset} in params.yaml"
            )
        for column, source in missing:
            guess = likely_rename(source, spare) or likely_rename(column, spare)
            if guess:
                lines.append(
                    f"  {source!r} (mapped to {column}) is missing; found {guess!r}: "
                    "a renamed column? Map it in params.yaml:\n" + params_fix(column, guess)
                )
            else:
                lines.append(
                    f"  {source!r} (mapped to {column}) is missing; map {column} to one "
                    "of the source's columns in params.yaml (ingest.mapping.columns."
                    f"{column})"
                    + (", or to null if the source has none" if column in MAY_BE_ABSENT else "")
                )
        raise DataError(
            f"{location}: {len(missing)} mapped column(s) not found:\n"
            + "\n".join(lines)
            + f"\nColumns present: {', '.join(present) or '(none)'}. "
            "The shipped mappings are listed in README.md (Bringing your own data)."
        )
    _refuse_nested(frame, mapping, location)
    out = {}
    for column in S.COLUMNS:
        mapped = mapping.get(column)
        out[column] = (
            frame[mapped]
            if mapped is not None
            else pd.Series(pd.NA, index=frame.index, dtype="str")
        )
    used = {source for source in mapping.values() if source is not None}
    for name in (*S.PROVENANCE, S.MALFORMED):  # where each row comes from, kept as it is
        if name in present and name not in used:
            out[name] = frame[name]
            used.add(name)
    for name in present:
        if name not in used:
            # An unmapped column that happens to carry a canonical name must not shadow it.
            out[name if name not in out else f"{name} (unmapped)"] = frame[name]
    return pd.DataFrame(out, index=frame.index)


def _nested_kind(values: pd.Series) -> str | None:
    """``list``, ``struct`` or ``map`` when a column holds nested values (a Parquet list or
    struct column), else None."""
    if values.dtype != object:
        kind = getattr(values.dtype, "pyarrow_dtype", None)
        if kind is not None and pa.types.is_nested(kind):
            return str(kind).split("<")[0]
        return None
    present = values.dropna()
    if present.empty:
        return None
    first = present.iloc[0]
    if isinstance(first, dict):
        return "struct"
    if isinstance(first, list | tuple | np.ndarray):
        return "list"
    return None


def _refuse_nested(frame: pd.DataFrame, mapping: dict[str, str | None], location: str) -> None:
    """Raise ``DataError`` when a mapped column holds nested values: a list such as
    ``['85123A']`` is not an item code, and stringifying it would pass validation."""
    for column, source in mapping.items():
        if source is None or source not in frame.columns:
            continue
        kind = _nested_kind(frame[source])
        if kind:
            example = frame[source].dropna().iloc[0]
            raise DataError(
                f"{location}: column {source!r} (mapped to {column}) holds {kind} values, "
                f"e.g. {str(example)[:60]}, not single values. Flatten it in the export (one "
                f"line item per row, one {column} per line), or map {column} to another "
                f"column in params.yaml (ingest.mapping.columns.{column})"
            )

"""Bytes to text in the configured ``ingest.encoding``: byte-order marks honoured (and checked
against the setting), UTF-16 read as a one-byte encoding and the reverse caught, and
invalid bytes reported with the line they are on."""

from __future__ import annotations

import codecs

from panier.core.errors import ConfigError, DataError

_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]


def _family(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ConfigError(
            f"ingest.encoding: unknown encoding {encoding!r}; use e.g. utf-8, "
            "latin-1, cp1252 or utf-16"
        ) from None


def decode(name: str, data: bytes, encoding: str) -> str:
    """``data`` as text in ``encoding``, its byte-order mark removed.

    Raises ``DataError`` naming the file, the line where decoding fails and the setting to
    change: a byte-order mark that contradicts ``ingest.encoding``, UTF-16 text read as a
    one-byte encoding (zero bytes) or UTF-8 text read as UTF-16, and invalid bytes.
    """
    family = _family(encoding)
    for bom, bom_family in _BOMS:
        if data.startswith(bom):
            if not family.startswith(bom_family):
                raise DataError(
                    f"{name} starts with a {bom_family.upper()} byte-order mark but "
                    f"ingest.encoding is {encoding!r}: set ingest.encoding: "
                    f"{bom_family} in params.yaml"
                )
            encoding = "utf-8-sig" if bom_family == "utf-8" else bom_family
            break
    else:
        head = data[:65536]
        wide = family.startswith(("utf-16", "utf-32"))
        if wide and head and b"\x00" not in head:
            raise DataError(
                f"{name} has no zero bytes and no byte-order mark, so it is not "
                f"{encoding} text (probably utf-8): set ingest.encoding: utf-8 (or "
                "the file's one-byte encoding, e.g. latin-1) in params.yaml"
            )
        if not wide and head.count(b"\x00") > len(head) // 8:
            raise DataError(
                f"{name} is full of zero bytes: UTF-16 text without a byte-order "
                "mark? Set ingest.encoding: utf-16-le (or utf-16-be) in params.yaml"
            )
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{name} is not valid {encoding} text (line {line}, byte "
            f"{data[exc.start : exc.start + 1]!r}): set ingest.encoding to the "
            "file's encoding in params.yaml (often latin-1 or cp1252 for older "
            "exports)"
        ) from None

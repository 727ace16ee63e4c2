"""Write docs/reference/service-settings.md from the service's settings model
(service/src/panier_service/settings.py).

Each setting's flag, environment variable, default and description are read from the
model, so the page cannot drift from the code (tests/integration/test_docs_site.py fails
when the committed page differs from a fresh build). Usage:
``python scripts/service_settings_reference.py [--check]``.
"""

from __future__ import annotations

import sys

from _generated import ROOT, write_or_check

from panier.core.markdown import table
from panier_service.settings import Settings, env_name, is_flag

TARGET = ROOT / "docs" / "reference" / "service-settings.md"

INTRO = """# Service settings

`panier-serve` (the recommendation service, `service/`) takes every setting from, in order
of precedence:

1. its command-line flag (`--max-items 50`),
2. its environment variable (`PANIER_SERVICE_MAX_ITEMS=50`),
3. the default below.

Environment variables suit a container (`service/Dockerfile` sets some); a flag given on
the command line wins over them. A bad value stops the start with a usage error naming the
setting. This page is generated from `service/src/panier_service/settings.py` by
`python scripts/service_settings_reference.py`; edit the descriptions there, not here.
"""


def _default(name: str) -> str:
    field = Settings.model_fields[name]
    if field.default_factory is not None:
        return "(see meaning)"
    if field.default is None:
        return ""
    if isinstance(field.default, bool):  # as the environment variable is written
        return f"`{str(field.default).lower()}`"
    return f"`{field.default}`"


def build() -> str:
    """The page's Markdown: one table per group of flags, then the environment-only ones."""
    groups: dict[str, list[tuple[str, ...]]] = {}
    env_only = []
    for name, field in Settings.model_fields.items():
        description = " ".join((field.description or "").split())
        if is_flag(name):
            group = (field.json_schema_extra or {}).get("group", "options")
            groups.setdefault(group, []).append(
                (
                    f"`--{name.replace('_', '-')}`",
                    f"`{env_name(name)}`",
                    _default(name),
                    description,
                )
            )
        else:
            env_only.append((f"`{env_name(name)}`", _default(name), description))
    parts = [INTRO]
    for group, rows in groups.items():
        parts += [
            f"## {group.capitalize()}\n",
            table(("flag", "environment variable", "default", "meaning"), rows),
            "",
        ]
    parts += [
        "## Environment only\n",
        "Not flags: a token on the command line would show in the process list.\n",
        table(("environment variable", "default", "meaning"), env_only),
        "",
    ]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    return write_or_check(TARGET, build, __doc__.split("\n\n")[0], argv)


if __name__ == "__main__":
    sys.exit(main())

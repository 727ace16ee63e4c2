"""The layout's rule: a module holds one concern, so none grows past 400 lines (split it by
concern instead, as the stage folders are)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 400


def test_no_module_of_the_pipeline_or_the_service_is_over_400_lines():
    modules = [*ROOT.joinpath("src").rglob("*.py"), *ROOT.joinpath("service", "src").rglob("*.py")]
    too_long = {
        str(path.relative_to(ROOT)): lines
        for path in modules
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert len(modules) > 50
    assert too_long == {}

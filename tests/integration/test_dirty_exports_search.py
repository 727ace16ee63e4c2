"""The properties of tests/unit/test_dirty_exports.py searched at length: 500 generated dirty
exports (350 of every kind, 150 with broken records; derandomised under the default ``ci``
profile, so every run tries the same ones). Minutes, not seconds: hence this tier."""

from __future__ import annotations

import os

from hypothesis import given, settings

from support.dirty_exports import PROFILE, Export, check, exports


@settings(settings.get_profile(PROFILE), max_examples=int(os.environ.get("DIRTY_EXAMPLES", 350)))
@given(exports())
def test_dirty_exports_are_accounted_for_exactly_and_never_changed(export: Export):
    check(export)


@settings(settings.get_profile(PROFILE), max_examples=150)
@given(exports().filter(lambda e: any(r.malformed for r in e.records)))
def test_broken_records_cost_only_themselves(export: Export):
    check(export)

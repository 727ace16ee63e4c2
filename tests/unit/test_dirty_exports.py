"""Property-based (hypothesis): generated dirty exports are read and validated with exact
accounting from the source, no value in the clean table that differs from what the source
says, one message (never a traceback) for what cannot be read (generator and check:
tests/support/dirty_exports.py).

A fixed sample of a few dozen examples, in seconds; tests/integration/test_dirty_exports_search.py
runs the same properties over 500."""

from __future__ import annotations

from hypothesis import given, settings

from support.dirty_exports import PROFILE, Export, check, exports


@settings(settings.get_profile(PROFILE), max_examples=25)
@given(exports())
def test_dirty_exports_are_accounted_for_exactly_and_never_changed(export: Export):
    check(export)


@settings(settings.get_profile(PROFILE), max_examples=10)
@given(exports().filter(lambda e: any(r.malformed for r in e.records)))
def test_broken_records_cost_only_themselves(export: Export):
    check(export)

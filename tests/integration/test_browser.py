"""The browser fixture itself: a page that works loads clean, a broken one is reported."""

from pathlib import Path


def test_a_self_contained_page_loads_without_errors(browser_page, tmp_path: Path):
    page_file = tmp_path / "ok.html"
    page_file.write_text(
        "<!doctype html><title>ok</title><svg width=10 height=10></svg>"
        "<script>document.title = 'ran';</script>"
    )
    page = browser_page.open(page_file)
    assert page.title() == "ran"
    assert page.locator("svg").count() == 1
    assert browser_page.errors == []


def test_script_errors_and_network_fetches_are_reported(browser_page, tmp_path: Path):
    page_file = tmp_path / "broken.html"
    page_file.write_text(
        "<!doctype html><title>broken</title>"
        "<script src='http://127.0.0.1:9/cdn.js'></script>"
        "<script>undefinedFunction();</script>"
    )
    browser_page.open(page_file)
    assert any("undefinedFunction" in error for error in browser_page.errors)
    assert any("127.0.0.1:9/cdn.js" in error for error in browser_page.errors)

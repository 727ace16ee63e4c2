"""Screenshot a local HTML page (for example the drift dashboard) in headless Chromium.

    python scripts/screenshot.py metrics/drift.html drift.png [--width 1280] [--height 900]
        [--first-screen]

Uses the system Chromium (Debian's ``chromium`` package, or ``PANIER_CHROMIUM``) through
Playwright, as the browser tests do; nothing is downloaded. Prints the page's console errors,
if any, and exits 1 when there were some.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.browser import CHROMIUM_ARGS, chromium_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("page", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument(
        "--first-screen",
        action="store_true",
        help="only the first width x height pixels, not the whole page",
    )
    args = parser.parse_args()
    executable = chromium_path()
    if executable is None:
        sys.exit("no Chromium found: apt-get install chromium (or set PANIER_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(args.page.resolve().as_uri(), wait_until="load")
        page.screenshot(path=str(args.png), full_page=not args.first_screen)
        browser.close()
    print(f"wrote {args.png}")
    for error in errors:
        print(f"console error: {error}", file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()

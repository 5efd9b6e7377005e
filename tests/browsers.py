"""A real browser for tests: Debian's Chromium driven by playwright (never a downloaded
browser), and axe-core to check each page state. `.ci/run` installs both; tests skip without
them unless EAS_REQUIRE_BROWSER=1."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
AXE = Path(os.environ.get("EAS_TEST_AXE", ROOT / ".tools/axe/node_modules/axe-core/axe.min.js"))
CHROMIUM = os.environ.get("EAS_TEST_CHROMIUM") or shutil.which("chromium")
_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def missing_requirement() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    if not CHROMIUM:
        return "Debian's chromium is not installed"
    if not AXE.exists():
        return f"axe-core is not at {AXE}"
    return None


def require_browser() -> None:
    missing = missing_requirement()
    if missing:
        if os.environ.get("EAS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests required but {missing}")
        pytest.skip(missing)


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def check_page(page, folder: Path, name: str) -> None:
    """Screenshot the state, and fail on serious or critical accessibility violations."""
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    # Evaluated over the DevTools protocol: the page's CSP (no inline script) stays in force.
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document)")
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], f"{name}: {serious}"


def expect_visible(locator) -> None:
    """Wait (up to playwright's timeout) until `locator` is visible: after a click the next page
    may still be loading, and `is_visible()` would not wait for it."""
    from playwright.sync_api import expect

    expect(locator).to_be_visible()

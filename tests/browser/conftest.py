"""Real-browser fixtures: the app served on loopback by a real WSGI server in a thread,
and Debian's chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
PHONE = {"width": 360, "height": 780}
TABLET = {"width": 820, "height": 1180}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            # One browser per process: keep browser tests on one xdist worker.
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A browser test that fails leaves what its pages showed: a screenshot in
    tests/browser/screenshots/ and, in the report (so a CI log has it too), each page's
    address and the text of its <main>."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    from playwright.sync_api import Page

    pages = [value for value in getattr(item, "funcargs", {}).values() if isinstance(value, Page)]
    for n, page in enumerate(pages):
        try:
            SCREENSHOTS.mkdir(exist_ok=True)
            path = SCREENSHOTS / f"{item.name}-failure-{n}.png"
            page.screenshot(path=str(path), full_page=True, timeout=5_000)
            main = page.evaluate("document.querySelector('main')?.innerText ?? '(no <main>)'")
            report.sections.append((f"page {n} when it failed", f"{page.url}\n{path}\n---\n{main[:3000]}"))
        except Exception as error:  # a closed or hung page: the failure itself is the report
            report.sections.append((f"page {n} when it failed", f"(could not be read: {error})"))


class _QuietHandler(WSGIRequestHandler):
    """No access-log line per request: the thread outlives pytest's captured streams, and
    writing to a closed one printed '--- Logging error ---' through the whole run."""

    def log_request(self, *args, **kwargs) -> None:
        pass


@pytest.fixture(scope="session")
def live_server(app):
    """The test app on http://127.0.0.1:<free port>, stopped at the end of the session."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["MULI_PUBLIC_URL"] = url
    yield url
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def _context(browser, viewport, **kwargs):
    context = browser.new_context(viewport=viewport, locale="nb-NO", timezone_id="Europe/Oslo", **kwargs)
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def phone(browser):
    """A phone-sized page (360 px wide), as the patient app is used."""
    context = _context(browser, PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def tablet(browser):
    """A tablet-sized page, as the on-call nurse uses the portal."""
    context = _context(browser, TABLET)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot(request):
    """screenshot(page, "name") saves to tests/browser/screenshots/ (git-ignored)."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take

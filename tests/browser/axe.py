"""axe-core in a Playwright page: run the WCAG 2.2 A/AA rules and best practice, and fail
with a list a person can act on (rule, impact, which elements, what to do).

No rule is switched off here; a page that needs an exception says so where it calls."""

from __future__ import annotations

from pathlib import Path

import pytest

AXE = Path(__file__).parents[1] / "node" / "node_modules" / "axe-core" / "axe.min.js"
# A phone and a desktop: every screen is checked at both.
WIDTHS = {"390": {"width": 390, "height": 844}, "1280": {"width": 1280, "height": 900}}
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

# The source goes in through the DevTools protocol (as page.evaluate does), not as a <script>
# tag: the app's and the portal's Content-Security-Policy rightly refuse inline scripts, and
# loosening the policy for the test would test another page than the one patients get.
_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary})),
  }));
}"""


def violations(page) -> list[dict]:
    """The axe violations of what the page shows now."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    return page.evaluate(_RUN, TAGS)


def describe(found: list[dict], where: str = "") -> str:
    lines = []
    for v in found:
        lines.append(f"{where}{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"]:
            summary = " / ".join(line.strip() for line in (node["summary"] or "").splitlines()[1:2])
            lines.append(f"    {node['target']}  {summary}")
    return "\n".join(lines)


def assert_accessible(page, where: str = "") -> None:
    """Fail with every violation axe finds on the page as it is now."""
    found = violations(page)
    assert not found, "axe found:\n" + describe(found, f"[{where}] " if where else "")


@pytest.fixture(params=list(WIDTHS), ids=lambda w: f"{w}px", name="page")
def page_at_each_width(request, browser):
    """A fresh page in Norwegian on Oslo time at each of WIDTHS (a phone is a touch device)."""
    size = WIDTHS[request.param]
    mobile = size["width"] < 800
    context = browser.new_context(
        viewport=size, locale="nb-NO", timezone_id="Europe/Oslo", is_mobile=mobile, has_touch=mobile
    )
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()

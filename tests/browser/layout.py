"""Layout checks a screenshot shows and axe does not: in the portal's tables every word stays
whole (a column squeezed until "Kontaktforespørsler" reads "Kontaktforespørsle / r"), and no
table runs past its container (the page hides what overflows sideways)."""

from __future__ import annotations

# Words are found with a DOM Range per word: a word drawn on two lines has two rows of boxes.
# Cells that are not drawn (a folded part, a visually hidden table head) are skipped.
_FIND = """() => {
  const found = [];
  for (const cell of document.querySelectorAll('main th, main td')) {
    const box = cell.getBoundingClientRect();
    if (cell.offsetParent === null || box.width < 4 || box.height < 4) continue;
    const head = cell.closest('thead');
    if (head && head.getBoundingClientRect().width < 4) continue;
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.textContent.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const boxes = [...range.getClientRects()].filter((r) => r.width > 0);
        const lines = new Set(boxes.map((r) => Math.round(r.top)));
        if (lines.size > 1) found.push(`word broken across lines: "${m[0]}"`);
      }
    }
  }
  for (const table of document.querySelectorAll('main table')) {
    const room = table.parentElement.getBoundingClientRect();
    const drawn = table.getBoundingClientRect();
    if (drawn.width > 0 && drawn.right > room.right + 1) {
      found.push(`table wider than its container by ${Math.round(drawn.right - room.right)} px`);
    }
  }
  return [...new Set(found)];
}"""


def table_problems(page) -> list[str]:
    """What is wrong with the tables the page shows now (empty when nothing)."""
    return page.evaluate(_FIND)


# The elements that reach past the right edge of the screen, the innermost ones (an element
# whose child also reaches past is left out): what a failed "no sideways scrolling" shows.
_WIDER = """(width) => {
  if (document.documentElement.scrollWidth <= width) return [];
  const past = [...document.querySelectorAll('body *')].filter(
    (e) => e.getBoundingClientRect().right > width + 1 && e.getClientRects().length > 0,
  );
  const inner = past.filter((e) => !past.some((o) => o !== e && e.contains(o)));
  const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + [...e.classList].map((c) => '.' + c).join('');
  return [`page ${document.documentElement.scrollWidth} px wide on a ${width} px screen`].concat(
    inner.slice(0, 8).map((e) => `${name(e)} (in ${name(e.parentElement)}) reaches ${
      Math.round(e.getBoundingClientRect().right)} px: "${(e.textContent || '').trim().slice(0, 60)}"`),
  );
}"""


def wider_than_screen(page) -> list[str]:
    """Empty when nothing scrolls sideways; otherwise the page's width and what sticks out.
    The screen is the page's viewport as set, not `innerWidth`: on a phone (`is_mobile`)
    the browser widens the layout viewport to the content, so `scrollWidth <= innerWidth`
    holds even when a table sticks out."""
    return page.evaluate(_WIDER, page.viewport_size["width"])

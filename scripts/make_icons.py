"""Make the PNG icons and favicon.ico from patient_app/static/icons/icon.svg, once.

Run by hand when the SVG changes (`.venv/bin/python scripts/make_icons.py`) and commit the
files: nothing renders icons at start-up. Chromium (the browser tests' Debian package, driven
by Playwright) draws the SVG; Pillow (a dependency of reportlab) writes the .ico.

  icon-192.png, icon-512.png   the rounded icon on a transparent ground ("any")
  maskable-512.png             full-bleed square, the heart inside the central 80 % safe zone
  apple-touch-icon.png         180 px, full-bleed and opaque (iOS rounds the corners itself)
  favicon.ico                  16, 32 and 48 px
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

ICONS = Path(__file__).resolve().parent.parent / "patient_app" / "static" / "icons"
CHROMIUM = "/usr/bin/chromium"


def _svg(rounded: bool, heart_scale: float) -> str:
    source = (ICONS / "icon.svg").read_text()
    if not rounded:
        source = source.replace(' rx="96"', "")
    if heart_scale != 1:
        shift = 256 * (1 - heart_scale)
        source = re.sub(
            r"<path ", f'<path transform="translate({shift} {shift}) scale({heart_scale})" ', source
        )
    return source


def _render(page, svg: str, size: int) -> bytes:
    page.set_viewport_size({"width": size, "height": size})
    page.set_content(
        "<!doctype html><html><body style='margin:0;background:transparent'>"
        + svg.replace("<svg ", f'<svg width="{size}" height="{size}" style="display:block" ')
        + "</body></html>"
    )
    return page.screenshot(omit_background=True, type="png")


def main() -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        page = browser.new_page()
        rounded, square, safe = _svg(True, 1), _svg(False, 1), _svg(False, 0.8)
        files = {
            "icon-192.png": (rounded, 192),
            "icon-512.png": (rounded, 512),
            "maskable-512.png": (safe, 512),
            "apple-touch-icon.png": (square, 180),
        }
        for name, (svg, size) in files.items():
            image = Image.open(io.BytesIO(_render(page, svg, size)))
            if name == "apple-touch-icon.png":
                image = image.convert("RGB")
            image.save(ICONS / name, optimize=True)
        favicon = Image.open(io.BytesIO(_render(page, rounded, 48)))
        favicon.save(ICONS / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])
        browser.close()


if __name__ == "__main__":
    main()

"""The portal speaks Norwegian however it was started: a server started without `make` (here
`gunicorn wsgi:app` in a copy of the checkout with no compiled catalogues, one missing and
one older than its .po) compiles them at start-up instead of silently speaking English."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import requests
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from staff_portal.catalogues import compiled
from tests.reliability.live import BIN, ROOT, environment, free_port, kill_group

PACKAGES = ("muli", "api", "staff_portal", "patient_app", "migrations")


def _fresh_checkout(target: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(
            ROOT / name, target / name, ignore=shutil.ignore_patterns("*.mo", "__pycache__", "node_modules")
        )
    shutil.copy(ROOT / "wsgi.py", target / "wsgi.py")
    return target


def _empty_catalogue(mo: Path) -> None:
    """A compiled catalogue with no translations, older than its .po (a stale build)."""
    with mo.with_suffix(".po").open("rb") as source:
        catalog = read_po(source, locale="nb")
    for message in list(catalog):
        if message.id:
            message.string = ""
    with mo.open("wb") as target:
        write_mo(target, catalog)
    old = mo.with_suffix(".po").stat().st_mtime - 3600
    os.utime(mo, (old, old))


def test_gunicorn_in_a_fresh_checkout_speaks_norwegian(app, tmp_path):
    checkout = _fresh_checkout(tmp_path / "checkout")
    translations = checkout / "staff_portal" / "translations"
    assert not list(translations.glob("*/LC_MESSAGES/*.mo"))
    _empty_catalogue(translations / "nb" / "LC_MESSAGES" / "messages.mo")
    port = free_port()
    with (tmp_path / "gunicorn.log").open("wb") as log:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1", "wsgi:app"],
            cwd=checkout,
            env=environment(app, tmp_path / "instance"),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        page = None
        deadline = time.monotonic() + 90
        while page is None and time.monotonic() < deadline and process.poll() is None:
            try:
                page = requests.get(
                    f"http://127.0.0.1:{port}/portal/login", headers={"Accept-Language": "nb"}, timeout=30
                )
            except (requests.ConnectionError, requests.Timeout):  # the worker is still starting
                time.sleep(0.3)
        assert page is not None, (tmp_path / "gunicorn.log").read_text()[-3000:]
        assert page.status_code == 200
        assert "Logg inn" in page.text
        english = requests.get(f"http://127.0.0.1:{port}/portal/login?lang=en", timeout=30)
        assert "Sign in" in english.text and "Logg inn" not in english.text
    finally:
        kill_group(process)
    # Compiled next to the .po files of the copy (so the copy's code is what ran).
    for lang in ("nb", "en"):
        mo = translations / lang / "LC_MESSAGES" / "messages.mo"
        assert mo.stat().st_mtime >= (mo.with_suffix(".po")).stat().st_mtime


def test_catalogues_that_cannot_be_written_beside_the_po_go_to_the_spare_folder(tmp_path):
    source = tmp_path / "translations"
    shutil.copytree(ROOT / "staff_portal" / "translations", source, ignore=shutil.ignore_patterns("*.mo"))
    # A .mo path that cannot be written (a folder stands there): an OSError, as a read-only
    # installed package gives a server that runs as another user.
    (source / "nb" / "LC_MESSAGES" / "messages.mo").mkdir()
    spare = tmp_path / "instance" / "translations"
    assert compiled(source, spare) == spare
    for lang in ("nb", "en"):
        with (spare / lang / "LC_MESSAGES" / "messages.mo").open("rb") as mo:
            assert mo.read(4) in (b"\xde\x12\x04\x95", b"\x95\x04\x12\xde")  # a GNU .mo file


def test_current_catalogues_are_left_alone(tmp_path):
    source = tmp_path / "translations"
    shutil.copytree(ROOT / "staff_portal" / "translations", source, ignore=shutil.ignore_patterns("*.mo"))
    assert compiled(source, tmp_path / "spare") == source
    mo = source / "nb" / "LC_MESSAGES" / "messages.mo"
    before = mo.stat().st_mtime_ns
    time.sleep(0.01)
    assert compiled(source, tmp_path / "spare") == source
    assert mo.stat().st_mtime_ns == before
    assert not (tmp_path / "spare").exists()

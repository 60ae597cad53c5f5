"""Light on a weak signal: text answers compressed (brotli or gzip) when the client accepts it,
never where compression would leak a secret (BREACH); PNG icons and /favicon.ico.

Through a real server on 127.0.0.1 and a real HTTP client, so the bytes counted are the
bytes sent."""

from __future__ import annotations

import gzip
import io
import json
import threading
from pathlib import Path

import brotli
import pytest
import requests
from PIL import Image
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.factories import PASSWORD

STATIC = Path(__file__).resolve().parents[2] / "patient_app" / "static"


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


@pytest.fixture(scope="module")
def server(app):
    httpd = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=5)


def fetch(url: str, encoding: str | None = "br, gzip", method: str = "GET", **kwargs):
    """The answer and its body exactly as it came over the wire (not decoded)."""
    headers = {"Accept-Encoding": encoding or "identity", **kwargs.pop("headers", {})}
    response = requests.request(method, url, headers=headers, stream=True, timeout=10, **kwargs)
    raw = response.raw.read(decode_content=False)
    response.close()
    return response, raw


def decoded(response, raw: bytes) -> bytes:
    coding = response.headers.get("Content-Encoding")
    if coding == "br":
        return brotli.decompress(raw)
    if coding == "gzip":
        return gzip.decompress(raw)
    assert coding is None, coding
    return raw


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("/app/static/js/app.js", "js/app.js"),
        ("/app/static/js/screens/diary.js", "js/screens/diary.js"),
        ("/app/static/app.css", "app.css"),
        ("/app/", "index.html"),
        ("/app/static/i18n/nb.json", "i18n/nb.json"),
        ("/app/manifest.webmanifest", "manifest.webmanifest"),
    ],
)
@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_the_apps_text_files_are_compressed_when_the_client_accepts_it(server, path, source, encoding):
    response, raw = fetch(server + path, encoding)
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    original = (STATIC / source).read_bytes()
    assert decoded(response, raw) == original
    assert len(raw) < len(original) * 0.7, (len(raw), len(original))
    assert int(response.headers["Content-Length"]) == len(raw)


def test_nothing_is_compressed_for_a_client_that_does_not_ask(server):
    response, raw = fetch(server + "/app/static/js/app.js", encoding=None)
    assert "Content-Encoding" not in response.headers
    assert raw == (STATIC / "js/app.js").read_bytes()


def test_a_compressed_static_file_is_revalidated_with_304(server):
    first, _ = fetch(server + "/app/static/app.css")
    again, raw = fetch(server + "/app/static/app.css", headers={"If-None-Match": first.headers["ETag"]})
    assert (again.status_code, raw) == (304, b"")


def test_api_json_is_compressed(server, world):
    patient = world.patient(world.team())
    for n in range(12):
        text = f"Dag {n}: gikk en tur rundt vannet, sov litt bedre enn i går, spiste frokost."
        requests.post(server + "/api/v1/me/diary", json={"text": text}, headers=patient.headers, timeout=10)
    response, raw = fetch(server + "/api/v1/me/diary?limit=20", headers=patient.headers)
    assert response.headers["Content-Encoding"] == "br"
    assert len(json.loads(decoded(response, raw))["items"]) == 12
    document, _ = fetch(server + "/api/openapi.json", "gzip")
    assert document.headers["Content-Encoding"] == "gzip"


def test_token_answers_are_never_compressed(server, world):
    """BREACH: /auth/token and /auth/refresh put tokens in the body (and /refresh is sent by
    the browser with its cookie): an attacker who can add text and measure lengths must
    not learn them."""
    patient = world.patient(world.team())
    response, raw = fetch(
        server + "/api/v1/auth/token",
        method="POST",
        json={"username": patient.account.username, "password": PASSWORD},
    )
    assert response.status_code == 200, raw
    assert len(raw) > 500  # big enough that it would be compressed if it were allowed
    assert "Content-Encoding" not in response.headers
    assert "access_token" in json.loads(raw)


def test_portal_pages_with_a_csrf_token_are_never_compressed(server):
    """BREACH: every portal page holds the CSRF token beside text others wrote."""
    response, raw = fetch(server + "/portal/login")
    assert response.status_code == 200
    assert b"csrf_token" in raw and len(raw) > 500
    assert "Content-Encoding" not in response.headers
    css, _ = fetch(server + "/portal/static/portal.css")
    assert css.headers["Content-Encoding"] == "br"


def test_an_etag_sent_back_as_if_match_is_not_changed_by_compression(server, world):
    """The plans' ETag is the version a save names in If-Match: an encoding suffix on it
    would make every save from a compressing client fail with 412."""
    patient = world.care_team().patient
    url = server + "/api/v1/me/crisis-plan"
    empty = requests.get(url, headers=patient.headers, timeout=10)
    strategies = [f"Gå en tur rundt vannet, runde {n}, og ringe en venn etterpå" for n in range(12)]
    first = requests.put(
        url,
        json={"coping_strategies": strategies},
        headers={**patient.headers, "If-Match": empty.headers["ETag"]},
        timeout=10,
    )
    assert first.status_code == 200, first.text
    response, raw = fetch(url, headers=patient.headers)
    assert len(decoded(response, raw)) > 1000  # big enough to be compressed if it were allowed
    etag = response.headers["ETag"]
    assert etag == first.headers["ETag"]
    plan = json.loads(decoded(response, raw))
    saved = requests.put(
        url,
        json={"coping_strategies": ["Gå en tur"]},
        headers={**patient.headers, "If-Match": etag, "Accept-Encoding": "br, gzip"},
        timeout=10,
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == plan["version"] + 1


@pytest.mark.parametrize(
    ("name", "size", "purpose"),
    [
        ("icon-192.png", 192, "any"),
        ("icon-512.png", 512, "any"),
        ("maskable-512.png", 512, "maskable"),
    ],
)
@pytest.mark.parametrize("manifest", ["/app/manifest.webmanifest", "/portal/manifest.webmanifest"])
def test_both_manifests_offer_png_icons(server, manifest, name, size, purpose):
    icons = requests.get(server + manifest, timeout=10).json()["icons"]
    [icon] = [i for i in icons if i["src"].endswith("/" + name)]
    assert (icon["sizes"], icon["type"], icon["purpose"]) == (f"{size}x{size}", "image/png", purpose)
    response = requests.get(server + icon["src"], timeout=10)
    assert response.headers["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert (image.format, image.size) == ("PNG", (size, size))
    if purpose == "maskable":  # full bleed: no transparent corner for the mask to reveal
        assert image.convert("RGBA").getpixel((0, 0))[3] == 255


@pytest.mark.parametrize("page", ["/app/", "/portal/login"])
def test_ios_gets_a_180_px_png_touch_icon(server, page):
    html = requests.get(server + page, timeout=10).text
    assert '<link rel="apple-touch-icon" href="/app/static/icons/apple-touch-icon.png">' in html
    response = requests.get(server + "/app/static/icons/apple-touch-icon.png", timeout=10)
    image = Image.open(io.BytesIO(response.content))
    assert (image.format, image.size, image.mode) == ("PNG", (180, 180), "RGB")


def test_favicon_ico_answers(server):
    response = requests.get(server + "/favicon.ico", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/vnd.microsoft.icon"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "ICO"
    assert {(16, 16), (32, 32), (48, 48)} <= set(image.info["sizes"])

"""The printed crisis plan speaks every Norwegian and Sámi letter: the text taken back out of
the PDF has them all (ReportLab's built-in Helvetica printed Ŋ, Č, Đ, Š, Ŧ, Ž as black
squares), and the font embedded is one that has them."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

SAMI = "ŊŋČčĐđŠšŦŧŽžÁá"
NORWEGIAN = "ÆæØøÅå"
NAME = "Máret Ŋuvttoš-Čuđe"


@pytest.fixture
def care(world):
    team = world.team()
    agency = world.agency(kind="dps")
    member = world.staff(team, role="member", agency=agency)
    patient = world.patient(team, consents={agency: "all"}, name=NAME)
    return patient, member


def _save(client, patient, body):
    etag = client.get("/api/v1/me/crisis-plan", headers=patient.headers).headers["ETag"]
    response = client.put("/api/v1/me/crisis-plan", json=body, headers={**patient.headers, "If-Match": etag})
    assert response.status_code == 200, response.json


def _text_and_fonts(pdf: bytes) -> tuple[str, set[str]]:
    reader = PdfReader(io.BytesIO(pdf))
    [page] = reader.pages
    fonts = page["/Resources"]["/Font"]
    names = set()
    for ref in fonts.values():
        font = ref.get_object()
        names.add(str(font["/BaseFont"]))
        for descendant in font.get("/DescendantFonts", []):
            descriptor = descendant.get_object()["/FontDescriptor"].get_object()
            assert "/FontFile2" in descriptor, "the TrueType font is embedded"
        if "/FontDescriptor" in font:
            assert "/FontFile2" in font["/FontDescriptor"].get_object()
    return page.extract_text(), names


@pytest.mark.parametrize("who", ["patient", "staff"])
def test_every_norwegian_and_sami_letter_is_printed(client, care, who):
    patient, member = care
    _save(
        client,
        patient,
        {
            "coping_strategies": [f"Joik og lávvu: {SAMI}", f"Gå tur på isen: {NORWEGIAN}"],
            "how_i_want_to_be_met": f"Snakk rolig, gjerne på sámegiella: {SAMI} {NORWEGIAN}",
        },
    )
    if who == "patient":
        response = client.get("/api/v1/me/crisis-plan.pdf", headers=patient.headers)
    else:
        response = client.get(f"/api/v1/staff/patients/{patient.id}/crisis-plan.pdf", headers=member.headers)
    assert response.status_code == 200
    text, fonts = _text_and_fonts(response.data)
    missing = [c for c in SAMI + NORWEGIAN if c not in text]
    assert not missing, f"letters not in the PDF's text: {missing}"
    assert NAME in text
    assert "Slik vil jeg bli møtt" in text  # the headings (bold) too
    assert all("DejaVuSans" in f for f in fonts), fonts
    assert not any("Helvetica" in f for f in fonts), fonts

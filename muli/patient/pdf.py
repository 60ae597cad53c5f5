"""The crisis plan on one printed page, for a patient without a phone (reportlab)."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import KeepInFrame, Paragraph, SimpleDocTemplate, Spacer

from muli.patient import plans
from muli.patient.consent import record_access
from muli.platform.context import Ctx
from muli.trust import access, audit

# Headings in the patient's language (Norwegian bokmål), in the order of the plan.
HEADINGS = {
    "warning_signs": "Varselsignaler: og hva jeg gjør da",
    "coping_strategies": "Dette kan jeg gjøre selv",
    "distractions": "Folk og steder som tar tankene bort",
    "people_to_ask": "Folk jeg kan be om hjelp",
    "professionals": "Hjelpeapparatet",
    "safe_environment": "Gjøre omgivelsene trygge",
    "reasons_to_live": "Dette er viktig for meg, det jeg lever for",
    "how_i_want_to_be_met": "Slik vil jeg bli møtt",
    "what_helps": "Dette hjelper meg",
    "what_does_not_help": "Dette hjelper ikke",
    "treatment_preferences": "Hjelp jeg ønsker i en akutt krise",
}
MARGIN = 14 * mm
# ReportLab's built-in Helvetica has no Ŋ ŋ Č č Đ đ Š š Ŧ ŧ Ž ž: Sámi names printed as black
# squares. DejaVu Sans (Debian's fonts-dejavu-core, installed by scripts/ensure-debian-packages.sh)
# has every Norwegian and Sámi letter; it is embedded (subset) in each PDF.
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT, FONT_BOLD = "DejaVuSans", "DejaVuSans-Bold"


@cache
def _register_fonts() -> None:
    for name in (FONT, FONT_BOLD):
        path = FONT_DIR / f"{name}.ttf"
        if not path.exists():
            raise RuntimeError(f"{path} is missing: install Debian's fonts-dejavu-core")
        pdfmetrics.registerFont(TTFont(name, str(path)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)


def _styles() -> dict[str, ParagraphStyle]:
    """ReportLab's sample styles, in DejaVu Sans (bold where they were bold; no oblique: that
    face is in fonts-dejavu-extra)."""
    _register_fonts()
    sample = getSampleStyleSheet()
    styles = {}
    for name in ("BodyText", "Title", "Heading4"):
        style = sample[name]
        bold = "Bold" in style.fontName
        styles[name] = ParagraphStyle(name, parent=style, fontName=FONT_BOLD if bold else FONT)
    return styles


def _item(section: str, item) -> str:
    if isinstance(item, str):
        return escape(item)
    if section == "warning_signs":
        action = f" → {escape(item['action'])}" if item.get("action") else ""
        return f"{escape(item.get('sign') or '')}{action}"
    parts = [item.get("name") or item.get("service"), item.get("phone"), item.get("when_reachable")]
    return escape(", ".join(p for p in parts if p))


def render_crisis_plan(name: str, plan: dict) -> bytes:
    """One A4 page; long plans are shrunk to fit rather than spilling onto a second page."""
    styles = _styles()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=9.5, leading=12)
    heading = ParagraphStyle("h", parent=styles["Heading4"], spaceBefore=5, spaceAfter=1)
    numbers = " · ".join(
        f"<b>{escape(n['number'])}</b> {escape(n['label'])}" for n in plan["emergency_numbers"]
    )
    story = [
        Paragraph(f"Kriseplan for {escape(name)}", styles["Title"]),
        Paragraph(
            f"Nødnummer: {numbers}",
            ParagraphStyle("n", parent=body, backColor=colors.HexColor("#fde8e8"), borderPadding=4),
        ),
        Spacer(1, 4),
    ]
    for section, title in HEADINGS.items():
        value = plan.get(section)
        if not value:
            continue
        story.append(Paragraph(escape(title), heading))
        if isinstance(value, list):
            story.extend(Paragraph(f"• {_item(section, v)}", body) for v in value)
        else:
            story.append(Paragraph(escape(value).replace("\n", "<br/>"), body))
    reviewed = plan.get("last_reviewed_with_team_on")
    footer = f"Versjon {plan['version']}" + (f", sist gjennomgått med teamet {reviewed}" if reviewed else "")
    story.append(Spacer(1, 6))
    story.append(
        Paragraph(escape(footer), ParagraphStyle("f", parent=body, fontSize=8, textColor=colors.grey))
    )

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title="Kriseplan",
        initialFontName=FONT,
    )
    frame_w, frame_h = A4[0] - 2 * MARGIN, A4[1] - 2 * MARGIN - 12
    doc.build([KeepInFrame(frame_w, frame_h, story, mode="shrink")])
    return buffer.getvalue()


def my_crisis_plan_pdf(ctx: Ctx) -> bytes:
    patient = access.own_patient(ctx)
    audit.record(ctx.session, ctx.actor, "crisis_plan.print", patient_id=patient.id, resource="crisis_plan")
    return render_crisis_plan(patient.display_name, plans.crisis_plan_for_print(ctx, patient))


def staff_crisis_plan_pdf(ctx: Ctx, patient_id) -> bytes:
    grant = access.staff_patient(ctx, patient_id, "crisis_plan")
    record_access(ctx, grant, "crisis_plan.print", "crisis_plan")
    return render_crisis_plan(grant.patient.display_name, plans.crisis_plan_for_print(ctx, grant.patient))

"""Printed pages (reportlab): the crisis plan on one page, for a patient without a phone;
one patient's access log, for the privacy officer to answer a written request."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import KeepInFrame, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from muli.patient import plans
from muli.patient.consent import record_access
from muli.platform.context import Ctx
from muli.trust import access, audit, audit_review, audit_words

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
    if reviewed:  # a day as people write it: "2. august 2026"
        reviewed = format_date(date.fromisoformat(str(reviewed)), "long", locale="nb")
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
    name = ctx.keys.open(patient, "display_name") or ""
    return render_crisis_plan(name, plans.crisis_plan_for_print(ctx, patient))


def staff_crisis_plan_pdf(ctx: Ctx, patient_id) -> bytes:
    grant = access.staff_patient(ctx, patient_id, "crisis_plan")
    record_access(ctx, grant, "crisis_plan.print", "crisis_plan")
    return render_crisis_plan(
        ctx.keys.open(grant.patient, "display_name") or "", plans.crisis_plan_for_print(ctx, grant.patient)
    )


# -- one patient's access log, for a written request ---------------------------------------


def render_access_log(
    export: audit_review.AccessLogExport, tr: Callable[[str], str], locale: str = "nb"
) -> bytes:
    """The access log as A4 pages: who (name, role, agency), when, what (plain words), why.

    `tr` translates a message id (audit_words) into the reader's language: the domain knows
    no Flask, so the caller passes its gettext."""
    words = audit_words.EXPORT_TEXTS
    zone = ZoneInfo(export.time_zone)
    styles = _styles()  # DejaVu Sans: names with Sámi letters print as written
    body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=8.5, leading=10.5)
    head = ParagraphStyle("head", parent=body, fontName=FONT_BOLD)
    small = ParagraphStyle("small", parent=body, fontSize=8, textColor=colors.grey)

    written = "en_GB" if locale == "en" else locale  # days as people write them: "28. nov. 2026"

    def local(at: datetime) -> str:
        return f"{format_skeleton('yMMMd', at.astimezone(zone), locale=written)} {at.astimezone(zone):%H:%M}"

    def day(at: datetime, end: bool = False) -> str:
        # `to` is exclusive: the last day shown is the one before it.
        shown = at.astimezone(zone) - timedelta(microseconds=1 if end else 0)
        return format_skeleton("yMMMd", shown, locale=written)

    if export.from_ or export.to:
        period = (
            f"{day(export.from_) if export.from_ else '…'} - {day(export.to, True) if export.to else '…'}"
        )
    else:
        period = tr(words["whole_time"])
    story: list = [
        Paragraph(escape(tr(words["title"]) % {"name": export.patient_display_name}), styles["Title"]),
        Paragraph(escape(tr(words["lead"])), body),
        Paragraph(escape(tr(words["period"]) % {"period": period}), body),
        Paragraph(
            escape(
                tr(words["made"])
                % {"at": local(export.made_at), "name": export.made_by_name or "", "zone": export.time_zone}
            ),
            small,
        ),
        Spacer(1, 6),
    ]
    if export.truncated:
        story.append(Paragraph(escape(tr(words["truncated"]) % {"n": len(export.items)}), head))
    rows: list[list] = [[Paragraph(escape(tr(words[k])), head) for k in ("when", "who", "what", "why")]]
    for item in export.items:
        if item.actor_kind == "patient":
            who = tr(words["patient"])
        elif item.actor_name:
            role = audit_words.ROLES.get(item.actor_role or "")
            parts = [item.actor_name, tr(role) if role else item.actor_role, item.actor_agency_name]
            who = ", ".join(p for p in parts if p)
        else:
            who = tr(words["system"])
        what = escape(tr(item.description))
        outcome = audit_words.OUTCOMES.get(item.outcome)
        if outcome:
            what += f" ({escape(tr(outcome))})"
        why = ""
        if item.emergency:
            why = f"<b>{escape(tr(words['emergency']))}</b>"
            if item.reason:
                why += f": {escape(item.reason)}"
        rows.append(
            [
                Paragraph(local(item.occurred_at), body),
                Paragraph(escape(who), body),
                Paragraph(what, body),
                Paragraph(why, body),
            ]
        )
    if export.items:
        width = A4[0] - 2 * MARGIN
        table = Table(rows, colWidths=[0.17 * width, 0.3 * width, 0.3 * width, 0.23 * width], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                    ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.lightgrey),
                    ("LEFTPADDING", (0, 0), (-1, -1), 3),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ]
            )
        )
        story.append(table)
    else:
        story.append(Paragraph(escape(tr(words["empty"])), body))

    def page_number(canvas, doc) -> None:
        canvas.setFont(FONT, 8)
        canvas.drawRightString(A4[0] - MARGIN, MARGIN / 2, tr(words["page"]) % {"n": doc.page})

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=tr(words["title"]) % {"name": export.patient_display_name},
    )
    doc.build(story, onFirstPage=page_number, onLaterPages=page_number)
    return buffer.getvalue()


def access_log_pdf(
    ctx: Ctx,
    patient_id: uuid.UUID,
    tr: Callable[[str], str],
    *,
    from_: datetime | None = None,
    to: datetime | None = None,
    locale: str = "nb",
) -> tuple[str, bytes]:
    """(file name, PDF) of one patient's access log (privacy officer; audited)."""
    export = audit_review.patient_access_log(ctx, patient_id, from_=from_, to=to)
    name = f"access-log-{export.made_at.astimezone(ZoneInfo(export.time_zone)):%Y-%m-%d}.pdf"
    return name, render_access_log(export, tr, locale)

"""The portal's views, one module per area, registered on the one blueprint."""

from __future__ import annotations

import importlib

from flask import Blueprint

AREAS = (
    "auth",
    "helseid",
    "patients",
    "patient_forms",
    "enrolment",
    "queue",
    "handover",
    "meetings",
    "meeting_items",
    "rota",
    "outcomes",
    "audit",
    "audit_checkpoint",
    "notifications",
    "accounts",
    "programmes",
)


def register(bp: Blueprint) -> None:
    for name in AREAS:
        importlib.import_module(f"staff_portal.views.{name}").register(bp)

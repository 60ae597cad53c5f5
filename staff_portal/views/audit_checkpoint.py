"""The privacy officer downloads the newest signed checkpoint of the audit chain."""

from __future__ import annotations

import json

from flask import Blueprint, Response

from muli.trust import audit_anchor
from staff_portal.auth_state import login_required, portal_ctx


@login_required
def download_checkpoint():
    document = audit_anchor.latest(portal_ctx())
    seq = json.loads(document)["seq"]
    return Response(
        document,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="muli-audit-checkpoint-{seq}.json"'},
    )


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/audit/checkpoint.json", view_func=download_checkpoint, endpoint="audit_checkpoint")

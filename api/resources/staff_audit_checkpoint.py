"""Staff: the privacy officer downloads the newest signed checkpoint of the audit chain."""

from __future__ import annotations

import json

from flask import Response
from flask.views import MethodView
from marshmallow import Schema, fields

from api.body import Blueprint
from api.context import current_ctx, require_kind
from muli.trust import audit_anchor

blp = Blueprint(
    "staff_audit_checkpoint",
    __name__,
    url_prefix="/api/v1/staff/audit/checkpoint",
    description="Privacy officer: signed checkpoints of the audit chain (docs/audit-trail.md)",
)
blp.before_request(lambda: require_kind("staff"))


class CheckpointOut(Schema):
    format = fields.String(metadata={"description": "muli-audit-checkpoint/1"})
    seq = fields.Integer(metadata={"description": "The chain's newest event when it was signed"})
    hash = fields.String(metadata={"description": "That event's keyed hash"})
    key_id = fields.String(allow_none=True, metadata={"description": "The audit key of that hash"})
    legacy_until = fields.Integer(metadata={"description": "Events before audit keys (unkeyed)"})
    made_at = fields.String(metadata={"description": "ISO 8601, UTC"})
    signing_key_id = fields.String()
    signature = fields.String(metadata={"description": "Ed25519 over the other fields, base64url"})


@blp.route("")
class Checkpoint(MethodView):
    @blp.response(200, CheckpointOut)
    def get(self):
        """The newest signed checkpoint, byte for byte as signed: keep it, and give it to
        `muli verify-audit` later to prove the chain was not cut back (privacy officer only)."""
        document = audit_anchor.latest(current_ctx())
        seq = json.loads(document)["seq"]
        return Response(
            document,
            mimetype="application/json",
            headers={"Content-Disposition": f'attachment; filename="muli-audit-checkpoint-{seq}.json"'},
        )

"""A staff member's devices that get Web Push notifications (new requests, escalations, messages)."""

from __future__ import annotations

from api.body import Blueprint
from api.context import require_kind
from api.push_schemas import add_routes

blp = Blueprint(
    "staff_push",
    __name__,
    url_prefix="/api/v1/staff/push-subscriptions",
    description="Notifications on my devices when a request needs me",
)
blp.before_request(lambda: require_kind("staff"))
add_routes(blp)

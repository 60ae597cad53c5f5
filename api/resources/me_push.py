"""The patient's devices that get Web Push notifications."""

from __future__ import annotations

from api.body import Blueprint
from api.context import require_kind
from api.push_schemas import add_routes

blp = Blueprint(
    "me_push",
    __name__,
    url_prefix="/api/v1/me/push-subscriptions",
    description="Notifications on my phone: seen, answered, closed, call 116 117",
)
blp.before_request(lambda: require_kind("patient"))
add_routes(blp)

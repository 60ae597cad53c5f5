"""Schemas of the Web Push subscription resources (patient and staff alike)."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.context import current_ctx
from muli.contact import push


class PushKeysIn(Schema):
    p256dh = fields.String(required=True, validate=validate.Length(min=1, max=200))
    auth = fields.String(required=True, validate=validate.Length(min=1, max=100))


class PushSubscriptionIn(Schema):
    """The browser's `PushSubscription.toJSON()`, and a label the person recognises."""

    endpoint = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    keys = fields.Nested(PushKeysIn, required=True)
    expirationTime = fields.Raw(load_default=None, allow_none=True)
    label = fields.String(load_default="", validate=validate.Length(max=100))


class PushSubscriptionOut(Schema):
    id = fields.UUID()
    label = fields.String()
    service = fields.String(metadata={"description": "the push service's host, e.g. fcm.googleapis.com"})
    created_at = fields.DateTime()
    last_success_at = fields.DateTime(allow_none=True)
    last_failure_at = fields.DateTime(allow_none=True)


class PushSubscriptionList(Schema):
    items = fields.List(fields.Nested(PushSubscriptionOut))
    public_key = fields.String(
        allow_none=True, metadata={"description": "VAPID key for PushManager.subscribe; null: push off"}
    )


def public_key() -> str | None:
    vapid = current_app.extensions.get("muli.vapid")
    return vapid.public_key if vapid else None


def add_routes(blp: Blueprint) -> None:
    """GET/POST `` and DELETE `/<id>` on `blp`: my devices, for whoever is signed in."""

    @blp.route("")
    class Subscriptions(MethodView):
        @blp.response(200, PushSubscriptionList)
        def get(self):
            """My devices that get notifications, and the key a new one subscribes with."""
            ctx = current_ctx()
            return {"items": [push.view(row) for row in push.mine(ctx)], "public_key": public_key()}

        @blp.arguments(PushSubscriptionIn)
        @blp.response(201, PushSubscriptionOut)
        def post(self, data):
            """Turn notifications on for this device (the same device again replaces its old entry)."""
            row = push.subscribe(
                current_ctx(),
                push.NewSubscription(
                    endpoint=data["endpoint"],
                    p256dh=data["keys"]["p256dh"],
                    auth=data["keys"]["auth"],
                    label=data["label"],
                ),
            )
            return push.view(row)

    @blp.route("/<uuid:subscription_id>")
    class Subscription(MethodView):
        @blp.response(204)
        def delete(self, subscription_id):
            """Turn notifications off for one of my devices."""
            push.remove(current_ctx(), subscription_id)

"""Notifications on this device: the portal as an installable app that gets Web Push.

The page lists my devices (remove any of them) and has a button that subscribes this
browser (static/push.js: a service worker under /portal/, PushManager.subscribe with the
VAPID public key, then a POST here). The service worker (static/sw.js) shows a pushed
notification and opens the request when it is clicked.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from muli.contact import push
from muli.platform.errors import MuliError
from staff_portal.auth_state import login_required, portal_ctx
from staff_portal.common import parse_id
from staff_portal.errors import message_of

SERVICE_WORKER = Path(__file__).resolve().parent.parent / "static" / "sw.js"


class PlainForm(FlaskForm):
    pass


def _public_key() -> str | None:
    vapid = current_app.extensions.get("muli.vapid")
    return vapid.public_key if vapid else None


@login_required
def page():
    ctx = portal_ctx()
    return render_template(
        "staff_portal/notifications.html",
        devices=[push.view(row) for row in push.mine(ctx)],
        public_key=_public_key(),
        form=PlainForm(),
    )


@login_required(json=True)
def subscribe():
    """The browser's PushSubscription as JSON (CSRF token in the X-CSRFToken header)."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("keys"), dict):
        return {"detail": _("Send the browser's PushSubscription as JSON.")}, 400
    try:
        row = push.subscribe(
            portal_ctx(),
            push.NewSubscription(
                endpoint=str(data.get("endpoint") or ""),
                p256dh=str(data["keys"].get("p256dh") or ""),
                auth=str(data["keys"].get("auth") or ""),
                label=str(data.get("label") or "")[:100],
            ),
        )
    except MuliError as error:
        return {"detail": message_of(error)}, error.status
    return {"id": str(row.id)}, 201


@login_required
def remove(subscription_id: str):
    form = PlainForm()
    if form.validate_on_submit():
        push.remove(portal_ctx(), parse_id(subscription_id))
        flash(_("Notifications are off on that device."), "ok")
    return redirect(url_for("portal.notifications"))


MANIFEST = {
    "name": "MULI vakt",
    "short_name": "MULI",
    "start_url": "/portal/queue/",
    "scope": "/portal/",
    "display": "standalone",
    "background_color": "#ffffff",
    "theme_color": "#1d4e89",
    "icons": [
        {"src": "/app/static/icons/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
        {"src": "/app/static/icons/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
        {"src": "/app/static/icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
        {
            "src": "/app/static/icons/maskable-512.png",
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        },
    ],
}


def manifest():
    body = json.dumps(MANIFEST, ensure_ascii=False)
    response = current_app.response_class(body, mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response


def service_worker():
    """Served from /portal/sw.js so that its scope is the portal and nothing else."""
    response = current_app.response_class(SERVICE_WORKER.read_text(), mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/portal/"
    return response


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/notifications", view_func=page, endpoint="notifications")
    bp.add_url_rule(
        "/notifications/subscribe", view_func=subscribe, endpoint="notifications_subscribe", methods=["POST"]
    )
    bp.add_url_rule(
        "/notifications/<subscription_id>/remove",
        view_func=remove,
        endpoint="notifications_remove",
        methods=["POST"],
    )
    bp.add_url_rule("/manifest.webmanifest", view_func=manifest, endpoint="manifest")
    bp.add_url_rule("/sw.js", view_func=service_worker, endpoint="service_worker")

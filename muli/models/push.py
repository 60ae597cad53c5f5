"""Web Push subscriptions: one per account and device, the endpoint and keys encrypted."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from muli.models.base import Base, CreatedMixin, IdMixin


class PushSubscription(IdMixin, CreatedMixin, Base):
    """A browser's PushSubscription (endpoint, p256dh, auth) for one account on one device.

    The endpoint is a capability (whoever knows it can wake the device) and names the
    push service, so it is encrypted like health data; `endpoint_hash` (keyed) finds a
    device that subscribes again. Dropped when the push service answers 404 or 410.
    """

    __tablename__ = "push_subscription"
    __encrypted__ = ("endpoint", "keys")

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("account.id"), index=True)
    endpoint_enc: Mapped[str] = mapped_column(Text)
    keys_enc: Mapped[str] = mapped_column(Text)
    endpoint_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # What the owner sees in the list ("Chrome on Android"); chosen by the device, no health data.
    label: Mapped[str] = mapped_column(String(100), default="")
    service_host: Mapped[str] = mapped_column(String(200), default="")
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]

"""Integration clients: a record system's own credentials (OAuth2 client credentials).

An admin creates a client for one team with its scopes (`muli integration-client create`);
the secret is printed once and kept only as a keyed hash. The client exchanges its id and
secret for an access token that lives a few minutes (`issue_token`), kept as a keyed hash
too, and sends it as a Bearer token; `actor_for` turns it back into the request's actor: a
system, not a person, whose reach is its one team and its scopes. Nothing here touches the
people's login (`muli.trust.accounts`): a client token is never an account's token.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import delete, select

from muli.models.integration import INTEGRATION_SCOPES, IntegrationClient, IntegrationToken
from muli.models.people import Team
from muli.platform.context import Actor, Ctx
from muli.platform.errors import AuthenticationFailed, Forbidden, NotFound, ValidationFailed

ACTOR_KIND = "client"  # the audit trail's actor kind for a record system
TOKEN_MINUTES = 5
# The purposes of the keyed hashes (muli.platform.crypto.KeyRing.keyed_hash), not secrets.
_SECRET = "integration-secret"  # noqa: S105
_TOKEN = "integration-token"  # noqa: S105


def create_client(
    ctx: Ctx, team_id: uuid.UUID, name: str, scopes: list[str]
) -> tuple[IntegrationClient, str]:
    """A new client for one team; answers it and its secret (shown once, never stored)."""
    team = ctx.session.get(Team, team_id)
    if team is None:
        raise NotFound("No such team.")
    name = name.strip()
    if not name:
        raise ValidationFailed("name", "Name the client.")
    for scope in scopes:
        if scope not in INTEGRATION_SCOPES:
            raise ValidationFailed("scope", "One of: %(values)s.", {"values": ", ".join(INTEGRATION_SCOPES)})
    if ctx.session.scalars(select(IntegrationClient).where(IntegrationClient.name == name)).first():
        raise ValidationFailed("name", "A client of that name exists.")
    secret = secrets.token_urlsafe(32)
    client = IntegrationClient(
        name=name,
        team_id=team.id,
        scopes=" ".join(sorted(set(scopes))),
        secret_hash=ctx.keys.keyed_hash(_SECRET, secret),
        created_at=ctx.now(),
    )
    ctx.session.add(client)
    ctx.session.flush()
    return client, secret


def issue_token(ctx: Ctx, client_id: str, client_secret: str, scope: str | None) -> dict:
    """Client credentials → a short-lived access token for the scopes asked (default: all)."""
    client = None
    with contextlib.suppress(ValueError):
        client = ctx.session.get(IntegrationClient, uuid.UUID(client_id))
    given = ctx.keys.keyed_hash(_SECRET, client_secret)
    if client is None or client.disabled_at is not None or not hmac.compare_digest(given, client.secret_hash):
        raise AuthenticationFailed("The client credentials are not valid.", code="invalid-client")
    asked = set(scope.split()) if scope else client.scope_set
    if not asked <= client.scope_set:
        raise Forbidden("The client may not ask for that scope.", code="invalid-scope")
    token = secrets.token_urlsafe(32)
    now = ctx.now()
    ctx.session.add(
        IntegrationToken(
            client_id=client.id,
            token_hash=ctx.keys.keyed_hash(_TOKEN, token),
            scopes=" ".join(sorted(asked)),
            expires_at=now + timedelta(minutes=TOKEN_MINUTES),
            created_at=now,
        )
    )
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": TOKEN_MINUTES * 60,
        "scope": " ".join(sorted(asked)),
    }


def actor_for(ctx: Ctx, token: str | None, scope: str) -> Actor:
    """The client behind a Bearer token, if the token is live and carries `scope`."""
    if not token:
        raise AuthenticationFailed("An integration client's access token is required.")
    row = ctx.session.scalars(
        select(IntegrationToken).where(IntegrationToken.token_hash == ctx.keys.keyed_hash(_TOKEN, token))
    ).first()
    if row is None or row.expires_at <= ctx.now() or row.client.disabled_at is not None:
        raise AuthenticationFailed("The access token is not valid.", code="invalid-token")
    if scope not in row.scopes.split():
        raise Forbidden("This needs the scope %(scope)s.", code="insufficient-scope", params={"scope": scope})
    client = row.client
    return Actor(
        kind=ACTOR_KIND,
        name=client.name,
        role="integration",
        team_ids=frozenset({client.team_id}),
        ip=ctx.actor.ip,
        request_id=ctx.actor.request_id,
    )


def disable_client(ctx: Ctx, client_id: uuid.UUID) -> None:
    """Cut a client off: its live tokens stop working on their next use."""
    client = ctx.session.get(IntegrationClient, client_id)
    if client is None:
        raise NotFound("No such client.")
    client.disabled_at = client.disabled_at or ctx.now()


def purge_expired(ctx: Ctx) -> int:
    """Client access tokens past their few minutes."""
    return ctx.rows_changed(delete(IntegrationToken).where(IntegrationToken.expires_at < ctx.now()))

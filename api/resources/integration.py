"""Record systems sending data in: an integration client's token, and admissions as FHIR.

Its own door, apart from people's login (`api.resources.auth`): a client exchanges its
credentials for a short-lived Bearer token (OAuth2 client credentials, RFC 6749 4.4, as a
JSON body) and posts a FHIR R4 Bundle of Encounter resources with it. A person's token is
not a client's token, nor the other way round.
"""

from __future__ import annotations

from flask import Response, g, request
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api.body import Blueprint
from api.context import anonymous_ctx
from api.contract import FHIR_CONTENT, FHIR_MEDIA_TYPE
from muli.patient import fhir_admissions
from muli.trust import integration

blp = Blueprint(
    "integration",
    __name__,
    url_prefix="/api/v1/integration",
    description="Record systems: client-credential tokens and admissions as FHIR Encounters",
)
PUBLIC = {"security": []}


class ClientTokenIn(Schema):
    grant_type = fields.String(required=True, validate=validate.OneOf(("client_credentials",)))
    client_id = fields.String(required=True, validate=validate.Length(1, 64))
    client_secret = fields.String(required=True, validate=validate.Length(1, 200))
    scope = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={"description": "Space-separated; default every scope the client has"},
    )


class ClientTokenOut(Schema):
    access_token = fields.String()
    token_type = fields.String(validate=validate.OneOf(("Bearer",)))
    expires_in = fields.Integer(metadata={"description": "Seconds"})
    scope = fields.String()


class BundleIn(Schema):
    """A FHIR Bundle's elements (R4); what is inside them the FHIR models validate."""

    resourceType = fields.String(required=True, validate=validate.OneOf(("Bundle",)))
    id = fields.String(load_default=None, allow_none=True)
    meta = fields.Dict(load_default=None, allow_none=True)
    implicitRules = fields.String(load_default=None, allow_none=True)
    language = fields.String(load_default=None, allow_none=True)
    identifier = fields.Dict(load_default=None, allow_none=True)
    timestamp = fields.String(load_default=None, allow_none=True)
    total = fields.Integer(load_default=None, allow_none=True)
    link = fields.List(fields.Dict(), load_default=None, allow_none=True)
    signature = fields.Dict(load_default=None, allow_none=True)
    type = fields.String(required=True, validate=validate.OneOf(fhir_admissions.BUNDLE_TYPES))
    entry = fields.List(
        fields.Dict(),
        required=True,
        validate=validate.Length(1, fhir_admissions.MAX_ENTRIES),
        metadata={"description": "Encounter resources, and the Patient resources they name"},
    )


def _bearer() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


@blp.before_request
def _require_client() -> None:
    """The FHIR door takes an integration client's token (401 before the body is read, as the
    other blueprints' account-kind guards do); the token door takes credentials instead."""
    if request.method == "OPTIONS" or request.endpoint != "integration.FhirEncounters":
        return
    base = anonymous_ctx()
    g.integration_ctx = base.acting_as(integration.actor_for(base, _bearer(), fhir_admissions.SCOPE))


@blp.route("/token")
class ClientToken(MethodView):
    @blp.doc(**PUBLIC)
    @blp.arguments(ClientTokenIn)
    @blp.response(200, ClientTokenOut)
    def post(self, data):
        """Client credentials for a short-lived access token; wrong credentials: 401, a scope
        the client does not have: 403."""
        return integration.issue_token(
            anonymous_ctx(), data["client_id"], data["client_secret"], data["scope"]
        )


@blp.route("/fhir")
class FhirEncounters(MethodView):
    @blp.arguments(BundleIn)
    @blp.doc(
        responses={
            200: {
                "description": "A FHIR transaction-response (or batch-response) Bundle: per "
                "Encounter, in order, `201 Created` or `200 OK` and where it is",
                "content": FHIR_CONTENT,
            }
        }
    )
    def post(self, data):
        """Admissions from the hospital's record system: a FHIR R4 Bundle of Encounters
        (integration client token with `admissions:write`). Idempotent by Encounter.identifier;
        all or nothing; 422 names each wrong entry's field (docs/fhir/encounter.md)."""
        body = fhir_admissions.import_encounters(
            g.integration_ctx, {k: v for k, v in data.items() if v is not None}
        )
        return Response(body, status=200, mimetype=FHIR_MEDIA_TYPE)

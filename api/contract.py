"""The OpenAPI contract beyond what flask-smorest derives from the views, in one place.

- Errors: RFC 9457 problem+json, documented once (`#/components/schemas/Problem`, media type
  `application/problem+json`) and referenced from every error response of every operation.
- Every status code an operation can send, derived from the code paths every operation
  shares (no `default`):
  every request: 400 (a query string that is not UTF-8 or holds NUL, `api.body`), 500, 503
  (the database busy or unreachable, `Retry-After`); a Bearer token required: 401 (with
  `WWW-Authenticate`); an account-kind or role guard or the access policy: 403; a path id:
  404 (not found, or not yours: the access policy answers 404 outside your teams); a body
  (POST/PUT/PATCH/DELETE): 409 (a clash at commit, `muli/app.py`), 413 (over 1 MiB), 422
  (fields refused); query arguments: 422; If-Match: 412 / 428; If-None-Match: 304 with the
  ETag; Idempotency-Key: 409 (in progress) / 422 (reused with another body); the login and
  activation throttles and the rate limit: 429 (`Retry-After`).
- Headers on the wire and in the document: `ETag`, `Idempotent-Replayed`, `Retry-After`
  (429 and 503 only), `WWW-Authenticate` (401).
- Nullable nested objects as `allOf: [$ref]` + `nullable: true` (OpenAPI 3.0: the object
  or null, nothing else); `operationId`s from a table, stable when views are renamed.
"""

from __future__ import annotations

import re

from apispec import BasePlugin

PROBLEM_MEDIA_TYPE = "application/problem+json"

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details: the one shape of every error answer.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {
            "type": "string",
            "format": "uri",
            "description": "Identifies the problem; its last segment is a stable code, e.g. "
            "`.../problems/consent-required`.",
            "example": "https://muli.invalid/problems/not-found",
        },
        "title": {"type": "string", "description": "Short, the same for every occurrence"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599, "description": "The HTTP status"},
        "detail": {"type": "string", "description": "What went wrong this time, for people"},
        "instance": {"type": "string", "format": "uri-reference", "description": "This occurrence"},
        "errors": {
            "type": "object",
            "description": "422 (and some 400s): messages per field, nested fields dotted "
            "(`strategies.0.title`)",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "additionalProperties": False,
}

HEADERS = {
    "ETag": {
        "description": "The version of this resource; send it back as If-Match (writes) or "
        "If-None-Match (reads).",
        "schema": {"type": "string"},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with the "
        "same Idempotency-Key (the work was not done again).",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
        "required": True,
    },
    "WWW-Authenticate": {
        "description": 'RFC 6750: `Bearer realm="muli"`, with `error="invalid_token"` when '
        "the token sent was not valid (expired, revoked, malformed).",
        "schema": {"type": "string", "pattern": "^Bearer "},
        "required": True,
    },
}

# Flask-Limiter's headers on the answers of a rate-limited route (its Retry-After is renamed:
# muli/config.py, RATELIMIT_HEADER_RETRY_AFTER), so `Retry-After` means "wait" only on 429/503.
RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": "Requests allowed in the window",
    "X-RateLimit-Remaining": "Requests left in the window",
    "X-RateLimit-Reset": "When the window ends (Unix time)",
    "X-RateLimit-Retry-After": "Seconds until the window ends",
}
RATE_LIMITED = {("POST", "/api/v1/auth/token")}

# Error responses, documented once as components and referenced by every operation.
ERRORS = {
    400: ("BadRequest", "Malformed: not JSON, not UTF-8, a tampered cursor, a bad header", ()),
    401: ("Unauthorized", "No valid access token, or the credentials were wrong", ("WWW-Authenticate",)),
    403: ("Forbidden", "Not allowed: wrong kind of account, role, or no consent", ()),
    404: ("NotFound", "Not found, or not yours to see", ()),
    409: ("Conflict", "Clashes with the current state or another change; reload and retry", ()),
    412: ("PreconditionFailed", "If-Match is not the current version: reload and try again", ()),
    413: ("ContentTooLarge", "The body is over 1 MiB", ()),
    422: ("UnprocessableContent", "Fields refused; `errors` names each one", ()),
    428: ("PreconditionRequired", "If-Match is required", ()),
    429: ("TooManyRequests", "Too many attempts: wait `Retry-After` seconds", ("Retry-After",)),
    500: ("InternalServerError", "Something went wrong on our side; nothing was saved", ()),
    503: (
        "ServiceUnavailable",
        "The database is busy or unreachable: retry after `Retry-After`",
        ("Retry-After",),
    ),
}

# Throttled or rate-limited (docs/authentication.md): these can answer 429.
THROTTLED = {("POST", "/api/v1/auth/token"), ("POST", "/api/v1/auth/activate")}
WRITES = {"post", "put", "patch", "delete"}
# What the rules above do not see.
ALSO = {
    ("GET", "/api/v1/staff/audit/checkpoint"): {404},  # no event signed yet
    # An integration client's own door: wrong credentials (401), a scope it lacks (403).
    ("POST", "/api/v1/integration/token"): {401, 403},
    ("POST", "/api/v1/integration/fhir"): {403},
}
# Guarded by account kind (`api.context.require_kind`) or role: 403.
GUARDED_PREFIXES = ("/api/v1/me", "/api/v1/staff", "/api/v1/admin")

# Stable, readable operationIds (what a generated client's functions are called).
OPERATION_IDS = {
    ("POST", "/account/password"): "changeMyPassword",
    ("GET", "/account/sessions"): "listMySessions",
    ("DELETE", "/account/sessions/{session_id}"): "endMySession",
    ("GET", "/admin/accounts"): "listStaffAccounts",
    ("POST", "/admin/accounts/{account_id}/disable"): "disableAccount",
    ("POST", "/admin/accounts/{account_id}/enable"): "enableAccount",
    ("POST", "/admin/accounts/{account_id}/password-reset"): "resetAccountPassword",
    ("GET", "/admin/accounts/{account_id}/sessions"): "listAccountSessions",
    ("DELETE", "/admin/accounts/{account_id}/sessions/{session_id}"): "endAccountSession",
    ("POST", "/admin/accounts/{account_id}/totp-reset"): "resetAccountTotp",
    ("GET", "/admin/programmes"): "listProgrammes",
    ("GET", "/admin/programmes/{key}"): "getProgramme",
    ("PUT", "/admin/programmes/{key}"): "importProgramme",
    ("PUT", "/admin/teams/{team_id}/programme"): "setTeamProgramme",
    ("POST", "/auth/activate"): "activateAccount",
    ("POST", "/auth/logout"): "logOut",
    ("POST", "/auth/refresh"): "refreshTokens",
    ("POST", "/auth/token"): "logIn",
    ("GET", "/auth/sign-in-options"): "listSignInOptions",
    ("POST", "/integration/fhir"): "importAdmissionsFhir",
    ("POST", "/integration/token"): "getIntegrationToken",
    ("GET", "/me"): "getMyProfile",
    ("GET", "/me/access-log"): "listMyAccessLog",
    ("GET", "/me/consents"): "getMyConsents",
    ("PUT", "/me/consents"): "setMyConsents",
    ("GET", "/me/contact-requests"): "listMyContactRequests",
    ("POST", "/me/contact-requests"): "createMyContactRequest",
    ("GET", "/me/contact-requests/{request_id}"): "getMyContactRequest",
    ("POST", "/me/contact-requests/{request_id}/cancel"): "cancelMyContactRequest",
    ("POST", "/me/contact-requests/{request_id}/messages"): "addMyContactRequestMessage",
    ("GET", "/me/crisis-plan"): "getMyCrisisPlan",
    ("PUT", "/me/crisis-plan"): "saveMyCrisisPlan",
    ("GET", "/me/crisis-plan.pdf"): "getMyCrisisPlanPdf",
    ("GET", "/me/crisis-plan/versions"): "listMyCrisisPlanVersions",
    ("POST", "/me/crisis-plan/versions/{version}/approve"): "approveMyCrisisPlanVersion",
    ("POST", "/me/crisis-plan/versions/{version}/decline"): "declineMyCrisisPlanVersion",
    ("GET", "/me/diary"): "listMyDiaryEntries",
    ("POST", "/me/diary"): "createMyDiaryEntry",
    ("DELETE", "/me/diary/{entry_id}"): "deleteMyDiaryEntry",
    ("GET", "/me/diary/{entry_id}"): "getMyDiaryEntry",
    ("PATCH", "/me/diary/{entry_id}"): "updateMyDiaryEntry",
    ("GET", "/me/export"): "exportMyRecord",
    ("GET", "/me/export.fhir"): "exportMyRecordFhir",
    ("GET", "/me/mastery-plan"): "getMyMasteryPlan",
    ("PUT", "/me/mastery-plan"): "saveMyMasteryPlan",
    ("POST", "/me/mastery-plan/strategies/{strategy_id}/uses"): "recordMyStrategyUse",
    ("PUT", "/me/phone"): "setMyPhone",
    ("GET", "/me/programme"): "getMyProgramme",
    ("GET", "/me/push-subscriptions"): "listMyPushSubscriptions",
    ("POST", "/me/push-subscriptions"): "addMyPushSubscription",
    ("DELETE", "/me/push-subscriptions/{subscription_id}"): "deleteMyPushSubscription",
    ("PATCH", "/staff/actions/{action_id}"): "updateMeetingAction",
    ("GET", "/staff/audit"): "listAuditEvents",
    ("GET", "/staff/audit/checkpoint"): "getAuditCheckpoint",
    ("GET", "/staff/audit/emergency-access"): "listEmergencyAccessReviews",
    ("POST", "/staff/audit/emergency-access/{access_id}/review"): "reviewEmergencyAccess",
    ("GET", "/staff/audit/login-failures"): "listLoginFailures",
    ("GET", "/staff/audit/patients/{patient_id}/access-log.pdf"): "getPatientAccessLogPdf",
    ("GET", "/staff/contact-requests"): "listContactQueue",
    ("GET", "/staff/contact-requests/{request_id}"): "getContactRequest",
    ("POST", "/staff/contact-requests/{request_id}/acknowledge"): "acknowledgeContactRequest",
    ("POST", "/staff/contact-requests/{request_id}/call"): "startContactRequestCall",
    ("POST", "/staff/contact-requests/{request_id}/close"): "closeContactRequest",
    ("POST", "/staff/contact-requests/{request_id}/messages"): "addContactRequestMessage",
    ("GET", "/staff/meetings/{meeting_id}"): "getMeeting",
    ("POST", "/staff/meetings/{meeting_id}/actions"): "addMeetingAction",
    ("POST", "/staff/meetings/{meeting_id}/addenda"): "addMeetingAddendum",
    ("PUT", "/staff/meetings/{meeting_id}/attendees"): "setMeetingAttendees",
    ("GET", "/staff/meetings/{meeting_id}/notes/{patient_id}"): "getMeetingNote",
    ("PUT", "/staff/meetings/{meeting_id}/notes/{patient_id}"): "saveMeetingNote",
    ("POST", "/staff/meetings/{meeting_id}/sign"): "signMeeting",
    ("GET", "/staff/patients"): "listPatients",
    ("POST", "/staff/patients"): "enrolPatient",
    ("GET", "/staff/patients/{patient_id}"): "getPatientOverview",
    ("GET", "/staff/patients/{patient_id}/admissions"): "listPatientAdmissions",
    ("POST", "/staff/patients/{patient_id}/admissions"): "addPatientAdmission",
    ("GET", "/staff/patients/{patient_id}/crisis-plan"): "getPatientCrisisPlan",
    ("GET", "/staff/patients/{patient_id}/crisis-plan.pdf"): "getPatientCrisisPlanPdf",
    ("POST", "/staff/patients/{patient_id}/crisis-plan/proposals"): "proposePatientCrisisPlan",
    ("GET", "/staff/patients/{patient_id}/diary"): "listPatientDiaryEntries",
    ("POST", "/staff/patients/{patient_id}/emergency-access"): "openEmergencyAccess",
    ("GET", "/staff/patients/{patient_id}/indicator-events"): "listPatientIndicatorEvents",
    ("POST", "/staff/patients/{patient_id}/indicator-events"): "addPatientIndicatorEvent",
    ("GET", "/staff/programmes"): "listMyTeamsProgrammes",
    ("GET", "/staff/patients/{patient_id}/export.fhir"): "exportPatientRecordFhir",
    ("GET", "/staff/patients/{patient_id}/mastery-plan"): "getPatientMasteryPlan",
    ("GET", "/staff/push-subscriptions"): "listStaffPushSubscriptions",
    ("POST", "/staff/push-subscriptions"): "addStaffPushSubscription",
    ("DELETE", "/staff/push-subscriptions/{subscription_id}"): "deleteStaffPushSubscription",
    ("GET", "/staff/teams/{team_id}/handover"): "getTeamHandover",
    ("GET", "/staff/teams/{team_id}/meetings"): "listTeamMeetings",
    ("POST", "/staff/teams/{team_id}/meetings"): "createTeamMeeting",
    ("GET", "/staff/teams/{team_id}/on-call-shifts"): "listOnCallShifts",
    ("POST", "/staff/teams/{team_id}/on-call-shifts"): "createOnCallShift",
    ("GET", "/staff/teams/{team_id}/outcomes"): "getTeamOutcomes",
    ("GET", "/staff/teams/{team_id}/system-issues"): "listTeamSystemIssues",
}
API_PREFIX = "/api/v1"
IF_NONE_MATCH = {
    "in": "header",
    "name": "If-None-Match",
    "required": False,
    "description": "The ETag you hold: 304 (no body) when the resource has not changed.",
    "schema": {"type": "string"},
}
# A PDF answer's content (the body is the file itself).
PDF_CONTENT = {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}
# A FHIR R4 Bundle (muli/patient/fhir.py; the mapping in docs/fhir/).
FHIR_MEDIA_TYPE = "application/fhir+json"
FHIR_BUNDLE_SCHEMA = {
    "type": "object",
    "description": "A FHIR R4 Bundle (https://hl7.org/fhir/R4/bundle.html); the mapping of each "
    "resource is in docs/fhir/.",
    "required": ["resourceType", "type"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Bundle"]},
        "type": {"type": "string"},
        "entry": {"type": "array", "items": {"type": "object"}},
    },
}
FHIR_CONTENT = {FHIR_MEDIA_TYPE: {"schema": FHIR_BUNDLE_SCHEMA}}


def error_ref(status: int) -> dict:
    return {"$ref": f"#/components/responses/{ERRORS[status][0]}"}


def _header_ref(name: str) -> dict:
    return {"$ref": f"#/components/headers/{name}"}


def statuses(method: str, path: str, operation: dict) -> set[int]:
    """The error statuses one operation can answer (see the module docstring)."""
    params = {p.get("name") for p in operation.get("parameters", []) if isinstance(p, dict)}
    codes = {400, 500, 503}
    if operation.get("security") != [] or path == API_PREFIX + "/auth/token":
        codes.add(401)  # /auth/token: the credentials were wrong
    if path.startswith(GUARDED_PREFIXES) or path == API_PREFIX + "/auth/token":
        codes.add(403)  # /auth/token: 403 password-change-required
    if "{" in path:
        codes.add(404)
    if method in WRITES:
        codes |= {409, 413, 422}
    if any(p.get("in") == "query" for p in operation.get("parameters", []) if isinstance(p, dict)):
        codes.add(422)
    if "If-Match" in params:
        codes |= {412, 428}
    if "Idempotency-Key" in params:
        codes |= {409, 422}
    if (method.upper(), path) in THROTTLED:
        codes.add(429)
    codes |= ALSO.get((method.upper(), path), set())
    return codes


class ContractPlugin(BasePlugin):
    """Runs after flask-smorest's plugins: operations arrive with their schemas resolved."""

    def init_spec(self, spec) -> None:
        self.spec = spec
        spec.components.schema("Problem", PROBLEM_SCHEMA)
        for name, header in HEADERS.items():
            spec.components.header(name, header)
        for name, description, headers in ERRORS.values():
            response: dict = {
                "description": description,
                "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            }
            if headers:
                response["headers"] = {h: _header_ref(h) for h in headers}
            spec.components.response(name, response)

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        for method, operation in (operations or {}).items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            key = (method.upper(), path.removeprefix(API_PREFIX))
            operation["operationId"] = OPERATION_IDS.get(key) or _fallback_id(method, path)
            responses = {str(k): v for k, v in operation.get("responses", {}).items() if k != "default"}
            operation["responses"] = responses
            for status in statuses(method, path, operation):
                responses[str(status)] = error_ref(status)
            params = {p.get("name") for p in operation.get("parameters", []) if isinstance(p, dict)}
            if "304" in responses and "If-None-Match" not in params:
                operation.setdefault("parameters", []).append(IF_NONE_MATCH)
            etag = "If-Match" in params or "304" in responses
            for code, response in responses.items():
                if not code.startswith(("2", "3")) or "$ref" in response:
                    continue
                headers = response.setdefault("headers", {})
                if etag and code in ("200", "304"):
                    headers["ETag"] = {**HEADERS["ETag"], "required": True}
                if "Idempotency-Key" in params and code.startswith("2"):
                    headers["Idempotent-Replayed"] = _header_ref("Idempotent-Replayed")
                if (method.upper(), path) in RATE_LIMITED:
                    for name, description in RATE_LIMIT_HEADERS.items():
                        headers[name] = {"description": description, "schema": {"type": "string"}}
                if not headers:
                    del response["headers"]
            operation["responses"] = dict(sorted(responses.items()))


def _fallback_id(method: str, path: str) -> str:
    """For an operation not yet in OPERATION_IDS (tests/api/test_contract.py fails on one)."""
    words = re.findall(r"[a-z0-9]+", path.removeprefix(API_PREFIX))
    return method + "".join(w.capitalize() for w in words)


def nullable_nested(converter, field, ret: dict, **kwargs) -> dict:
    """A nullable nested object as `allOf: [$ref]` + `nullable: true`: the object or null.
    (apispec's default for OpenAPI 3.0, `anyOf: [{type: object, nullable}, $ref]`, lets any
    object through, so a generated client cannot type it.)"""
    any_of = ret.get("anyOf")
    if getattr(field, "allow_none", False) and isinstance(any_of, list) and len(any_of) == 2:
        refs = [s for s in any_of if "$ref" in s]
        if len(refs) == 1 and {"type": "object", "nullable": True} in any_of:
            del ret["anyOf"]
            ret["allOf"] = refs
            ret["nullable"] = True
    return {}

"""Domain errors. Each has a stable `code` slug; the web layers map them to HTTP in one place.

The message (`detail`, and the messages of `errors`) is English with `%(name)s` placeholders;
its values go in `params`. The web layers show it in the reader's language
(`muli.platform.words.say`): write it as one literal, never an f-string, so the catalogue
finds it.
"""

from __future__ import annotations

from muli.platform.words import N_, english


class MuliError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "error"
    status = 400
    title = "Bad request"
    # Changes made before the error are kept (e.g. a failed login is counted and audited).
    keep_changes = False
    # Set by the access policy on a refusal to reach another patient or team: the web layer
    # records it as a security event (`muli.trust.refusals.Refusal`, `access.refused`).
    refusal: object | None = None

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        errors=None,
        headers=None,
        params: dict[str, object] | None = None,
    ):
        self.message = detail  # the message id, translated where it is shown
        self.params = params or {}
        self.detail = english(detail, self.params) if detail else None
        super().__init__(self.detail or self.title)
        if code:
            self.code = code
        self.errors = errors
        self.headers = headers or {}


class BadRequest(MuliError):
    code, status, title = "bad-request", 400, "Bad request"


class ValidationFailed(MuliError):
    """Input the schema accepted in shape but the domain rejects; names the field."""

    code, status, title = "validation-failed", 422, "Validation failed"

    def __init__(self, field: str, message: str, params: dict[str, object] | None = None):
        super().__init__(message, errors={field: [message]}, params=params)


class AuthenticationFailed(MuliError):
    code, status, title = "authentication-failed", 401, "Not authenticated"
    keep_changes = True


class ActivationFailed(BadRequest):
    """A wrong, used or expired activation code: counted by the throttle and audited (kept)."""

    code = "activation-code-invalid"
    keep_changes = True


class TooManyAttempts(MuliError):
    code, status, title = "too-many-attempts", 429, "Too many attempts"
    keep_changes = True

    def __init__(self, retry_after: int):
        super().__init__(
            N_("Too many failed attempts. Try again in %(seconds)d s."),
            headers={"Retry-After": str(retry_after)},
            params={"seconds": retry_after},
        )
        self.retry_after = retry_after


class Forbidden(MuliError):
    code, status, title = "forbidden", 403, "Not allowed"


class ConsentRequired(Forbidden):
    code, title = "consent-required", "The patient has not given consent"


class NotOnTeam(Forbidden):
    code, title = "not-on-team", "Not on this patient's team"


class NotFound(MuliError):
    code, status, title = "not-found", 404, "Not found"


class Conflict(MuliError):
    code, status, title = "conflict", 409, "Conflict"


class InvalidState(Conflict):
    code, title = "invalid-state", "Not possible in the current state"


class PreconditionFailed(MuliError):
    code, status, title = "precondition-failed", 412, "The resource has changed"


class PreconditionRequired(MuliError):
    code, status, title = "precondition-required", 428, "If-Match is required"

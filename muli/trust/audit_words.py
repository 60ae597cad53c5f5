"""Plain words for the audit trail's actions, for the privacy officer and the patient.

Each action the code records (`audit.record(..., "crisis_plan.read")`) has a kind (what the
privacy officer filters by) and a description in English. The English text is the message
id: the portal and the API translate it with Flask-Babel (bokmål in
`staff_portal/translations/nb/LC_MESSAGES/messages.po`); the domain knows no Flask, so it
only names the words. `tests/unit/test_audit_words.py` reads the code for every recorded
action and fails for one without words here, or without its bokmål translation.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Kinds of action, as the privacy officer filters them.
KINDS: dict[str, str] = {
    "read": "Reading a patient's data",
    "change": "Changing a patient's data",
    "contact": "Contact requests and on-call",
    "consent": "Consent, emergency access and refusals",
    "sign_in": "Sign-in and sessions",
    "account": "Accounts and devices",
    "audit": "Privacy review and the access log",
}

# action -> (kind, what happened, in plain words)
ACTIONS: dict[str, tuple[str, str]] = {
    # reading a patient's data
    "admission.list": ("read", "Read the admissions"),
    "indicator_event.read": ("read", "Read the recorded indicator events"),
    "programme.read": ("read", "Read the programme of the patient's team"),
    "crisis_plan.print": ("read", "Printed the crisis plan"),
    "crisis_plan.read": ("read", "Read the crisis plan"),
    "crisis_plan.unchanged": ("read", "Checked that the crisis plan had not changed (nothing read)"),
    "crisis_plan.versions": ("read", "Read earlier versions of the crisis plan"),
    "diary.list": ("read", "Read the list of diary entries"),
    "diary.list_shared": ("read", "Read the diary entries shared with the team"),
    "diary.read": ("read", "Read a diary entry"),
    "mastery_plan.read": ("read", "Read the mastery plan"),
    "meeting.read": ("read", "Read a team meeting"),
    "meeting_action.list": ("read", "Read the actions agreed in team meetings"),
    "meeting_note.read": ("read", "Read the team meeting notes about the patient"),
    "outcomes.read": ("read", "Read the outcome figures"),
    "patient.export": ("read", "Exported the whole record (the patient's copy)"),
    "patient.export_fhir": ("read", "Exported the record as FHIR"),
    "patient.list": ("read", "Saw the patient in the list of patients"),
    "patient.overview": ("read", "Opened the patient's overview"),
    "profile.read": ("read", "Read the patient's profile"),
    # changing a patient's data
    "admission.create": ("change", "Recorded an admission"),
    "indicator_event.create": (
        "change",
        "Recorded an indicator event (police contact, incident, custody...)",
    ),
    "admission.import": ("change", "Received an admission from the hospital's record system"),
    "crisis_plan.approve": ("change", "Approved a change to the crisis plan"),
    "crisis_plan.decline": ("change", "Declined a change to the crisis plan"),
    "crisis_plan.propose": ("change", "Proposed a change to the crisis plan"),
    "crisis_plan.update": ("change", "Changed the crisis plan"),
    "diary.create": ("change", "Wrote a diary entry"),
    "diary.delete": ("change", "Deleted a diary entry"),
    "diary.update": ("change", "Changed a diary entry"),
    "mastery_plan.update": ("change", "Changed the mastery plan"),
    "mastery_plan.use": ("change", "Noted using a strategy from the mastery plan"),
    "meeting.attendees": ("change", "Recorded who attended a team meeting"),
    "meeting.create": ("change", "Created a team meeting"),
    "meeting.sign": ("change", "Signed the minutes of a team meeting"),
    "meeting_action.create": ("change", "Agreed an action in a team meeting"),
    "meeting_action.status": ("change", "Changed the status of an agreed action"),
    "meeting_addendum.create": ("change", "Added an addendum to signed minutes"),
    "meeting_note.write": ("change", "Wrote the team meeting notes about the patient"),
    "patient.enrol": ("change", "Enrolled the patient"),
    "patient.criteria_confirmed": (
        "change",
        "Confirmed at enrolment that the team judges the programme's criteria met",
    ),
    "enrolment.elsewhere": (
        "change",
        "Enrolled a person who is a patient on another team too (for the privacy officer to settle)",
    ),
    "profile.phone.change": ("change", "Changed the patient's phone number"),
    "profile.phone.remove": ("change", "Removed the patient's phone number"),
    "system_issue.create": ("change", "Recorded a system issue from a team meeting"),
    # contact requests and on-call
    "contact_request.acknowledge": ("contact", "Took a contact request"),
    "contact_request.call": ("contact", "Started calling about a contact request"),
    "contact_request.cancel": ("contact", "Cancelled a contact request"),
    "contact_request.close": ("contact", "Closed a contact request"),
    "contact_request.create": ("contact", "Sent a contact request"),
    "contact_request.escalate.backup": (
        "contact",
        "A contact request was not taken in time: the backup was alerted",
    ),
    "contact_request.escalate.team": (
        "contact",
        "A contact request was not taken in time: the whole team was alerted",
    ),
    "contact_request.handover": ("contact", "Read the contact requests in the hand-over"),
    "contact_request.history": ("contact", "Read the history of contact requests"),
    "contact_request.list": ("contact", "Read the list of contact requests"),
    "contact_request.message": ("contact", "Wrote a message on a contact request"),
    "contact_request.queue": ("contact", "Saw a contact request in the queue"),
    "contact_request.queue_unchanged": (
        "contact",
        "Checked that a contact request in the queue had not changed (nothing shown)",
    ),
    "contact_request.queue_checked": (
        "contact",
        "Checked that the queue of contact requests had not changed (no patient's data read)",
    ),
    "contact_request.read": ("contact", "Read a contact request"),
    "contact_request.remind": ("contact", "Sent a reminder about a contact request"),
    "on_call.change": ("contact", "Changed an on-call shift"),
    "on_call.create": ("contact", "Added an on-call shift"),
    "on_call.remove": ("contact", "Removed an on-call shift"),
    # consent, emergency access and refusals
    "access.refused": ("consent", "Was refused access to another patient or team"),
    "consent.grant": ("consent", "Gave consent to share"),
    "consent.read": ("consent", "Read the consents"),
    "consent.withdraw": ("consent", "Withdrew consent to share"),
    "emergency_access.start": ("consent", "Opened the record in an emergency, without consent"),
    # sign-in and sessions
    "auth.activate": ("sign_in", "Activated an account with its code"),
    "auth.activate_failed": ("sign_in", "Tried to activate an account with a wrong code"),
    "auth.login": ("sign_in", "Signed in"),
    "auth.oidc_login": ("sign_in", "Signed in through ID-porten or HelseID"),
    "auth.refresh_retry": ("sign_in", "Renewed a session (a repeated request)"),
    "auth.refresh_reuse": (
        "sign_in",
        "A used sign-in token was presented again; that login was ended on every device",
    ),
    "auth.throttle": ("sign_in", "Too many sign-in attempts: more were refused for a while"),
    "session.end": ("sign_in", "Ended a session"),
    # accounts and devices
    "account.disable": ("account", "Disabled an account"),
    "integration_client.create": ("account", "Created an integration client (a record system)"),
    "integration_client.disable": ("account", "Disabled an integration client"),
    "account.enable": ("account", "Enabled an account again"),
    "account.helseid_link": ("account", "Linked a staff account to a person for HelseID"),
    "account.password_change": ("account", "Changed the password"),
    "account.password_reset": ("account", "Required a new password"),
    "account.totp_reset": ("account", "Reset the second factor (the authenticator app)"),
    "push_subscription.create": ("account", "Turned on notifications on a device"),
    "push_subscription.delete": ("account", "Turned off notifications on a device"),
    "staff.create": ("account", "Created a staff account"),
    "programme.export": ("account", "Exported a programme's file"),
    "programme.import": ("account", "Imported a programme's file"),
    "programme.list": ("account", "Listed the programmes"),
    "team.programme": ("account", "Set the programme a team runs"),
    # the privacy review and the access log
    "access_log.read": ("audit", "Read the record's access log"),
    "audit.checkpoint": ("audit", "Wrote or downloaded a signed checkpoint of the audit trail"),
    "audit.export_access_log": ("audit", "Exported the patient's access log (PDF)"),
    "audit.login_failures": ("audit", "Looked at failed logins and throttling"),
    "audit.search": ("audit", "Searched the access log"),
    "audit.search_choices": ("audit", "Opened the access log's search (names only)"),
    "emergency_access.review": ("audit", "Reviewed an emergency access"),
    "emergency_access.review_list": ("audit", "Looked at emergency access to review"),
}

# What the privacy officer must be able to find at once: refusals, replays, emergency
# access (also any event done under it, `emergency`) and every outcome other than "ok".
SECURITY_ACTIONS = (
    "access.refused",
    "auth.activate_failed",
    "auth.refresh_reuse",
    "auth.throttle",
    "emergency_access.start",
    "account.disable",
    "account.totp_reset",
)

OUTCOMES: dict[str, str] = {
    "failed": "failed",
    "throttled": "refused: too many attempts",
    "ceiling": "over the account's ceiling",
    "revoked_family": "the login was ended",
    "refused": "refused",
}

ROLES: dict[str, str] = {
    "member": "Team member",
    "coordinator": "Coordinator",
    "privacy_officer": "Privacy officer",
    "admin": "Administrator",
}


# The access log export's own words (muli/patient/pdf.py), translated like the rest.
EXPORT_TEXTS: dict[str, str] = {
    "title": "Access log for %(name)s",
    "lead": (
        "Everyone other than the patient who read or changed the record in MULI, "
        "from the audit trail: who, when, what and why."
    ),
    "period": "Period: %(period)s",
    "whole_time": "the whole time",
    "made": "Made %(at)s by %(name)s, privacy officer. Times are local time (%(zone)s).",
    "when": "When",
    "who": "Who",
    "what": "What",
    "why": "Why",
    "emergency": "Emergency access without consent",
    "system": "MULI (automatic)",
    "patient": "The patient",
    "empty": "Nobody else read or changed the record in this period.",
    "truncated": "More than %(n)d events: only the first are shown. Narrow the period.",
    "page": "Page %(n)d",
}


# The reasons the system itself writes into the trail, English as stored (the values apart
# in a few); the portal, the API and the PDF show them in the reader's language
# (`say_reason`). A reason a person wrote (emergency access) is shown as written.
REASON_THROTTLED = "not checked: wait %(n)s s"
REASON_USERNAME_CEILING = "%(n)s failures for this username in %(h)s h: unknown sources slowed"
REASON_ACTIVATION_CEILING = "%(n)s failed activations from all sources in %(h)s h: every source slowed"
REASON_BESIDE_REQUEST = "beside a contact request"
REASON_ELSEWHERE = "The same national id is a patient on another team; the coordinator was not told."
REASON_RETRY = "the same successor answered again"
REASON_REUSE = "a refresh token was used again after its successor: the login is ended"
REASON_NOT_CURRENT = "the current password was wrong"
SYSTEM_REASONS = (
    REASON_THROTTLED,
    REASON_USERNAME_CEILING,
    REASON_ACTIVATION_CEILING,
    REASON_BESIDE_REQUEST,
    REASON_ELSEWHERE,
    REASON_RETRY,
    REASON_REUSE,
    REASON_NOT_CURRENT,
)


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"%\((\w+)\)s", template)
    return re.compile(
        "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>\\d+)" for i, p in enumerate(parts)) + "$"
    )


_REASON_PATTERNS = [(_pattern(template), template) for template in SYSTEM_REASONS]


def say_reason(reason: str | None, gettext: Callable[[str], str]) -> str | None:
    """A reason in the trail in the reader's language when the system wrote it, else as written."""
    if not reason:
        return reason
    for pattern, template in _REASON_PATTERNS:
        found = pattern.match(reason)
        if found:
            return gettext(template) % found.groupdict() if found.groupdict() else gettext(template)
    return reason


def describe(action: str) -> str:
    """The action's plain words (English, the message id), or the code itself if unknown."""
    known = ACTIONS.get(action)
    return known[1] if known else action


def kind_of(action: str) -> str | None:
    known = ACTIONS.get(action)
    return known[0] if known else None


def actions_of_kind(kind: str) -> list[str]:
    return sorted(a for a, (k, _) in ACTIONS.items() if k == kind)


def all_words() -> list[str]:
    """Every text here that a catalogue must translate."""
    texts = [
        *KINDS.values(),
        *(d for _, d in ACTIONS.values()),
        *OUTCOMES.values(),
        *ROLES.values(),
        *EXPORT_TEXTS.values(),
        *SYSTEM_REASONS,
    ]
    return sorted(set(texts))

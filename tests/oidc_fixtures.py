"""What the OpenID Connect tests share: the synthetic people at the local providers, the
providers configured in the app, and enrolling / linking those people in MULI."""

from __future__ import annotations

from sqlalchemy import select

from muli.extensions import db
from muli.models.people import Patient, Staff
from muli.trust.oidc import ProviderConfig
from tests.oidc_op import (
    HELSEID_HPR,
    HELSEID_LEVEL,
    HELSEID_PID,
    HELSEID_SCOPES,
    IDPORTEN_LEVELS,
    LocalProviders,
)

# Synthetic test numbers (month + 80), birth dates no factory uses.
PATIENT_PID = "03838590038"
STRANGER_PID = "03838590119"
NURSE_PID = "21917990015"
DOCTOR_PID = "21917990287"
NURSE_HPR = "9144889"
DOCTOR_HPR = "9144890"

IDPORTEN_ACCOUNTS = [
    {"sub": "idp-patient", "label": "MinIDTestPasient", "claims": {"pid": PATIENT_PID}},
    {"sub": "idp-stranger", "label": "Ikke innrullert", "claims": {"pid": STRANGER_PID}},
]
HELSEID_ACCOUNTS = [
    {
        "sub": "hid-nurse",
        "label": "Sykepleier Nina",
        "claims": {HELSEID_PID: NURSE_PID, HELSEID_HPR: NURSE_HPR, HELSEID_LEVEL: "4"},
    },
    {
        "sub": "hid-nurse-low",
        "label": "Sykepleier Nina (nivå 3)",
        "claims": {HELSEID_PID: NURSE_PID, HELSEID_HPR: NURSE_HPR, HELSEID_LEVEL: "3"},
    },
    {
        "sub": "hid-doctor",
        "label": "Lege uten kobling",
        "claims": {HELSEID_PID: DOCTOR_PID, HELSEID_HPR: DOCTOR_HPR, HELSEID_LEVEL: "4"},
    },
]


def start_providers(app) -> LocalProviders:
    return LocalProviders([app.config["MULI_PUBLIC_URL"]], IDPORTEN_ACCOUNTS, HELSEID_ACCOUNTS)


def configure(app, op: LocalProviders, **idporten) -> None:
    """Both providers on, as the environment would turn them on (docs/oidc.md)."""
    app.config["MULI_OIDC_PROVIDERS"] = {
        "idporten": ProviderConfig(
            name="idporten",
            issuer=op.idporten.url,
            client_id=idporten.pop("client_id", op.idporten.client_id),
            scopes="openid profile",
            acr=idporten.pop("acr", "idporten-loa-substantial"),
            acr_levels=tuple(IDPORTEN_LEVELS),
            pid_claim="pid",
            **idporten,
        ),
        "helseid": ProviderConfig(
            name="helseid",
            issuer=op.helseid.url,
            client_id=op.helseid.client_id,
            scopes="openid profile " + " ".join(HELSEID_SCOPES),
            acr="4",
            acr_claim=HELSEID_LEVEL,
            acr_levels=("1", "2", "3", "4"),
            pid_claim=HELSEID_PID,
            hpr_claim=HELSEID_HPR,
            client_key=op.muli_helseid_key.as_dict(private=True),
            dpop=True,
        ),
    }


def enrol_as(app, patient_id, pid: str) -> None:
    """Give a factory-made patient the national id the provider vouches for."""
    from muli.cli import system_ctx

    with app.app_context():
        ctx = system_ctx()
        patient = db.session.get_one(Patient, patient_id)
        patient.national_id_index = ctx.keys.blind_index(pid)
        ctx.keys.seal(patient, "national_id", pid)
        db.session.commit()


def link_staff(app, staff_id, pid: str | None, hpr: str | None) -> None:
    from muli.cli import system_ctx
    from muli.trust import oidc

    with app.app_context():
        ctx = system_ctx()
        oidc.link_staff(ctx, db.session.get_one(Staff, staff_id), pid, hpr)
        db.session.commit()


def audit_events(app, action: str) -> list:
    from muli.models.audit import AuditEvent

    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        ).all()
        db.session.expunge_all()
        return list(rows)

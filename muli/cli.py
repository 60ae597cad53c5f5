"""`flask --app wsgi muli ...`: demo data, staff accounts, key rotation, audit verification."""

from __future__ import annotations

import json
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from muli import demo
from muli.extensions import db
from muli.models import Base
from muli.models.integration import INTEGRATION_SCOPES
from muli.models.people import AGENCY_KINDS, STAFF_ROLES, Agency, Team
from muli.platform import backup, crypto, sqlite
from muli.platform.context import SYSTEM, Ctx
from muli.platform.errors import MuliError, NotFound
from muli.team import staff
from muli.trust import audit, integration, lifecycle, sessions

muli_cli = AppGroup("muli", help="MULI operations.")
PURGE_EVERY = 3600.0  # seconds between the worker's housekeeping passes


def system_ctx() -> Ctx:
    ext = current_app.extensions
    return Ctx(db.session(), ext["muli.keys"], SYSTEM, ext["muli.settings"], ext["muli.clock"])


def housekeeping(ctx: Ctx) -> dict[str, int]:
    """Retention, once (docs/retention.md): every room's purge in one transaction, committed,
    then no trace left in SQLite's log. The audit trail is kept. Answers rows deleted by kind."""
    from muli.contact import notifications
    from muli.trust import retention

    report = retention.purge(ctx)
    report["outbox_messages"], report["outbox_attempts"] = notifications.purge(ctx)
    db.session.commit()
    # Not a purge: the audit trail's monthly partitions, made ahead (PostgreSQL only).
    audit.ensure_partitions(ctx.session, ctx.now())
    db.session.commit()
    sqlite.erase_traces(db.engine)
    return report


@muli_cli.command("purge")
def purge() -> None:
    """Delete what is kept no longer (idempotent answers, dead tokens and activation codes,
    login-throttle rows, old notifications and delivery attempts) once, as the worker does
    every hour: for a cron job where no worker runs. The rules: docs/retention.md."""
    report = housekeeping(system_ctx())
    click.echo("purged: " + ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in report.items()))


@muli_cli.command("seed-demo")
@click.option("--json", "as_json", is_flag=True, help="Print the logins as JSON.")
def seed_demo(as_json: bool) -> None:
    """Create the demo region, team, staff and patient (safe to run again)."""
    result = demo.seed(system_ctx())
    db.session.commit()
    # The demo's history is dated in the past: seal it now rather than leave it for a
    # worker, so verify-audit does not count it as waiting too long.
    audit.seal_all(db.session(), db.session.commit)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"Demo team {demo.TEAM} ({result['team_id']})")
    click.echo(f"MULI vold team {demo.VOLD_TEAM} ({result['vold_team_id']}); Pia works on both\n")
    click.echo(f"{'username':9} {'name':20} {'role':16} {'agency':30} {'password':19} totp secret")
    for s in result["staff"]:
        click.echo(
            f"{s['username']:9} {s['name']:20} {s['role']:16} {s['agency']:30} {s['password']:19} "
            f"{s['totp_secret']}"
        )
    for p in result["patients"]:
        click.echo(f"{p['username']:9} {p['name']:20} {'patient':16} {'':30} {p['password']:19} -")
    others = ", ".join(f"{p['name']} (enrolled {p['enrolled_on']})" for p in result["patients_without_login"])
    click.echo(f"\nPatients without a login (for the outcomes): {others}")
    click.echo(
        "\nStaff sign in with a TOTP code: python -m pyotp is not needed; any authenticator app "
        "takes the secret, or: .venv/bin/python -c \"import pyotp; print(pyotp.TOTP('SECRET').now())\""
    )


@muli_cli.command("create-staff")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--agency", required=True, help="Agency name; created if new (then --agency-kind is used).")
@click.option("--agency-kind", type=click.Choice(AGENCY_KINDS), default="other")
@click.option("--role", type=click.Choice(STAFF_ROLES), required=True)
@click.option("--team", "teams", multiple=True, help="Team name (repeatable).")
@click.option("--email")
@click.password_option()
def create_staff(username, display_name, agency, agency_kind, role, teams, email, password) -> None:
    """Create a staff account; prints the TOTP secret once."""
    ctx = system_ctx()
    agency_row = ctx.session.scalars(select(Agency).where(Agency.name == agency)).first()
    agency_row = agency_row or staff.get_or_create_agency(ctx, agency, agency_kind)
    team_ids = []
    for name in teams:
        team = ctx.session.scalars(select(Team).where(Team.name == name)).first()
        if team is None:
            raise click.ClickException(f"no team named {name!r}")
        team_ids.append(team.id)
    person, secret = staff.create_staff(
        ctx,
        staff.NewStaff(
            username=username,
            password=password,
            display_name=display_name,
            agency_id=agency_row.id,
            role=role,
            team_ids=team_ids,
            email=email,
        ),
    )
    db.session.commit()
    click.echo(f"created {username} ({person.id})\nTOTP secret (shown once): {secret}")


programme_cli = AppGroup("programme", help="Programmes as data: export a programme's file, import one.")
muli_cli.add_command(programme_cli)


@programme_cli.command("export")
@click.argument("key")
@click.option("--format", "fmt", type=click.Choice(("yaml", "json")), default="yaml")
def programme_export(key: str, fmt: str) -> None:
    """Write the programme's file (docs/programmes.md) to standard output."""
    from muli.patient import programme

    ctx = system_ctx()
    row = programme.find(ctx, key)
    if row is not None:
        definition = row.definition
    elif key in programme.BUILT_IN:
        definition = programme.built_in(key)
    else:
        raise click.ClickException(f"no programme {key!r}")
    click.echo(programme.dump(definition, fmt), nl=False)


@programme_cli.command("import")
@click.argument("path", type=click.File("rb"))
@click.option("--team", "team_name", help="Then let this team (by name) run it.")
def programme_import(path, team_name: str | None) -> None:
    """Read a programme file (JSON or YAML), validate it and install it (replacing one with
    the same key)."""
    from muli.patient import programme
    from muli.platform.errors import MuliError
    from muli.team import programmes

    ctx = system_ctx()
    team = None
    if team_name:
        team = db.session.scalars(select(Team).where(Team.name == team_name)).first()
        if team is None:
            raise click.ClickException(f"no team {team_name!r}")
    try:
        definition = programme.validate(programme.parse(path.read()))
        row = programmes.install(ctx, definition)
        if team is not None:
            programmes.check_team_agencies(ctx, team, row.definition, "team")
            programmes.assign(ctx, team, row)
    except MuliError as error:
        db.session.rollback()
        raise click.ClickException(f"{error.detail} {error.errors or ''}".strip())
    audit.record(ctx.session, ctx.actor, "programme.import", resource="programme", reason=row.key)
    db.session.commit()
    click.echo(f"imported {row.key}" + (f"; {team_name} runs it" if team_name else ""))


integration_cli = AppGroup("integration-client", help="Record systems that send data in (OAuth2 clients).")
muli_cli.add_command(integration_cli)


@integration_cli.command("create")
@click.option(
    "--team", "team_name", required=True, help="The team whose patients the client may send data for."
)
@click.option("--name", required=True, help="What the client is, e.g. the hospital's record system.")
@click.option(
    "--scope", "scopes", multiple=True, type=click.Choice(INTEGRATION_SCOPES), default=INTEGRATION_SCOPES
)
def integration_client_create(team_name: str, name: str, scopes: tuple[str, ...]) -> None:
    """Create a client; prints its id and secret once (only a keyed hash is kept)."""
    ctx = system_ctx()
    team = ctx.session.scalars(select(Team).where(Team.name == team_name)).first()
    if team is None:
        raise click.ClickException(f"no team named {team_name!r}")
    client, secret = integration.create_client(ctx, team.id, name, list(scopes))
    audit.record(
        ctx.session,
        ctx.actor,
        "integration_client.create",
        resource="integration_client",
        resource_id=client.id,
    )
    db.session.commit()
    click.echo(f"client_id: {client.id}\nclient_secret (shown once): {secret}\nscope: {client.scopes}")


@integration_cli.command("disable")
@click.argument("client_id")
def integration_client_disable(client_id: str) -> None:
    """Disable a client: its tokens stop working at once."""
    ctx = system_ctx()
    try:
        integration.disable_client(ctx, parse_uuid(client_id))
    except NotFound:
        raise click.ClickException(f"no client {client_id}")
    audit.record(
        ctx.session,
        ctx.actor,
        "integration_client.disable",
        resource="integration_client",
        resource_id=client_id,
    )
    db.session.commit()
    click.echo(f"{client_id}: disabled")


account_cli = AppGroup("account", help="Cut an account off, let it back in, reset, see and end sessions.")
muli_cli.add_command(account_cli)


def _account_id(username: str) -> uuid.UUID:
    try:
        return lifecycle.by_username(system_ctx(), username).id
    except NotFound:
        raise click.ClickException(f"no account {username!r}")


@account_cli.command("disable")
@click.argument("username")
def account_disable(username: str) -> None:
    """Disable an account: every session and token ends now; no one can sign in."""
    lifecycle.disable(system_ctx(), _account_id(username))
    db.session.commit()
    click.echo(f"{username}: disabled, every session ended")


@account_cli.command("enable")
@click.argument("username")
def account_enable(username: str) -> None:
    """Let a disabled account sign in again."""
    lifecycle.enable(system_ctx(), _account_id(username))
    db.session.commit()
    click.echo(f"{username}: enabled")


@account_cli.command("reset-password")
@click.argument("username")
def account_reset_password(username: str) -> None:
    """End every session; the next sign-in must set a new password."""
    lifecycle.force_password_reset(system_ctx(), _account_id(username))
    db.session.commit()
    click.echo(f"{username}: sessions ended; a new password is asked for at the next sign-in")


@account_cli.command("reset-totp")
@click.argument("username")
def account_reset_totp(username: str) -> None:
    """A new TOTP secret (shown once); the old codes stop working, every session ends."""
    new = lifecycle.reset_totp(system_ctx(), _account_id(username))
    db.session.commit()
    click.echo(f"{username}: new TOTP secret (shown once): {new.secret}\n{new.uri}")


@account_cli.command("link-helseid")
@click.argument("username")
@click.option(
    "--national-id", prompt="National identity number (empty: none)", default="", show_default=False
)
@click.option("--hpr", prompt="HPR number (empty: none)", default="", show_default=False)
def account_link_helseid(username: str, national_id: str, hpr: str) -> None:
    """Link a staff account to the person HelseID vouches for (national id and/or HPR
    number, kept as blind indexes only); both empty removes the link. Asked for at the
    prompt, so the number stays out of the shell's history."""
    from muli.trust import oidc

    try:
        oidc.link_helseid(system_ctx(), _account_id(username), national_id, hpr)
    except MuliError as error:
        raise click.ClickException(error.detail or error.title)
    db.session.commit()
    linked = [name for name, value in (("national id", national_id), ("HPR number", hpr)) if value.strip()]
    click.echo(
        f"{username}: "
        + (f"linked to HelseID by {' and '.join(linked)}" if linked else "HelseID link removed")
    )


@account_cli.command("sessions")
@click.argument("username")
def account_sessions(username: str) -> None:
    """The account's sessions that still count: id, kind, created, last used, device."""
    ctx = system_ctx()
    for view in sessions.live_sessions(ctx, _account_id(username)):
        created, used = (
            view.created_at.isoformat(timespec="seconds"),
            view.last_used_at.isoformat(timespec="seconds"),
        )
        click.echo(f"{view.id}  {view.kind:6} {created}  {used}  {view.user_agent or '-'}")


@account_cli.command("end-session")
@click.argument("username")
@click.argument("session_id")
def account_end_session(username: str, session_id: str) -> None:
    """End one session (an id from `muli account sessions`)."""
    try:
        sessions.end_session(system_ctx(), _account_id(username), parse_uuid(session_id))
    except NotFound:
        raise click.ClickException("no such live session")
    db.session.commit()
    click.echo("session ended")


@muli_cli.command("rotate-keys")
@click.option("--batch-size", default=crypto.ROTATE_BATCH_SIZE, show_default=True)
def rotate_keys(batch_size: int) -> None:
    """Re-encrypt every field under the newest key in MULI_DATA_KEYS (resumable)."""
    ctx = system_ctx()
    models = crypto.encrypted_models(Base)

    def committed(n: int) -> None:
        db.session.commit()
        click.echo(f"re-encrypted {n} rows")

    done = crypto.rotate(ctx.session, ctx.keys, models, batch_size=batch_size, after_batch=committed)
    db.session.commit()
    click.echo(f"done: {done} rows re-encrypted under key {ctx.keys.current_kid!r}")


def _anchor_file() -> Path:
    return Path(current_app.config["MULI_AUDIT_ANCHOR_FILE"])


@muli_cli.command("verify-audit")
@click.argument("checkpoints", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_audit(checkpoints: tuple[Path, ...]) -> None:
    """Walk the audit chain with the audit keys, against every signed checkpoint (the anchor
    file, the database's copies, and CHECKPOINTS: files downloaded from the portal or API);
    exit 1 on any edited, re-hashed, removed or reordered event or cut-off tail, or on events
    left unsealed longer than MULI_AUDIT_SEAL_BOUND seconds."""
    from muli.trust import audit_anchor

    session = db.session()
    keys = current_app.extensions["muli.audit_keys"]
    anchor_file = _anchor_file()
    anchors, breaks = audit_anchor.gather(session, keys, anchor_file, checkpoints)
    bound = timedelta(seconds=current_app.config["MULI_AUDIT_SEAL_BOUND"])
    breaks += list(audit.verify(session, keys, anchors, unsealed_bound=bound, now=system_ctx().now()))
    if breaks:
        for b in breaks[:50]:
            click.echo(f"audit event {b.seq}: {b.problem}" if b.seq else b.problem, err=True)
        click.echo(f"audit chain BROKEN: {len(breaks)} problem(s)", err=True)
        sys.exit(1)
    if not anchor_file.exists():
        click.echo(f"warning: no anchor file at {anchor_file}", err=True)
    newest = max(anchors, key=lambda a: a.seq, default=None)
    against = (
        f"; checked against {len(anchors)} checkpoint copies, the newest at event {newest.seq}"
        if newest
        else "; no checkpoints"
    )
    click.echo("audit chain intact" + against)


@muli_cli.command("audit-keys")
def audit_keys() -> None:
    """The audit keys' ids, and each checkpoint signing key's public half (no secrets)."""
    from muli.trust.audit import public_key_text

    keys = current_app.extensions["muli.audit_keys"]
    click.echo("audit keys (newest first): " + ", ".join(kid for kid, _ in keys.hmac_keys))
    for kid, public in keys.verify_keys.items():
        signs = " (signs)" if kid == keys.signing_key[0] else ""
        click.echo(f"signing key {kid}{signs}: public {public_key_text(public)}")


@muli_cli.command("audit-checkpoint")
def audit_checkpoint() -> None:
    """Seal the events committed so far, check the audit chain since the last checkpoint
    and sign its head now: appended to the anchor file (MULI_AUDIT_ANCHOR_FILE) and kept
    for the privacy officer; exit 1 if the chain is broken (nothing is signed then)."""
    from muli.trust import audit_anchor

    ctx = system_ctx()
    audit.seal_all(ctx.session, db.session.commit)
    try:
        cp = audit_anchor.checkpoint(ctx.session, now=ctx.now(), anchor_file=_anchor_file())
    except audit_anchor.ChainBroken as error:
        for b in error.breaks[:50]:
            click.echo(f"audit event {b.seq}: {b.problem}", err=True)
        click.echo(f"audit chain BROKEN: {len(error.breaks)} problem(s); no checkpoint written", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(cp.document if cp else "nothing new since the last checkpoint")


@muli_cli.command("audit-seal")
def audit_seal() -> None:
    """Seal the audit events committed so far into the chain, as the worker does on every
    pass (for a host where no worker runs); prints how many."""
    click.echo(f"sealed {audit.seal_all(db.session(), db.session.commit)} audit events")


@muli_cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Write a consistent backup of the database to PATH (safe while serving)."""
    try:
        backup.backup(db.engine, path)
    except backup.BackupError as error:
        raise click.ClickException(str(error))
    click.echo(f"backup of {backup.describe(str(db.engine.url))} written to {path}")


@muli_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.confirmation_option(prompt="Replace everything in the database with this backup?")
def restore_command(path: Path) -> None:
    """Replace the database's contents with the backup at PATH."""
    db.session.remove()
    try:
        backup.restore(db.engine, path)
    except backup.BackupError as error:
        raise click.ClickException(str(error))
    click.echo(f"restored {path} into {backup.describe(str(db.engine.url))}")


def parse_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an id")


# --- after-hours contact: escalation and the outbox (issue 5) ---------------------------


def _parse_instant(value: str | None):
    from datetime import UTC, datetime

    if not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 instant")
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _transports() -> dict:
    """The outbox's ways out: email when MULI_SMTP_URL is set, Web Push when a VAPID key is."""
    from muli.contact import notifications, push

    url = current_app.config.get("MULI_SMTP_URL")
    mail_from = current_app.config.get("MULI_MAIL_FROM", "muli@localhost")
    vapid = current_app.extensions.get("muli.vapid")
    return {
        "email": notifications.SmtpTransport(url, mail_from) if url else None,
        "push": push.WebPushTransport(vapid) if vapid else None,
    }


def _report(report) -> None:
    if report.sent or report.retried or report.failed:
        click.echo(
            f"outbox: {report.sent} sent, {report.retried} to retry, {report.failed} given up "
            f"({report.fallbacks} pushes fell back to email)"
        )


def _send_outbox(ctx: Ctx, transports: dict | None = None) -> None:
    from muli.contact import notifications

    transports = transports if transports is not None else _transports()
    if not any(transports.values()):
        return
    _report(notifications.send_due(ctx, transports, commit=db.session.commit))


@muli_cli.command("escalate")
@click.option("--now", "at", help="Run the rules as of this ISO 8601 instant (default: now).")
@click.option("--send/--no-send", default=True, help="Also send due emails (needs MULI_SMTP_URL).")
def escalate(at: str | None, send: bool) -> None:
    """One pass of the escalation rules (and of the outbox)."""
    from muli.contact import escalation

    ctx = system_ctx()
    report = escalation.run_pass(ctx, now=_parse_instant(at), commit=db.session.commit)
    click.echo(
        f"escalated: {report.backup} to backup, {report.team} to the team; {report.reminder} reminders"
    )
    if send:
        _send_outbox(ctx)


def _worker_seal(ctx: Ctx, log) -> None:
    try:
        audit.seal_all(ctx.session, db.session.commit)
    except Exception:
        db.session.rollback()
        log.exception("audit sealing failed; the events wait for the next pass")


def _worker_checkpoint(ctx: Ctx, log) -> None:
    from muli.trust import audit_anchor

    try:
        audit_anchor.checkpoint(ctx.session, now=ctx.now(), anchor_file=_anchor_file())
        db.session.commit()
    except audit_anchor.ChainBroken as error:
        db.session.rollback()
        # Loud, and again at every interval until someone looks: nothing is signed meanwhile.
        log.error("audit chain broken, no checkpoint written: %s", "; ".join(
            f"event {b.seq}: {b.problem}" for b in error.breaks[:5]))  # fmt: skip


@muli_cli.command("worker")
@click.option("--interval", default=30.0, show_default=True, help="Seconds between escalation passes.")
@click.option("--relay/--no-relay", default=True, help="Send notifications within a second of their commit.")
def worker(interval: float, relay: bool) -> None:
    """Escalate every `interval` seconds, and relay the outbox (push, email) as soon as a
    change commits, until stopped (SIGTERM or Ctrl-C); at start and then once an hour also
    purge what is kept no longer (`housekeeping`, docs/retention.md)."""
    import logging
    import signal
    import threading
    import time

    from muli.contact import escalation
    from muli.contact import relay as outbox_relay

    log = logging.getLogger("muli.worker")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    transports = _transports()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    relay_thread = None
    if relay and any(transports.values()):

        def relay_loop() -> None:
            with app.app_context():  # a session of its own
                outbox_relay.run(
                    system_ctx,
                    transports,
                    commit=db.session.commit,
                    rollback=db.session.rollback,
                    cleanup=db.session.remove,
                    waker=outbox_relay.waker_for(db.engine),
                    stop=stop,
                    on_report=_report,
                )

        relay_thread = threading.Thread(target=relay_loop, name="outbox-relay", daemon=True)
        relay_thread.start()
    click.echo(
        f"worker: an escalation pass every {interval:g} s" + (", outbox relay on" if relay_thread else "")
    )
    next_purge = next_checkpoint = 0.0
    checkpoint_every = float(current_app.config["MULI_AUDIT_CHECKPOINT_SECONDS"])
    try:
        while not stop.is_set():
            ctx = system_ctx()
            try:
                escalation.run_pass(ctx, commit=db.session.commit)
                if relay_thread is None:
                    _send_outbox(ctx, transports)
                if time.monotonic() >= next_purge:
                    # Retention, hourly (docs/retention.md); the audit trail is kept.
                    housekeeping(ctx)
                    next_purge = time.monotonic() + PURGE_EVERY
                # Seal the audit events committed since the last pass into the chain.
                _worker_seal(ctx, log)
                if time.monotonic() >= next_checkpoint:
                    # Anchor the audit chain: its head, signed, into the anchor file.
                    next_checkpoint = time.monotonic() + checkpoint_every
                    _worker_checkpoint(ctx, log)
            except Exception:
                # A failed pass (database away, SMTP down) must not end the worker; try again later.
                db.session.rollback()
                log.exception("worker pass failed")
            finally:
                db.session.remove()
            stop.wait(interval)
    except KeyboardInterrupt:
        stop.set()
    if relay_thread is not None:
        relay_thread.join(timeout=10)
    click.echo("worker stopped")

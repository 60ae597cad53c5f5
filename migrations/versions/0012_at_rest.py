"""nothing about a patient in plain text at rest: idempotent answers and admissions encrypted (issue 15)

Stored Idempotency-Key answers (`idempotency_record.body`) repeated what the request wrote
(messages, phone numbers, diary text, activation codes) in plain text; an admission's facility
and involuntary flag, and a diary entry's mood and hours of sleep, were plain too. Existing rows are sealed with the app's key ring here, in
the form `KeyRing.seal` gives (associated data `<table>|<field>|<row id>`), and the plain
columns dropped. The downgrade opens them again.

Revision ID: 0012_at_rest
Revises: 0011_merge
Create Date: 2026-11-30 08:45:00

"""
import json

from alembic import op
import sqlalchemy as sa
from flask import current_app


# revision identifiers, used by Alembic.
revision = '0012_at_rest'
down_revision = '0011_merge'
branch_labels = None
depends_on = None


def _keys():
    return current_app.extensions["muli.keys"]


def _ident(raw) -> str:
    """A row id as the associated data spells it: the UUID's text form."""
    if isinstance(raw, str) and len(raw) == 32:
        return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
    return str(raw)


def _aad(table: str, name: str, row_id) -> str:
    return f"{table}|{name}|{_ident(row_id)}"


NUMBER_WIDTH = 24  # muli.patient.diary.NUMBER_WIDTH: sealed figures are padded JSON


def upgrade():
    keys = _keys()
    bind = op.get_bind()
    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_enc', sa.Text(), nullable=True))
    with op.batch_alter_table('admission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('facility_enc', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('involuntary_enc', sa.Text(), nullable=True))
    with op.batch_alter_table('diary_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mood_enc', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('sleep_hours_enc', sa.Text(), nullable=True))

    record = sa.table('idempotency_record', sa.column('id'), sa.column('body', sa.LargeBinary), sa.column('body_enc', sa.Text))
    for row_id, body in bind.execute(sa.select(record.c.id, record.c.body).where(record.c.body.is_not(None))).all():
        text = bytes(body).decode("utf-8")
        sealed = keys.encrypt(text, _aad('idempotency_record', 'body', row_id))
        bind.execute(record.update().where(record.c.id == row_id).values(body_enc=sealed))

    admission = sa.table(
        'admission', sa.column('id'), sa.column('facility', sa.String), sa.column('involuntary', sa.Boolean),
        sa.column('facility_enc', sa.Text), sa.column('involuntary_enc', sa.Text),
    )
    for row_id, facility, involuntary in bind.execute(
        sa.select(admission.c.id, admission.c.facility, admission.c.involuntary)
    ).all():
        bind.execute(
            admission.update().where(admission.c.id == row_id).values(
                facility_enc=keys.encrypt(facility, _aad('admission', 'facility', row_id)),
                involuntary_enc=keys.encrypt("1" if involuntary else "0", _aad('admission', 'involuntary', row_id)),
            )
        )

    diary = sa.table(
        'diary_entry', sa.column('id'), sa.column('mood', sa.Integer), sa.column('sleep_hours', sa.Double),
        sa.column('mood_enc', sa.Text), sa.column('sleep_hours_enc', sa.Text),
    )
    for row_id, mood, sleep in bind.execute(sa.select(diary.c.id, diary.c.mood, diary.c.sleep_hours)).all():
        bind.execute(
            diary.update().where(diary.c.id == row_id).values(
                mood_enc=keys.encrypt(json.dumps(mood).ljust(NUMBER_WIDTH), _aad('diary_entry', 'mood', row_id)),
                sleep_hours_enc=keys.encrypt(
                    json.dumps(sleep).ljust(NUMBER_WIDTH), _aad('diary_entry', 'sleep_hours', row_id)
                ),
            )
        )

    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.drop_column('body')
    with op.batch_alter_table('admission', schema=None) as batch_op:
        batch_op.drop_column('facility')
        batch_op.drop_column('involuntary')
    with op.batch_alter_table('diary_entry', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_diary_entry_mood'), type_='check')
        batch_op.drop_column('mood')
        batch_op.drop_column('sleep_hours')


def downgrade():
    keys = _keys()
    bind = op.get_bind()
    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body', sa.LargeBinary(), nullable=True))
    with op.batch_alter_table('admission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('facility', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('involuntary', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('diary_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mood', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sleep_hours', sa.Double(), nullable=True))

    record = sa.table('idempotency_record', sa.column('id'), sa.column('body', sa.LargeBinary), sa.column('body_enc', sa.Text))
    for row_id, sealed in bind.execute(sa.select(record.c.id, record.c.body_enc).where(record.c.body_enc.is_not(None))).all():
        text = keys.decrypt(sealed, _aad('idempotency_record', 'body', row_id))
        bind.execute(record.update().where(record.c.id == row_id).values(body=text.encode("utf-8")))

    admission = sa.table(
        'admission', sa.column('id'), sa.column('facility', sa.String), sa.column('involuntary', sa.Boolean),
        sa.column('facility_enc', sa.Text), sa.column('involuntary_enc', sa.Text),
    )
    for row_id, facility, involuntary in bind.execute(
        sa.select(admission.c.id, admission.c.facility_enc, admission.c.involuntary_enc)
    ).all():
        bind.execute(
            admission.update().where(admission.c.id == row_id).values(
                facility='' if facility is None else keys.decrypt(facility, _aad('admission', 'facility', row_id)),
                involuntary=involuntary is not None
                and keys.decrypt(involuntary, _aad('admission', 'involuntary', row_id)) == "1",
            )
        )

    diary = sa.table(
        'diary_entry', sa.column('id'), sa.column('mood', sa.Integer), sa.column('sleep_hours', sa.Double),
        sa.column('mood_enc', sa.Text), sa.column('sleep_hours_enc', sa.Text),
    )
    for row_id, mood, sleep in bind.execute(sa.select(diary.c.id, diary.c.mood_enc, diary.c.sleep_hours_enc)).all():
        bind.execute(
            diary.update().where(diary.c.id == row_id).values(
                mood=None if mood is None else json.loads(keys.decrypt(mood, _aad('diary_entry', 'mood', row_id))),
                sleep_hours=None if sleep is None
                else json.loads(keys.decrypt(sleep, _aad('diary_entry', 'sleep_hours', row_id))),
            )
        )

    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.drop_column('body_enc')
    with op.batch_alter_table('admission', schema=None) as batch_op:
        batch_op.drop_column('facility_enc')
        batch_op.drop_column('involuntary_enc')
    with op.batch_alter_table('diary_entry', schema=None) as batch_op:
        batch_op.drop_column('mood_enc')
        batch_op.drop_column('sleep_hours_enc')
        batch_op.create_check_constraint(op.f('ck_diary_entry_mood'), 'mood IS NULL OR mood BETWEEN 0 AND 10')

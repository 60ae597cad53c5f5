"""audit events appended without a shared row, sealed afterwards; PostgreSQL: monthly partitions (issue 19)

A request now only inserts its audit events; the worker seals them into the keyed chain
afterwards (`muli.trust.audit.seal`). So `seq` is assigned at insert (PostgreSQL: the
sequence `audit_event_seq`; SQLite: the rowid, AUTOINCREMENT so a number is never reused),
the chain fields may be NULL until sealed, and `chain_pos` is the event's place in the
chain: for the events already chained it is their `seq` (their hashes stay valid).

On PostgreSQL `audit_event` becomes a table partitioned by range of `occurred_at`, one
partition a month (every month the existing events need, this one and the next two, and a
default partition for anything outside), primary key (seq, occurred_at); the indexes are
declared on the parent, so each partition has its own. The unique constraint on `id`
goes: a unique index on a partitioned table must contain the partition key, and `id` is a
random UUID made by `audit.record` (nothing looks events up by it).

Revision ID: 0036_audit_seal
Revises: 0021_plans
Create Date: 2026-11-30 11:45:00

"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0036_audit_seal"
down_revision = "0021_plans"
branch_labels = None
depends_on = None

AHEAD = 2

# name -> (columns, partial: only unsealed events)
INDEXES = {
    "ix_audit_event_patient_seq": (["patient_id", "seq"], False),
    "ix_audit_event_occurred": (["occurred_at", "seq"], False),
    "ix_audit_event_patient_occurred": (["patient_id", "occurred_at", "seq"], False),
    "ix_audit_event_actor_occurred": (["actor_account_id", "occurred_at", "seq"], False),
    "ix_audit_event_chain_pos": (["chain_pos"], False),
    "ix_audit_event_unsealed": (["seq"], True),
}


def _month(at: datetime, add: int = 0) -> datetime:
    n = at.year * 12 + at.month - 1 + add
    return datetime(n // 12, n % 12 + 1, 1, tzinfo=UTC)


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
        return
    with op.batch_alter_table(
        "audit_event", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ) as b:
        b.drop_index("ix_audit_event_patient_seq")
        b.drop_constraint("uq_audit_event_id", type_="unique")
        b.alter_column("seq", existing_type=sa.BigInteger(), type_=sa.Integer(), autoincrement=True)
        b.alter_column("prev_hash", existing_type=sa.String(64), nullable=True)
        b.alter_column("hash", existing_type=sa.String(64), nullable=True)
        b.add_column(sa.Column("chain_pos", sa.BigInteger(), nullable=True))
    op.execute("UPDATE audit_event SET chain_pos = seq")
    for name, (columns, partial) in INDEXES.items():
        where = sa.text("chain_pos IS NULL") if partial else None
        op.create_index(name, "audit_event", columns, sqlite_where=where)


def _upgrade_postgresql():
    bind = op.get_bind()
    op.execute("ALTER TABLE audit_event RENAME TO audit_event_old")
    op.execute("ALTER TABLE audit_event_old RENAME CONSTRAINT pk_audit_event TO pk_audit_event_old")
    op.execute("ALTER TABLE audit_event_old DROP CONSTRAINT uq_audit_event_id")
    op.execute("DROP INDEX ix_audit_event_patient_seq")
    op.execute("CREATE SEQUENCE audit_event_seq")
    op.execute(
        "CREATE TABLE audit_event (LIKE audit_event_old INCLUDING DEFAULTS, chain_pos BIGINT, "
        "CONSTRAINT pk_audit_event PRIMARY KEY (seq, occurred_at)) PARTITION BY RANGE (occurred_at)"
    )
    op.execute("ALTER TABLE audit_event ALTER COLUMN seq SET DEFAULT nextval('audit_event_seq')")
    op.execute("ALTER TABLE audit_event ALTER COLUMN prev_hash DROP NOT NULL")
    op.execute("ALTER TABLE audit_event ALTER COLUMN hash DROP NOT NULL")
    op.execute("ALTER SEQUENCE audit_event_seq OWNED BY audit_event.seq")
    now = datetime.now(UTC)
    oldest = bind.execute(sa.text("SELECT min(occurred_at) FROM audit_event_old")).scalar()
    month = _month(min(oldest, now) if oldest is not None else now)
    last = _month(now, AHEAD)
    while month <= last:
        end = _month(month, 1)
        op.execute(
            f"CREATE TABLE audit_event_{month:%Y_%m} PARTITION OF audit_event "
            f"FOR VALUES FROM ('{month.isoformat()}') TO ('{end.isoformat()}')"
        )
        month = end
    op.execute("CREATE TABLE audit_event_default PARTITION OF audit_event DEFAULT")
    for name, (columns, partial) in INDEXES.items():
        where = " WHERE chain_pos IS NULL" if partial else ""
        op.execute(f"CREATE INDEX {name} ON audit_event ({', '.join(columns)}){where}")
    op.execute("INSERT INTO audit_event SELECT *, seq FROM audit_event_old")
    op.execute("SELECT setval('audit_event_seq', COALESCE((SELECT max(seq) FROM audit_event), 0) + 1, false)")
    op.execute("DROP TABLE audit_event_old")


def downgrade():
    # Back to one chain numbered by seq: events not sealed yet are dropped, and the sealed
    # ones are renumbered by their place (the old code cannot check events sealed off
    # their seq: a development convenience, not a way back for a live trail).
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_event RENAME TO audit_event_new")
        op.execute("ALTER TABLE audit_event_new RENAME CONSTRAINT pk_audit_event TO pk_audit_event_new")
        for name in INDEXES:
            op.execute(f"ALTER INDEX {name} RENAME TO {name}_new")
        op.execute(
            "CREATE TABLE audit_event (LIKE audit_event_new, CONSTRAINT pk_audit_event PRIMARY KEY (seq), "
            "CONSTRAINT uq_audit_event_id UNIQUE (id))"
        )
        op.execute(
            "INSERT INTO audit_event SELECT * FROM audit_event_new WHERE chain_pos IS NOT NULL ORDER BY chain_pos"
        )
        op.execute("UPDATE audit_event SET seq = chain_pos")
        op.execute("DROP TABLE audit_event_new")
        op.execute("ALTER TABLE audit_event DROP COLUMN chain_pos")
        op.execute("ALTER TABLE audit_event ALTER COLUMN prev_hash SET NOT NULL")
        op.execute("ALTER TABLE audit_event ALTER COLUMN hash SET NOT NULL")
        op.execute("CREATE INDEX ix_audit_event_patient_seq ON audit_event (patient_id, seq)")
        return
    for name in INDEXES:
        op.drop_index(name, "audit_event")
    op.execute("DELETE FROM audit_event WHERE chain_pos IS NULL")
    op.execute("UPDATE audit_event SET seq = -chain_pos")
    op.execute("UPDATE audit_event SET seq = -seq")
    with op.batch_alter_table("audit_event", recreate="always") as b:
        b.drop_column("chain_pos")
        b.alter_column("seq", existing_type=sa.Integer(), type_=sa.BigInteger(), autoincrement=False)
        b.alter_column("prev_hash", existing_type=sa.String(64), nullable=False)
        b.alter_column("hash", existing_type=sa.String(64), nullable=False)
        b.create_unique_constraint("uq_audit_event_id", ["id"])
    op.create_index("ix_audit_event_patient_seq", "audit_event", ["patient_id", "seq"])

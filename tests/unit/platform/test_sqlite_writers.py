"""muli/platform/sqlite.py: readers hold nothing, one writer at a time, and the turn is never kept."""

from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from muli.platform import sqlite

COUNTER = Table("counter", MetaData(), Column("n", Integer, nullable=False))
# SQLite has no SELECT ... FOR UPDATE; the clause still says "about to write": the lock first.
READ_FOR_UPDATE = select(COUNTER.c.n).with_for_update()


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'w.sqlite3'}", pool_size=8)
    engine.writers = sqlite.configure(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))
    yield engine
    engine.dispose()


def test_every_connection_gets_the_pragmas(engine):
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_a_begin_that_fails_is_sqlalchemys_operational_error(engine):
    # The reader's BEGIN goes to the driver's connection directly; its failure must still be
    # the OperationalError the app answers 503 for, not the driver's own exception.
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        raw.execute("BEGIN")  # a transaction SQLAlchemy does not know of: BEGIN now fails
        with pytest.raises(OperationalError, match="within a transaction"):
            conn.begin()
        raw.execute("ROLLBACK")


def test_a_transaction_holds_the_turn_from_its_first_write_until_its_connection_goes_back(engine):
    with Session(engine) as session:
        session.execute(text("SELECT n FROM counter"))
        assert not engine.writers.busy  # a reader holds nothing
        session.execute(text("UPDATE counter SET n = n + 1"))
        assert engine.writers.busy
        session.commit()
        assert not engine.writers.busy


def test_select_for_update_takes_the_turn_before_it_reads(engine):
    with Session(engine) as session:
        assert session.execute(READ_FOR_UPDATE).scalar_one() == 0
        assert engine.writers.busy
        session.rollback()
    assert not engine.writers.busy


def test_a_reader_is_not_held_up_by_a_writer(engine):
    """A request that only reads (a token check, a page of the queue) answers while another
    transaction holds the write lock, however long that one takes."""
    writer = Session(engine)
    writer.execute(text("UPDATE counter SET n = 41"))
    assert engine.writers.busy
    seen = []

    def read() -> None:
        with Session(engine) as session:
            seen.append(session.execute(text("SELECT n FROM counter")).scalar_one())
            session.commit()

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(timeout=2)
    assert seen == [0]  # at once, and the committed value, not the writer's pending one
    writer.rollback()
    writer.close()


def test_a_reader_whose_snapshot_went_stale_still_writes(engine):
    """Upgrading a read snapshot in place fails with SQLITE_BUSY once another writer committed
    since it was taken; the reader begins again as a writer and sees the newer data."""
    reader = Session(engine)
    assert reader.execute(text("SELECT n FROM counter")).scalar_one() == 0
    with Session(engine) as other:
        other.execute(text("UPDATE counter SET n = 10"))
        other.commit()
    reader.execute(text("UPDATE counter SET n = n + 1"))
    reader.commit()
    reader.close()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 11


@pytest.mark.parametrize(
    ("statement", "needs_lock"),
    [
        ("SELECT n FROM counter", False),
        ("  (SELECT 1)", False),
        ("PRAGMA foreign_keys", False),
        ("insert into counter values (1)", True),
        ("UPDATE counter SET n = 1", True),
        ("DELETE FROM counter", True),
        ("SAVEPOINT sa_savepoint_1", True),
        ("CREATE TABLE x (a)", True),
        ("WITH t AS (SELECT 1) SELECT * FROM t", False),
        ("WITH t AS (SELECT 1) INSERT INTO counter SELECT * FROM t", True),
    ],
)
def test_which_statements_need_the_write_lock(statement, needs_lock):
    assert sqlite.writes(statement) is needs_lock


@pytest.mark.parametrize("ending", ["rollback", "error", "close", "invalidate"])
def test_the_turn_is_given_back_however_the_transaction_ends(engine, ending):
    session = Session(engine)
    session.execute(text("UPDATE counter SET n = n + 1"))
    assert engine.writers.busy
    if ending == "rollback":
        session.rollback()
    elif ending == "error":
        with pytest.raises(IntegrityError):
            session.execute(text("INSERT INTO counter VALUES (NULL)"))  # NOT NULL
        session.rollback()
    elif ending == "close":
        session.close()
    else:
        session.connection().invalidate()
        session.rollback()
    assert not engine.writers.busy
    session.close()
    with Session(engine) as again:  # and the next writer gets it
        again.execute(text("UPDATE counter SET n = n + 1"))
        again.commit()
    assert not engine.writers.busy


def _add_in_threads(engine, threads: int, times: int) -> None:
    """Read-modify-write the counter `times` times in each of `threads` threads at once."""

    def add() -> None:
        for _ in range(times):
            with Session(engine) as session:
                n = session.execute(READ_FOR_UPDATE).scalar_one()
                session.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
                session.commit()

    running = [threading.Thread(target=add) for _ in range(threads)]
    for t in running:
        t.start()
    for t in running:
        t.join(timeout=120)


def test_threads_writing_at_once_all_get_their_turn_and_lose_no_update(engine):
    _add_in_threads(engine, threads=8, times=25)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 200
    assert not engine.writers.busy


def test_a_turn_kept_too_long_only_slows_the_next_writer_down(engine, caplog):
    engine.writers.timeout = 0.2
    stuck = Session(engine)
    stuck.execute(text("UPDATE counter SET n = 1"))  # holds the turn and SQLite's lock
    result = []

    def other() -> None:
        with Session(engine) as session:
            try:
                session.execute(text("UPDATE counter SET n = 2"))
            except Exception as error:  # SQLite's own busy timeout, after ours
                result.append(type(error).__name__)

    # Our wait gives up after 0.2 s and logs it; SQLite's busy handler then waits for the
    # real lock, which `stuck` gives back below.
    waiter = threading.Thread(target=other)
    waiter.start()
    waiter.join(timeout=1.0)
    assert "no writer turn" in caplog.text
    stuck.rollback()
    stuck.close()
    waiter.join(timeout=30)
    assert result == [] and not waiter.is_alive()


def test_a_forked_child_starts_with_a_free_turn(engine):
    with Session(engine) as session:
        session.execute(text("UPDATE counter SET n = 1"))
        assert engine.writers.busy
        pid = os.fork()
        if pid == 0:  # the child: the parent's held turn must not be held here
            os._exit(1 if engine.writers.busy else 0)
        _, status = os.waitpid(pid, 0)
        session.rollback()
    assert os.waitstatus_to_exitcode(status) == 0


def test_processes_take_turns_too_and_lose_no_update(engine):
    """Two processes (as two gunicorn workers), four threads each, read-modify-write."""
    engine.dispose()  # no pooled connection crosses the fork
    pid = os.fork()
    if pid == 0:
        try:
            _add_in_threads(engine, threads=4, times=20)
        finally:
            os._exit(0)
    _add_in_threads(engine, threads=4, times=20)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 160


def test_while_one_process_writes_another_cannot_take_the_turn(engine):
    import fcntl

    with Session(engine) as session:
        session.execute(text("UPDATE counter SET n = n + 1"))  # this process has the turn
        fd = os.open(engine.writers.lock_path, os.O_RDWR)
        try:  # another open file stands for another process
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            session.commit()
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # given back with the connection
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

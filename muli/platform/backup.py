"""Backup and restore: SQLite's online backup API, or pg_dump/pg_restore for PostgreSQL.

Encrypted fields stay encrypted in the backup: keep the keys (MULI_DATA_KEYS and
MULI_BLIND_INDEX_KEY) safe and separate, or the backup cannot be read.

The database password reaches pg_dump and pg_restore through their environment
(PGPASSWORD), never their command line: any user of the host can read a process's argv
(`ps`, /proc/<pid>/cmdline), while its environment is readable only by its owner and root.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, Engine, make_url


class BackupError(RuntimeError):
    """The backup or restore tool failed; the message says why."""


def _libpq_url(engine: Engine) -> str:
    """The connection URL for the libpq tools, without the password (see `_libpq_env`)."""
    url = engine.url.difference_update_query(["password"])
    url = URL.create("postgresql", url.username, None, url.host, url.port, url.database, url.query)
    return url.render_as_string(hide_password=False)


def _libpq_env(engine: Engine) -> dict[str, str]:
    """The tool's environment: ours, plus the password as PGPASSWORD when the URL has one."""
    env = dict(os.environ)
    password = engine.url.password or engine.url.query.get("password")
    if password:
        env["PGPASSWORD"] = str(password)
    return env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian package postgresql-client)")
    return path


def _sqlite3_of(raw) -> sqlite3.Connection:
    """The sqlite3 connection under SQLAlchemy's pooled one (for the online backup API)."""
    connection = raw.driver_connection
    if not isinstance(connection, sqlite3.Connection):
        raise BackupError("not an SQLite connection")
    return connection


def backup(engine: Engine, path: Path) -> Path:
    """Write a consistent copy of the database to `path` while the service keeps running."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if engine.dialect.name == "sqlite":
        target = sqlite3.connect(path)
        raw = engine.raw_connection()
        try:
            _sqlite3_of(raw).backup(target)
        finally:
            raw.close()
            target.close()
    else:
        _run(
            [_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={path}", _libpq_url(engine)],
            _libpq_env(engine),
        )
    return path


def restore(engine: Engine, path: Path) -> None:
    """Replace the database's contents with the backup at `path`."""
    if not path.exists():
        raise BackupError(f"no backup at {path}")
    if engine.dialect.name == "sqlite":
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        raw = engine.raw_connection()
        try:
            source.backup(_sqlite3_of(raw))
        finally:
            raw.close()
            source.close()
        engine.dispose()
    else:
        engine.dispose()
        _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
              f"--dbname={_libpq_url(engine)}", str(path)], _libpq_env(engine))  # fmt: skip


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(result.stderr.strip() or f"{command[0]} failed")


def describe(url: str) -> str:
    """A database URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)

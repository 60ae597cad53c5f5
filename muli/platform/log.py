"""JSON-lines logging with the request id; never tokens, passwords or health text.

A database error is logged without what it may quote of the data it was given: the engine
hides bound parameters (`hide_parameters`), and an error's own message can still quote them
(PostgreSQL's "DETAIL: Failing row contains (...)", "Key (name)=(...) already exists",
"invalid input syntax for type uuid: "..."), so a traceback names a database error by its
type, SQLSTATE, constraint and statement only. Its frames are kept.
"""

from __future__ import annotations

import logging
import sys
import traceback

from pythonjsonlogger.json import JsonFormatter
from sqlalchemy.exc import StatementError


def _name(error: BaseException) -> str:
    kind = type(error)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _from_database(error: BaseException) -> bool:
    return isinstance(error, StatementError) or type(error).__module__.split(".")[0] in ("psycopg", "sqlite3")


def safe_message(error: BaseException) -> str:
    """The error's message, or for a database error what names it without quoting data."""
    if isinstance(error, StatementError):
        orig = error.orig
        cause = f"({_name(orig)}) {safe_message(orig)} " if orig is not None else ""
        return f"{cause}[SQL: {error.statement}]"
    if not _from_database(error):
        return str(error)
    sqlstate = getattr(error, "sqlstate", None)
    diag = getattr(error, "diag", None)
    constraint = getattr(diag, "constraint_name", None)
    parts = [f"SQLSTATE {sqlstate}" if sqlstate else "database error"]
    if constraint:
        parts.append(f"constraint {constraint}")
    return ", ".join(parts) + " (message hidden: it may quote the data)"


def format_exception(error: BaseException) -> str:
    """Like the interpreter's traceback (the chain of causes, oldest first), with
    `safe_message` for each exception's message."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain) and len(chain) < 20:
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    parts = [
        "Traceback (most recent call last):\n"
        + "".join(traceback.format_tb(e.__traceback__))
        + f"{_name(e)}: {safe_message(e)}"
        for e in reversed(chain)
    ]
    return "\n\nThe above exception led to the following exception:\n\n".join(parts)


class Formatter(JsonFormatter):
    def formatException(self, ei) -> str:
        error = ei[1] if ei else None
        return format_exception(error) if error is not None else str(super().formatException(ei))


def formatter() -> Formatter:
    """The format of every log line: one JSON object."""
    return Formatter("%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields={"levelname": "level"})


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a line is logged, not what it was when the app
    was made: a command run by a test runner (or a captured CLI invocation) swaps stderr and
    closes its copy afterwards, and a handler holding that copy then fails with "Logging
    error" on every line. In a server stderr never changes, so this is the same there."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure(level: str = "INFO") -> None:
    handler = _CurrentStderr()
    handler.setFormatter(formatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_muli", False):
            root.removeHandler(old)
    handler._muli = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)

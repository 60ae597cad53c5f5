"""JSON-lines logging with the request id; never tokens, passwords or health text."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields={"levelname": "level"})
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_muli", False):
            root.removeHandler(old)
    handler._muli = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)

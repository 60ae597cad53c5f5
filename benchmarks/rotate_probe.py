"""Time `flask muli rotate-keys` against raw AES-GCM on the same fields; prints one JSON line.

Run by run.py in a subprocess whose MULI_DATA_KEYS lists a new key first and the old one
after it, as an operator would before rotating. Steps:

1. Read every encrypted field not yet under the newest key (all models, as rotate-keys does).
2. Raw baseline: AES-GCM decrypt under the old key and encrypt under the new one, same
   nonces' size, same associated data, AESGCM objects made once; only the cipher calls
   are timed (base64 and database work are not).
3. The real thing: the `muli rotate-keys` command, invoked in this process through Flask's
   CLI runner (so Python start-up and app creation are not counted), timed end to end,
   committing every batch as the command does.
4. Check that no stale field is left.
"""

from __future__ import annotations

import json
import os
import time

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select

from muli.app import create_app
from muli.extensions import db
from muli.models import Base
from muli.platform import crypto


def stale_fields(keys: crypto.KeyRing) -> list[tuple[str, bytes, bytes]]:
    out = []
    for model in crypto.encrypted_models(Base):
        cols = [getattr(model, f"{name}_enc") for name in model.__encrypted__]
        for row in db.session.execute(select(model.id, *cols)):
            for name, token in zip(model.__encrypted__, row[1:], strict=True):
                if token is not None and not keys.is_current(token):
                    _version, kid, payload = token.split(".", 2)
                    raw = crypto._unb64(payload)
                    out.append((kid, raw, f"{model.__tablename__}|{name}|{row[0]}".encode()))
    return out


def main() -> None:
    app = create_app()
    with app.app_context():
        keys = app.extensions["muli.keys"]
        fields = stale_fields(keys)
        ciphers = {kid: AESGCM(key) for kid, key in keys.keys}
        new = ciphers[keys.current_kid]
        started = time.perf_counter()
        for kid, raw, aad in fields:
            plain = ciphers[kid].decrypt(raw[:12], raw[12:], aad)
            new.encrypt(os.urandom(12), plain, aad)
        raw_seconds = time.perf_counter() - started
        db.session.remove()

        runner = app.test_cli_runner()
        started = time.perf_counter()
        result = runner.invoke(args=["muli", "rotate-keys"])
        rotate_seconds = time.perf_counter() - started
        if result.exit_code != 0:
            raise SystemExit(f"rotate-keys failed: {result.output}\n{result.exception!r}")
        left = len(stale_fields(keys))
        db.session.remove()
    print(
        "BENCH_JSON "
        + json.dumps(
            {
                "fields": len(fields),
                "raw_seconds": raw_seconds,
                "rotate_seconds": rotate_seconds,
                "stale_after": left,
                "output_tail": result.output.strip().splitlines()[-1:],
            }
        )
    )


if __name__ == "__main__":
    main()

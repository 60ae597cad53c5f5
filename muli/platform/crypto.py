"""Field encryption (AES-256-GCM bound to table, column and row) and the blind index.

Stored form: ``v1.<key id>.<base64url(nonce || ciphertext+tag)>``. The associated data is
``<table>|<column>|<row id>``, so a ciphertext copied to another row or column does not
decrypt. Keys come newest first; the newest encrypts, any of them decrypts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session

FORMAT = "v1"
_KID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class KeyRingError(Exception):
    """The key ring is malformed."""


class DecryptionError(Exception):
    """A stored value could not be decrypted: wrong key, tampered, or moved."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key() -> str:
    """A fresh random 256-bit key, base64url."""
    return _b64(AESGCM.generate_key(bit_length=256))


@dataclass(frozen=True)
class KeyRing:
    """Data keys, newest first, and the separate blind-index key."""

    keys: tuple[tuple[str, bytes], ...]
    index_key: bytes

    @classmethod
    def parse(cls, data_keys: str, index_key: str) -> KeyRing:
        """Parse ``kid:base64key,kid:base64key`` (newest first) and a base64 index key."""
        keys = []
        for part in (p.strip() for p in data_keys.split(",")):
            if not part:
                continue
            kid, sep, material = part.partition(":")
            if not sep or not _KID.match(kid):
                raise KeyRingError("each data key must be written as <id>:<base64 key>")
            raw = _unb64(material)
            if len(raw) != 32:
                raise KeyRingError(f"data key {kid!r} must be 32 bytes")
            keys.append((kid, raw))
        if not keys:
            raise KeyRingError("no data keys")
        if len({k for k, _ in keys}) != len(keys):
            raise KeyRingError("data key ids must be unique")
        raw_index = _unb64(index_key)
        if len(raw_index) < 32:
            raise KeyRingError("the blind-index key must be at least 32 bytes")
        return cls(tuple(keys), raw_index)

    @property
    def current_kid(self) -> str:
        return self.keys[0][0]

    @cached_property
    def _ciphers(self) -> dict[str, AESGCM]:
        """One AESGCM per key, made once (making one costs as much as a short encryption)."""
        return {kid: AESGCM(key) for kid, key in self.keys}

    def encrypt(self, plaintext: str, aad: str) -> str:
        kid = self.keys[0][0]
        nonce = os.urandom(12)
        sealed = self._ciphers[kid].encrypt(nonce, plaintext.encode(), aad.encode())
        return f"{FORMAT}.{kid}.{_b64(nonce + sealed)}"

    def decrypt(self, token: str, aad: str) -> str:
        try:
            version, kid, payload = token.split(".", 2)
            raw = _unb64(payload)
        except (ValueError, AttributeError):
            raise DecryptionError("malformed ciphertext")
        if version != FORMAT:
            raise DecryptionError(f"unknown format {version!r}")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise DecryptionError(f"no key {kid!r} in the key ring")
        try:
            return cipher.decrypt(raw[:12], raw[12:], aad.encode()).decode()
        except (InvalidTag, ValueError):
            raise DecryptionError("ciphertext does not match its key or place")

    @cached_property
    def current_prefix(self) -> str:
        return f"{FORMAT}.{self.current_kid}."

    def is_current(self, token: str) -> bool:
        return token.startswith(self.current_prefix)

    def reencrypt(self, token: str, aad: bytes, nonce: bytes) -> str:
        """`token` sealed again under the newest key: for rotation, where the plaintext never
        needs to be text and the caller draws the nonces (12 random bytes each) in bulk."""
        try:
            _version, kid, payload = token.split(".", 2)
            raw = _unb64(payload)
            plain = self._ciphers[kid].decrypt(raw[:12], raw[12:], aad)
        except (ValueError, KeyError, InvalidTag):
            raise DecryptionError("ciphertext does not match a key in the ring or its place")
        current = self.keys[0][0]
        return f"{FORMAT}.{current}.{_b64(nonce + self._ciphers[current].encrypt(nonce, plain, aad))}"

    # Model helpers: the field `name` is stored in the column `name_enc`.

    def seal(self, obj, name: str, value: str | None) -> None:
        """Encrypt `value` into obj.<name>_enc, bound to obj's table, column and id."""
        setattr(obj, f"{name}_enc", None if value is None else self.encrypt(value, aad_for(obj, name)))

    def open(self, obj, name: str) -> str | None:
        """Decrypt obj.<name>_enc."""
        token = getattr(obj, f"{name}_enc")
        return None if token is None else self.decrypt(token, aad_for(obj, name))

    def blind_index(self, value: str) -> str:
        """Keyed HMAC of a normalised value, for equality lookups on an encrypted field."""
        normal = unicodedata.normalize("NFKC", value).strip().casefold()
        return hmac.new(self.index_key, normal.encode(), hashlib.sha256).hexdigest()

    def keyed_hash(self, purpose: str, value: str) -> str:
        """Keyed hash for secrets that are only ever compared (activation codes)."""
        return hmac.new(self.index_key, f"{purpose}|{value}".encode(), hashlib.sha256).hexdigest()


def aad_for(obj, name: str) -> str:
    if obj.id is None:
        raise ValueError("encrypting a field needs the row's id first")
    return aad(obj.__tablename__, name, obj.id)


def aad(table: str, name: str, row_id) -> str:
    """The associated data of field `name` of row `row_id` in `table` (for a value read with
    Core, without its model object: `keys.decrypt(token, aad("patient", "phone", id))`)."""
    return f"{table}|{name}|{row_id}"


def encrypted_models(base) -> list[Any]:
    """Every mapped class that declares encrypted fields."""
    return sorted(
        (m.class_ for m in base.registry.mappers if m.class_.__dict__.get("__encrypted__")),
        key=lambda cls: cls.__tablename__,
    )


def rotate(
    session: Session,
    keyring: KeyRing,
    models: Iterable[Any],
    *,
    batch_size: int = 2000,
    after_batch: Callable[[int], None] | None = None,
) -> int:
    """Re-encrypt every field not yet under the newest key, a batch at a time.

    Each batch is committed by `after_batch`, so an interrupted run loses at most one batch
    and a re-run carries on where it stopped: rows already under the newest key are skipped.
    Each update names the ciphertext it replaces, so a value changed meanwhile is left for
    the next run. Rows go through the database driver as they are (plain SQL, no ORM and no
    type conversion: ids are handed back exactly as they were read), which is most of the
    cost here besides the cipher.
    """
    connection = session.connection()
    pyformat = connection.dialect.paramstyle in ("format", "pyformat")  # psycopg; else sqlite3's :name

    def param(name: str) -> str:
        return f"%({name})s" if pyformat else f":{name}"

    done = 0
    current = keyring.current_prefix
    for model in models:
        # Table and column names come from the models, never from input.
        table, names = model.__tablename__, model.__encrypted__
        columns = ", ".join(f"{n}_enc" for n in names)
        stale = " OR ".join(f"({n}_enc IS NOT NULL AND {n}_enc NOT LIKE {param('prefix')})" for n in names)
        select_sql = f"SELECT id, {columns} FROM {table} WHERE ({stale})"  # noqa: S608
        first = f"{select_sql} ORDER BY id LIMIT {int(batch_size)}"
        after = f"{select_sql} AND id > {param('last')} ORDER BY id LIMIT {int(batch_size)}"
        last_id = None
        while True:
            params = {"prefix": f"{current}%", "last": last_id}
            rows: Sequence[Any] = connection.exec_driver_sql(
                first if last_id is None else after, params
            ).all()
            if not rows:
                break
            # Nonces are drawn from the OS in one call per batch rather than one per field.
            nonces = memoryview(os.urandom(12 * len(rows) * len(names)))
            used = 0
            changes: dict[tuple[str, ...], list[dict]] = {}  # one executemany per set of columns
            for row_id, *tokens in rows:
                change: dict = {"row_id": row_id}
                ident = _uuid_text(row_id)
                for name, token in zip(names, tokens, strict=True):
                    if token is not None and not token.startswith(current):
                        aad = f"{table}|{name}|{ident}".encode()
                        change[f"old_{name}"] = token
                        change[f"new_{name}"] = keyring.reencrypt(token, aad, bytes(nonces[used : used + 12]))
                        used += 12
                key = tuple(name for name in names if f"new_{name}" in change)
                changes.setdefault(key, []).append(change)
            for key, batch in changes.items():
                sets = ", ".join(f"{n}_enc = {param('new_' + n)}" for n in key)
                same = " AND ".join(f"{n}_enc = {param('old_' + n)}" for n in key)
                statement = f"UPDATE {table} SET {sets} WHERE id = {param('row_id')} AND {same}"  # noqa: S608
                connection.exec_driver_sql(statement, batch)
            last_id = rows[-1][0]
            done += len(rows)
            if after_batch:
                after_batch(done)
            connection = session.connection()  # after_batch may have committed
    return done


def _uuid_text(raw: object) -> str:
    """A row id as the associated data spells it (the UUID's text form), from the driver's
    own value: a UUID (PostgreSQL) or 32 hex digits (SQLite, as SQLAlchemy stores it)."""
    if isinstance(raw, str) and len(raw) == 32:
        return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
    return str(raw)

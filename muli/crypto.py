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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import bindparam, select, update
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

    def is_current(self, token: str) -> bool:
        return token.startswith(f"{FORMAT}.{self.current_kid}.")

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
    return f"{obj.__tablename__}|{name}|{obj.id}"


def encrypted_models(base) -> list[type]:
    """Every mapped class that declares encrypted fields."""
    return sorted(
        (m.class_ for m in base.registry.mappers if m.class_.__dict__.get("__encrypted__")),
        key=lambda cls: cls.__tablename__,
    )


def rotate(
    session: Session,
    keyring: KeyRing,
    models: Iterable[type],
    *,
    batch_size: int = 500,
    after_batch: Callable[[int], None] | None = None,
) -> int:
    """Re-encrypt every field not yet under the newest key, a batch at a time.

    Each batch is committed by `after_batch`, so an interrupted run loses at most one batch
    and a re-run carries on where it stopped: rows already under the newest key are skipped.
    Rows are read and written as plain columns (no ORM objects), and each update names the
    ciphertext it replaces, so a value changed meanwhile is left for the next run.
    """
    done = 0
    prefix = f"{FORMAT}.{keyring.current_kid}.%"
    for model in models:
        table, names = model.__table__, model.__encrypted__
        columns = [getattr(model, f"{name}_enc") for name in names]
        stale = [col.is_not(None) & col.not_like(prefix) for col in columns]
        condition = stale[0]
        for extra in stale[1:]:
            condition = condition | extra
        last_id = None
        while True:
            query = select(model.id, *columns).where(condition).order_by(model.id).limit(batch_size)
            if last_id is not None:
                query = query.where(model.id > last_id)
            rows = session.execute(query).all()
            if not rows:
                break
            # One executemany per set of stale columns (usually one set per table).
            changes: dict[tuple[str, ...], list[dict]] = {}
            for row_id, *tokens in rows:
                params: dict = {"row_id": row_id}
                for name, token in zip(names, tokens, strict=True):
                    if token is not None and not keyring.is_current(token):
                        aad = f"{model.__tablename__}|{name}|{row_id}"
                        params[f"old_{name}"] = token
                        params[f"new_{name}"] = keyring.encrypt(keyring.decrypt(token, aad), aad)
                key = tuple(name for name in names if f"new_{name}" in params)
                changes.setdefault(key, []).append(params)
            for key, params in changes.items():
                statement = (
                    update(table)
                    .where(table.c.id == bindparam("row_id"))
                    .where(*(table.c[f"{name}_enc"] == bindparam(f"old_{name}") for name in key))
                    .values({f"{name}_enc": bindparam(f"new_{name}") for name in key})
                )
                session.execute(statement, params)
            last_id = rows[-1][0]
            done += len(rows)
            if after_batch:
                after_batch(done)
    return done

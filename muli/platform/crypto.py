"""Field encryption (AES-256-GCM bound to table, column and row) and the blind index.

Stored form: ``v1.<key id>.<base64url(nonce || ciphertext+tag)>``. The associated data is
``<table>|<column>|<row id>``, so a ciphertext copied to another row or column does not
decrypt. Keys come newest first; the newest encrypts, any of them decrypts.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import hashlib
import hmac
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session

FORMAT = "v1"
_KID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")  # base64url -> base64
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_PADDING = (b"", b"===", b"==", b"=")  # by length % 4 (1 is never valid: strict decoding refuses it)


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

    def reencrypt_many(self, tokens: Sequence[str], aads: Sequence[bytes]) -> list[str]:
        """`tokens` sealed again under the newest key, each with a fresh random 12-byte nonce
        (drawn from the OS in one call for the lot) and its own associated data: for
        rotation, where the plaintext never needs to be text. A token is parsed strictly
        (base64 characters and exact padding only: no whitespace or other character that a
        lenient decoder would skip), so the old token can be named in an UPDATE or a COPY
        as it was read; anything else raises DecryptionError."""
        current = self.keys[0][0]
        ciphers = self._ciphers
        seal = ciphers[current].encrypt
        prefix = f"{FORMAT}.{current}.".encode()
        nonces = os.urandom(12 * len(tokens))
        out: list[str] = []
        append = out.append
        # A batch's tokens are nearly always under one old key: the key is looked up again
        # only when a token does not start as the one before did.
        known, skip, unseal = "\0", 0, _refuse
        at = 0
        try:
            for token, aad in zip(tokens, aads, strict=True):
                if not token.startswith(known):
                    version, kid, _payload = token.split(".", 2)
                    if version != FORMAT:
                        raise ValueError(version)
                    unseal = ciphers[kid].decrypt
                    known = f"{FORMAT}.{kid}."
                    skip = len(known)
                text = token[skip:].encode().translate(_TO_STANDARD)
                raw = binascii.a2b_base64(text + _PADDING[len(text) & 3], strict_mode=True)
                nonce = nonces[at : at + 12]
                at += 12
                sealed = seal(nonce, unseal(raw[:12], raw[12:], aad), aad)
                append(
                    (
                        prefix
                        + binascii.b2a_base64(nonce + sealed, newline=False)
                        .translate(_TO_URLSAFE)
                        .rstrip(b"=")
                    ).decode()
                )
        except (ValueError, KeyError, InvalidTag):  # binascii.Error is a ValueError
            raise DecryptionError("ciphertext does not match a key in the ring or its place")
        return out

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


def _refuse(*_args: Any) -> bytes:
    raise ValueError("no key read yet")


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


# Rows a batch of `rotate` (and `muli rotate-keys`' default). On PostgreSQL a batch's guarded
# UPDATE finds its rows by the primary key (a nested loop over the batch's arrays); from about
# 3,000 rows on a 50,000-row table the planner chose a hash join over the whole table instead
# (a 4,000-row batch: 104 ms against 20 ms for 2,000), and a smaller batch overlaps the
# client's re-encryption with the server's writes more closely. Measured in
# benchmarks/README.md, "Issue 19: where it stands (ninth pass)".
ROTATE_BATCH_SIZE = 1000


def rotate(
    session: Session,
    keyring: KeyRing,
    models: Iterable[Any],
    *,
    batch_size: int = ROTATE_BATCH_SIZE,
    after_batch: Callable[[int], None] | None = None,
) -> int:
    """Re-encrypt every field not yet under the newest key, a batch at a time.

    Each batch is committed by `after_batch`, so an interrupted run loses at most one batch
    and a re-run carries on where it stopped: rows already under the newest key are skipped.
    Each update names the ciphertext it replaces, so a value changed meanwhile is left for
    the next run. The fields of a batch are re-encrypted in one call
    (`KeyRing.reencrypt_many`) before any of them is written; a field that does not open
    in its place stops the run before its batch is written. How a batch is read and
    written depends on the database (`_SqliteBatches`, `_PostgresqlBatches`).
    """
    batches = _PostgresqlBatches if session.connection().dialect.name == "postgresql" else _SqliteBatches
    done = 0
    for model in models:
        # Table and column names come from the models, never from input.
        io = batches(model.__tablename__, tuple(model.__encrypted__), keyring.current_prefix, int(batch_size))
        done = io.run(session, keyring, done, after_batch)
    return done


class _Batches:
    """Reads a table's stale fields a batch at a time and writes them back, guarded.

    A batch is read as rows of (cursor key, the id as the associated data spells it, then
    for each encrypted column its token if stale, else None), ordered by the cursor key.
    `seal` works on it column by column (lists and zips, no object per field)."""

    def __init__(self, table: str, names: tuple[str, ...], current_prefix: str, batch_size: int):
        self.table, self.names, self.batch_size = table, names, batch_size
        self.prefix = current_prefix
        self.aad_prefixes = tuple(f"{table}|{name}|".encode() for name in names)

    def stale_filter(self, prefix: str) -> str:
        return " OR ".join(f"({n}_enc IS NOT NULL AND {self.stale(n, prefix)})" for n in self.names)

    def stale_columns(self, prefix: str) -> str:
        return ", ".join(f"CASE WHEN {self.stale(n, prefix)} THEN {n}_enc END" for n in self.names)

    def stale(self, name: str, prefix: str) -> str:
        """SQL: the column's token does not start with exactly `prefix` (a parameter that
        is the newest key's prefix). Not LIKE: a key id may hold "_", which LIKE reads as
        any character, and SQLite's LIKE ignores case, so a token under an old key whose
        id looked like the newest one's was taken for current and never rotated."""
        raise NotImplementedError

    def seal(self, keyring: KeyRing, rows: Sequence[Any]) -> tuple[Sequence[Any], list[_Column]]:
        """The batch's cursor keys and, per column with a stale field in the batch, (column
        index, the old tokens one per row, None where not stale, the new ones in the same
        places). Every stale field of the batch in one `reencrypt_many` call."""
        columns = list(zip(*rows, strict=True))
        idents = list(map(str.encode, columns[1]))
        stale: list[tuple[int, tuple[str | None, ...]]] = []
        tokens: list[str] = []
        aads: list[bytes] = []
        for c, prefix in enumerate(self.aad_prefixes):
            olds = columns[2 + c]
            nulls = olds.count(None)
            if nulls == len(olds):
                continue
            stale.append((c, olds))
            if nulls:
                tokens += [t for t in olds if t is not None]
                aads += [prefix + i for i, t in zip(idents, olds, strict=True) if t is not None]
            else:
                tokens += olds
                aads += map(prefix.__add__, idents)  # a C loop: no bytecode per field
        sealed = keyring.reencrypt_many(tokens, aads)
        if len(sealed) != len(tokens):  # they are put back by position
            raise ValueError("re-encryption answered a different number of fields")
        out: list[_Column] = []
        at = 0
        for c, olds in stale:
            nulls = olds.count(None)
            news: Sequence[str | None] = sealed[at : at + len(olds) - nulls]
            at += len(news)
            if nulls:
                it = iter(news)
                news = [None if t is None else next(it) for t in olds]
            out.append((c, olds, news))
        return columns[0], out


_Column = tuple[int, Sequence[str | None], Sequence[str | None]]


class _SqliteBatches(_Batches):
    """SQLite: rows in the table's physical order (rowid), one guarded UPDATE per row by
    rowid, all of a batch in one executemany.

    Walking the table by its random UUIDs made every batch dirty about as many scattered
    pages as it had rows, each written to the WAL (and checkpointed) again at every commit:
    ~20 µs a field in I/O alone. In rowid order a batch dirties only the few pages its rows
    sit on. The pragmas are unchanged (`secure_delete` zeroes the old cells, `synchronous`
    stays FULL). The rowid is only this run's cursor: each update also names the old
    ciphertext, which its associated data binds to the row's id, and a re-run starts from
    the beginning and skips what is done."""

    IDENT = (  # the id as the associated data spells it (SQLAlchemy stores 32 hex digits)
        "CASE WHEN length(id) = 32 THEN substr(id, 1, 8) || '-' || substr(id, 9, 4) || '-' || "
        "substr(id, 13, 4) || '-' || substr(id, 17, 4) || '-' || substr(id, 21) ELSE id END"
    )

    def stale(self, name: str, prefix: str) -> str:
        return f"substr({name}_enc, 1, {len(self.prefix)}) != {prefix}"

    def run(
        self, session: Session, keyring: KeyRing, done: int, after_batch: Callable[[int], None] | None
    ) -> int:
        rows = self.read(session, -1)
        if not rows:
            return done
        # The next batch is re-encrypted on a second thread while this one is committed:
        # SQLite lets go of the GIL for the commit (its fsync, a checkpoint), a call that
        # blocks for milliseconds. The thread touches no session or connection, and does
        # nothing while this one reads and writes (SQLite takes and lets go of the GIL for
        # every row there: the two threads would hand it to each other for every row).
        with ThreadPoolExecutor(max_workers=1) as pool:  # waits for the thread on the way out
            sealing: Future | None = pool.submit(contextvars.copy_context().run, self.seal, keyring, rows)
            while sealing:
                keys, columns = sealing.result()  # a field that does not open: before its write
                following = self.read(session, keys[-1])
                self.write(session, keys, columns)
                sealing = (
                    pool.submit(contextvars.copy_context().run, self.seal, keyring, following)
                    if following
                    else None
                )
                done += len(keys)
                if after_batch:
                    after_batch(done)
        return done

    def read(self, session: Session, last: int) -> list[Any]:
        sql = (
            f"SELECT rowid, {self.IDENT}, {self.stale_columns('?1')} FROM {self.table} "  # noqa: S608
            f"WHERE ({self.stale_filter('?1')}) AND rowid > ?2 ORDER BY rowid LIMIT {self.batch_size}"
        )
        # A read needs no writer turn: the driver's cursor, plain tuples (no Row objects).
        cursor = _driver(session).cursor()
        try:
            return cursor.execute(sql, (self.prefix, last)).fetchall()
        finally:
            cursor.close()

    def write(self, session: Session, keys: Sequence[int], columns: list[_Column]) -> None:
        statements: dict[tuple[int, ...], list[tuple]] = {}  # one executemany per set of columns
        if all(None not in olds for _, olds, _ in columns):  # the usual case: one statement
            key = tuple(c for c, _, _ in columns)
            statements[key] = list(
                zip(*(news for _, _, news in columns), keys, *(olds for _, olds, _ in columns), strict=True)
            )
        else:
            for r, rowid in enumerate(keys):
                fields = [(c, olds[r], news[r]) for c, olds, news in columns if olds[r] is not None]
                statements.setdefault(tuple(c for c, _, _ in fields), []).append(
                    (*(new for _, _, new in fields), rowid, *(old for _, old, _ in fields))
                )
        connection = session.connection()  # through SQLAlchemy: the UPDATE takes the writer turn
        for key, params in statements.items():
            sets = ", ".join(f"{self.names[c]}_enc = ?" for c in key)
            same = " AND ".join(f"{self.names[c]}_enc = ?" for c in key)
            connection.exec_driver_sql(f"UPDATE {self.table} SET {sets} WHERE rowid = ? AND {same}", params)  # noqa: S608


class _PostgresqlBatches(_Batches):
    """PostgreSQL: rows in id order; ONE guarded `UPDATE ... FROM unnest(arrays)` per batch
    (`t.x_enc = old`: a row with a value changed meanwhile is left whole), and the client's
    work overlapped with the server's: while the server writes batch n and reads batch
    n + 2 (sent together in pipeline mode), the client re-encrypts batch n + 1.

    Each array goes as one text of comma-separated values, split by `string_to_array`:
    ids are UUIDs, tokens are `v1.<key id>.<base64url>` (reencrypt_many parsed the old ones
    strictly: no comma, no empty token). As text in array syntax (`{a,b}`), parsing the
    arrays cost the server about as much CPU as the UPDATE's own work; in binary, psycopg
    builds them element by element in Python. The planner joins them by a nested loop over
    the primary key (the temporary table of the previous code needed hash and merge joins
    switched off; no setting, no temporary table now). Measurements: benchmarks/README.md,
    "Issue 19, item 5: rotate-keys"."""

    def run(
        self, session: Session, keyring: KeyRing, done: int, after_batch: Callable[[int], None] | None
    ) -> int:
        with _driver(session).cursor() as reader:
            rows = reader.execute(*self.read(None)).fetchall()
        update: tuple[str, list[str]] | None = None  # the batch before, not yet written
        written = 0
        while rows or update:
            failure = None
            # The session's connection again each time: `after_batch` commits, and the
            # session may then hand out another one.
            connection = _driver(session)
            with connection.cursor() as reader, connection.cursor() as writer:
                with connection.pipeline():  # sent now, answered at the block's end
                    if update:
                        writer.execute(*update)
                    if rows:
                        reader.execute(*self.read(rows[-1][0]))
                        try:
                            keys, columns = self.seal(keyring, rows)
                        except DecryptionError as exc:  # the batch before is still written
                            failure = exc
                following = reader.fetchall() if rows else []
            if update:
                done += written
                if after_batch:
                    after_batch(done)
            if failure:
                raise failure
            update, written = (self.update(keys, columns), len(rows)) if rows else (None, 0)
            rows = following
        return done

    def read(self, last: str | None) -> tuple[str, list[str]]:
        after = "" if last is None else "AND id > %s::uuid"
        sql = (
            f"SELECT id::text, id::text, {self.stale_columns('%s')} FROM {self.table} "  # noqa: S608
            f"WHERE ({self.stale_filter('%s')}) {after} ORDER BY {self.table}.id LIMIT {self.batch_size}"
        )
        return sql, [self.prefix] * (2 * len(self.names)) + ([] if last is None else [last])

    def stale(self, name: str, prefix: str) -> str:
        return f"NOT starts_with({name}_enc, {prefix})"

    def update(self, keys: Sequence[str], columns: list[_Column]) -> tuple[str, list[str]]:
        names = [self.names[c] for c, _, _ in columns]
        sets = ", ".join(f"{n}_enc = coalesce(b.new_{n}, t.{n}_enc)" for n in names)
        same = " AND ".join(f"(b.old_{n} IS NULL OR t.{n}_enc = b.old_{n})" for n in names)
        fields = ", ".join(f"old_{n}, new_{n}" for n in names)
        arrays = ", ".join(["string_to_array(%s, ',', '')"] * (1 + 2 * len(names)))
        sql = (
            f"UPDATE {self.table} AS t SET {sets} FROM unnest({arrays}) AS b(id, {fields}) "  # noqa: S608
            f"WHERE t.id = b.id::uuid AND {same}"
        )
        params = [",".join(keys)]
        for _, olds, news in columns:
            params += [_joined(olds), _joined(news)]
        return sql, params


def _joined(values: Sequence[str | None]) -> str:
    """Tokens (base64url, dots and dashes: no comma, never empty) joined by commas, an
    empty string for None: `string_to_array(joined, ',', '')` gives the list back."""
    if None in values:
        values = ["" if v is None else v for v in values]
    return ",".join(values)  # type: ignore[arg-type]


def _driver(session: Session) -> Any:
    """The database driver's own connection under the session's transaction."""
    return session.connection().connection.driver_connection

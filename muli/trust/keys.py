"""Where the key ring comes from: the environment, or in development a generated file."""

from __future__ import annotations

import base64
import json
import logging
import os
from pathlib import Path

from muli.platform.crypto import KeyRing, new_key
from muli.trust.audit import AuditKeys, new_signing_key

log = logging.getLogger("muli.keys")
DEV_KEY_FILE = "dev-keys.json"


class MissingKeys(RuntimeError):
    """Production without MULI_DATA_KEYS / MULI_BLIND_INDEX_KEY (or the audit keys)."""


def load_keyring(
    data_keys: str | None, index_key: str | None, *, instance_dir: Path, allow_generate: bool
) -> KeyRing:
    """The configured keys; in development, keys generated once into instance/ (with a warning)."""
    if data_keys and index_key:
        return KeyRing.parse(data_keys, index_key)
    if not allow_generate:
        raise MissingKeys("MULI_DATA_KEYS and MULI_BLIND_INDEX_KEY must be set")
    path = instance_dir / DEV_KEY_FILE
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        content = {"MULI_DATA_KEYS": f"dev1:{new_key()}", "MULI_BLIND_INDEX_KEY": new_key()}
        _write_once(path, json.dumps(content))
        log.warning("generated development encryption keys in %s; never use them in production", path)
    content = json.loads(path.read_text())
    return KeyRing.parse(data_keys or content["MULI_DATA_KEYS"], index_key or content["MULI_BLIND_INDEX_KEY"])


def load_dev_secret(instance_dir: Path, name: str) -> str:
    """A random secret kept in instance/ so development sessions survive restarts."""
    path = instance_dir / f"dev-{name}.secret"
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        _write_once(path, new_key() + new_key())
    return path.read_text().strip()


def _write_once(path: Path, text: str) -> None:
    """Write a secret file readable only by us; whoever creates it first wins."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    try:
        os.link(tmp, path)  # atomic, and fails if another process got there first
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


DEV_VAPID_FILE = "dev-vapid.key"


def new_vapid_key() -> str:
    """A fresh VAPID (RFC 8292) private key: a P-256 scalar, 32 bytes base64url."""
    from cryptography.hazmat.primitives.asymmetric import ec

    value = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
    return base64.urlsafe_b64encode(value.to_bytes(32, "big")).decode().rstrip("=")


def load_vapid_key(private_key: str | None, *, instance_dir: Path, allow_generate: bool) -> str | None:
    """The Web Push signing key: MULI_VAPID_PRIVATE_KEY, or in development one generated
    once into instance/ (like the data keys). None in production without it: no push, email only."""
    if private_key:
        return private_key.strip()
    if not allow_generate:
        return None
    path = instance_dir / DEV_VAPID_FILE
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        _write_once(path, new_vapid_key())
        log.warning("generated a development VAPID key in %s; never use it in production", path)
    return path.read_text().strip()


DEV_AUDIT_KEY_FILE = "dev-audit-keys.json"


def load_audit_keys(
    audit_keys: str | None, signing_keys: str | None, *, instance_dir: Path, allow_generate: bool
) -> AuditKeys:
    """The audit chain's HMAC keys and the checkpoints' signing keys (MULI_AUDIT_KEYS,
    MULI_AUDIT_SIGNING_KEYS); in development generated once into instance/ (with a warning)."""
    if audit_keys and signing_keys:
        return AuditKeys.parse(audit_keys, signing_keys)
    if not allow_generate:
        raise MissingKeys("MULI_AUDIT_KEYS and MULI_AUDIT_SIGNING_KEYS must be set")
    path = instance_dir / DEV_AUDIT_KEY_FILE
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        content = {
            "MULI_AUDIT_KEYS": f"dev1:{new_key()}",
            "MULI_AUDIT_SIGNING_KEYS": f"dev1:{new_signing_key()}",
        }
        _write_once(path, json.dumps(content))
        log.warning("generated development audit keys in %s; never use them in production", path)
    content = json.loads(path.read_text())
    return AuditKeys.parse(
        audit_keys or content["MULI_AUDIT_KEYS"], signing_keys or content["MULI_AUDIT_SIGNING_KEYS"]
    )

"""The Ed25519 key that signs audit checkpoints, kept in a file outside the database.

The key must not live in the database it vouches for: whoever can rewrite the chain there
could then sign a rewritten head too. It is generated into ``data_dir`` on first start
(mode 0600) when the configured file is absent; a file that is there but is not an Ed25519
private key stops the server at start, since silently making a new key would orphan every
checkpoint a third party already holds.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tangkal.errors import ConfigurationError
from tangkal.settings import Settings

DEFAULT_NAME = "audit-signing.key"


def key_path(settings: Settings) -> Path:
    return settings.audit_key_file or settings.data_dir / DEFAULT_NAME


def load_key(settings: Settings, *, create: bool = True) -> Ed25519PrivateKey:
    """The signing key, made when absent (and ``create``); a bad file is a configuration
    error naming the file."""
    path = key_path(settings)
    if not path.exists():
        if not create:
            raise ConfigurationError(f"The audit signing key {path} does not exist yet.")
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        return key
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigurationError(
            f"The audit signing key {path} cannot be read ({reason}); restore it or point "
            "TANGKAL_AUDIT_KEY_FILE at a PEM Ed25519 private key."
        ) from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ConfigurationError(
            f"The audit signing key {path} is not an Ed25519 key; point "
            "TANGKAL_AUDIT_KEY_FILE at a PEM Ed25519 private key."
        )
    return loaded


def public_key_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw 32-byte public key, base64: what a third party pins."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def key_id(public_b64: str) -> str:
    """A short stable name of a public key: SHA-256 of its raw bytes, hex."""
    return hashlib.sha256(base64.b64decode(public_b64)).hexdigest()


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message)).decode()


def signature_ok(public_b64: str, message: bytes, signature_b64: str) -> bool:
    try:
        pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64, validate=True))
        pub.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True

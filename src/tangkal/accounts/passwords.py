"""argon2 hashing for passwords and API tokens."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# Tokens carry 256 bits of entropy, so a light argon2 cost is enough for them; passwords get
# the library's default (interactive) parameters.
_token_hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
_password_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _password_hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _password_hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token() -> tuple[str, str]:
    """A fresh token and its public prefix: ``tk_<prefix>_<secret>``."""
    prefix = secrets.token_hex(6)
    return f"tk_{prefix}_{secrets.token_urlsafe(32)}", prefix


def token_prefix(token: str) -> str | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "tk" or len(parts[1]) != 12:
        return None
    return parts[1]


def hash_token(token: str) -> str:
    return _token_hasher.hash(token)


def verify_token(token_hash: str, token: str) -> bool:
    try:
        return _token_hasher.verify(token_hash, token)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False

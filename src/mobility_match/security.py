"""Passwords and secret tokens: how they are made, hashed and checked.

Passwords are hashed with argon2id (pwdlib, the maintained successor of
passlib for FastAPI). Session, API and invitation tokens are 256-bit random
strings shown once; the database keeps only their SHA-256, so a leaked
database copy signs nobody in. Nothing here logs or stores a secret in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_passwords = PasswordHash((Argon2Hasher(),))

MIN_PASSWORD_LENGTH = 10

# A hash of a password nobody has, checked when the username is unknown, so that
# an unknown and a known username take the same time to refuse.
_DUMMY_HASH = _passwords.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """The argon2id hash to store for `password`."""
    return _passwords.hash(password)


def verify_password(password: str, stored_hash: str | None) -> bool:
    """Whether `password` matches; with no stored hash, spend the same time and say no."""
    if stored_hash is None:
        _passwords.verify(password, _DUMMY_HASH)
        return False
    return _passwords.verify(password, stored_hash)


def password_problem(password: str) -> str | None:
    """Why a new password is refused, as a sentence; None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    if password.strip() != password:
        return "a password cannot begin or end with a space"
    return None


def new_token() -> str:
    """A fresh secret token (43 URL-safe characters)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_secret(a: str, b: str) -> bool:
    """Compare two secrets in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())

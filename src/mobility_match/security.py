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
from zxcvbn import zxcvbn

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


MIN_PASSWORD_SCORE = 2
"""zxcvbn's score (0-4) a new password needs: 0 and 1 are the common passwords, keyboard
runs and dictionary words with a digit that an attacker tries first."""


def password_problem(password: str, username: str = "", *others: str) -> str | None:
    """Why a new password is refused, as a sentence; None when it is acceptable.

    Besides its length, a password may not contain the username (in any case) and must
    not be among those guessed first: zxcvbn (offline, its lists of common passwords,
    words, names and keyboard patterns, with the username and `others` — a name, say —
    as words of its own) rates it at least MIN_PASSWORD_SCORE.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    if password.strip() != password:
        return "a password cannot begin or end with a space"
    name = username.strip().lower()
    if name and (name in password.lower() or name.split("@")[0] in password.lower()):
        return "a password cannot contain the username"
    # zxcvbn's time grows with the length; past 100 characters nothing is common any more.
    rating = zxcvbn(password[:100], user_inputs=[word for word in (username, *others) if word])
    if rating["score"] < MIN_PASSWORD_SCORE:
        return "this password is among the first an attacker would try; choose a longer one"
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

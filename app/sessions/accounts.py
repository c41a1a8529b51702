"""Accounts: user names with salted scrypt password hashes, kept in the sessions database.

Managed with `coach users add|list|remove|passwd`; `coach serve` asks for a login when any user
exists, and every session then belongs to the user who started it. Without users the app stays
the single-user local tool it was, with no login.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import re

from app.errors import UserInputError
from app.sessions.db import SessionStore

# scrypt cost: 16 MiB and ~50 ms per check here; the parameters are stored with each hash, so
# raising them later leaves existing hashes valid.
SCRYPT_N, SCRYPT_R, SCRYPT_P, KEY_BYTES = 2**14, 8, 1, 32
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
MIN_PASSWORD, MAX_PASSWORD = 8, 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=KEY_BYTES
    )


def hash_password(password: str) -> str:
    """`scrypt$n$r$p$salt$key`, with a fresh 16-byte salt."""
    salt = os.urandom(16)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@functools.cache
def _dummy() -> str:
    """Checked for unknown names, so they cost the same time as a real one."""
    return hash_password("not a real password")


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not NAME.fullmatch(name):
        raise UserInputError(
            "a user name is 1 to 64 letters, digits or . _ @ - (starting with a letter or digit),"
            f" not {name[:40]!r}"
        )
    return name


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UserInputError(f"a password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


class Accounts:
    """Users of one sessions database."""

    def __init__(self, db: SessionStore) -> None:
        self.db = db

    def add(self, name: str, password: str) -> None:
        self.db.set_user(check_name(name), hash_password(check_password(password)), create=True)

    def passwd(self, name: str, password: str) -> None:
        self.db.set_user(check_name(name), hash_password(check_password(password)), create=False)

    def remove(self, name: str) -> None:
        self.db.remove_user(check_name(name))

    def names(self) -> list[str]:
        return [name for name, _ in self.db.users()]

    def any(self) -> bool:
        return bool(self.db.users())

    def verify(self, name: str, password: str) -> bool:
        """True only for a known user and the right password; unknown names cost the same time."""
        stored = self.db.password_hash(name) if NAME.fullmatch(name or "") else None
        ok = verify_password(password, stored or _dummy())
        return ok and stored is not None

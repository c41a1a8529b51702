"""Login throttling: repeated wrong passwords lock a client address and a user name out for a while."""

from __future__ import annotations

import contextvars
import hmac
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException

log = logging.getLogger("coach.login")

FREE_FAILURES = 4  # the 5th failure in a row starts the lockout
FIRST_LOCK_S = 1.0  # then it doubles with each further failure...
MAX_LOCK_S = 900.0  # ...up to 15 minutes
FORGET_AFTER_S = 3600.0  # a key quiet this long starts afresh
MAX_KEYS = 10_000  # bounded memory whatever an attacker sends

_client: contextvars.ContextVar[str] = contextvars.ContextVar("login_client", default="unknown")


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0
    last: float = 0.0


def lock_seconds(failures: int) -> float:
    """How long a key stays locked after this many failures in a row (0 while under the threshold)."""
    if failures <= FREE_FAILURES:
        return 0.0
    return min(FIRST_LOCK_S * 2 ** (failures - FREE_FAILURES - 1), MAX_LOCK_S)


class LoginThrottle:
    """Gradio's auth callable: checks the password, refusing locked clients and user names first.

    Both the client's address and the user name count failures, so neither guessing many
    passwords for one user from many addresses nor many users from one address goes fast.
    """

    def __init__(
        self,
        users: dict[str, str] | Callable[[str, str], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """users: {name: password} (COACH_AUTH), or a check(name, password) such as
        Accounts.verify (salted hashes in the sessions database)."""
        self._users = users
        self._clock = clock
        self._keys: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def __call__(self, username: str, password: str) -> bool:
        client = _client.get()
        keys = (f"client {client}", f"user {username[:200]}")
        shown = repr(username[:64])
        with self._lock:
            now = self._clock()
            self._forget_old(now)
            wait = max(self._keys[k].locked_until - now if k in self._keys else 0.0 for k in keys)
            if wait > 0:
                log.warning("login refused for user %s from %s: locked for %.0f s more", shown, client, wait)
                raise HTTPException(
                    status_code=429,
                    detail=f"Too many failed logins: wait {math.ceil(wait)} seconds, then try again.",
                )
            if self._matches(username, password):
                for key in keys:
                    self._keys.pop(key, None)
                return True
            counts = [self._fail(key, now) for key in keys]
        log.warning("failed login for user %s from %s (%d failures in a row)", shown, client, max(counts))
        return False

    def _matches(self, username: str, password: str) -> bool:
        if callable(self._users):
            return self._users(username, password)
        expected = self._users.get(username)
        # compare_digest on bytes: constant time, and safe for any characters typed
        return expected is not None and hmac.compare_digest(password.encode(), expected.encode())

    def _fail(self, key: str, now: float) -> int:
        record = self._keys.setdefault(key, _Failures())
        record.count += 1
        record.last = now
        record.locked_until = now + lock_seconds(record.count)
        return record.count

    def _forget_old(self, now: float) -> None:
        stale = [k for k, r in self._keys.items() if now - r.last > FORGET_AFTER_S and now >= r.locked_until]
        for key in stale:
            del self._keys[key]
        while len(self._keys) >= MAX_KEYS:  # drop the oldest first
            del self._keys[min(self._keys, key=lambda k: self._keys[k].last)]


class ClientAddress:
    """ASGI middleware: makes the client's address known to the login check of this request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        client = scope.get("client") if scope.get("type") == "http" else None
        if not client:
            await self.app(scope, receive, send)
            return
        token = _client.set(str(client[0]))
        try:
            await self.app(scope, receive, send)
        finally:
            _client.reset(token)

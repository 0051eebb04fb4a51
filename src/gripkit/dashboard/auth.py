"""Users, passwords, sessions and login throttling for the dashboard.

Passwords are hashed with Argon2id (``argon2-cffi``). A session is a random 256-bit token sent in
an HttpOnly cookie; the workspace ``sessions`` table keeps only its SHA-256, with the session's
CSRF token and expiry. Every function takes the open :class:`~gripkit.workspace.Workspace`; the
caller serialises access (the dashboard holds one lock around its connection).

Example
-------
>>> from gripkit import Workspace
>>> ws = Workspace(":memory:")
>>> add_user(ws, "ana", "analyst", "correct horse battery")
>>> authenticate(ws, "ana", "correct horse battery").role
'analyst'
>>> authenticate(ws, "ana", "wrong password") is None
True
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gripkit.errors import InputError
from gripkit.validate import one_of
from gripkit.workspace import Workspace

__all__ = [
    "ROLES",
    "LoginThrottle",
    "Session",
    "User",
    "add_user",
    "authenticate",
    "create_session",
    "delete_session",
    "delete_user",
    "get_user",
    "list_users",
    "lookup_session",
    "set_password",
]

ROLES: tuple[str, ...] = ("admin", "analyst", "officer")
MIN_PASSWORD = 8
SESSION_HOURS = 12
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HASHER = PasswordHasher()
_DUMMY: list[str] = []


def _dummy_hash() -> str:
    """A hash to verify against for unknown users, so timing does not reveal which names exist."""
    if not _DUMMY:
        _DUMMY.append(_HASHER.hash(secrets.token_urlsafe(16)))
    return _DUMMY[0]


@dataclass(frozen=True)
class User:
    """A dashboard user: name, role (admin, analyst or officer) and whether the account is disabled."""

    username: str
    role: str
    disabled: bool = False


@dataclass(frozen=True)
class Session:
    """A logged-in session: its user, CSRF token and expiry (UTC, naive)."""

    user: User
    csrf_token: str
    expires_at: datetime


def _check_name(username: object) -> str:
    if not isinstance(username, str) or not _NAME.match(username):
        raise InputError(
            f"user name must be 1-64 letters, digits, '_', '.' or '-' starting with a letter or digit; "
            f"received {username!r}. Pass e.g. pc_smith."
        )
    return username


def _check_password(password: object) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        length = len(password) if isinstance(password, str) else type(password).__name__
        raise InputError(
            f"password must be at least {MIN_PASSWORD} characters; received {length} characters. "
            "Choose a longer passphrase."
        )
    return password


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_user(ws: Workspace, username: str, role: str, password: str) -> None:
    """Create a user with an Argon2id password hash; InputError if the name is taken or invalid."""
    _check_name(username)
    one_of("role", role, ROLES)
    _check_password(password)
    if get_user(ws, username) is not None:
        raise InputError(
            f"user {username!r} already exists; received a second `users add` for it. "
            "Use `gripkit users passwd` or `gripkit users remove` first."
        )
    ws.con.execute(
        "INSERT INTO users VALUES (?, ?, ?, ?, false)", [username, role, _HASHER.hash(password), _now()]
    )


def set_password(ws: Workspace, username: str, password: str) -> None:
    """Replace a user's password and end all their sessions."""
    _require(ws, username)
    _check_password(password)
    ws.con.execute(
        "UPDATE users SET password_hash = ? WHERE username = ?", [_HASHER.hash(password), username]
    )
    ws.con.execute("DELETE FROM sessions WHERE username = ?", [username])


def delete_user(ws: Workspace, username: str) -> None:
    """Remove a user and end their sessions."""
    _require(ws, username)
    ws.con.execute("DELETE FROM sessions WHERE username = ?", [username])
    ws.con.execute("DELETE FROM users WHERE username = ?", [username])


def _require(ws: Workspace, username: str) -> User:
    user = get_user(ws, username)
    if user is None:
        raise InputError(
            f"no user {username!r}; received an unknown name. List users with `gripkit users list`."
        )
    return user


def get_user(ws: Workspace, username: str) -> User | None:
    """The user called ``username``, or None."""
    row = ws.con.execute(
        "SELECT username, role, disabled FROM users WHERE username = ?", [username]
    ).fetchone()
    return User(row[0], row[1], bool(row[2])) if row else None


def list_users(ws: Workspace) -> list[User]:
    """Every user, sorted by name."""
    rows = ws.con.execute("SELECT username, role, disabled FROM users ORDER BY username").fetchall()
    return [User(r[0], r[1], bool(r[2])) for r in rows]


def authenticate(ws: Workspace, username: str, password: str) -> User | None:
    """The user if ``password`` is theirs (and the account is enabled), else None.

    Unknown users cost one Argon2 verification too, so timing does not tell which names exist.
    An outdated hash is upgraded to the current parameters on success.
    """
    row = ws.con.execute(
        "SELECT username, role, disabled, password_hash FROM users WHERE username = ?", [username]
    ).fetchone()
    stored = row[3] if row else _dummy_hash()
    try:
        _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None or row[2]:
        return None
    if _HASHER.check_needs_rehash(stored):
        ws.con.execute(
            "UPDATE users SET password_hash = ? WHERE username = ?", [_HASHER.hash(password), username]
        )
    return User(row[0], row[1], False)


def create_session(ws: Workspace, user: User, *, hours: float = SESSION_HOURS) -> tuple[str, Session]:
    """Start a session; returns the cookie token (shown once, stored hashed) and the session."""
    token = secrets.token_urlsafe(32)
    session = Session(user, secrets.token_urlsafe(32), _now() + timedelta(hours=hours))
    ws.con.execute("DELETE FROM sessions WHERE expires_at < ?", [_now()])
    ws.con.execute(
        "INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
        [_digest(token), user.username, session.csrf_token, _now(), session.expires_at],
    )
    return token, session


def lookup_session(ws: Workspace, token: str) -> Session | None:
    """The live session of a cookie token, or None if unknown, expired or its user is disabled."""
    row = ws.con.execute(
        "SELECT u.username, u.role, u.disabled, s.csrf_token, s.expires_at FROM sessions s "
        "JOIN users u USING (username) WHERE s.token_sha256 = ?",
        [_digest(token)],
    ).fetchone()
    if row is None or row[2] or row[4] < _now():
        return None
    return Session(User(row[0], row[1], False), row[3], row[4])


def delete_session(ws: Workspace, token: str) -> None:
    """End the session of a cookie token (logout)."""
    ws.con.execute("DELETE FROM sessions WHERE token_sha256 = ?", [_digest(token)])


class LoginThrottle:
    """Sliding-window limit on failed logins, per user name and per client address.

    After ``per_user`` failures for one name (or ``per_client`` from one address) within
    ``window`` seconds, further attempts are refused until the oldest failure leaves the window.
    """

    def __init__(self, per_user: int = 5, per_client: int = 30, window: float = 900.0) -> None:
        self.per_user, self.per_client, self.window = per_user, per_client, window
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._fails.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, username: str, client: str) -> int:
        """Seconds until a login may be tried again (0 if allowed now)."""
        now = time.monotonic()
        waits = []
        with self._lock:
            for key, limit in ((f"u:{username.lower()}", self.per_user), (f"c:{client}", self.per_client)):
                times = self._recent(key, now)
                if len(times) >= limit:
                    waits.append(times[len(times) - limit] + self.window - now)
        return max(1, int(max(waits)) + 1) if waits else 0

    def failed(self, username: str, client: str) -> None:
        """Record a failed attempt."""
        now = time.monotonic()
        with self._lock:
            for key in (f"u:{username.lower()}", f"c:{client}"):
                self._recent(key, now).append(now)

    def succeeded(self, username: str) -> None:
        """Forget the user's failures after a successful login."""
        with self._lock:
            self._fails.pop(f"u:{username.lower()}", None)

"""Users, passwords, sessions and the login limit of the dashboard.

Passwords are hashed with Argon2id (``argon2-cffi``). A session is a random 256-bit token sent in
an HttpOnly cookie; the workspace ``sessions`` table keeps only its SHA-256, with the session's
CSRF token and expiry. Removing a user, changing their role or their password deletes their
sessions in the same transaction, so their next request is refused.

Logging in is split in three so the slow Argon2 check holds no database lock:
:func:`load_credentials` (a query), :func:`check_password` (Argon2, no database) and
:func:`start_session` (a query that inserts the session only if the user, role and password hash
are still the ones checked). :func:`authenticate` does the first two for scripts and tests.

:class:`LoginThrottle` is the login limit: every attempt is *recorded before* its password is
checked, under one lock, so N parallel guesses cost N attempts. Browsers that logged in before
carry a signed device cookie and get their own budget, so guesses from elsewhere do not lock the
real user out of their own device (the policy is in ``docs/security.md``).

Example
-------
>>> from gripkit import Workspace
>>> ws = Workspace(":memory:")
>>> add_user(ws, "ana", "analyst", "correct horse battery")
>>> authenticate(ws, "ana", "correct horse battery").role
'analyst'
>>> authenticate(ws, "ana", "wrong password") is None
True
>>> throttle = LoginThrottle(per_user=1)
>>> throttle.attempt("ana", "10.0.0.1").retry_after  # allowed, and recorded
0
>>> throttle.attempt("ana", "10.0.0.2").retry_after > 0  # the user's one attempt is used
True
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gripkit.errors import InputError
from gripkit.validate import one_of
from gripkit.workspace import Workspace

__all__ = [
    "DEVICE_COOKIE_DAYS",
    "ROLES",
    "Attempt",
    "Credentials",
    "LoginThrottle",
    "Session",
    "User",
    "add_user",
    "authenticate",
    "check_password",
    "create_session",
    "delete_session",
    "delete_user",
    "device_cookie_name",
    "get_user",
    "list_users",
    "load_credentials",
    "lookup_session",
    "set_password",
    "set_role",
    "start_session",
    "utc_now",
]

ROLES: tuple[str, ...] = ("admin", "analyst", "officer")
MIN_PASSWORD = 8
#: Longest password (characters): the login form reads no more, so a longer one could never log in.
MAX_PASSWORD = 1024
SESSION_HOURS = 12
#: lifetime of the device cookie a successful login sets (days)
DEVICE_COOKIE_DAYS = 90
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HASHER = PasswordHasher()
_DUMMY: list[str] = []
_DUMMY_LOCK = threading.Lock()


def _dummy_hash() -> str:
    """A hash to verify against for unknown users, so timing does not reveal which names exist."""
    with _DUMMY_LOCK:
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


@dataclass(frozen=True, repr=False)
class Credentials:
    """What checking a password needs: the enabled user (None if unknown or disabled) and the
    hash to verify against (a dummy one for unknown users, so every check costs the same)."""

    username: str
    user: User | None
    password_hash: str


def _check_name(username: object) -> str:
    if not isinstance(username, str) or not _NAME.match(username):
        raise InputError(
            f"'username' must be 1-64 letters, digits, '_', '.' or '-' starting with a letter or digit; "
            f"received {str(username)[:70]!r}. Pass e.g. pc_smith."
        )
    return username


def _check_password(password: object) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        length = len(password) if isinstance(password, str) else type(password).__name__
        raise InputError(
            f"'password' must be at least {MIN_PASSWORD} characters; received {length} characters. "
            "Choose a longer passphrase."
        )
    if len(password) > MAX_PASSWORD:
        raise InputError(
            f"'password' may be at most {MAX_PASSWORD} characters (the login form reads no more); "
            f"received {len(password)} characters. Choose a shorter passphrase."
        )
    return password


def utc_now() -> datetime:
    """Now in UTC, naive, to the second (as the workspace stores times)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# -- users ------------------------------------------------------------------------------------
def add_user(ws: Workspace, username: str, role: str, password: str) -> None:
    """Create a user with an Argon2id password hash; InputError if the name is taken or invalid."""
    _check_name(username)
    one_of("role", role, ROLES)
    _check_password(password)
    password_hash = _HASHER.hash(password)
    with ws.transaction() as con:
        if get_user(ws, username) is not None:
            raise InputError(
                f"user {username!r} already exists; received a second `users add` for it. "
                "Use `gripkit users passwd` or `gripkit users remove` first."
            )
        # sessions left by an earlier user of the same name never belong to the new one
        con.execute("DELETE FROM sessions WHERE username = ?", [username])
        con.execute(
            "INSERT INTO users VALUES (?, ?, ?, ?, false)", [username, role, password_hash, utc_now()]
        )


def set_password(ws: Workspace, username: str, password: str) -> None:
    """Replace a user's password and end all their sessions (one transaction)."""
    _check_password(password)
    password_hash = _HASHER.hash(password)
    with ws.transaction() as con:
        _require(ws, username)
        con.execute("UPDATE users SET password_hash = ? WHERE username = ?", [password_hash, username])
        con.execute("DELETE FROM sessions WHERE username = ?", [username])


def set_role(ws: Workspace, username: str, role: str) -> None:
    """Change a user's role and end all their sessions (one transaction): they log in again with
    the new role, so no page opened under the old one keeps working."""
    one_of("role", role, ROLES)
    with ws.transaction() as con:
        _require(ws, username)
        con.execute("UPDATE users SET role = ? WHERE username = ?", [role, username])
        con.execute("DELETE FROM sessions WHERE username = ?", [username])


def delete_user(ws: Workspace, username: str) -> None:
    """Remove a user and end their sessions (one transaction)."""
    with ws.transaction() as con:
        _require(ws, username)
        con.execute("DELETE FROM sessions WHERE username = ?", [username])
        con.execute("DELETE FROM users WHERE username = ?", [username])


def _require(ws: Workspace, username: str) -> User:
    user = get_user(ws, username)
    if user is None:
        raise InputError(
            f"no user {str(username)[:70]!r}; received an unknown name. List users with `gripkit users list`."
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


# -- passwords --------------------------------------------------------------------------------
def load_credentials(ws: Workspace, username: str) -> Credentials:
    """The user and password hash to check a login against (one query; no Argon2 here)."""
    row = ws.con.execute(
        "SELECT username, role, disabled, password_hash FROM users WHERE username = ?", [username]
    ).fetchone()
    if row is None:
        return Credentials(username, None, _dummy_hash())
    user = None if row[2] else User(row[0], row[1], False)
    return Credentials(username, user, row[3])


def check_password(credentials: Credentials, password: str) -> User | None:
    """The user if ``password`` matches (and the account is enabled), else None.

    Argon2 only, no database: call it without holding the workspace. Unknown users cost one
    verification too (against a dummy hash), so timing does not tell which names exist.
    """
    try:
        _HASHER.verify(credentials.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return credentials.user


def authenticate(ws: Workspace, username: str, password: str) -> User | None:
    """The user if ``password`` is theirs (and the account is enabled), else None.

    An outdated hash is upgraded to the current parameters on success.
    """
    credentials = load_credentials(ws, username)
    user = check_password(credentials, password)
    if user is not None:
        _rehash(ws, credentials, password)
    return user


def _rehash(ws: Workspace, credentials: Credentials, password: str) -> None:
    if _HASHER.check_needs_rehash(credentials.password_hash):
        ws.con.execute(
            "UPDATE users SET password_hash = ? WHERE username = ? AND password_hash = ?",
            [_HASHER.hash(password), credentials.username, credentials.password_hash],
        )


# -- sessions ---------------------------------------------------------------------------------
def _insert_session(
    ws: Workspace, user: User, hours: float, password_hash: str | None
) -> tuple[str, Session] | None:
    token = secrets.token_urlsafe(32)
    session = Session(user, secrets.token_urlsafe(32), utc_now() + timedelta(hours=hours))
    ws.con.execute("DELETE FROM sessions WHERE expires_at < ?", [utc_now()])
    # only while the user still exists with this role (and this password, when given): a user
    # removed or changed between the password check and here gets no session
    row = ws.con.execute(
        "INSERT INTO sessions SELECT ?, username, ?, ?, ? FROM users WHERE username = ? AND role = ? "
        "AND NOT coalesce(disabled, false) AND (CAST(? AS VARCHAR) IS NULL OR password_hash = ?) "
        "RETURNING username",
        [
            _digest(token),
            session.csrf_token,
            utc_now(),
            session.expires_at,
            user.username,
            user.role,
            password_hash,
            password_hash,
        ],
    ).fetchone()
    return (token, session) if row else None


def create_session(ws: Workspace, user: User, *, hours: float = SESSION_HOURS) -> tuple[str, Session]:
    """Start a session; returns the cookie token (shown once, stored hashed) and the session.

    InputError if ``user`` no longer exists with that role.
    """
    started = _insert_session(ws, user, hours, None)
    if started is None:
        raise InputError(
            f"no enabled user {user.username!r} with role {user.role!r}; received a user that was "
            "removed or changed. Log in again."
        )
    return started


def start_session(
    ws: Workspace, credentials: Credentials, password: str, *, hours: float = SESSION_HOURS
) -> tuple[str, Session] | None:
    """After :func:`check_password` accepted ``password``: upgrade an outdated hash and start a
    session, or None if the user was removed, disabled or changed (role or password) meanwhile."""
    if credentials.user is None:
        return None
    with ws.transaction():
        started = _insert_session(ws, credentials.user, hours, credentials.password_hash)
        if started is not None:
            _rehash(ws, credentials, password)
    return started


def lookup_session(ws: Workspace, token: str) -> Session | None:
    """The live session of a cookie token, or None if unknown, expired or its user is disabled."""
    row = ws.con.execute(
        "SELECT u.username, u.role, u.disabled, s.csrf_token, s.expires_at FROM sessions s "
        "JOIN users u USING (username) WHERE s.token_sha256 = ?",
        [_digest(token)],
    ).fetchone()
    if row is None or row[2] or row[4] < utc_now():
        return None
    return Session(User(row[0], row[1], False), row[3], row[4])


def delete_session(ws: Workspace, token: str) -> None:
    """End the session of a cookie token (logout)."""
    ws.con.execute("DELETE FROM sessions WHERE token_sha256 = ?", [_digest(token)])


# -- the login limit ----------------------------------------------------------------------------
def device_cookie_name(username: str) -> str:
    """The name of a user's device cookie (one per user, so a shared browser keeps each user's).

    >>> device_cookie_name("Ana") == device_cookie_name("ana")
    True
    """
    return "gripkit_device_" + hashlib.sha256(username.lower().encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Attempt:
    """One login attempt the throttle let through (``retry_after == 0``, already counted in
    ``keys``) or refused (``retry_after`` seconds to wait; nothing counted)."""

    retry_after: int
    keys: tuple[str, ...] = ()
    at: float = 0.0
    device: str | None = None


class LoginThrottle:
    """Sliding-window login limit, counting attempts (not failures) before the password check.

    A browser with a valid device cookie (set by :meth:`device_cookie` at a successful login)
    has its own budget of ``per_user`` attempts per ``window`` seconds. Every other attempt
    counts against the user name (``per_user``, shared by all unknown devices) and the client
    address (``per_client``, across user names). An attempt over either limit is refused and not
    counted; one that succeeds is not counted (see :meth:`succeeded`).

    Parameters
    ----------
    per_user, per_client
        Attempts allowed per window, per user name (and per known device), per client address.
    window
        Seconds of the sliding window.
    key
        Secret signing the device cookies (random per process by default: a restart forgets the
        known devices along with the counts).
    clock
        Seconds, monotonic (tests pass a fake one).
    """

    MAX_KEYS = 50_000

    def __init__(
        self,
        per_user: int = 5,
        per_client: int = 30,
        window: float = 900.0,
        *,
        key: bytes | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, value in (("per_user", per_user), ("per_client", per_client), ("window", window)):
            if not value > 0:
                raise InputError(f"'{name}' must be > 0; received {value!r}. Pass e.g. 5.")
        self.per_user, self.per_client, self.window = per_user, per_client, float(window)
        self._key = key or secrets.token_bytes(32)
        self._clock = clock
        self._times: dict[str, deque[float]] = {}
        self._pruned_at = -math.inf
        self._lock = threading.Lock()

    # device cookies ------------------------------------------------------------------------
    def _mac(self, username: str, nonce: str) -> str:
        message = f"{username.lower()}|{nonce}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def device_cookie(self, username: str) -> str:
        """A new signed device cookie value for ``username`` (set after a successful login)."""
        nonce = secrets.token_urlsafe(16)
        return f"{nonce}.{self._mac(username, nonce)}"

    def device_id(self, username: str, cookie: str | None) -> str | None:
        """The device's id if ``cookie`` is a device cookie this server signed for ``username``."""
        if not cookie or len(cookie) > 100 or "." not in cookie:
            return None
        nonce, _, mac = cookie.partition(".")
        return nonce if hmac.compare_digest(mac, self._mac(username, nonce)) else None

    # counting --------------------------------------------------------------------------------
    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._times.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def _buckets(self, username: str, client: str, device: str | None) -> list[tuple[str, int]]:
        if device is not None:
            return [(f"d:{username.lower()}:{device}", self.per_user)]
        return [(f"u:{username.lower()}", self.per_user), (f"c:{client}", self.per_client)]

    def _prune(self, now: float) -> None:
        """Forget names and addresses without recent attempts once there are many (at most once
        a second, so a flood of new names costs memory for one window only, and little time)."""
        if len(self._times) > self.MAX_KEYS and now - self._pruned_at >= 1.0:
            self._pruned_at = now
            for key in [k for k, t in self._times.items() if not t or t[-1] <= now - self.window]:
                del self._times[key]

    def attempt(self, username: str, client: str, device: str | None = None) -> Attempt:
        """Count a login attempt now, before its password is checked, or refuse it.

        Check and count happen under one lock, so of N parallel attempts at most the limit get
        through. ``device`` is :meth:`device_id` of the request's device cookie, if any.
        """
        now = self._clock()
        buckets = self._buckets(username, client, device)
        with self._lock:
            self._prune(now)
            waits = []
            for key, limit in buckets:
                times = self._recent(key, now)
                if len(times) >= limit:
                    waits.append(times[len(times) - limit] + self.window - now)
            if waits:
                return Attempt(max(1, math.ceil(max(waits))), device=device)
            for key, _ in buckets:
                self._times[key].append(now)
        return Attempt(0, tuple(key for key, _ in buckets), now, device)

    def retry_after(self, username: str, client: str, device: str | None = None) -> int:
        """Seconds until an attempt would be let through (0 now); counts nothing."""
        now = self._clock()
        waits = []
        with self._lock:
            for key, limit in self._buckets(username, client, device):
                times = self._recent(key, now)
                if len(times) >= limit:
                    waits.append(times[len(times) - limit] + self.window - now)
        return max(1, math.ceil(max(waits))) if waits else 0

    def succeeded(self, attempt: Attempt) -> None:
        """The attempt's password was right: forget the failures of its user name (or device)
        and do not count the attempt against its client address."""
        with self._lock:
            for key in attempt.keys:
                times = self._times.get(key)
                if times is None:
                    continue
                if key.startswith(("u:", "d:")):
                    times.clear()
                elif attempt.at in times:
                    times.remove(attempt.at)

"""Sign-ins and sessions of the web gallery.

A session is a random secret in an HttpOnly, SameSite=Lax cookie (Secure on https), valid for
7 days or until the member signs out; the database keeps only its SHA-256 (bot/storage/
web_sessions.py). Each session has its own form token (CSRF), sent back in every form. A
sign-in under way (OAuth2 `state` and PKCE verifier) lives 10 minutes under a cookie of its own
and serves once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from bot.clock import Clock
from bot.storage import web_sessions as rows
from bot.storage.database import Database
from bot.storage.web_sessions import SessionRow, SharedGuild, SignIn

SESSION_SECONDS = 7 * 24 * 3600
SIGN_IN_SECONDS = 10 * 60
SESSION_COOKIE = "sora_session"
SIGN_IN_COOKIE = "sora_sign_in"
TOKEN_BYTES = 32


def new_secret() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE verifier (RFC 7636)."""
    hashed = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(hashed).rstrip(b"=").decode("ascii")


def same_secret(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def cookie_name(base: str, secure: bool) -> str:
    """On https the `__Host-` prefix makes the browser refuse the cookie from anywhere else."""
    return f"__Host-{base}" if secure else base


def looks_like_secret(value: str | None) -> bool:
    """A cookie value worth looking up (anything else is refused without asking the database)."""
    return (
        bool(value)
        and len(value or "") <= 64
        and all(c.isalnum() or c in "-_" for c in value or "")
    )


@dataclass(frozen=True)
class Session:
    secret_hash: str
    user_id: int
    user_name: str
    locale: str
    csrf_token: str
    guilds: tuple[SharedGuild, ...]
    expires_at: float


class Sessions:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def begin_sign_in(self, next_path: str) -> tuple[str, str, str]:
        """A new sign-in: (cookie secret, state, PKCE verifier)."""
        secret, state, verifier = new_secret(), new_secret(), new_secret()
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await rows.remove_stale(conn, now, now - SIGN_IN_SECONDS)
            await rows.add_sign_in(conn, digest(secret), state, verifier, next_path, now)
        return secret, state, verifier

    async def finish_sign_in(self, secret: str | None, state: str | None) -> SignIn | None:
        """The sign-in this browser began, if `state` is the one it was sent with and it is
        recent; it cannot be used again either way."""
        if not looks_like_secret(secret) or not state:
            return None
        async with self.db.writing() as conn:
            found = await rows.take_sign_in(conn, digest(secret or ""))
        if found is None or self.clock.now() - found.created_at > SIGN_IN_SECONDS:
            return None
        return found if same_secret(state, found.state) else None

    async def open(
        self, user_id: int, user_name: str, locale: str, guilds: tuple[SharedGuild, ...]
    ) -> str:
        """A new session for the member; returns the cookie's secret."""
        secret = new_secret()
        now = self.clock.now()
        row = SessionRow(
            user_id, user_name, locale, new_secret(), guilds, now, now + SESSION_SECONDS
        )
        async with self.db.writing() as conn:
            await rows.add_session(conn, digest(secret), row)
        return secret

    async def find(self, secret: str | None) -> Session | None:
        if not looks_like_secret(secret):
            return None
        hashed = digest(secret or "")
        async with self.db.reading() as conn:
            row = await rows.find_session(conn, hashed, self.clock.now())
        if row is None:
            return None
        return Session(
            hashed,
            row.user_id,
            row.user_name,
            row.locale,
            row.csrf_token,
            row.guilds,
            row.expires_at,
        )

    async def set_locale(self, session: Session, locale: str) -> None:
        async with self.db.writing() as conn:
            await rows.set_locale(conn, session.secret_hash, locale)

    async def close(self, session: Session) -> None:
        async with self.db.writing() as conn:
            await rows.remove_session(conn, session.secret_hash)

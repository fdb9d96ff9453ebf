"""Discord's OAuth2 for web sign-in, simulated: the authorize page, the token exchange (with
PKCE, S256) and revocation, and which user a Bearer token stands for.

Tests drive it through ``sim.oauth``:
- ``sim.oauth.client_secret``: what the application's client secret is (the bot's web side
  must send it, with the application id as client id, in HTTP Basic auth).
- ``sim.oauth.redirect_uris``: the application's registered redirect URLs; an authorize
  request naming another one is refused, as Discord does (empty: any is taken).
- ``sim.oauth.signed_in = "alice"``: who is signed in to "discord.com" in the browser, who has
  already authorised the application: the authorize page then sends them straight back with a
  code. With nobody signed in, it shows a page with one "Authorize as <user>" link per user
  (and a "Cancel" link).
- ``sim.oauth.issued``, ``sim.oauth.revoked``: access tokens given out and taken back.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from .world import FakeUser, World

CODE_LIFETIME = 600.0
TOKEN_LIFETIME = 604_800


@dataclass
class Grant:
    user_id: int
    redirect_uri: str
    challenge: str
    scopes: tuple[str, ...]
    created: float


@dataclass
class FakeOAuth:
    world: World
    client_secret: str = "fake-client-secret.simulated"
    redirect_uris: list[str] = field(default_factory=list)
    signed_in: str | None = None
    codes: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, tuple[int, tuple[str, ...]]] = field(default_factory=dict)
    issued: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)

    # -- the authorize page --------------------------------------------------------------------

    def check_request(self, query: dict[str, str]) -> str | None:
        """What Discord would say is wrong with an authorize request (None: nothing)."""
        if query.get("client_id") != str(self.world.application_id):
            return "Unknown application"
        if query.get("response_type") != "code":
            return "Invalid response_type"
        redirect = query.get("redirect_uri", "")
        if not redirect or (self.redirect_uris and redirect not in self.redirect_uris):
            return "Invalid OAuth2 redirect_uri"
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return "Invalid code_challenge"
        if "identify" not in query.get("scope", "").split():
            return "Invalid scope"
        return None

    def approve(self, query: dict[str, str], user: FakeUser) -> str:
        """The user approved: the address Discord sends the browser back to, with a code."""
        code = secrets.token_urlsafe(24)
        self.codes[code] = Grant(
            user.id,
            query["redirect_uri"],
            query["code_challenge"],
            tuple(query.get("scope", "").split()),
            time.monotonic(),
        )
        return _with_query(query["redirect_uri"], {"code": code, "state": query.get("state", "")})

    @staticmethod
    def cancelled(query: dict[str, str]) -> str:
        return _with_query(
            query["redirect_uri"],
            {"error": "access_denied", "state": query.get("state", "")},
        )

    def consent_page(self, query: dict[str, str]) -> str:
        links = "".join(
            f'<li><a href="/oauth2/authorize/approve?{_escaped(query | {"user": key})}">'
            f"Authorize as {html.escape(key)}</a></li>"
            for key in self.world.users
        )
        cancel = html.escape(urlencode(query | {"cancel": "1"}))
        return (
            "<!doctype html><title>Discord</title><h1>An application wants to know who you are"
            f'</h1><ul>{links}</ul><p><a href="/oauth2/authorize/approve?{cancel}">Cancel</a></p>'
        )

    # -- the token endpoint --------------------------------------------------------------------

    def exchange(self, form: dict[str, str], client: tuple[str, str] | None) -> tuple[int, dict]:
        if client is None or client != (str(self.world.application_id), self.client_secret):
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        grant = self.codes.pop(form.get("code", ""), None)  # a code serves once
        if grant is None or time.monotonic() - grant.created > CODE_LIFETIME:
            return 400, {"error": "invalid_grant", "error_description": "Invalid code"}
        if form.get("redirect_uri") != grant.redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": "Invalid redirect_uri"}
        if _challenge(form.get("code_verifier", "")) != grant.challenge:
            return 400, {"error": "invalid_grant", "error_description": "Invalid code_verifier"}
        token = "fake-oauth-" + secrets.token_urlsafe(24)
        self.tokens[token] = (grant.user_id, grant.scopes)
        self.issued.append(token)
        return 200, {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "refresh_token": "fake-refresh-" + secrets.token_urlsafe(24),
            "scope": " ".join(grant.scopes),
        }

    def revoke(self, form: dict[str, str], client: tuple[str, str] | None) -> tuple[int, dict]:
        if client is None or client != (str(self.world.application_id), self.client_secret):
            return 401, {"error": "invalid_client"}
        token = form.get("token", "")
        if self.tokens.pop(token, None) is not None:
            self.revoked.append(token)
        return 200, {}

    def bearer(self, authorization: str | None) -> tuple[int, tuple[str, ...]] | None:
        """The user id and scopes of a live Bearer token, else None."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        return self.tokens.get(authorization.removeprefix("Bearer "))


def _escaped(query: dict[str, str]) -> str:
    return html.escape(urlencode(query))


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _with_query(url: str, values: dict[str, str]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(values)}"


def basic_auth(header: str | None) -> tuple[str, str] | None:
    if not header or not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header.removeprefix("Basic ")).decode()
    except ValueError:
        return None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret

-- The PostgreSQL twin of sqlite/014_web_sessions.sql: the web gallery's sign-ins (bot/web/).
-- Only hashes of the cookies' secrets are stored, so a copy of the database opens no session.

-- A sign-in under way: the OAuth2 `state` and PKCE verifier, until Discord sends the member
-- back (or 10 minutes pass).
CREATE TABLE web_sign_ins (
    token_hash    TEXT PRIMARY KEY,
    state         TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    next_path     TEXT NOT NULL,
    created_at    DOUBLE PRECISION NOT NULL
);
CREATE INDEX web_sign_ins_age ON web_sign_ins (created_at);

-- A signed-in member: who (from Discord at sign-in), their language, the form token, and
-- the servers they shared with the bot at sign-in (for the menu only: access is checked
-- with Discord at each request).
CREATE TABLE web_sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     BIGINT  NOT NULL,
    user_name   TEXT    NOT NULL,
    locale      TEXT    NOT NULL,
    csrf_token  TEXT    NOT NULL,
    guilds_json TEXT    NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL,
    expires_at  DOUBLE PRECISION NOT NULL
);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

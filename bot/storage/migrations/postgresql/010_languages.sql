-- Which language each place speaks (see bot/languages.py).

-- A server's language for its public messages; a server without a row follows Discord's
-- community locale ('auto').
CREATE TABLE guild_languages (
    guild_id   BIGINT PRIMARY KEY,
    language   TEXT   NOT NULL,
    updated_by BIGINT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);

-- Each member's client language as last seen, for direct messages.
CREATE TABLE member_locales (
    user_id    BIGINT PRIMARY KEY,
    locale     TEXT   NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);

-- The language of a job's public messages, fixed when it was accepted (NULL: English).
ALTER TABLE jobs ADD COLUMN public_locale TEXT;

"""DATABASE_URL: which engine, and where.

`sqlite:///relative/path`, `sqlite:////absolute/path` or a plain file path mean SQLite;
`postgresql://user:password@host:port/name` (or `postgres://`) means PostgreSQL. The password
may also come apart from the URL (DATABASE_PASSWORD, `with_password`), so that `@ : / # %` in
it need no escaping by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit

_POSTGRES_SCHEMES = ("postgresql", "postgres")


class DatabaseUrlError(ValueError):
    """A DATABASE_URL this bot cannot use."""


@dataclass(frozen=True)
class DatabaseTarget:
    engine: str  # "sqlite" or "postgresql"
    url: str  # the URL as given (PostgreSQL) or sqlite:///path
    path: Path | None = None  # SQLite only

    def describe(self) -> str:
        """For messages: the file, or the server and database name without the password."""
        if self.path is not None:
            return str(self.path)
        return redact(self.url)


def parse_target(target: Path | str) -> DatabaseTarget:
    if isinstance(target, Path):
        return DatabaseTarget("sqlite", f"sqlite:///{target}", target)
    if target == ":memory:":
        return DatabaseTarget("sqlite", "sqlite:///:memory:", Path(":memory:"))
    scheme, _, rest = target.partition("://")
    if not rest:
        return DatabaseTarget("sqlite", f"sqlite:///{target}", Path(target))
    scheme = scheme.lower()
    if scheme == "sqlite":
        if not rest.startswith("/") or rest == "/":
            raise DatabaseUrlError(
                "DATABASE_URL for SQLite must look like sqlite:///relative/path.sqlite3 or "
                "sqlite:////absolute/path.sqlite3"
            )
        return DatabaseTarget("sqlite", target, Path(rest[1:]))
    if scheme in _POSTGRES_SCHEMES:
        # The scheme in lower case (`POSTGRESQL://` works for the driver too): every check of
        # the engine, and the scrubbing of its password, then sees one spelling.
        target = f"{scheme}://{rest}"
        parts = urlsplit(target)
        if not parts.hostname and "host=" not in (parts.query or ""):
            raise DatabaseUrlError(
                "DATABASE_URL for PostgreSQL must name a server: "
                "postgresql://user:password@host:5432/database"
            )
        return DatabaseTarget("postgresql", target)
    raise DatabaseUrlError(
        f"DATABASE_URL must start with sqlite:/// or postgresql:// (got {scheme}://)"
    )


def passwords_in(url: str) -> tuple[str, ...]:
    """Every password a database URL carries, as written and decoded: after the user name
    (`user:password@`) and in the query string (`?password=`), which PostgreSQL also reads."""
    parts = urlsplit(url)
    found = [parts.password] if parts.password else []
    found += [
        value
        for name, value in parse_qsl(parts.query, keep_blank_values=False)
        if name.lower() == "password"
    ]
    # The query's values come decoded; the text as written may hold %-escapes.
    found += [raw.split("=", 1)[1] for raw in parts.query.split("&") if _names_password(raw)]
    return tuple(dict.fromkeys(v for text in found for v in (text, unquote(text)) if v))


def _names_password(pair: str) -> bool:
    return "=" in pair and pair.split("=", 1)[0].lower() == "password"


def redact(url: str) -> str:
    """The URL without its passwords (see `passwords_in`), safe to log or show."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    query = "&".join(
        f"{pair.split('=', 1)[0]}=***" if _names_password(pair) else pair
        for pair in parts.query.split("&")
    )
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return parts._replace(netloc=netloc, query=query).geturl()


def with_password(url: str, password: str) -> str:
    """The PostgreSQL `url` (naming its user, without a password) with `password` in it,
    escaped so that every character of it is taken as part of the password."""
    parts = urlsplit(url)
    if parts.password is not None:
        raise DatabaseUrlError(
            "DATABASE_URL holds a password and DATABASE_PASSWORD is set too: keep one of them "
            "(postgresql://user@host:5432/name with DATABASE_PASSWORD, for a password with any "
            "character)."
        )
    if not parts.username:
        raise DatabaseUrlError(
            "DATABASE_URL must name the user when DATABASE_PASSWORD is set: "
            "postgresql://user@host:5432/name"
        )
    user, _, host = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}").geturl()

"""API keys for ``ragcore serve``, stored hashed beside the index (``keys.json``).

A key is shown once, at creation. The server keeps only its SHA-256 (a key is 32 random bytes,
so a slow password hash buys nothing) and compares digests in constant time. Each key carries
the access groups every request made with it searches with; admin keys may also sync and
manage keys.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ragcore.errors import ConfigError

KEYS_FILE = "keys.json"
PREFIX = "rck_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class ApiKey:
    name: str
    digest: str  # sha256 hex of the secret
    groups: tuple[str, ...]
    admin: bool
    created: float

    def public(self) -> dict[str, object]:
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created))
        return {"name": self.name, "groups": list(self.groups), "admin": self.admin,
                "created": created}  # fmt: skip


def groups_of(key: ApiKey | None) -> tuple[str, ...] | None:
    """The groups a request searches with: its key's (None without keys: no access check)."""
    return None if key is None else key.groups


def bearer_secret(authorization: str) -> str | None:
    """The key in an ``Authorization: Bearer KEY`` header, or None when there is none."""
    scheme, _, secret = authorization.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / KEYS_FILE
        self._cached: tuple[tuple[int, int], list[ApiKey]] | None = None

    def keys(self) -> list[ApiKey]:
        """The stored keys, parsed again only when ``keys.json`` changed (every request asks;
        ``keys revoke`` in another process changes the file)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return []
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._cached is None or self._cached[0] != stamp:
            self._cached = (stamp, self._read())
        return list(self._cached[1])

    def _read(self) -> list[ApiKey]:
        try:
            rows = json.loads(self.path.read_text(encoding="utf-8"))
            return [ApiKey(r["name"], r["digest"], tuple(r["groups"]), bool(r["admin"]),
                           float(r["created"])) for r in rows]  # fmt: skip
        except (ValueError, KeyError, TypeError):
            raise ConfigError(
                f"{self.path} is damaged", "delete it and create the keys again"
            ) from None

    def create(self, name: str, groups: tuple[str, ...], admin: bool) -> tuple[ApiKey, str]:
        if not _NAME.match(name):
            raise ConfigError(f"key name {name!r} is not valid", "use letters, digits, . _ -")
        keys = self.keys()
        if any(k.name == name for k in keys):
            raise ConfigError(
                f"a key named {name!r} exists", f"revoke it first: ragcore keys revoke {name}"
            )
        if not groups and not admin:
            raise ConfigError(
                f"key {name!r} has no --group: it would see public documents only",
                "give --group G (repeatable), or --group '' for public only",
            )
        secret = PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(name, _digest(secret), tuple(g for g in groups if g), admin, time.time())
        self._save([*keys, key])
        return key, secret

    def revoke(self, name: str) -> None:
        keys = self.keys()
        if not any(k.name == name for k in keys):
            raise ConfigError(f"no key named {name!r}", "list them: ragcore keys list")
        self._save([k for k in keys if k.name != name])

    def lookup(self, secret: str) -> ApiKey | None:
        digest = _digest(secret)
        found = None
        for key in self.keys():
            if hmac.compare_digest(key.digest, digest):
                found = key
        return found

    def _save(self, keys: list[ApiKey]) -> None:
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump([asdict(k) for k in keys], f, indent=1)
        os.replace(tmp, self.path)

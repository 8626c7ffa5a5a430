"""A stored bearer key as the server sees it (never the secret); how secrets are made and hashed."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server.errors import BadRequest

__all__ = [
    "KeyRecord",
    "InvalidKeyConfig",
    "SECRET_PREFIX",
    "CONFIG_SECTIONS",
    "new_secret",
    "hash_secret",
    "display_prefix",
    "check_config",
]

SECRET_PREFIX = "sqc_"
SECRET_BYTES = 32
DISPLAY_PREFIX_CHARS = 8
CONFIG_SECTIONS = ("features", "policy", "config")  # X-Features, X-Policy, X-Config objects


class InvalidKeyConfig(BadRequest):
    default_code = "invalid_key_config"


@dataclass(frozen=True)
class KeyRecord:
    """A bearer key's stored facts. `prefix` is a few leading characters, enough to tell keys apart.

    `config` is the key's stored base config (`{"features": {...}, "policy": {...}, "config":
    {...}}`, each optional) or None when the key has none and the family preset applies.
    """

    id: str
    name: str | None
    prefix: str
    created_at: datetime
    revoked: bool
    config: dict[str, Any] | None

    @property
    def masked(self) -> str:
        """The prefix as shown to operators: `sqc_ab12…`."""
        return f"{self.prefix}…"


def new_secret() -> str:
    """A fresh bearer secret: `sqc_` + 32 random bytes, urlsafe base64 (47 chars)."""
    return SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a bearer secret: the only form in which a secret is stored.

    A fast unsalted hash is right here: generated keys carry 256 random bits, so there is nothing to
    brute-force, and a deterministic hash lets `authenticate` find the key by an indexed equality
    lookup, which leaks nothing about the secret through timing (no byte-wise string compare).
    Seeded keys from SEQURITY_CONTROL_API_KEYS are the operator's to make long and random.
    """
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def display_prefix(secret: str) -> str:
    """The stored prefix: 8 chars of a long secret, at most a quarter of a short seeded one.

    >>> display_prefix("sqc_ab12cd34ef56gh78ij90kl12mn34op56qr78st90uv1")
    'sqc_ab12'
    >>> display_prefix("dev-key-1")
    'de'
    """
    return secret[: min(DISPLAY_PREFIX_CHARS, len(secret) // 4)]


def check_config(config: object) -> dict[str, Any] | None:
    """Check the stored base config's shape; the config layer validates the contents later."""
    if config is None:
        return None
    if not isinstance(config, dict):
        raise InvalidKeyConfig(
            f"key config must be a JSON object with keys {', '.join(CONFIG_SECTIONS)}"
            f" (each optional), got {type(config).__name__}"
        )
    unknown = sorted(str(key) for key in config if key not in CONFIG_SECTIONS)
    if unknown:
        raise InvalidKeyConfig(
            f"key config has unknown keys {', '.join(unknown)};"
            f" allowed: {', '.join(CONFIG_SECTIONS)}"
        )
    for section, value in config.items():
        if not isinstance(value, dict):
            raise InvalidKeyConfig(
                f"key config.{section} must be a JSON object, got {type(value).__name__}"
            )
    try:
        return dict(json.loads(json.dumps(config)))
    except (TypeError, ValueError) as exc:
        raise InvalidKeyConfig(f"key config is not JSON data: {exc}") from exc

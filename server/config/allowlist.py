"""The managed-key model allow list (spec control-api 13.2): names, a trailing `*` is a prefix."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from server.errors import BadRequest

__all__ = ["model_allowed", "require_allowed"]


def model_allowed(model: str, allowlist: str) -> bool:
    """Whether `model` may use a server-managed key; an empty allow list allows every model.

    Applies only without X-Api-Key (the caller decides that). Entries are trimmed; `*` alone
    allows everything.

    >>> model_allowed("gpt-5-mini", "gpt-5*, claude-sonnet-4-5"), model_allowed("o3", "gpt-*")
    (True, False)
    """
    exact, prefixes = _entries(allowlist)
    if not exact and not prefixes:
        return True
    return model in exact or any(model.startswith(prefix) for prefix in prefixes)


@lru_cache(maxsize=8)
def _entries(allowlist: str) -> tuple[frozenset[str], tuple[str, ...]]:
    # The setting is read once per process, so the split is cached by its text.
    names = [name.strip() for name in allowlist.split(",")]
    exact = frozenset(name for name in names if name and not name.endswith("*"))
    prefixes = tuple(name[:-1] for name in names if name.endswith("*"))
    return exact, prefixes


def require_allowed(models: Iterable[str], *, allowlist: str) -> None:
    """Raise `BadRequest` (400, param `model`) naming every model the allow list refuses.

    Call it only for server-managed keys (no X-Api-Key), e.g. with `SessionConfig.model_names`.

    >>> require_allowed(["gpt-5-mini"], allowlist="gpt-5*")
    """
    refused = [model for model in models if not model_allowed(model, allowlist)]
    if refused:
        names = ", ".join(repr(model) for model in refused)
        raise BadRequest(
            f"model: {names} not allowed with the server-managed key; send your own key in "
            "X-Api-Key, or ask the operator to add it to SEQURITY_CONTROL_MODEL_ALLOWLIST",
            param="model",
            code="model_not_allowed",
        )

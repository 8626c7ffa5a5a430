"""THE route table, read both ways: match a `/control/...` path, and list every route it allows."""

from __future__ import annotations

from dataclasses import dataclass

from server.errors import NotFound
from server.names import (
    POLICY_GEN_DEFAULT_PROVIDER,
    POLICY_GEN_PROVIDERS,
    ROUTE_TABLE,
    Family,
    Provider,
    WireFormat,
)

__all__ = ["ModelRoute", "PolicyGenRoute", "match_post_route", "all_routes", "PREFIX"]

PREFIX = "/control"
_POLICY_GEN = "policy-gen"
_FORMATS = {f.value: f for f in WireFormat}
_PROVIDERS = {p.value: p for p in Provider}
_FAMILIES = {f.value: f for f in Family}


@dataclass(frozen=True, slots=True)
class ModelRoute:
    family: Family
    provider: Provider
    format: WireFormat


@dataclass(frozen=True, slots=True)
class PolicyGenRoute:
    provider: Provider


def _not_found(path: str, why: str) -> NotFound:
    return NotFound(f"no route POST {PREFIX}/{path}: {why}", code="unknown_route")


def _provider_list(allowed: tuple[Provider, ...], default: Provider | None) -> str:
    names = ", ".join(f"'{p}'" for p in allowed)
    return f"{names} (or no provider segment, meaning '{default}')" if default else names


def match_post_route(path: str) -> ModelRoute | PolicyGenRoute:
    """Match the part after `/control/`, e.g. `chat/openai/v1/chat/completions`.

    >>> match_post_route("chat/v1/messages")
    ModelRoute(family=<Family.CHAT: 'chat'>, provider=<Provider.ANTHROPIC: 'anthropic'>, format=<WireFormat.MESSAGES: 'messages'>)
    """
    parts = path.strip("/").split("/")
    if len(parts) < 3:
        raise _not_found(path, "expected /control/{family}/{provider?}/v1/{format}")
    family_name, rest = parts[0], parts[1:]
    provider_name: str | None = None
    if rest[0] != "v1":
        provider_name, rest = rest[0], rest[1:]
    if not rest or rest[0] != "v1":
        raise _not_found(path, "expected the version segment 'v1'")
    suffix = "/".join(rest[1:])

    if family_name == _POLICY_GEN:
        if suffix != "generate":
            raise _not_found(path, "policy-gen serves only /v1/generate")
        if provider_name is None:
            return PolicyGenRoute(POLICY_GEN_DEFAULT_PROVIDER)
        provider = _PROVIDERS.get(provider_name)
        if provider not in POLICY_GEN_PROVIDERS:
            raise _not_found(
                path,
                f"unknown provider '{provider_name}' for policy-gen; allowed: "
                + _provider_list(POLICY_GEN_PROVIDERS, POLICY_GEN_DEFAULT_PROVIDER),
            )
        return PolicyGenRoute(provider)  # type: ignore[arg-type]

    family = _FAMILIES.get(family_name)
    if family is None:
        allowed = ", ".join([*(f"'{f}'" for f in Family), f"'{_POLICY_GEN}'"])
        raise _not_found(path, f"unknown endpoint family '{family_name}'; allowed: {allowed}")
    fmt = _FORMATS.get(suffix)
    formats = ROUTE_TABLE[family]
    if fmt is None or fmt not in formats:
        allowed = ", ".join(f"'{f}'" for f in formats)
        raise _not_found(path, f"unknown format '{suffix}' for family '{family}'; allowed: {allowed}")
    default, allowed_providers = formats[fmt]
    if provider_name is None:
        if default is None:
            raise _not_found(
                path,
                f"family '{family}' with format '{fmt}' needs a provider segment; allowed: "
                + _provider_list(allowed_providers, None),
            )
        return ModelRoute(family, default, fmt)
    provider = _PROVIDERS.get(provider_name)
    if provider is None or provider not in allowed_providers:
        raise _not_found(
            path,
            f"provider '{provider_name}' does not serve '{fmt}' on family '{family}'; allowed: "
            + _provider_list(allowed_providers, default),
        )
    return ModelRoute(family, provider, fmt)


def all_routes() -> list[dict[str, object]]:
    """Every route the server serves, for `GET /control/`."""
    routes: list[dict[str, object]] = [
        {"path": f"{PREFIX}/", "methods": ["GET"]},
        {"path": f"{PREFIX}/health", "methods": ["GET"]},
        {"path": f"{PREFIX}/v1/validate-headers", "methods": ["POST"]},
        {"path": f"{PREFIX}/v1/sessions/{{session_id}}/audit", "methods": ["GET"]},
        {"path": "/metrics", "methods": ["GET"]},
    ]
    for family, formats in ROUTE_TABLE.items():
        for fmt, (default, providers) in formats.items():
            if default is not None:
                routes.append({"path": f"{PREFIX}/{family}/v1/{fmt}", "methods": ["POST"]})
            for provider in providers:
                routes.append({"path": f"{PREFIX}/{family}/{provider}/v1/{fmt}", "methods": ["POST"]})
    routes.append({"path": f"{PREFIX}/{_POLICY_GEN}/v1/generate", "methods": ["POST"]})
    for provider in POLICY_GEN_PROVIDERS:
        routes.append({"path": f"{PREFIX}/{_POLICY_GEN}/{provider}/v1/generate", "methods": ["POST"]})
    return routes

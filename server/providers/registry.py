"""Provider registry: one `LlmClient` per provider, built once from settings, keyed by `Provider`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from server.config.allowlist import require_allowed
from server.errors import BadRequest
from server.names import Provider
from server.providers.anthropic_client import anthropic_forwarder
from server.providers.base import LlmClient
from server.providers.openai_compat import openai_compatible
from server.settings import Settings

__all__ = ["ProviderRegistry", "build_registry"]

_KEY_ENV = {
    Provider.OPENAI: "OPENAI_API_KEY",
    Provider.OPENROUTER: "OPENROUTER_API_KEY",
    Provider.ANTHROPIC: "ANTHROPIC_API_KEY",
    Provider.SEQURITY_AZURE: "AZURE_OPENAI_API_KEY",
}


@dataclass(frozen=True)
class ProviderRegistry:
    clients: Mapping[Provider, LlmClient]
    managed_keys: Mapping[Provider, SecretStr | None]
    model_allowlist: str

    def client(self, provider: Provider) -> LlmClient:
        return self.clients[provider]

    def api_key(self, *, provider: Provider, byok: str | None, models: tuple[str, ...]) -> str:
        """The key for this request: BYOK as is; else the managed key, for allowed models only."""
        if byok:
            return byok
        managed = self.managed_keys.get(provider)
        if managed is None or not managed.get_secret_value():
            raise BadRequest(
                f"no API key for provider '{provider}': send your key in X-Api-Key, "
                f"or have the operator set {_KEY_ENV[provider]}",
                param="X-Api-Key",
                code="missing_api_key",
            )
        require_allowed(models, allowlist=self.model_allowlist)
        return managed.get_secret_value()

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()


def build_registry(settings: Settings) -> ProviderRegistry:
    common = dict(
        timeout=settings.upstream_timeout_seconds,
        max_connections=settings.upstream_max_connections,
        max_retries=settings.upstream_max_retries,
    )
    azure_base = settings.azure_openai_endpoint.rstrip("/") + "/openai/v1"
    clients: dict[Provider, LlmClient] = {
        Provider.OPENAI: openai_compatible(
            provider=Provider.OPENAI, base_url=settings.openai_base_url, **common
        ),
        Provider.OPENROUTER: openai_compatible(
            provider=Provider.OPENROUTER, base_url=settings.openrouter_base_url, **common
        ),
        Provider.SEQURITY_AZURE: openai_compatible(
            provider=Provider.SEQURITY_AZURE, base_url=azure_base, azure=True, **common
        ),
        Provider.ANTHROPIC: anthropic_forwarder(base_url=settings.anthropic_base_url, **common),
    }
    return ProviderRegistry(
        clients=clients,
        managed_keys={
            Provider.OPENAI: settings.openai_api_key,
            Provider.OPENROUTER: settings.openrouter_api_key,
            Provider.ANTHROPIC: settings.anthropic_api_key,
            Provider.SEQURITY_AZURE: settings.azure_openai_api_key,
        },
        model_allowlist=settings.model_allowlist,
    )

"""The long-lived parts a request uses, built once in the lifespan and kept on `app.state`."""

from __future__ import annotations

from dataclasses import dataclass, field

from server.api.auth import Authenticator
from server.audit.decisions import DecisionLog
from server.guards import ScoreCache
from server.keys import KeyStore
from server.policygen.auto_cache import TwoLevelCache
from server.providers.registry import ProviderRegistry
from server.sessions.store import SessionStore
from server.settings import Settings

__all__ = ["Services"]


@dataclass(frozen=True)
class Services:
    settings: Settings
    keys: KeyStore
    authenticate: Authenticator
    sessions: SessionStore
    providers: ProviderRegistry
    scores: ScoreCache = field(default_factory=ScoreCache)
    decisions: DecisionLog = field(default_factory=DecisionLog)  # audit log + verdict metrics
    generated_policies: TwoLevelCache = field(default_factory=TwoLevelCache)  # auto_gen, per tool set  # the guards' tag-LLM score cache (issue 5)

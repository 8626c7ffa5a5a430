"""Built-in presets and per-endpoint defaults (spec control-api 3.7), as data.

Both are expressed as *explicit-key layers* (the same shape `models.explicit` gives a header), so
the resolver treats them exactly like a header: the built-in preset is the empty layer (every
field at the model default of 3.4/3.5, no classifiers or blockers); endpoint defaults are the
lowest layer, below the stored config and the headers, so they fill only what nobody set
(spec 13.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from server.names import AgentArch, Family

__all__ = ["DEFAULT_ARCH", "ARCH_PRESETS", "ENDPOINT_DEFAULTS", "FORCED_ARCH", "endpoint_defaults"]

# No stored config: dual-LLM.
DEFAULT_ARCH = AgentArch.DUAL_LLM

# Arch -> the explicit layers {"policy": ..., "config": ...} a rebuild starts from. Both presets
# are the model defaults today; they are separate entries so one can diverge without code changes.
ARCH_PRESETS: Mapping[AgentArch, Mapping[str, Mapping[str, Any]]] = MappingProxyType(
    {
        AgentArch.DUAL_LLM: MappingProxyType({"policy": {}, "config": {}}),
        AgentArch.SINGLE_LLM: MappingProxyType({"policy": {}, "config": {}}),
    }
)

_PARSE_WITH_AI: tuple[str, ...] = ("parse_with_ai",)

# Family -> X-Config explicit layer of its defaults.
ENDPOINT_DEFAULTS: Mapping[Family, Mapping[str, Any]] = MappingProxyType(
    {
        Family.CHAT: {"fsm": {"max_n_turns": 1, "enabled_internal_tools": _PARSE_WITH_AI}},
        Family.AGENT: {"fsm": {"max_n_turns": 1, "enabled_internal_tools": _PARSE_WITH_AI}},
        Family.CODE: {"fsm": {"max_n_turns": 50, "enabled_internal_tools": _PARSE_WITH_AI}},
        Family.LANG_GRAPH: {"fsm": {"max_n_turns": 1, "enabled_internal_tools": ()}},
    }
)

# Families that run one arch whatever X-Features or the stored config says.
FORCED_ARCH: Mapping[Family, AgentArch] = MappingProxyType({Family.LANG_GRAPH: AgentArch.DUAL_LLM})


def endpoint_defaults(family: Family) -> Mapping[str, Any]:
    """The X-Config layer of a family's defaults (never mutated by the resolver).

    >>> endpoint_defaults(Family.CODE)["fsm"]["max_n_turns"]
    50
    """
    return ENDPOINT_DEFAULTS[family]

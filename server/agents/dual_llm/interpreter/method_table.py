"""The table of every allowlisted method, keyed by runtime type (one registry, habit 5)."""

from __future__ import annotations

from typing import Final

from server.agents.dual_llm.interpreter import modules
from server.agents.dual_llm.interpreter.methods import (
    LIST_METHODS,
    STR_METHODS,
    TUPLE_METHODS,
    Method,
)
from server.agents.dual_llm.interpreter.methods_maps import (
    DATA_ATTRS,
    DATE_METHODS,
    DICT_METHODS,
    FLOAT_METHODS,
    INT_METHODS,
    SET_METHODS,
)
from server.agents.dual_llm.interpreter.values import LDict, LList, LSet, LTuple

__all__ = ["METHODS", "DATA_ATTRS"]

METHODS: Final[dict[type, dict[str, Method]]] = {
    str: STR_METHODS,
    LList: LIST_METHODS,
    LTuple: TUPLE_METHODS,
    LDict: DICT_METHODS,
    LSet: SET_METHODS,
    int: INT_METHODS,
    bool: INT_METHODS,
    float: FLOAT_METHODS,
    **DATE_METHODS,
    **modules.METHODS,
}

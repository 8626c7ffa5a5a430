"""`run_program`: check, compile (cached per source) and run a program; `Namespace` and `RunResult`.

A run is synchronous and deterministic: the same program, namespace and gateway answers give the
same result and the same sequence of gateway calls. The interpreter never retries, waits or
catches a signal; the agent answers a `Suspend` and replays the program from the top.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from server.agents.dual_llm.interpreter.calls import resolve_global
from server.agents.dual_llm.interpreter.codec import NamespaceCodecError, decode, encode, storable
from server.agents.dual_llm.interpreter.convert import lift, render, to_json
from server.agents.dual_llm.interpreter.errors import (
    EndTurn,
    LimitExceeded,
    ProgramRejected,
)
from server.agents.dual_llm.interpreter.gateway import ToolGateway
from server.agents.dual_llm.interpreter.limits import Limits
from server.agents.dual_llm.interpreter.state import State
from server.agents.dual_llm.interpreter.stmt import StmtFn, compile_block, run_block
from server.agents.dual_llm.interpreter.subset import parse_program
from server.agents.dual_llm.interpreter.values import Builtin, ModuleVal, ToolRef, TypeVal, Val, nesting_depth
from server.policy.metadata import MetaData, Labelled

__all__ = ["Mode", "Namespace", "RunResult", "run_program", "FINAL_NAME", "export"]

Mode = Literal["standard", "strict", "custom"]
FINAL_NAME = "final_return_value"
_NOT_DATA = (ModuleVal, Builtin, TypeVal, ToolRef)


def export(val: Val, *, max_depth: int = 64) -> Labelled:
    """A runtime value as JSON data with its metadata (spec dual-llm 4)."""
    try:
        return Labelled(to_json(val[0], max_depth=max_depth), val[1])
    except TypeError:
        return Labelled(render(val[0], limit=10_000), val[1])


@dataclass(frozen=True)
class Namespace:
    """Program variables with their metadata. Immutable: a run returns a new namespace.

    >>> ns = Namespace.from_labelled({"x": Labelled([1, 2])})
    >>> Namespace.from_json(ns.to_json()).snapshot()["x"].value
    [1, 2]
    """

    values: Mapping[str, Val] = field(default_factory=dict)

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def get(self, name: str) -> Labelled | None:
        v = self.values.get(name)
        return None if v is None else export(v)

    def snapshot(self) -> dict[str, Labelled]:
        """Data variables as JSON values with metadata (modules, functions and types left out)."""
        return {k: export(v) for k, v in self.values.items() if not isinstance(v[0], _NOT_DATA)}

    def to_json(self) -> dict[str, Any]:
        """Lossless form (types, per-element metadata) for the session store."""
        return {"version": 1, "values": {k: encode(v) for k, v in self.values.items() if storable(v[0])}}

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Namespace:
        if not isinstance(data, Mapping) or data.get("version") != 1 or not isinstance(data.get("values"), Mapping):
            raise NamespaceCodecError("namespace: expected {'version': 1, 'values': {...}}")
        return Namespace({_check_name(k): decode(v, f"namespace.{k}") for k, v in data["values"].items()})

    @staticmethod
    def from_labelled(values: Mapping[str, Labelled], limits: Limits = Limits()) -> Namespace:
        """From plain data (e.g. lang-graph `context_vars`): every element inherits its metadata."""
        return Namespace({_check_name(k): lift(v.value, v.meta, limits) for k, v in values.items()})


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
        raise NamespaceCodecError(f"namespace: '{name}' is not a valid variable name")
    return name


@dataclass(frozen=True)
class RunResult:
    """What a finished run produced.

    `final_return_value`: the value of `complete_turn(...)` if it was called, else of the variable
    `final_return_value` if assigned, else None — as JSON data with metadata. `printed`: each
    `print` call's text with the metadata of what it printed. `nodes`: the node count.
    """

    final_return_value: Labelled | None
    namespace: Namespace
    printed: tuple[Labelled, ...]
    nodes: int
    turn_completed: bool = False

    def snapshot(self) -> dict[str, Labelled]:
        return self.namespace.snapshot()


def _check_depth(ns: Mapping[str, Val], limits: Limits) -> None:
    """Every value a run leaves behind can be exported and stored: refuse deeper nesting (values
    built by `a = [a]` in a loop) deterministically, at the end of the run."""
    for name, (v, _) in ns.items():
        if nesting_depth(v, limits.max_depth) > limits.max_depth:
            raise LimitExceeded("max_depth", f"variable '{name}' is nested more than {limits.max_depth} levels deep")


@dataclass(frozen=True)
class _Program:
    block: tuple[StmtFn, ...]


@lru_cache(maxsize=256)
def _compile(source: str, limits: Limits) -> _Program:
    tree, errors = parse_program(source, limits)
    if tree is None:
        raise ProgramRejected(errors)
    return _Program(compile_block(tree.body))


def run_program(
    source: str,
    *,
    gateway: ToolGateway,
    context_vars: Mapping[str, Labelled] | None = None,
    mode: Mode = "standard",
    branch_check: Callable[[MetaData], str | None] | None = None,
    limits: Limits = Limits(),
    namespace: Namespace | None = None,
) -> RunResult:
    """Run `source` against `gateway` and return its result.

    Raises `ProgramRejected` (subset errors, nothing ran), `ProgramRuntimeError` (uncaught program
    error, with line and cause metadata) or an `InterpreterSignal` (`Suspend`, `PolicyDenied`,
    `ControlFlowViolation`, `LimitExceeded`). `branch_check` is used in `custom` mode: it returns a
    violation message or None.

    >>> from server.agents.dual_llm.interpreter.gateway import MemoryGateway
    >>> run_program("final_return_value = 6 * 7", gateway=MemoryGateway({})).final_return_value.value
    42
    """
    program = _compile(source, limits)
    ns: dict[str, Val] = dict(namespace.values) if namespace is not None else {}
    if context_vars:
        ns.update(Namespace.from_labelled(context_vars, limits).values)
    st = State(ns=ns, gateway=gateway, limits=limits, mode=mode, branch_check=branch_check, resolve=resolve_global)
    final: Labelled | None = None
    completed = False
    try:
        run_block(st, program.block)
    except EndTurn as end:
        final, completed = end.value, True
    except RecursionError:
        raise LimitExceeded("max_depth", "a value or expression is nested too deeply") from None
    except MemoryError:
        raise LimitExceeded("max_container_size", "the program ran out of memory") from None
    _check_depth(ns, limits)
    if not completed and FINAL_NAME in ns:
        final = export(ns[FINAL_NAME], max_depth=limits.max_depth)
    return RunResult(
        final_return_value=final,
        namespace=Namespace(ns),
        printed=tuple(Labelled(t, m) for t, m in st.printed),
        nodes=st.nodes,
        turn_completed=completed,
    )

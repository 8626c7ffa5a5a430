"""Helpers for the table-driven SQRT tests: build arguments, run checks, test one predicate."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from server.policy.engine import Presets
from server.policy.metadata import Labelled, MetaData
from server.policy.sqrt import load_policy

__all__ = ["arg", "meta", "verdict", "holds", "run", "NO_TAG"]

NO_TAG = Presets(enable_non_executable_memory=False)


def meta(p: Iterable[str] = (), c: Iterable[str] | None = None, t: Iterable[str] = ()) -> MetaData:
    """`P{..} C{..} T{..}` of spec 15; consumers default to universal."""
    return MetaData(producers=frozenset(p), consumers=frozenset(c) if c is not None else
                    frozenset({"*"}), tags=frozenset(t))


def arg(value: Any = None, *, p: Iterable[str] = (), c: Iterable[str] | None = None,
        t: Iterable[str] = ()) -> Labelled:
    return Labelled(value, meta(p, c, t))


def _args(args: Mapping[str, Any]) -> dict[str, Labelled]:
    return {k: v if isinstance(v, Labelled) else Labelled(v) for k, v in args.items()}


def verdict(policy: str, tool: str, args: Mapping[str, Any] | None = None, *,
            presets: Presets = Presets(), session: MetaData = MetaData(),
            fail_fast: bool = True) -> str:
    record = load_policy(policy, presets).check(
        tool=tool, args=_args(args or {}), session_meta=session, fail_fast=fail_fast)
    return str(record.verdict.value)


def holds(pred: str, args: Mapping[str, Any] | None = None, *, lets: str = "",
          session: MetaData = MetaData()) -> bool:
    """Whether predicate `pred` is true for a call with `args` (via a hard deny rule)."""
    text = f'{lets}\ntool "t" {{ hard deny when {pred}; }}'
    return verdict(text, "t", args, session=session) == "hard_denied"


def run(policy: str, tool: str, args: Mapping[str, Any] | None = None, *, result: Any = None,
        presets: Presets = NO_TAG, session: MetaData = MetaData()) -> tuple[str, MetaData | None,
                                                                         MetaData]:
    """Check then complete a call: (verdict, result meta or None, final session)."""
    policy_set = load_policy(policy, presets)
    a = _args(args or {})
    rec = policy_set.check(tool=tool, args=a, session_meta=session)
    if not rec.allowed:
        return rec.verdict.value, None, rec.session_meta
    done = policy_set.complete(tool=tool, args=a, session_meta=rec.session_meta, result=result)
    return rec.verdict.value, done.result.meta, done.session_meta

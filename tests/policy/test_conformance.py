"""The shared conformance suite (spec sqrt 13) run against every policy engine."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pytest

from server.policy.engine import CheckRecord, PolicySet, Presets
from server.policy.metadata import Labelled, MetaData
from tests.policy.conformance_cases import CASES, ConformanceCase

Loader = Callable[[str, Presets], PolicySet]
ENGINES = ("sqrt", "cedar")


def _loader(engine: str) -> Loader:
    if engine == "sqrt":
        # Turns on by itself once the SQRT engine lands.
        module = pytest.importorskip("server.policy.sqrt")
        if not hasattr(module, "load_policy"):
            pytest.skip("server.policy.sqrt.load_policy does not exist yet")
    else:
        module = importlib.import_module("server.policy.cedar")
    loader: Loader = module.load_policy
    return loader


def _policy_text(case: ConformanceCase, engine: str) -> str:
    return case.sqrt if engine == "sqrt" else case.cedar


def _check(case: ConformanceCase, engine: str) -> str:
    presets = Presets(**case.call.presets)
    policy = _loader(engine)(_policy_text(case, engine), presets)
    args: dict[str, Labelled] = {
        name: Labelled.from_json(arg, path=f"args.{name}") for name, arg in case.call.args.items()
    }
    record = policy.check(
        tool=case.call.tool, args=args, session_meta=MetaData.from_json(case.call.session_meta)
    )
    verdict: Any = record.verdict
    return str(verdict.value)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_conformance(case: ConformanceCase, engine: str) -> None:
    assert _check(case, engine) == case.expected


@pytest.mark.parametrize("engine", ENGINES)
def test_denial_message_is_shared(engine: str) -> None:
    case = next(c for c in CASES if c.id == "E1-general")
    policy = _loader(engine)(_policy_text(case, engine), Presets())
    args = {n: Labelled.from_json(a) for n, a in case.call.args.items()}
    record = policy.check(tool="post_message", args=args, session_meta=MetaData())
    assert record.message is not None
    assert record.message.startswith(
        "Tool call to 'post_message' is denied by argument checking policies."
    )


def _record(case: ConformanceCase, engine: str) -> CheckRecord:
    policy = _loader(engine)(_policy_text(case, engine), Presets(**case.call.presets))
    args = {n: Labelled.from_json(a) for n, a in case.call.args.items()}
    return policy.check(
        tool=case.call.tool, args=args, session_meta=MetaData.from_json(case.call.session_meta)
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_engines_report_presets_alike(case: ConformanceCase) -> None:
    """Preset rules (llm-blocked, default) appear identically in both engines' records."""
    sqrt, cedar = _record(case, "sqrt"), _record(case, "cedar")
    for field in ("fired", "denied_by"):
        presets_of = [r for r in getattr(sqrt, field) if r.source == "preset"]
        assert [r for r in getattr(cedar, field) if r.source == "preset"] == presets_of
    assert cedar.message == sqrt.message

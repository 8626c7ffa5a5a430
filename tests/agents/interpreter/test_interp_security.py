"""Escape attempts: each must fail with the right error, and fast (spec dual-llm 1.3)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from server.agents.dual_llm.interpreter import (
    Limits,
    LimitExceeded,
    ProgramRejected,
    ProgramRuntimeError,
    WallTimeExceeded,
    run_program,
)
from server.policy.metadata import Labelled
from tests.agents.interpreter.interp_helpers import ScriptedGateway

FAST = 3.0  # seconds: generous, the point is "no hang"
SMALL = Limits(max_nodes=200_000, regex_timeout_seconds=0.05)


def _run(source: str, limits: Limits = SMALL, **kwargs: Any) -> Any:
    start = time.monotonic()
    try:
        return run_program(source, gateway=ScriptedGateway(), limits=limits, **kwargs)
    finally:
        assert time.monotonic() - start < FAST, f"too slow: {source!r}"


REJECTED_AT_CHECK = [
    "x = ().__class__.__mro__[1].__subclasses__()",
    "x = __builtins__",
    "x = __import__('os')",
    "x = [].__class__",
    "x = 'a'.upper.__self__",
    "x = f'{().__class__}'",
    "import os",
    "import sys",
    "import importlib",
    "import subprocess",
    "from os import system",
    "from json import *",
    "from json import _default_encoder",
    "import json\nx = json.__dict__",
    "import re\nx = re._compile",
    "x = (lambda: 1)()",
    "def f():\n    return f()\nf()",
    "while True:\n    pass",
    "class A:\n    pass",
    "with open('x') as f:\n    pass",
    "x = [y async for y in z]",
    "x = " + "[" * 100 + "]" * 100,
    "x = " + "-" * 200 + "1",
]


@pytest.mark.parametrize("source", REJECTED_AT_CHECK)
def test_rejected_before_running(source: str) -> None:
    with pytest.raises(ProgramRejected):
        _run(source)


RUNTIME: list[tuple[str, str]] = [
    # source, program-visible error type
    ("x = getattr(1, 'real')", "NameError"),
    ("x = eval('1')", "NameError"),
    ("x = exec('1')", "NameError"),
    ("x = open('/etc/passwd')", "NameError"),
    ("x = compile('1', 'f', 'eval')", "NameError"),
    ("x = type(1)", "NameError"),
    ("x = vars()", "NameError"),
    ("x = globals()", "NameError"),
    ("x = breakpoint()", "NameError"),
    ("x = '{0.__class__}'.format(1)", "ValueError"),
    ("x = '{0.__class__.__mro__}'.format('a')", "ValueError"),
    ("x = '{0[__class__]}'.format({})", "ValueError"),
    ("x = '{a.real}'.format(a=1)", "ValueError"),
    ("x = '{:{}}'.format(1, '0.__class__')", "ValueError"),
    ("x = 'a'.upper", "TypeError"),
    ("import json\nx = json.loads.call", "AttributeError"),
    ("x = str.join", "AttributeError"),
    ("import datetime\nx = datetime.datetime.fromtimestamp(0)", "AttributeError"),
    ("import datetime\nx = datetime.datetime.utcnow()", "AttributeError"),
    ("import re\nm = re.match('a', 'a')\nx = m.re", "AttributeError"),
    ("import re\nm = re.match('a', 'a')\nx = m.expand('\\\\g<0>')", "AttributeError"),
    ("x = int('1' * 5000)", "ValueError"),
    ("x = sorted([1, 2], key=print)", "TypeError"),
    ("x = isinstance(1, getattr)", "NameError"),
]


@pytest.mark.parametrize(("source", "error"), RUNTIME)
def test_runtime_refusals(source: str, error: str) -> None:
    with pytest.raises(ProgramRuntimeError) as info:
        _run(source)
    assert info.value.type_name == error


LIMITS: list[tuple[str, str]] = [
    # source, the limit that stops it
    ("x = 'a' * 10**9", "max_string_length"),
    ("x = 10**9 * 'a'", "max_string_length"),
    ("x = [0] * 10**9", "max_container_size"),
    ("x = 10 ** 10 ** 10", "max_int_bits"),
    ("x = 1 << 10**10", "max_int_bits"),
    ("x = 2 ** 70000", "max_int_bits"),
    ("x = (10 ** 5000) * (10 ** 30000)", "max_int_bits"),
    ("s = 'a' * 1000000\ns = s + s", "max_string_length"),
    ("x = list(range(10**9))", "max_container_size"),
    ("x = set(range(10**9))", "max_container_size"),
    ("x = [i for i in range(10**9)]", "max_nodes"),
    ("for i in range(10**9):\n    pass", "max_nodes"),
    ("for i in range(10**5):\n    for j in range(10**5):\n        x = 1", "max_nodes"),
    ("x = 'x'.center(10**9)", "max_string_length"),
    ("x = 'x'.zfill(10**9)", "max_string_length"),
    ("x = '{:1000000000}'.format(1)", "max_string_length"),
    ("x = '{0:{1}}'.format(1, 1000000000)", "max_string_length"),
    ("x = f'{1:1000000000}'", "max_string_length"),
    ("x = f'{1:.1000000000f}'", "max_string_length"),
    ("x = '%1000000000d' % 1", "max_string_length"),
    ("x = ('a' * 1000000).replace('', 'bbbb')", "max_string_length"),
    ("x = '-'.join(['a' * 1000000] * 100)", "max_string_length"),
    ("x = str(['a' * 1000000] * 100)", "max_string_length"),
    ("x = f\"{['a' * 1000000] * 100}\"", "max_string_length"),
    ("import json\nx = json.dumps(['a' * 1000000] * 100)", "max_string_length"),
    ("import re\nx = re.sub('', 'b' * 1000, 'a' * 100000)", "max_string_length"),
    ("import re\nx = re.match('(a|aa)+$', 'a' * 40 + 'b')", "regex_timeout_seconds"),
    ("import json\nx = json.loads('[' * 100000 + ']' * 100000)", "max_depth"),
    ("import json\nx = json.loads('[' * 100 + ']' * 100)", "max_depth"),
    ("a = []\nfor i in range(5000):\n    a = [a]\nx = str(a)", "max_depth"),
    ("a = []\nfor i in range(5000):\n    a = [a]\nfinal_return_value = a", "max_depth"),
    ("a = []\nb = []\nfor i in range(5000):\n    a = [a]\n    b = [b]\nc = a == b", "max_depth"),
    ("for i in range(100000):\n    print('x' * 100)", "max_output_chars"),
    ("x = [('a' * 1000000).upper() for i in range(300)]", "max_allocated_bytes"),
    ("x = [[0] * 100000 for i in range(1000)]", "max_allocated_bytes"),
    ("x = [('b' * 999990) + str(i) for i in range(300)]", "max_allocated_bytes"),
    ("import re\nx = re.compile('(a{1000}){1000}')", "regex_timeout_seconds"),
    ("import re\nx = re.match('x' * 6000, 'x')", "regex_timeout_seconds"),
]


@pytest.mark.parametrize(("source", "limit"), LIMITS)
def test_limits(source: str, limit: str) -> None:
    with pytest.raises(LimitExceeded) as info:
        _run(source)
    assert info.value.limit == limit


def test_largest_integers_still_print() -> None:
    result = _run("x = 2 ** 13000\nfinal_return_value = len(str(x))")
    assert result.final_return_value.value == 3914


def test_limits_are_not_catchable() -> None:
    with pytest.raises(LimitExceeded):
        _run("try:\n    x = 'a' * 10**9\nexcept Exception:\n    x = 'caught'")


def test_wall_time_safety_net() -> None:
    limits = Limits(max_nodes=10**9, wall_time_seconds=0.2)
    with pytest.raises(WallTimeExceeded):
        _run("for i in range(10**9):\n    x = i * 2", limits=limits)


def test_huge_tool_results_fail_clearly() -> None:
    class Huge(ScriptedGateway):
        def call(self, name: str, args: Any, *, context_meta: Any) -> Labelled:
            return Labelled({"text": "x" * 2_000_000})

    with pytest.raises(LimitExceeded) as info:
        run_program("x = get_email()", gateway=Huge())
    assert info.value.limit == "max_string_length"


def test_deep_tool_results_fail_clearly() -> None:
    deep: Any = []
    for _ in range(500):
        deep = [deep]

    class Deep(ScriptedGateway):
        def call(self, name: str, args: Any, *, context_meta: Any) -> Labelled:
            return Labelled(deep)

    with pytest.raises(LimitExceeded) as info:
        run_program("x = get_email()", gateway=Deep())
    assert info.value.limit == "max_depth"


def test_tool_output_is_data_never_code() -> None:
    class Evil(ScriptedGateway):
        def call(self, name: str, args: Any, *, context_meta: Any) -> Labelled:
            return Labelled("__import__('os').system('echo pwned')")

    result = run_program("final_return_value = get_email()", gateway=Evil())
    assert result.final_return_value is not None
    assert result.final_return_value.value == "__import__('os').system('echo pwned')"


def test_interpreter_source_never_evals_program_text() -> None:
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[3] / "server" / "agents" / "dual_llm" / "interpreter"
    for path in root.glob("*.py"):
        text = path.read_text()
        assert not re.search(r"(?<![\w.])(eval|exec|compile)\(", text), path.name

"""check_program: every rejected construct is named, located, and given an alternative."""

from __future__ import annotations

import pytest

from server.agents.dual_llm.interpreter import ProgramRejected, check_program
from tests.agents.interpreter.interp_helpers import run

REJECTED: list[tuple[str, str, str]] = [
    # source, expected message fragment, expected alternative fragment
    ("x = 1\nwhile x:\n    x = 0", "line 2: `while` loops are not allowed", "use `for` over `range(...)`"),
    ("def f():\n    pass", "`def` is not allowed", "inline"),
    ("f = lambda x: x", "`lambda` is not allowed", "comprehension"),
    ("class A:\n    pass", "`class` is not allowed", "dicts"),
    ("with x:\n    pass", "`with` is not allowed", "call tools directly"),
    ("global x", "`global` is not allowed", "already global"),
    ("async def f():\n    pass", "`async def` is not allowed", "inline"),
    ("match x:\n    case 1:\n        pass", "`match` is not allowed", "`if`/`elif`"),
    ("x = [(yield)]", "`yield` is not allowed", "build a list"),
    ("x = __import__('os')", "name '__import__' is not allowed", "leading underscore"),
    ("x = (1).__class__", "attribute '__class__' is not allowed", "allowlisted methods"),
    ("import os", "module 'os' is not allowed", "allowed modules: datetime, json, math, re, string"),
    ("import json.decoder", "module 'json.decoder' is not allowed", "allowed modules"),
    ("from json import *", "`from json import *` is not allowed", "import the names you use"),
    ("from os import path", "module 'os' is not allowed", "allowed modules"),
    ("from datetime import now", "'now' is not available in module 'datetime'", "available:"),
    ("return 1", "`return` is not allowed", "final_return_value"),
    ("assert x", "`assert` is not allowed", "raise ValueError"),
    ("if (y := 1):\n    pass", "`:=` operator is not allowed", "separate line"),
    ("f(*args)", "star unpacking", "index or slice"),
    ("f(**kw)", "`**` argument unpacking is not allowed", "pass each argument by name"),
    ("try:\n    pass\nexcept:\n    pass", "bare `except:` is not allowed", "`except Exception:`"),
    ("try:\n    pass\nexcept OSError:\n    pass", "`except OSError` is not allowed", "built-in exception"),
    ("x: int = 1", "annotated assignment", "drop the annotation"),
    ("x = b'raw'", "bytes literals are not allowed", "use str"),
    ("break", "`break` outside a loop", "inside `for`"),
    ("del x", "`del` target is not allowed", "del d[key]"),
    ("f(x).y[0] = 1", "assignment target is not allowed", "subscript of a name"),
    ("x = {**d}", "`{**d}` is not allowed", "update"),
    ("raise ValueError() from None", "`raise ... from ...` is not allowed", "raise X"),
    ("x = 1 +", "syntax error", ""),
]


@pytest.mark.parametrize(("source", "message", "alternative"), REJECTED)
def test_rejected(source: str, message: str, alternative: str) -> None:
    errors = check_program(source)
    assert errors, source
    text = "\n".join(str(e) for e in errors)
    assert message in text and alternative in text
    assert all(e.line >= 1 and e.column >= 1 for e in errors)


def test_errors_point_at_line_and_column() -> None:
    [err] = check_program("x = 1\ny = [i for i in range(3)]\nz = x.__dict__")
    assert (err.line, err.column, err.construct) == (3, 5, "attribute")


def test_all_findings_are_reported() -> None:
    errors = check_program("while x:\n    pass\nimport os\n_y = 1")
    assert [e.construct for e in errors] == ["while", "import", "name"]


def test_accepted_program() -> None:
    source = (
        "import json\nfrom datetime import date\nx = [i for i in range(3)]\nfor i in x:\n"
        "    if i:\n        continue\n    else:\n        break\ntry:\n    pass\n"
        "except (KeyError, ValueError) as e:\n    raise\nd = {}\nd['a'] = 1\ndel d['a']\n"
        "y = f'{x!r:>10}'\nz = x[1:2]\nw = 1 if x else 2\n"
    )
    assert check_program(source) == []


def test_run_program_refuses_rejected_programs() -> None:
    with pytest.raises(ProgramRejected) as info:
        run("while True:\n    pass")
    assert info.value.errors[0].construct == "while"


def test_too_deep_and_too_long_programs() -> None:
    assert "nested more than" in str(check_program("x = " + "[" * 80 + "]" * 80)[0])
    assert "cannot be parsed" in str(check_program("x = " + "(" * 5000 + ")" * 5000)[0]) or "syntax" in str(
        check_program("x = " + "(" * 5000 + ")" * 5000)[0]
    )
    assert "the limit is" in str(check_program("x = 1\n" * 30000)[0])

"""f-strings: formatting, conversions, specs; the result joins every formatted value's metadata."""

from __future__ import annotations

from typing import Any

import pytest

from server.policy.metadata import MetaData
from tests.agents.interpreter.interp_helpers import DB, DEFAULT_META, MAIL, evaluate

D = DEFAULT_META

CASES: list[tuple[str, Any, MetaData]] = [
    ("f'plain'", "plain", D),
    ("f'{1}+{2}'", "1+2", D),
    ("f'{\"a\"}{None}{True}{1.5}'", "aNoneTrue1.5", D),
    ("f'{[1, \"a\"]}'", "[1, 'a']", D),
    ("f'{ {\"k\": (1,)} }'", "{'k': (1,)}", D),
    ("f'{\"q\"!r}'", "'q'", D),
    ("f'{\"é\"!a}'", "'\\xe9'", D),
    ("f'{3.14159:.2f}'", "3.14", D),
    ("f'{42:05d}'", "00042", D),
    ("f'{\"x\":>3}'", "  x", D),
    ("f'{1000000:,}'", "1,000,000", D),
    ("f'{5:{2}}'", " 5", D),
    ("f'{[1]:>5}'", "  [1]", D),
    ("f'{ValueError(\"m\")}'", "m", D),
    # Metadata: tags propagate through an f-string (spec dual-llm 5).
    ("f'To: {get_email()[\"sender\"]}'", "To: eve@evil.com", MAIL),
    ("f'{get_number()} and {get_email()[\"tags\"][0]}'", "7 and x", MAIL.join(DB)),
    ("f'{get_number():03d}'", "007", DB),
    ("f'{1:{get_number()}}'", "      1", DB),
]


@pytest.mark.parametrize(("expr", "value", "expected_meta"), CASES)
def test_fstring(expr: str, value: Any, expected_meta: MetaData) -> None:
    assert evaluate(expr) == (value, expected_meta)

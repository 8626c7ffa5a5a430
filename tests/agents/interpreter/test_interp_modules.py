"""Allowlisted modules: json, re (on `regex`), math, datetime (no clock), string."""

from __future__ import annotations

from typing import Any

import pytest

from server.agents.dual_llm.interpreter import ProgramRuntimeError
from server.policy.metadata import MetaData
from tests.agents.interpreter.interp_helpers import DEFAULT_META, MAIL, run, value_of

D = DEFAULT_META

CASES: list[tuple[str, Any, MetaData]] = [
    ("import json\nfinal_return_value = json.loads('{\"a\": [1, 2.5, null, true]}')", {"a": [1, 2.5, None, True]}, D),
    ("import json\nfinal_return_value = json.dumps({'a': [1, (2, 3)]})", '{"a": [1, [2, 3]]}', D),
    ("import json\nfinal_return_value = json.dumps({'b': 1, 'a': 2}, sort_keys=True, indent=1)", '{\n "a": 2,\n "b": 1\n}', D),
    ("import json as j\nfinal_return_value = j.dumps('x')", '"x"', D),
    ("from json import loads\nfinal_return_value = loads('3')", 3, D),
    ("import re\nfinal_return_value = re.findall(r'\\d+', 'a1b22')", ["1", "22"], D),
    ("import re\nfinal_return_value = re.sub('b+', '-', 'abbcb')", "a-c-", D),
    ("import re\nfinal_return_value = re.split(r',\\s*', 'a, b,c')", ["a", "b", "c"], D),
    ("import re\nm = re.match(r'(\\w+)@(\\w+)', 'bob@mail')\nfinal_return_value = [m.group(1), m.groups(), m.span()]", ["bob", ["bob", "mail"], [0, 8]], D),
    ("import re\nfinal_return_value = re.search('z', 'abc') is None", True, D),
    ("import re\nfinal_return_value = re.fullmatch('a.c', 'ABC', flags=re.IGNORECASE) is not None", True, D),
    ("import re\np = re.compile(r'(?P<k>\\w)=(\\d)')\nfinal_return_value = p.search('x a=1').groupdict()", {"k": "a"}, D),
    ("import re\nfinal_return_value = [m.group(0) for m in re.finditer('a.', 'abacad')]", ["ab", "ac", "ad"], D),
    ("import re\nfinal_return_value = re.escape('a.b')", "a\\.b", D),
    ("import math\nfinal_return_value = [math.floor(2.7), math.ceil(2.1), math.sqrt(16), math.gcd(12, 18)]", [2, 3, 4.0, 6], D),
    ("import math\nfinal_return_value = round(math.pi, 3)", 3.142, D),
    ("import math\nfinal_return_value = math.fsum([0.1] * 10)", 1.0, D),
    ("import datetime\nfinal_return_value = datetime.date(2024, 2, 28) + datetime.timedelta(days=2)", "2024-03-01", D),
    ("from datetime import datetime\nfinal_return_value = datetime.fromisoformat('2024-01-02T03:04:05').hour", 3, D),
    ("from datetime import datetime\nfinal_return_value = datetime(2024, 1, 2).strftime('%d/%m/%Y')", "02/01/2024", D),
    ("from datetime import datetime, timedelta\nd = datetime(2024, 1, 2) - datetime(2024, 1, 1)\nfinal_return_value = d.total_seconds()", 86400.0, D),
    ("from datetime import date\nfinal_return_value = date(2024, 5, 17).weekday()", 4, D),
    ("from datetime import datetime, timezone\nfinal_return_value = datetime(2024, 1, 1, tzinfo=timezone.utc).isoformat()", "2024-01-01T00:00:00+00:00", D),
    ("from datetime import date\nfinal_return_value = date(2024, 1, 1) < date(2024, 1, 2)", True, D),
    ("from datetime import datetime\nfinal_return_value = datetime.strptime('2024-03-04', '%Y-%m-%d').month", 3, D),
    ("import string\nfinal_return_value = string.digits", "0123456789", D),
    ("import string\nfinal_return_value = string.capwords('a b')", "A B", D),
    # Metadata flows through module functions.
    ("import json\nfinal_return_value = json.loads(json.dumps(get_email()['tags']))[1]", "y", MAIL),
    ("import re\nfinal_return_value = re.findall(r'\\d+', get_email()['body'])", ["10", "4711"], MAIL),
]


@pytest.mark.parametrize(("source", "value", "expected_meta"), CASES)
def test_module(source: str, value: Any, expected_meta: MetaData) -> None:
    assert value_of(source) == (value, expected_meta)


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("import json\nx = json.loads('{bad')", "ValueError"),
        ("import re\nx = re.compile('(')", "ValueError"),
        ("import math\nx = math.sqrt(-1)", "ValueError"),
        ("import math\nx = math.factorial(5)", "AttributeError"),
        ("import datetime\nx = datetime.datetime.now()", "AttributeError"),
        ("from datetime import date\nx = date.today()", "AttributeError"),
        ("import datetime\nx = datetime.datetime(2024, 13, 1)", "ValueError"),
        ("import json\nx = json.dumps(json)", "TypeError"),
    ],
)
def test_module_errors(source: str, error: str) -> None:
    with pytest.raises(ProgramRuntimeError) as info:
        run(source)
    assert info.value.type_name == error

"""auto_gen building blocks offline: restrict-only check, merge with precedence, key, loop, caches."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from server.errors import Unprocessable
from server.formats.canonical import ToolSpec as ClientTool
from server.policy.metadata import Labelled, MetaData
from server.policy.sqrt import load_policy, parse
from server.policygen.auto import (
    INTENT,
    auto_policy_text,
    catalogue,
    generate_restrictive,
    generation_key,
)
from server.policygen.auto_cache import GeneratedStore, MemoryLRU, SqlGeneratedStore, TwoLevelCache
from server.policygen.auto_policy import AUTO_GEN_TAG, merge_policies, restriction_problems
from server.keys.schema import make_engine
from server.providers.completion import ChatTurn, Completion, Usage

SEND = ClientTool("send_email", "Sends an email.", {"type": "object", "properties": {
    "to": {"type": "string"}, "body": {"type": "string"}}})
SMS = ClientTool("send_sms", "Sends a text.", {"type": "object", "properties": {"to": {"type": "string"}}})
READ = ClientTool("read_inbox", "Reads the inbox.", {"type": "object", "properties": {}})
TOOLS = (SEND, SMS, READ)
NAMES = tuple(t.name for t in TOOLS)
DENY = 'tool r"send_.*" {\n  /// recipient from the user\n  hard deny when "__non_executable" in to.tags;\n}'
ALLOW = 'tool "send_email" { hard allow always; }'


def fenced(text: str) -> str:
    return f"```sqrt\n{text}\n```"


class Scripted:
    """An `Ask` answering from a list, recording the turns it was sent."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.sent: list[Sequence[ChatTurn]] = []

    async def __call__(self, turns: Sequence[ChatTurn]) -> Completion:
        self.sent.append(turns)
        return Completion(self.answers.pop(0), Usage(10, 5))


def verdict(text: str, tool: str, tags: Sequence[str] = ()) -> str:
    policy = load_policy(text)
    args = {"to": Labelled.from_json({"value": "x@y.z", "meta": {"tags": list(tags)}})}
    return policy.check(tool=tool, args=args, session_meta=MetaData()).verdict.value


# --- restrict only ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, word", [
    (ALLOW, "allow rules"),
    ('tool "send_email" { should allow when to.value == "a"; should deny always; }', "allow rules"),
    ('tool "send_email" { priority 5; hard deny always; }', "priority"),
    ('tool "read_inbox" { result { @tags -= {"__non_executable"}; } }', "result and session"),
    ('tool "read_inbox" { session before { @session.tags = {}; } }', "result and session"),
    ('tool "read_inbox" -> @tags = {};', "`->` updates"),
])
def test_relaxing_constructs_are_problems(text: str, word: str) -> None:
    problems = restriction_problems(parse(text))
    assert problems and all(word in str(p) for p in problems)


def test_deny_rules_and_lets_are_accepted() -> None:
    text = 'let Evil = {str matching r".*@evil\\.com"};\n' + DENY + '\ntool "send_sms" { soft deny when to.value in Evil; }'
    assert restriction_problems(parse(text)) == []


# --- merge: precedence, expansion, visibility, let names ----------------------------------------

def test_regex_ids_expand_to_catalogue_tools_and_rules_are_tagged() -> None:
    merged = merge_policies("", DENY, catalogue=NAMES)
    assert 'tool "send_email"' in merged and 'tool "send_sms"' in merged and "r\"send_" not in merged
    assert merged.count(f"/// {AUTO_GEN_TAG} recipient from the user") == 2
    record = load_policy(merged).check(
        tool="send_email", session_meta=MetaData(),
        args={"to": Labelled.from_json({"value": "a", "meta": {"tags": ["__non_executable"]}})})
    assert record.verdict.value == "hard_denied"
    assert record.denied_by[0].rule.startswith(AUTO_GEN_TAG)


def test_generated_rules_never_reach_internal_tools() -> None:
    merged = merge_policies("", 'tool r".*" { hard deny always; }', catalogue=NAMES)
    assert verdict(merged, "parse_with_ai") == "allowed"
    assert verdict(merged, "read_inbox") == "hard_denied"


def test_request_rules_take_precedence_per_tool() -> None:
    request = 'tool "send_email" { hard allow always; }'
    merged = merge_policies(request, DENY, catalogue=NAMES)
    assert merged.startswith(request + "\n")  # the request's lines keep their numbers
    assert verdict(merged, "send_email", ["__non_executable"]) == "allowed"  # request's tool
    assert verdict(merged, "send_sms", ["__non_executable"]) == "hard_denied"  # generated rule stays
    assert verdict(merged, "send_sms") == "allowed"


def test_a_request_regex_or_shorthand_covers_tools_too() -> None:
    assert merge_policies('tool r"send_.*" { soft deny when false; }', DENY, catalogue=NAMES) == 'tool r"send_.*" { soft deny when false; }'
    merged = merge_policies('tool "send_sms" -> @tags |= {"x"};', DENY, catalogue=NAMES)
    assert 'tool "send_email"' in merged and merged.count('tool "send_sms"') == 1


def test_only_deny_rules_are_emitted_even_from_a_tampered_text() -> None:
    tampered = 'tool "send_email" { priority 9; hard allow always; result { @tags = {}; } hard deny always; }\ntool "read_inbox" -> @tags = {};'
    merged = merge_policies("", tampered, catalogue=NAMES)
    assert "allow" not in merged
    assert verdict(merged, "send_email") == "hard_denied"
    assert "@tags" not in merged and "priority" not in merged


def test_colliding_let_names_are_renamed() -> None:
    request = 'let Evil = {"nobody"};\nlet auto_Evil = {"x"};\ntool "read_inbox" { hard deny when false; }'
    generated = 'let Evil = {str matching r".*@evil\\.com"};\ntool "send_email" { hard deny when to.value in Evil; }'
    merged = merge_policies(request, generated, catalogue=NAMES)
    assert "let auto1_Evil" in merged and "to.value in auto1_Evil" in merged
    policy = load_policy(merged)
    args = {"to": Labelled("a@evil.com")}
    assert policy.check(tool="send_email", args=args, session_meta=MetaData()).verdict.value == "hard_denied"


# --- key, catalogue ----------------------------------------------------------------------------

def test_key_ignores_tool_order_and_depends_on_tools_owner_and_model() -> None:
    key = generation_key(TOOLS, owner="k1", model="m")
    assert key == generation_key(tuple(reversed(TOOLS)), owner="k1", model="m")
    assert key != generation_key(TOOLS[:2], owner="k1", model="m")
    assert key != generation_key((ClientTool("send_email", "Sends an email!", SEND.parameters), SMS, READ), owner="k1", model="m")
    assert key != generation_key(TOOLS, owner="k2", model="m")
    assert key != generation_key(TOOLS, owner="k1", model="m2")
    assert len(key) == 64


def test_catalogue_reads_argument_names() -> None:
    assert catalogue(TOOLS)[0].arg_names == {"to", "body"}


# --- the generation loop ------------------------------------------------------------------------

async def test_hostile_allow_rule_is_rejected_and_fed_back() -> None:
    ask = Scripted(fenced(ALLOW), fenced(DENY))
    text, usage = await generate_restrictive(catalogue(TOOLS), ask)
    assert text.strip() == DENY and usage == Usage(20, 10)
    feedback = ask.sent[1][-1].content
    assert "allow rules are not accepted" in feedback
    system, user = ask.sent[0]
    assert "Write ONLY deny check rules" in system.content
    assert INTENT.splitlines()[0] in user.content


async def test_all_attempts_failing_is_a_422() -> None:
    ask = Scripted(*[fenced(ALLOW)] * 3)
    with pytest.raises(Unprocessable) as err:
        await generate_restrictive(catalogue(TOOLS), ask, retries=2)
    assert err.value.code == "auto_gen_failed" and "fail closed" in err.value.message
    assert "allow rules are not accepted" in err.value.message and len(ask.sent) == 3


async def test_unknown_argument_is_fed_back_too() -> None:
    ask = Scripted(fenced('tool "send_email" { hard deny when cc.value == "a"; }'), fenced(DENY))
    await generate_restrictive(catalogue(TOOLS), ask)
    assert 'argument "cc" does not exist' in ask.sent[1][-1].content


# --- caches -------------------------------------------------------------------------------------

async def test_auto_policy_text_generates_once_per_tool_set() -> None:
    cache = TwoLevelCache()
    ask = Scripted(fenced(DENY), fenced(DENY))
    first = await auto_policy_text("", TOOLS, owner="k", model="m", ask=ask, cache=cache)
    again = await auto_policy_text("", TOOLS, owner="k", model="m", ask=ask, cache=cache)
    assert first.generated and not again.generated and first.text == again.text
    assert first.usage == Usage(10, 5) and again.usage == Usage()
    other = await auto_policy_text("", TOOLS[:2], owner="k", model="m", ask=ask, cache=cache)
    assert other.generated and len(ask.sent) == 2
    empty = await auto_policy_text("tool \"a\" { hard deny always; }", (), owner="k", model="m", ask=ask, cache=cache)
    assert empty.text == 'tool "a" { hard deny always; }' and not empty.generated


@pytest.fixture(params=["memory", "sql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> GeneratedStore:
    return MemoryLRU() if request.param == "memory" else SqlGeneratedStore(make_engine(f"sqlite:///{tmp_path}/k.db"))


async def test_store_conformance(store: GeneratedStore) -> None:
    """Every `GeneratedStore`: a miss is None, a put is read back, the first writer wins."""
    assert await store.get("k") is None
    await store.put("k", "first", generator="v")
    await store.put("k", "second", generator="v")
    assert await store.get("k") == "first"


def test_lru_is_bounded() -> None:
    lru = MemoryLRU(maxsize=2)
    for key in "abc":
        lru.remember(key, key)
    assert len(lru) == 2 and lru.peek("a") is None and lru.peek("c") == "c"


async def test_other_workers_reuse_the_shared_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/keys.db"
    worker_a = TwoLevelCache(SqlGeneratedStore(make_engine(url)))
    worker_b = TwoLevelCache(SqlGeneratedStore(make_engine(url)))
    ask = Scripted(fenced(DENY))
    made = await auto_policy_text("", TOOLS, owner="k", model="m", ask=ask, cache=worker_a)
    reused = await auto_policy_text("", TOOLS, owner="k", model="m", ask=ask, cache=worker_b)
    assert made.generated and not reused.generated and reused.text == made.text
    await worker_b.shared.put("same", "first", generator="v")  # type: ignore[union-attr]
    await worker_a.shared.put("same", "second", generator="v")  # type: ignore[union-attr]
    assert await SqlGeneratedStore(make_engine(url)).get("same") == "first"  # first writer wins


async def test_a_broken_database_is_a_miss_not_an_error(tmp_path: Path) -> None:
    store = SqlGeneratedStore(make_engine(f"sqlite:///{tmp_path}/missing/dir/keys.db"))
    assert await store.get("k") is None
    await store.put("k", "text", generator="v")  # logged, not raised


async def test_a_damaged_row_is_regenerated() -> None:
    cache = TwoLevelCache()
    key = generation_key(TOOLS, owner="k", model="m")
    cache.lru.remember(key, "tool {{{ broken")
    ask = Scripted(fenced(DENY))
    got = await auto_policy_text("", TOOLS, owner="k", model="m", ask=ask, cache=cache)
    assert got.generated and AUTO_GEN_TAG in got.text

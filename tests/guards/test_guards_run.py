"""run_guards end to end with a resolved SessionConfig: redaction, tags, default actions, replay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.fake_upstream import FakeUpstream, Reply
from server.guards import GuardError, run_guards
from server.policy.metadata import MetaData
from tests.guards.helpers import config, scores_reply, sent_items, tag_llm

PII = {"name": "pii_redaction"}
TOXIC = {"name": "toxicity_filter"}
HEALTH = {"name": "healthcare_topic_guardrail"}
FINANCE = {"name": "finance_topic_guardrail", "mode": "strict"}


async def test_pii_and_blockers_redact_with_typed_placeholders() -> None:
    cfg = config([PII], ["url_blocker", "file_blocker"])
    args = {"to": "bob@example.org", "body": "Card 4111 1111 1111 1111, see https://x.io and /etc/passwd", "n": 3}
    report = await run_guards([args, "cc bob@example.org"], config=cfg, llm=None, direction="arguments")
    assert report.values[0] == {
        "to": "[EMAIL_1]", "body": "Card [CARD_1], see [URL_1] and [FILE_1]", "n": 3,
    }
    assert report.values[1] == "cc [EMAIL_1]"  # the same address, the same placeholder
    assert report.tags == (frozenset({"__pii", "__url_masked", "__file_masked"}), frozenset({"__pii"}))
    assert report.masked == {"EMAIL": 1, "CARD": 1, "URL": 1, "FILE": 1}
    assert not report.denied
    (score,) = report.scores
    assert (score.classifier, score.score, score.threshold, score.tagged, score.source) == (
        "pii_redaction", 1.0, 0.5, True, "local",
    )
    json.dumps([s.to_json() for s in report.scores])  # serialisable


async def test_untouched_values_are_returned_as_is() -> None:
    value = {"q": "weather in Paris"}
    report = await run_guards([value], config=config([PII], ["url_blocker"]), llm=None, direction="result")
    assert report.values[0] == value and report.tags == (frozenset(),)


@pytest.mark.parametrize(
    ("mode", "redacted"),
    [
        ("strict", "ip [IP_ADDRESS_1], phone [PHONE_1]"),  # 0.2: private IPs (0.3) too
        ("normal", "ip 10.0.0.1, phone [PHONE_1]"),  # 0.5: the bare phone (0.55) only
        ("low sensitivity", "ip 10.0.0.1, phone 4155552671"),  # 0.7: neither
    ],
)
async def test_mode_decides_which_findings_are_redacted(mode: str, redacted: str) -> None:
    cfg = config([{"name": "pii_redaction", "mode": mode}])
    report = await run_guards(["ip 10.0.0.1, phone 4155552671"], config=cfg, llm=None, direction="result")
    assert report.values == (redacted,)
    assert report.scores[0].score == 0.55
    assert report.scores[0].tagged is (mode != "low sensitivity")


async def test_toxic_arguments_deny_and_toxic_results_only_tag(fake_upstream: FakeUpstream, tmp_path: Path) -> None:
    cfg = config([TOXIC])
    fake_upstream.script("tagger-model", scores_reply({"id": 0, "toxicity": 0.1}, {"id": 1, "toxicity": 0.93}))
    async with tag_llm(fake_upstream, tmp_path) as llm:
        report = await run_guards(["hello", {"msg": "you idiot"}], config=cfg, llm=llm, direction="arguments")
        assert report.denied and report.deny_reason == "toxicity_filter flagged the arguments (__toxic)"
        assert report.tags == (frozenset(), frozenset({"__toxic"}))
        assert report.scores[0].score == 0.93 and report.scores[0].per_value == (0.1, 0.93)
        assert report.usage.total_tokens > 0
        entry = report.history_entries(tool="send_email", call_id="tc-1")[0]
        assert entry["source"] == "classifier" and entry["verdict"] == "hard_denied" and not entry["allowed"]
        assert entry["denied"] == entry["fired"] == [
            {"rule": "toxicity_filter", "line": None, "description": "score 0.93 vs threshold 0.50: tagged __toxic"}
        ]
        # The same texts as a tool result: cached scores, tag only.
        result = await run_guards(["hello", {"msg": "you idiot"}], config=cfg, llm=llm, direction="result")
    assert not result.denied and result.tags[1] == {"__toxic"}
    assert result.history_entries(tool="read", call_id=None)[0]["verdict"] == "allowed"
    assert len(fake_upstream.requests) == 1


async def test_topics_tag_with_their_thresholds_in_one_call(fake_upstream: FakeUpstream, tmp_path: Path) -> None:
    cfg = config([HEALTH, FINANCE])  # finance in strict mode: 0.2
    fake_upstream.script("tagger-model", scores_reply({"id": 0, "healthcare": 0.4, "finance": 0.25}))
    async with tag_llm(fake_upstream, tmp_path) as llm:
        report = await run_guards(["my insulin bill"], config=cfg, llm=llm, direction="result")
    assert report.tags == (frozenset({"__topic_finance"}),)
    assert [(s.classifier, s.threshold, s.tagged) for s in report.scores] == [
        ("healthcare_topic_guardrail", 0.5, False), ("finance_topic_guardrail", 0.2, True),
    ]
    assert not report.denied and len(fake_upstream.requests) == 1


async def test_tag_llm_sees_masked_text_only(fake_upstream: FakeUpstream, tmp_path: Path) -> None:
    fake_upstream.script("tagger-model", scores_reply({"id": 0, "toxicity": 0.0}))
    async with tag_llm(fake_upstream, tmp_path) as llm:
        await run_guards([{"to": "bob@example.org", "cc": "eve@example.org"}], config=config([PII, TOXIC]),
                         llm=llm, direction="arguments")
    assert sent_items(fake_upstream) == [{"id": 0, "text": "to\n[EMAIL_1]\ncc\n[EMAIL_2]"}]


async def test_recorded_scores_are_reused_and_never_rescored(fake_upstream: FakeUpstream, tmp_path: Path) -> None:
    cfg = config([TOXIC])
    fake_upstream.script("tagger-model", scores_reply({"id": 0, "toxicity": 0.8}))
    async with tag_llm(fake_upstream, tmp_path) as llm:
        first = await run_guards(["go away"], config=cfg, llm=llm, direction="arguments")
    stored = json.loads(json.dumps(dict(first.recorded)))  # what a session would persist
    (key,) = stored
    assert key.startswith("toxicity_filter:") and stored[key] == 0.8
    async with tag_llm(fake_upstream, tmp_path) as fresh_worker:  # another worker, empty cache
        replay = await run_guards(["go away"], config=cfg, llm=fresh_worker, direction="arguments",
                                  recorded_scores=stored)
        assert fresh_worker.calls == 0
    assert replay.denied and replay.scores[0].source == "recorded" and replay.recorded == stored
    assert len(fake_upstream.requests) == 1


@pytest.mark.parametrize(("on_unscored", "denied"), [("tag", True), ("ignore", False)])
async def test_unscored_fails_closed_by_default(
    fake_upstream: FakeUpstream, tmp_path: Path, on_unscored: str, denied: bool
) -> None:
    fake_upstream.script("tagger-model", Reply.text("I won't answer that."))
    async with tag_llm(fake_upstream, tmp_path) as llm:
        report = await run_guards(["text"], config=config([TOXIC]), llm=llm, direction="arguments",
                                  on_unscored=on_unscored)  # type: ignore[arg-type]
    assert report.denied is denied and report.scores[0].score is None
    assert list(report.recorded.values()) == [None]  # a replay decides the same way
    fired = report.history_entries(tool="t")[0]["fired"]
    if denied:
        assert fired[0]["description"] == "score unscored vs threshold 0.50: tagged __toxic"
    else:
        assert fired == []


async def test_llm_classifier_without_tag_llm_is_a_clear_error() -> None:
    with pytest.raises(GuardError, match="toxicity_filter need the tag LLM; pass a TagLlm"):
        await run_guards(["x"], config=config([TOXIC]), llm=None, direction="arguments")


async def test_no_guards_configured_is_free() -> None:
    values = ({"a": "bob@example.org"},)
    report = await run_guards(values, config=config(), llm=None, direction="arguments")
    assert report.values == values and report.scores == () and report.tags == (frozenset(),)


async def test_meta_adds_tags_copy_on_write() -> None:
    report = await run_guards(["bob@example.org", "x"], config=config([PII]), llm=None, direction="result")
    base = MetaData(producers=frozenset({"mail"}))
    assert report.meta(0, base).tags == {"__pii"} and report.meta(0, base).producers == {"mail"}
    assert report.meta(1, base) is base and base.tags == frozenset()


async def test_person_names_through_the_tag_llm_add_the_pii_tag(fake_upstream, tmp_path) -> None:
    """pii_redaction asks the tag LLM about person names when one is configured; tag only."""


    fake_upstream.script("tagger-model", scores_reply(
        {"id": 0, "toxicity": 0.0, "person_names": 0.9}, {"id": 1, "toxicity": 0.0, "person_names": 0.1}))
    cfg = config([{"name": "pii_redaction"}, {"name": "toxicity_filter"}])
    async with tag_llm(fake_upstream, tmp_path) as llm:
        report = await run_guards(["Jane Roe asked for a refund", "the weather is fine"], config=cfg,
                                  llm=llm, direction="result")
    assert report.tags == (frozenset({"__pii"}), frozenset())
    assert report.values == ("Jane Roe asked for a refund", "the weather is fine")  # no spans: tag only
    assert "person" in json.dumps(fake_upstream.last_request.json)


async def test_without_a_tag_llm_pii_redaction_stays_local(fake_upstream, tmp_path) -> None:


    report = await run_guards(["Jane Roe"], config=config([{"name": "pii_redaction"}]), llm=None, direction="result")
    assert report.tags == (frozenset(),) and fake_upstream.requests == []

"""Bad input: enormous, binary-looking, non-UTF-8, adversarial for regexes, deeply nested — bounded, no crash."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from server.fake_upstream import FakeUpstream
from server.guards import MAX_SCAN_CHARS, GuardError, GuardReport, GuardTimeout, find_files, find_pii, find_urls, run_guards
from tests.guards.helpers import config, scores_reply, sent_items, tag_llm

ALL_LOCAL = config([{"name": "pii_redaction"}], ["url_blocker", "file_blocker"])
N = 50_000

# Inputs that make naive patterns backtrack (nested or overlapping repetitions) or match a lot.
ADVERSARIAL = {
    "domain labels": "a." * N,
    "e-mail at-signs": "a@" * N,
    "local part without domain": "a" * 2 * N + "@",
    "spaced digits": "1 " * N,
    "dotted digits": "1." * N,
    "colons": ":" * 2 * N,
    "posix segments": "/a" * N,
    "drive with spaces": "C:\\" + "a " * N,
    "traversal": "../" * N,
    "scheme without end": "http://" + "a" * 2 * N,
    "defanged dots": "a[.]" * N,
    "iban-like groups": "DE12 " * (N // 2),
    "percent escapes": "%2e" * N,
    "card-like groups": "4111 " * (N // 2),
    "bracketed v6": "[::1]" * (N // 3),
    "tld run": ".com" * N,
}


@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
async def test_adversarial_input_finishes_in_bounded_time(text: str) -> None:
    start = time.perf_counter()
    try:
        report = await run_guards([text], config=ALL_LOCAL, llm=None, direction="result")
    except GuardTimeout as error:  # acceptable: a clear error within the budget
        assert "time budget" in error.message
    else:
        assert isinstance(report, GuardReport)
    assert time.perf_counter() - start < 1.5  # the 1 s budget plus slack for a loaded machine


@pytest.mark.parametrize("finder", [find_pii, find_urls, find_files])
def test_finders_alone_are_linear_on_a_classic_backtracking_input(finder) -> None:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    finder("a" * 30_000 + "!" + "a." * 30_000 + "@" + "1" * 30_000)
    assert time.perf_counter() - start < 1.0


async def test_exhausted_budget_is_a_clear_error() -> None:
    with pytest.raises(GuardTimeout, match=r"guard '[a-z.]+' could not finish scanning a 20-character value"):
        await run_guards(["mail bob@example.org"], config=ALL_LOCAL, llm=None, direction="result", time_budget_s=0.0)


async def test_enormous_value_is_capped_and_the_unscanned_rest_removed() -> None:
    text = "bob@example.org " + "x" * (MAX_SCAN_CHARS * 3) + " eve@example.org"
    start = time.perf_counter()
    report = await run_guards([{"body": text}], config=ALL_LOCAL, llm=None, direction="result")
    assert time.perf_counter() - start < 1.0
    body = report.values[0]["body"]
    rest = len(text) - MAX_SCAN_CHARS
    assert body.startswith("[EMAIL_1] x") and body.endswith(f"[TRUNCATED_{rest}_CHARS]")
    assert "eve@example.org" not in body  # nothing unscanned leaves when a masking guard is on
    assert report.notes == (
        f"value[0].body: scanned the first {MAX_SCAN_CHARS} of {len(text)} characters; "
        f"the remaining {rest} were removed",
    )


async def test_enormous_value_under_tag_only_classifiers_is_kept_and_clipped_for_the_model(
    fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    text = "hello " * 100_000
    fake_upstream.script("tagger-model", scores_reply({"id": 0, "toxicity": 0.0}))
    async with tag_llm(fake_upstream, tmp_path) as llm:
        report = await run_guards([text], config=config([{"name": "toxicity_filter"}]), llm=llm, direction="result")
    assert report.values == (text,) and "remaining" not in report.notes[0]
    assert len(sent_items(fake_upstream)[0]["text"]) < 4_100


async def test_binary_looking_strings_are_scanned_and_sent_clean(fake_upstream: FakeUpstream, tmp_path: Path) -> None:
    noise = bytes(range(256)).decode("latin-1") * 40
    fake_upstream.script("tagger-model", scores_reply({"id": 0, "toxicity": 0.9}))
    cfg = config([{"name": "pii_redaction"}, {"name": "toxicity_filter"}])
    async with tag_llm(fake_upstream, tmp_path) as llm:
        report = await run_guards([noise + "bob@example.org" + noise + "you idiot"], config=cfg, llm=llm,
                                  direction="arguments")
    assert "[EMAIL_1]" in report.values[0] and report.denied
    sent = sent_items(fake_upstream)[0]["text"]
    assert "you idiot" in sent and not any(ord(c) < 32 and c not in "\n\t\r" for c in sent)


async def test_non_utf8_bytes_and_lone_surrogates(fake_upstream: FakeUpstream, tmp_path: Path) -> None:
    fake_upstream.script("tagger-model", scores_reply({"id": 0, "toxicity": 0.1}, {"id": 1, "toxicity": 0.1}))
    cfg = config([{"name": "pii_redaction"}, {"name": "toxicity_filter"}])
    async with tag_llm(fake_upstream, tmp_path) as llm:
        report = await run_guards([b"mail bob@example.org \xff\xfe", "broken \ud800 eve@example.org"], config=cfg,
                                  llm=llm, direction="result")
    assert report.values == ("mail [EMAIL_1] \ufffd\ufffd", "broken \ud800 [EMAIL_2]")  # bytes come back as str
    assert [i["text"] for i in sent_items(fake_upstream)] == ["mail [EMAIL_1] \ufffd\ufffd", "broken \ufffd [EMAIL_2]"]
    assert len(set(report.recorded)) == 4  # toxicity and person names (pii_redaction) per text


async def test_deep_nesting_is_refused_with_its_path() -> None:
    value: object = "x"
    for _ in range(100):
        value = [value]
    with pytest.raises(GuardError, match=r"value\[0\](\[0\])+: nested deeper than 64 levels; flatten the value"):
        await run_guards([value], config=ALL_LOCAL, llm=None, direction="arguments")


async def test_many_values_share_one_scan_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    import server.guards.run as run_module

    monkeypatch.setattr(run_module, "MAX_TOTAL_SCAN_CHARS", 10)
    report = await run_guards(["123456", "bob@example.org"], config=ALL_LOCAL, llm=None, direction="result")
    assert report.values == ("123456", "bob@[TRUNCATED_11_CHARS]")
    assert report.notes == ("value[1]: scanned the first 4 of 15 characters; the remaining 11 were removed",)

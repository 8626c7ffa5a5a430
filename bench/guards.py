"""Local guard cost: PII + URL + file detection on the fixed corpus (bench/guards_corpus.txt).

Run: `.venv/bin/python bench/guards.py [--iterations N]`.
Two 10 KB texts: "mixed" (prose with numbers, dates, amounts, two e-mails, two phone numbers, a
card, an IBAN and three URLs) and "no-digits" (prose without a digit, where the prefilter skips
every number-shaped detector). For each: the median and p95 of the three finders run back to
back, and of `run_guards` with `pii_redaction`, `url_blocker` and `file_blocker` (detection plus
overlap resolution and redaction). Targets (issue 5): detection median < 5 ms on mixed, < 1 ms
on no-digits. Also checks that exactly the planted entities are found. Exits 1 when a target or
the entity check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.config.models import Blocker, Classifier  # noqa: E402
from server.guards import find_files, find_pii, find_urls, run_guards  # noqa: E402
from server.guards.redact import resolve_overlaps  # noqa: E402

CORPUS = ROOT / "bench" / "guards_corpus.txt"
TARGET_MS = {"mixed": 5.0, "no-digits": 1.0}
EXPECTED = {"mixed": {"EMAIL": 2, "PHONE": 2, "CARD": 1, "IBAN": 1, "URL": 3}, "no-digits": {}}


@dataclass(frozen=True)
class Config:
    classifiers: tuple[Classifier, ...] = (Classifier(name="pii_redaction"),)
    blockers: tuple[Blocker, ...] = (Blocker(name="url_blocker"), Blocker(name="file_blocker"))


def load_corpus() -> dict[str, str]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line.startswith("### "):
            current = sections.setdefault(line[4:].strip(), [])
        elif current is not None:
            current.append(line)
    return {name: "\n".join(lines) for name, lines in sections.items()}


def detect(text: str) -> list[object]:
    return [*find_pii(text), *find_urls(text), *find_files(text)]


def timed(fn: Callable[[], object], iterations: int) -> tuple[float, float]:
    for _ in range(max(10, iterations // 10)):  # warm caches and the regex compiler
        fn()
    samples = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - start) / 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=500)
    args = parser.parse_args()
    corpus = load_corpus()
    loop = asyncio.new_event_loop()
    config = Config()
    ok = True
    medians: dict[str, float] = {}
    print(f"{'text':<10} {'chars':>6} {'detect p50':>11} {'p95':>7} {'target':>7} {'ratio':>6} "
          f"{'run_guards p50':>15} {'p95':>7}  entities")
    for name, text in corpus.items():
        p50, p95 = timed(lambda: detect(text), args.iterations)
        g50, g95 = timed(
            lambda: loop.run_until_complete(
                run_guards([text], config=config, llm=None, direction="result")
            ),
            args.iterations,
        )
        medians[name] = p50
        found = Counter(f.kind.value for f in resolve_overlaps(detect(text)))  # type: ignore[attr-defined]
        target = TARGET_MS[name]
        entities_ok = dict(found) == EXPECTED[name]
        passed = p50 < target and entities_ok
        ok &= passed
        print(
            f"{name:<10} {len(text):>6} {p50:>9.3f}ms {p95:>5.2f}ms {target:>5.1f}ms {p50 / target:>6.2f} "
            f"{g50:>13.3f}ms {g95:>5.2f}ms  {dict(found) or '-'}"
            + ("" if entities_ok else f"  (expected {EXPECTED[name] or '-'})")
            + ("  PASS" if passed else "  FAIL")
        )
    loop.close()
    if {"mixed", "no-digits"} <= medians.keys():
        print(f"mixed / no-digits detection ratio: {medians['mixed'] / medians['no-digits']:.1f}x")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

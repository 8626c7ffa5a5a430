"""Interpreter benchmark: the fixed workload of spec dual-llm section 10, metadata tracking on.

Run: `.venv/bin/python bench/interpreter.py [--runs N] [--warmup W]`.
Each case runs its warm-up then its timed runs (median reported, so load spikes from other
processes on the machine are ignored). Reports the median time per run (target under 60 ms on one core), evaluated nodes per second
(`RunResult.nodes`, the interpreter's own node count) and the ratio to the target, for the
`standard` mode the workload is specified in, plus `strict` and a labelled variant for reference
(the same workload with `range` bounded by a context variable carrying tool metadata, so every
join does real work).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Mapping

from server.agents.dual_llm.interpreter import MemoryGateway, Mode, check_program, run_program
from server.policy.metadata import Labelled, MetaData

TARGET_MS = 60.0
EXPECTED = 59

WORKLOAD = """\
rows = [{"id": i, "name": f"user{i}", "score": i % 17, "tags": ["a", "b"]} for i in range(1000)]
out = []
for r in rows:
    if r["score"] > 8 and r["name"] != "user7":
        out.append(f"{r['id']}:{r['name']}:{r['score']}")
kept = [x for x in out if x.endswith("3") or x.endswith("7")]
final_return_value = len(kept)
"""

LABELLED = WORKLOAD.replace("range(1000)", "range(n)")
TOOL_META = MetaData(producers=frozenset({"crm"}), tags=frozenset({"untrusted", "__non_executable"}))


def measure(
    source: str, *, mode: Mode, runs: int, warmup: int, context: Mapping[str, Labelled]
) -> tuple[float, int]:
    """(median seconds per run, nodes per run)."""
    gateway = MemoryGateway({})
    nodes = 0
    for _ in range(warmup):
        result = run_program(source, gateway=gateway, mode=mode, context_vars=context)
        if result.final_return_value is None or result.final_return_value.value != EXPECTED:
            raise SystemExit(f"wrong result {result.final_return_value}; expected {EXPECTED}")
        nodes = result.nodes
    times = []
    for _ in range(runs):
        gc.collect()  # each run starts from a clean heap; collections inside the run still count
        start = time.perf_counter()
        run_program(source, gateway=gateway, mode=mode, context_vars=context)
        times.append(time.perf_counter() - start)
    return statistics.median(times), nodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    if check_program(WORKLOAD):
        raise SystemExit(f"the workload is rejected: {check_program(WORKLOAD)}")

    cases: list[tuple[str, str, Mode, dict[str, Labelled]]] = [
        ("spec workload, standard", WORKLOAD, "standard", {}),
        ("spec workload, strict", WORKLOAD, "strict", {}),
        ("labelled bound, standard", LABELLED, "standard", {"n": Labelled(1000, TOOL_META)}),
        ("labelled bound, strict", LABELLED, "strict", {"n": Labelled(1000, TOOL_META)}),
    ]
    print(f"interpreter benchmark: {args.runs} runs after {args.warmup} warm-up runs; target {TARGET_MS:.0f} ms")
    print(f"{'case':28} {'median ms':>10} {'nodes':>8} {'Mnodes/s':>9} {'ratio to target':>16}")
    for name, source, mode, context in cases:
        seconds, nodes = measure(source, mode=mode, runs=args.runs, warmup=args.warmup, context=context)
        ms = seconds * 1000
        print(
            f"{name:28} {ms:10.2f} {nodes:8d} {nodes / seconds / 1e6:9.2f} "
            f"{ms / TARGET_MS:15.2f}x {'ok' if ms < TARGET_MS else 'OVER'}"
        )
    print("ratio = median / target (below 1.00 meets the target)")


if __name__ == "__main__":
    main()

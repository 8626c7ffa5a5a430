"""Many episodes in parallel processes: each process owns one `Bench` (fake upstream + our server)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor

from bench.agentdojo import suites
from bench.agentdojo.plans import plan_ids
from bench.agentdojo.runner import Bench, Episode, Outcome

__all__ = ["episodes_for", "run_all"]

_BENCH: Bench | None = None


def _start_worker() -> None:
    """No stop at exit: by then the server's executors are shut down; its daemon threads just end."""
    global _BENCH
    if _BENCH is None:
        _BENCH = Bench()


def _run(episode: Episode) -> Outcome:
    assert _BENCH is not None
    try:
        return _BENCH.run(episode)
    except Exception as err:  # a harness failure is reported per episode, never hidden
        return Outcome(episode, status="error", error=f"runner: {type(err).__name__}: {err}")


def episodes_for(suite_names: Iterable[str], *, oracle: str, policies: bool, attack: str | None,
                 tasks: Iterable[str] | None = None) -> list[Episode]:
    """Honest utility episodes when `attack` is None, else every (user task, injection task) pair."""
    chosen_tasks = set(tasks) if tasks is not None else None
    episodes = []
    for name in suite_names:
        suite = suites.suite(name)
        for task in plan_ids(name):
            if chosen_tasks is not None and task not in chosen_tasks:
                continue
            if attack is None:
                episodes.append(Episode(name, task, oracle=oracle, policies=policies))
                continue
            episodes += [Episode(name, task, injection, attack, oracle, policies) for injection in suite.injection_tasks]
    return episodes


def run_all(episodes: list[Episode], workers: int) -> Iterator[Outcome]:
    """Outcomes in episode order; `workers` processes (1 = this process, for debugging)."""
    if workers <= 1:
        _start_worker()
        yield from map(_run, episodes)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker) as pool:
        yield from pool.map(_run, episodes, chunksize=8)

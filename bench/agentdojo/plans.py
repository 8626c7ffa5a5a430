"""Plan files: for each user task, the program our planner should write, and the honest answers.

One YAML file per task, `plans/<suite>/<user_task_id>.yaml`::

    prompt: "..."                  # the task's PROMPT, copied for the reviewer (checked on load)
    program: |                     # our Python subset; tools of the suite + parse_with_ai
      ...
      final_return_value = ...
    answers:                       # the honest quarantined LLM, one entry per question
      - when: "Which IBAN"          # a substring (or a list of substrings, all required) of the query
        answer: "GB29..."           # what a competent model extracts from the text it is given
    blocked_by_policy:             # optional: the task is expected to be stopped by the suite policy
      class: by_design              # by_design | stricter_than_intent
      reason: "the IBAN comes from a file: untrusted data"

The honest answers are written by reading the text the tools return for this task; the oracle
never reads the environment itself. The first entry whose `when` matches answers; an entry with
`answer: null` answers "not enough information".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

__all__ = ["PLANS_DIR", "Answer", "Plan", "load_plan", "plan_ids"]

PLANS_DIR = Path(__file__).parent / "plans"
BLOCK_CLASSES = ("by_design", "stricter_than_intent")


@dataclass(frozen=True)
class Answer:
    when: tuple[str, ...]
    answer: Any

    def matches(self, query: str) -> bool:
        return all(part in query for part in self.when)


@dataclass(frozen=True)
class Plan:
    suite: str
    task: str
    prompt: str
    program: str
    answers: tuple[Answer, ...]
    blocked_class: str | None = None
    blocked_reason: str | None = None

    def honest_answer(self, query: str) -> tuple[bool, Any]:
        """(found, value) for a quarantined-LLM query; value None means not enough information."""
        for entry in self.answers:
            if entry.matches(query):
                return True, entry.answer
        return False, None

    @property
    def planner_reply(self) -> str:
        return f"```python\n{self.program.rstrip()}\n```"


class PlanError(ValueError):
    pass


@cache
def load_plan(suite: str, task: str) -> Plan:
    path = PLANS_DIR / suite / f"{task}.yaml"
    if not path.exists():
        raise PlanError(f"no plan for {suite}/{task}: expected {path}")
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get("program"), str):
        raise PlanError(f"{path}: a plan needs `program` (text)")
    answers = []
    for n, entry in enumerate(data.get("answers") or []):
        when = entry.get("when") if isinstance(entry, dict) else None
        if isinstance(when, str):
            when = [when]
        if not when or not all(isinstance(w, str) and w for w in when) or "answer" not in entry:
            raise PlanError(f"{path}: answers[{n}] needs `when` (text or list of texts) and `answer`")
        answers.append(Answer(tuple(when), entry["answer"]))
    blocked = data.get("blocked_by_policy")
    if blocked is not None and (not isinstance(blocked, dict) or blocked.get("class") not in BLOCK_CLASSES
                                or not blocked.get("reason")):
        raise PlanError(f"{path}: blocked_by_policy needs `class` ({' | '.join(BLOCK_CLASSES)}) and `reason`")
    return Plan(suite=suite, task=task, prompt=str(data.get("prompt", "")), program=data["program"],
                answers=tuple(answers), blocked_class=blocked and blocked["class"],
                blocked_reason=blocked and blocked["reason"])


def plan_ids(suite: str) -> list[str]:
    """The tasks with a plan file, in task order."""
    names = [p.stem for p in (PLANS_DIR / suite).glob("user_task_*.yaml")]
    return sorted(names, key=lambda n: int(n.rsplit("_", 1)[1]))

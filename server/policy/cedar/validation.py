"""Validate Cedar policies against the schema of our request mapping, reporting errors by line.

The schema (Cedar JSON form, empty namespace):

* `entity Agent;`, `entity Tool { name: String };`
* one action per tool the policy names (`Action::"send_email"` anywhere in the text) plus the
  sentinel `Action::"__any_tool__"` standing for every tool the policy does not name. Tool
  names are not known when a policy is loaded, so validation cannot reject an unknown tool
  name (a typo simply never matches); it does check that scopes and conditions are well typed
  for a tool of that shape. Each action applies to principal `Agent` and resource `Tool`.
* the context: `session: Meta` and, for every argument the policy mentions, a required
  `{value: T, producers, consumers, tags}` record (sets of strings), where T is inferred from
  the policy (see `inference`). Argument names are not known up front either: a name the policy
  mentions is declared, so a misspelt *field* (`context.x.tag`) is an error, a misspelt argument
  is just another (absent) argument.

Policies that use one argument with incompatible types (say, `amount` as Long for one tool and
String for another) cannot share one context type, so policies are validated in groups whose
inferred types agree (usually a single group, so a single validator run).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Final

import cedarpy
from cedarpy import pst

from server.policy.cedar.inference import (
    ArgTypes,
    Conflict,
    finalize,
    infer_arg_types,
    merge_types,
)
from server.policy.cedar.mapping import SESSION_KEY
from server.policy.cedar.source import SourceText, fragment_offset
from server.policy.errors import PolicyLoadError

__all__ = ["ANY_TOOL_ACTION", "build_schema", "validate", "validation_error"]

ANY_TOOL_ACTION: Final = "__any_tool__"
_STRINGS: Final = {"type": "Set", "element": {"type": "String"}}
_META_ATTRS: Final = {"producers": _STRINGS, "consumers": _STRINGS, "tags": _STRINGS}
_HINTS: Final = (
    (
        re.compile(r"attribute `[^`]*` in context .* not found"),
        (
            "argument records have value, producers, consumers, tags;"
            " `session` has producers, consumers, tags"
        ),
    ),
    (
        re.compile(r"unrecognized entity type"),
        'the principal is Agent::"session", the resource Tool::"<tool name>"',
    ),
    (
        re.compile(r"unexpected type|not compatible"),
        (
            "an argument's value type comes from its uses in the policy;"
            ' metadata fields are sets of strings (universal is ["*"])'
        ),
    ),
)
_POLICY_ID_RE = re.compile(r"^policy(\d+)$")


@dataclass
class _Group:
    members: list[int] = field(default_factory=list)
    types: ArgTypes = field(default_factory=dict)


def build_schema(*, actions: frozenset[str], arg_types: ArgTypes) -> dict[str, Any]:
    """The Cedar JSON schema for the given tool names and inferred argument value types."""
    context_attrs: dict[str, Any] = {
        name: {"type": "Record", "attributes": {"value": finalize(t), **_META_ATTRS}}
        for name, t in sorted(arg_types.items())
    }
    context_attrs[SESSION_KEY] = {"type": "Record", "attributes": dict(_META_ATTRS)}
    applies = {
        "principalTypes": ["Agent"],
        "resourceTypes": ["Tool"],
        "context": {"type": "Context"},
    }
    return {
        "": {
            "commonTypes": {"Context": {"type": "Record", "attributes": context_attrs}},
            "entityTypes": {
                "Agent": {},
                "Tool": {"shape": {"type": "Record", "attributes": {"name": {"type": "String"}}}},
            },
            "actions": {
                name: {"appliesTo": applies} for name in sorted(actions | {ANY_TOOL_ACTION})
            },
        }
    }


def _group(per_policy: list[ArgTypes]) -> list[_Group]:
    groups: list[_Group] = []
    for index, types in enumerate(per_policy):
        for group in groups:
            try:
                merged = dict(group.types)
                for name, t in types.items():
                    merged[name] = merge_types(merged.get(name), t)
            except Conflict:
                continue
            group.types = merged
            group.members.append(index)
            break
        else:
            groups.append(_Group([index], dict(types)))
    return groups


def validation_error(src: SourceText, *, statement: int, message: str) -> PolicyLoadError:
    """A PolicyLoadError at the fragment Cedar's message names, else at the policy keyword."""
    stmt = src.statements[statement]
    text = re.sub(r"^for policy `[^`]*`, ", "", message)
    text = text.replace(f'Action::"{ANY_TOOL_ACTION}"', "any tool")
    offset = fragment_offset(src.text, stmt, text, default=stmt.head.start)
    hint = next((h for pattern, h in _HINTS if pattern.search(text)), None)
    full = f"Cedar schema validation: {text}" + (f" ({hint})" if hint else "")
    return src.error(full, offset)


def validate(src: SourceText, policies: pst.PolicySet) -> frozenset[str]:
    """Validate every policy; returns the argument names mentioned. Raises PolicyLoadError."""
    templates = [policies.static_policies[f"policy{i}"] for i in range(len(src.statements))]
    actions = src.action_names()
    inferred = [infer_arg_types(t) for t in templates]
    mentioned = frozenset().union(*(m for _, m in inferred)) if inferred else frozenset()
    per_policy = [{**{n: None for n in m}, **types} for types, m in inferred]
    for group in _group(per_policy):
        group_types = {**{n: None for n in mentioned}, **group.types}
        schema = json.dumps(build_schema(actions=actions, arg_types=group_types))
        text = "\n".join(src.statement_text(src.statements[i]) for i in group.members)
        result = cedarpy.validate_policies(text, schema)
        if result.validation_passed:
            continue
        first = result.errors[0]
        m = _POLICY_ID_RE.match(first.policy_id)
        local = int(m.group(1)) if m else 0
        statement = group.members[min(local, len(group.members) - 1)]
        raise validation_error(src, statement=statement, message=first.error)
    return mentioned

"""The `branching_meta_policy` preset (spec sqrt 11.4), independent of the policy language.

A branch condition's metadata `c` violates the policy when:

* mode `deny` (blacklist): for some non-empty list L of field F, `c.F overlaps L`;
* mode `allow` (whitelist): for some non-empty list L of field F, `c.F` is not a subset of L,
  ignoring, for `tags`, reserved tags that start with `__`.

An empty list never constrains. Set tests follow spec sqrt 6.6 with plain strings: a universal
`c.F` overlaps any non-empty L and is a subset of nothing finite; a list containing `"*"` is
universal (it overlaps any non-empty `c.F` and contains everything).
"""

from __future__ import annotations

from typing import Final, Literal

from server.policy.engine import BranchingMetaPolicy
from server.policy.metadata import MetaData, MetaSet, is_universal

__all__ = ["RESERVED_TAG_PREFIX", "branch_violations"]

RESERVED_TAG_PREFIX: Final = "__"
_FIELDS: Final = ("producers", "tags", "consumers")
Field = Literal["producers", "tags", "consumers"]


def _overlaps(a: MetaSet, b: MetaSet) -> bool:
    if is_universal(a):
        return bool(b)
    if is_universal(b):
        return bool(a)
    return not a.isdisjoint(b)


def _subset(a: MetaSet, b: MetaSet) -> bool:
    if is_universal(b):
        return True
    if is_universal(a):
        return False
    return a <= b


def branch_violations(policy: BranchingMetaPolicy, condition: MetaData) -> tuple[Field, ...]:
    """The fields of `condition` that violate `policy` (empty: the branch may run).

    >>> p = BranchingMetaPolicy(mode="deny", tags=frozenset({"untrusted"}))
    >>> branch_violations(p, MetaData(tags=frozenset({"untrusted", "x"})))
    ('tags',)
    """
    out: list[Field] = []
    for name in _FIELDS:
        listed: MetaSet = getattr(policy, name)
        if not listed:
            continue
        value: MetaSet = getattr(condition, name)
        if policy.mode == "deny":
            bad = _overlaps(value, listed)
        else:
            if name == "tags" and not is_universal(value):
                value = frozenset(t for t in value if not t.startswith(RESERVED_TAG_PREFIX))
            bad = not _subset(value, listed)
        if bad:
            out.append(name)
    return tuple(out)

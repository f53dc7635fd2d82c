"""Plain data for the lottery: the pool, the quotas, and the pool grouped into profiles.

A *profile* (type) is one feature vector. Volunteers who share a profile are interchangeable for
every quota, so the optimisation works on profiles with counts and only maps panels of profiles
to people when drawing. By symmetry, giving everyone in a profile the same probability is
leximin-optimal, so nothing is lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Person:
    id: str
    values: tuple[str, ...]  # one value per category, aligned with Pool.categories


@dataclass(frozen=True)
class Pool:
    categories: tuple[str, ...]
    people: tuple[Person, ...]

    def __post_init__(self) -> None:
        ids = [p.id for p in self.people]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate person id in pool")

    @property
    def ids(self) -> list[str]:
        return [p.id for p in self.people]

    def value_of(self, person: Person, category: str) -> str:
        return person.values[self.categories.index(category)]


@dataclass(frozen=True)
class Quota:
    """Bounds on how many panel members have `category` = `value` (inclusive).

    `min_flex`/`max_flex` (Sortition Foundation files) bound how far a relaxation may go:
    the relaxed minimum never drops below `min_flex`, the relaxed maximum never exceeds `max_flex`.
    """

    category: str
    value: str
    min: int
    max: int
    min_flex: int | None = None
    max_flex: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.category, self.value)


def categories_of(quotas: Sequence[Quota]) -> tuple[str, ...]:
    """Categories in first-seen order (the order of the quota file)."""
    seen: dict[str, None] = {}
    for q in quotas:
        seen.setdefault(q.category, None)
    return tuple(seen)


@dataclass(frozen=True)
class Profiles:
    """The eligible pool grouped by feature vector.

    `vectors[t]` is profile t's value per category, `members[t]` the ids sharing it (sorted),
    `quota_members[j]` the profiles counted by quota j.
    """

    categories: tuple[str, ...]
    vectors: tuple[tuple[str, ...], ...]
    members: tuple[tuple[str, ...], ...]
    quotas: tuple[Quota, ...]
    quota_members: tuple[tuple[int, ...], ...] = field(repr=False)

    @property
    def counts(self) -> list[int]:
        return [len(m) for m in self.members]

    def __len__(self) -> int:
        return len(self.vectors)

    def profile_of(self) -> dict[str, int]:
        return {pid: t for t, ids in enumerate(self.members) for pid in ids}


def group_profiles(pool: Pool, quotas: Sequence[Quota], exclusions: Iterable[str] = ()) -> Profiles:
    """Group eligible people (not excluded) by their values on the quota categories."""
    excluded = set(exclusions)
    cats = categories_of(quotas)
    index = [pool.categories.index(c) for c in cats]
    by_vector: dict[tuple[str, ...], list[str]] = {}
    for person in pool.people:
        if person.id in excluded:
            continue
        vec = tuple(person.values[i] for i in index)
        by_vector.setdefault(vec, []).append(person.id)
    # Sorted profiles and members make every later step deterministic for a given pool.
    vectors = sorted(by_vector)
    members = tuple(tuple(sorted(by_vector[v])) for v in vectors)
    cat_pos = {c: i for i, c in enumerate(cats)}
    quota_members = tuple(
        tuple(t for t, vec in enumerate(vectors) if vec[cat_pos[q.category]] == q.value) for q in quotas
    )
    return Profiles(cats, tuple(vectors), members, tuple(quotas), quota_members)

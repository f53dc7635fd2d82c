"""Small random pools with quotas that are feasible by construction, for property tests, and the shared
benchmark instances."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import strategies as st

from engage.lottery import Person, Pool, Quota, read_pool, read_quotas

ROOT = Path(__file__).resolve().parents[2]
INSTANCES = (ROOT / ".." / "shared" / "bench" / "sortition" / "instances").resolve()


def meets_quotas(panel: Sequence[str], pool: Pool, quotas: Sequence[Quota], k: int) -> bool:
    by_id = {p.id: p for p in pool.people}
    if len(panel) != k or len(set(panel)) != k:
        return False
    for q in quotas:
        c = pool.categories.index(q.category)
        seats = sum(1 for pid in panel if by_id[pid].values[c] == q.value)
        if not q.min <= seats <= q.max:
            return False
    return True


@st.composite
def small_instances(draw: st.DrawFn, max_n: int = 16) -> tuple[Pool, list[Quota], int]:
    n_cats = draw(st.integers(1, 3))
    values = [[f"v{i}{j}" for j in range(draw(st.integers(2, 3)))] for i in range(n_cats)]
    cats = tuple(f"c{i}" for i in range(n_cats))
    n = draw(st.integers(4, max_n))
    people = tuple(Person(f"p{i:02d}", tuple(draw(st.sampled_from(vs)) for vs in values)) for i in range(n))
    pool = Pool(cats, people)
    k = draw(st.integers(1, min(6, n - 1)))
    # Quotas around a random panel, so that at least that panel meets them.
    anchor = draw(st.permutations(range(n)))[:k]
    quotas = []
    for c, vs in enumerate(values):
        seats = Counter(people[i].values[c] for i in anchor)
        for v in vs:
            lo = max(0, seats[v] - draw(st.integers(0, 2)))
            hi = seats[v] + draw(st.integers(0, 2))
            quotas.append(Quota(cats[c], v, lo, hi))
    return pool, quotas, k


def instance(name: str) -> tuple[Pool, list[Quota], int]:
    """A shared benchmark instance (pool, quotas, k); skips when the shared folder is absent."""
    folder = INSTANCES / name
    if not folder.is_dir():
        pytest.skip(f"benchmark instances not found at {INSTANCES} (shared folder absent)")
    quotas = read_quotas(folder / "categories.csv")
    return (
        read_pool(folder / "respondents.csv", quotas),
        quotas,
        int(name.rsplit("_", 1)[1]),
    )

"""Reading both quota formats and both respondent layouts."""

from __future__ import annotations

from engage.lottery import parse_pool, parse_quotas
from tests.lottery.lottery_helpers import instance


def test_sortition_foundation_files_are_read_with_flex_and_nationbuilder_ids() -> None:
    pool, quotas, k = instance("sf_fixture_150_22")
    assert k == 22 and len(pool.people) == 150
    assert pool.people[0].id == "p0"
    assert quotas[0].min_flex == 0 and quotas[0].max_flex == 12


def test_row_number_is_the_id_when_there_is_no_id_column() -> None:
    quotas = parse_quotas(["category,feature,min,max", "g,a,0,1", "g,b,0,1"])
    pool = parse_pool(["g", "a", "b"], quotas)
    assert pool.ids == ["0", "1"]

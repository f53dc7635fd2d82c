"""Charts are pictures of numbers the page already has: the table beside each holds exactly those
numbers, and the SVG draws each part in proportion, with no inline style the policy would block."""

from __future__ import annotations

import re

from engage.web.charts import PLOT, Part, RangeRow, bar_chart, range_bars, stacked_bars


def _widths(svg: str) -> list[float]:
    return [
        float(w)
        for w in re.findall(r'<rect x="[^"]+" y="[^"]+" width="([0-9.]+)" height="[^"]+" fill="#', svg)
    ]


def test_a_bar_chart_tables_every_value_and_draws_the_largest_across_the_plot() -> None:
    chart = bar_chart("Turnout", [("A", 3), ("B", 6), ("C", 0)], value_head="Votes", label_head="Group")
    assert chart.rows == [["A", "3"], ["B", "6"], ["C", "0"]]
    assert chart.head == ["Group", "Votes"]
    assert _widths(chart.svg) == [PLOT / 2, PLOT, 0.0]
    assert "style=" not in chart.svg and "<title>Turnout</title>" in chart.svg


def test_a_stacked_bar_tables_each_part_and_leaves_the_unfinished_rest_empty() -> None:
    parts = [Part("Sent", 2, "info"), Part("Delivered", 5, "ok"), Part("Failed", 1, "bad")]
    chart = stacked_bars("Delivery", [("Texts", parts)], label_head="", total_head="Total", scale_to=16)
    assert chart.head == ["", "Sent", "Delivered", "Failed", "Total"]
    assert chart.table_numbers() == [["2", "5", "1", "8"]]
    assert _widths(chart.svg) == [round(PLOT * n / 16, 1) for n in (2, 5, 1)]
    assert chart.legend == [("Sent", "info"), ("Delivered", "ok"), ("Failed", "bad")]


def test_a_range_chart_tables_the_bounds_and_each_value_and_escapes_labels() -> None:
    rows = [
        RangeRow("<Women>", 2, 4, (("Pool", 10), ("Seated", 3))),
        RangeRow("Men", 2, 4, (("Pool", 5), ("Seated", 5))),
    ]
    chart = range_bars("Quotas", rows, label_head="Value", low_head="Min", high_head="Max")
    assert chart.rows == [["<Women>", "2", "4", "10", "3"], ["Men", "2", "4", "5", "5"]]
    assert "&lt;Women&gt;" in chart.svg and "<Women>" not in chart.svg


def test_an_empty_chart_still_draws() -> None:
    chart = stacked_bars("Nothing yet", [("Texts", [])], label_head="", total_head="Total")
    assert chart.table_numbers() == [["0"]] and chart.svg.startswith("<svg")

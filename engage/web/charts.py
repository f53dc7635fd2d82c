"""Charts as inline SVG, drawn on the server: data in, an SVG string and its table out.

Pure (no database, no request): the pages pass numbers they already counted; only the tooltips'
"label: number" follows the reader's language. Every chart comes with the
same numbers as a table (`Chart.head`, `Chart.rows`), rendered beside it by the `chart` macro in
templates/pages/_charts.html, so a screen reader, a printout and a test read the figures, not pixels.
Colours are SVG attributes and classes, never `style=`: the Content Security Policy forbids inline styles.

Kinds: `bar_chart` (one bar per label), `stacked_bars` (one bar per row split into parts; a progress
bar is a single row), `range_bars` (an allowed range per row with values marked against it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from engage.i18n import gettext as _

WIDTH = 640
ROW = 28  # height of one bar's row
GAP = 8
LABEL = 210  # room for the labels on the left
VALUE = 60  # room for the numbers on the right
PLOT = WIDTH - LABEL - VALUE

# Tones name what a part means; the stylesheet may restyle them, the attributes are the fallback.
TONES = {
    "ok": "#1b7f3b",
    "bad": "#b3261e",
    "wait": "#8a8f98",
    "info": "#1f5fbf",
    "warn": "#a15c00",
    "neutral": "#5b6470",
}


@dataclass(frozen=True)
class Part:
    """One part of a stacked bar."""

    label: str
    value: int
    tone: str = "info"


@dataclass(frozen=True)
class RangeRow:
    """A row of a range chart: the allowed [low, high] and named values to set against it."""

    label: str
    low: int
    high: int
    values: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Chart:
    title: str
    svg: Markup
    head: list[str]
    rows: list[list[str]]
    caption: str = ""
    legend: list[tuple[str, str]] = field(default_factory=list)  # (label, tone) for stacked parts

    def table_numbers(self) -> list[list[str]]:
        """The table body without the row labels: what tests compare with stored counts."""
        return [row[1:] for row in self.rows]


def _pair(label: str, value: object) -> str:
    """A label and its number, as a tooltip says it: "Delivered: 4", "已送达：4"."""
    return _("%(label)s: %(value)s") % {"label": label, "value": value}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _scale(values: Sequence[float]) -> float:
    top = max([float(v) for v in values] + [0.0])
    return PLOT / top if top > 0 else 0.0


def _svg(title: str, height: int, body: list[str], chart_class: str) -> Markup:
    # role=img with a <title>: the picture has a name; its figures are in the table beside it.
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{chart_class}" viewBox="0 0 {WIDTH} {height}"'
        f' width="100%" preserveAspectRatio="xMinYMin meet" role="img" focusable="false">'
        f"<title>{escape(title)}</title>"
    )
    # Every text put into the SVG went through escape() above; the numbers are formatted by us.
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704


def _label(y: float, text: str) -> str:
    return (
        f'<text x="{LABEL - 8}" y="{y + ROW / 2:.1f}" text-anchor="end" dominant-baseline="middle"'
        f' class="chart-label">{escape(_clip(text))}</text>'
    )


def _clip(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _end_value(y: float, x: float, text: str) -> str:
    return (
        f'<text x="{x + 6:.1f}" y="{y + ROW / 2:.1f}" dominant-baseline="middle"'
        f' class="chart-value">{escape(text)}</text>'
    )


def _rect(x: float, y: float, width: float, tone: str, label: str, height: float = ROW) -> str:
    colour = TONES.get(tone, TONES["neutral"])
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width, 0):.1f}" height="{height:.1f}"'
        f' fill="{colour}" class="tone-{escape(tone)}"><title>{escape(label)}</title></rect>'
    )


def bar_chart(
    title: str, items: Sequence[tuple[str, float]], *, value_head: str, label_head: str, tone: str = "info"
) -> Chart:
    """One horizontal bar per (label, value), all on one scale."""
    scale = _scale([value for _, value in items])
    body: list[str] = []
    for index, (label, value) in enumerate(items):
        y = index * (ROW + GAP)
        width = value * scale
        body += [
            _label(y, label),
            _rect(LABEL, y, width, tone, _pair(label, _number(value))),
            _end_value(y, LABEL + width, _number(value)),
        ]
    height = max(len(items) * (ROW + GAP), ROW)
    rows = [[label, _number(value)] for label, value in items]
    return Chart(title, _svg(title, height, body, "bar"), [label_head, value_head], rows)


def stacked_bars(
    title: str,
    rows: Sequence[tuple[str, Sequence[Part]]],
    *,
    label_head: str,
    total_head: str,
    scale_to: int | None = None,
) -> Chart:
    """One bar per row, split into its parts left to right. Every row is drawn against the same total
    (`scale_to`, else the largest row's sum), so a row that is not finished shows its empty rest."""
    sums = [sum(part.value for part in parts) for _, parts in rows]
    full = max([scale_to or 0, *sums, 0])
    scale = PLOT / full if full else 0.0
    body: list[str] = []
    names: list[str] = []
    legend: list[tuple[str, str]] = []
    for parts in (row_parts for _row_label, row_parts in rows):
        for part in parts:
            if part.label not in names:
                names.append(part.label)
                legend.append((part.label, part.tone))
    for index, ((label, parts), total) in enumerate(zip(rows, sums, strict=True)):
        y = index * (ROW + GAP)
        body.append(_label(y, label))
        # The track: what is not yet accounted for shows as an empty outline.
        body.append(
            f'<rect x="{LABEL}" y="{y}" width="{PLOT}" height="{ROW}" fill="none" stroke="#8a8f98"'
            ' class="chart-track"/>'
        )
        x = float(LABEL)
        for part in parts:
            width = part.value * scale
            if part.value:
                body.append(_rect(x, y, width, part.tone, _pair(f"{label} · {part.label}", part.value)))
            x += width
        body.append(_end_value(y, LABEL + PLOT, str(total)))
    height = max(len(rows) * (ROW + GAP), ROW)
    head = [label_head, *names, total_head]
    table: list[list[str]] = []
    for (label, parts), total in zip(rows, sums, strict=True):
        by_name = {part.label: part.value for part in parts}
        table.append([label, *[str(by_name.get(name, 0)) for name in names], str(total)])
    return Chart(title, _svg(title, height, body, "stacked"), head, table, legend=legend)


def range_bars(
    title: str,
    rows: Sequence[RangeRow],
    *,
    label_head: str,
    low_head: str,
    high_head: str,
    tones: Sequence[str] = ("neutral", "info"),
) -> Chart:
    """The allowed range of each row as a light band, each named value as a thin bar across it: a value
    outside its band stands out. Tones are given to the values in order."""
    top = max([max(row.high, *(v for _, v in row.values)) if row.values else row.high for row in rows] + [0])
    scale = PLOT / top if top else 0.0
    names: list[str] = []
    for row in rows:
        for name, _value in row.values:
            if name not in names:
                names.append(name)
    body: list[str] = []
    lanes = max(len(names), 1)
    for index, row in enumerate(rows):
        y = index * (ROW + GAP)
        body.append(_label(y, row.label))
        span = f"{row.low}–{row.high}"
        body.append(
            f'<rect x="{LABEL + row.low * scale:.1f}" y="{y}" width="{(row.high - row.low) * scale:.1f}"'
            f' height="{ROW}" fill="#dfe7f3" stroke="#1f5fbf" class="chart-range">'
            f"<title>{escape(_pair(row.label, span))}</title></rect>"
        )
        lane = (ROW - 6) / lanes
        for position, (name, value) in enumerate(row.values):
            tone = tones[names.index(name) % len(tones)]
            body.append(
                _rect(
                    LABEL,
                    y + 3 + position * lane,
                    value * scale,
                    tone,
                    _pair(f"{row.label} · {name}", value),
                    lane - 2,
                )
            )
        body.append(_end_value(y, LABEL + PLOT, f"{row.low}–{row.high}"))
    height = max(len(rows) * (ROW + GAP), ROW)
    head = [label_head, low_head, high_head, *names]
    table = []
    for row in rows:
        by_name = dict(row.values)
        table.append([row.label, str(row.low), str(row.high), *[str(by_name.get(name, 0)) for name in names]])
    legend = [(name, tones[index % len(tones)]) for index, name in enumerate(names)]
    return Chart(title, _svg(title, height, body, "range"), head, table, legend=legend)


@dataclass(frozen=True)
class LineRow:
    """A row of a chart against a line: the value drawn, whether it clears the line, and the cells of
    the row's table (the exact figures behind the drawn value)."""

    label: str
    value: float  # on the chart's scale, e.g. a percentage
    passes: bool
    cells: tuple[str, ...]


def line_bars(
    title: str,
    rows: Sequence[LineRow],
    *,
    line: float,
    line_label: str,
    top: float,
    head: Sequence[str],
    legend: tuple[str, str] = ("", ""),
) -> Chart:
    """One bar per row on a fixed scale from 0 to `top`, green when it clears `line` and red when not,
    with the line drawn across every row (e.g. approval rates against the 80 % line, ballots cast
    against a quorum)."""
    scale = PLOT / top if top else 0.0
    body: list[str] = []
    for index, row in enumerate(rows):
        y = index * (ROW + GAP)
        width = min(row.value, top) * scale
        tone = "ok" if row.passes else "bad"
        body += [
            _label(y, row.label),
            f'<rect x="{LABEL}" y="{y}" width="{PLOT}" height="{ROW}" fill="none" stroke="#8a8f98"'
            ' class="chart-track"/>',
            _rect(
                LABEL, y, width, tone, _pair(row.label, row.cells[-1] if row.cells else _number(row.value))
            ),
        ]
    height = max(len(rows) * (ROW + GAP), ROW) + 18
    x = LABEL + line * scale
    body.append(
        f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 18}" stroke="#1a1a1a" stroke-width="2"'
        f' stroke-dasharray="6 4" class="chart-line"><title>{escape(line_label)}</title></line>'
    )
    body.append(
        f'<text x="{x:.1f}" y="{height - 4}" text-anchor="middle" class="chart-value">{escape(line_label)}</text>'
    )
    table = [[row.label, *row.cells] for row in rows]
    passes, fails = legend
    legend_items = [(passes, "ok"), (fails, "bad")] if passes else []
    return Chart(title, _svg(title, height, body, "line"), list(head), table, legend=legend_items)

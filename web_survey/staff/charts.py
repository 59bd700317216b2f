"""Bar charts comparing a question's answers across a site's timepoints, drawn on the
server as SVG, readable without JavaScript.

Each answer gets one bar per timepoint (baseline and exit by default; any timepoints
of the site's plan), each filled differently (solid, stripes, dots, cross-hatch…) so
timepoints differ by more than colour. Bar length is the share of that timepoint's
answers, so timepoints of different sizes compare fairly; the count and share are
written at each bar's end, and the chart's ``<desc>`` says the same in words for screen
readers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from bot.engine import localise
from storage.reports import QuestionCounts

WIDTH, LABEL_WIDTH, BAR_HEIGHT, GAP = 640, 200, 18, 14
BAR_SPACE = WIDTH - LABEL_WIDTH - 90
# The legend: up to four timepoints a line, each a swatch and a name of up to 16 letters.
LEGEND_ITEM, LEGEND_LINE, LEGEND_PER_LINE = 160, 24, 4
INK, SOLID_FILL = "#0b0c0c", "#1d70b8"
# Fills after the solid first one, as SVG pattern bodies on a 6x6 white tile; the
# pattern repeats from the start when a plan has more timepoints than fills.
PATTERNS = (
    f'<rect width="3" height="6" fill="{INK}"/>',  # stripes (rotated below)
    f'<circle cx="3" cy="3" r="1.6" fill="{INK}"/>',  # dots
    f'<path d="M0 3H6M3 0V6" stroke="{INK}" stroke-width="1.2"/>',  # cross-hatch
    f'<rect width="6" height="2" fill="{INK}"/>',  # horizontal lines
)


@dataclass(frozen=True)
class Row:
    """One answer's counts at each timepoint, and its share of that timepoint's answers."""

    label: str
    counts: dict[str, int]
    shares: dict[str, float]


def rows(summary: QuestionCounts, waves: Sequence[str]) -> list[Row]:
    """The answers in the question's order, with counts and shares per timepoint."""
    totals = {wave: sum(summary.counts[wave].values()) for wave in waves}
    result = []
    for option in summary.question.options:
        counts = {wave: summary.counts[wave][option.code] for wave in waves}
        shares = {wave: counts[wave] / totals[wave] if totals[wave] else 0.0 for wave in waves}
        result.append(Row(localise(option.label, "en"), counts, shares))
    return result


def _percent(share: float) -> str:
    return f"{round(share * 100)}%"


def describe(summary: QuestionCounts, names: Mapping[str, str]) -> str:
    """The chart in words: each timepoint's answers with counts out of its total."""
    parts = []
    chart_rows = rows(summary, list(names))
    for wave, name in names.items():
        total = sum(summary.counts[wave].values())
        if not total:
            parts.append(f"{name}: no answers yet.")
            continue
        answers = ", ".join(f"{row.label} {row.counts[wave]} ({_percent(row.shares[wave])})"
                            for row in chart_rows)
        parts.append(f"{name}, {total} answers: {answers}.")
    return " ".join(parts)


def _fills(chart_id: str, count: int) -> tuple[list[str], str]:
    """Each timepoint's fill, and the ``<defs>`` its patterns need."""
    fills, defs = [SOLID_FILL], []
    for n in range(1, count):
        body = PATTERNS[(n - 1) % len(PATTERNS)]
        turn = ' patternTransform="rotate(45)"' if body is PATTERNS[0] else ""
        defs.append(f'<pattern id="{chart_id}-fill{n}" width="6" height="6" '
                    f'patternUnits="userSpaceOnUse"{turn}>'
                    f'<rect width="6" height="6" fill="#ffffff"/>{body}</pattern>')
        fills.append(f"url(#{chart_id}-fill{n})")
    return fills, f"<defs>{''.join(defs)}</defs>" if defs else ""


def bar_chart(summary: QuestionCounts, chart_id: str, names: Mapping[str, str]) -> Markup:
    """An inline SVG chart comparing the answers to one question at each timepoint
    (``names``: timepoint -> its name for staff, in the plan's order)."""
    waves = list(names)
    chart_rows = rows(summary, waves)
    fills, defs = _fills(chart_id, len(waves))
    legend_lines = -(-len(waves) // LEGEND_PER_LINE)
    top = 10 + legend_lines * LEGEND_LINE
    height = top + len(chart_rows) * (len(waves) * BAR_HEIGHT + GAP) + 4
    title = escape(summary.question.label or summary.question.id)
    compared = escape(" and ".join(names.values()) if len(waves) < 3
                      else ", ".join(names.values()))
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{title}: {compared} compared</title>',
        f'<desc id="{chart_id}-desc">{escape(describe(summary, names))}</desc>',
        defs,
    ]
    # Legend: a swatch and a word for each timepoint.
    for n, (name, fill) in enumerate(zip(names.values(), fills, strict=True)):
        x = (n % LEGEND_PER_LINE) * LEGEND_ITEM
        y = 6 + (n // LEGEND_PER_LINE) * LEGEND_LINE
        parts.append(f'<rect x="{x}" y="{y}" width="16" height="16" fill="{fill}" '
                     f'stroke="{INK}"/><text x="{x + 22}" y="{y + 13}" fill="{INK}">'
                     f'{escape(name)}</text>')
    y = top
    for row in chart_rows:
        middle = y + len(waves) * BAR_HEIGHT / 2 + 5
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{middle}" '
                     f'text-anchor="end" fill="{INK}">{escape(row.label)}</text>')
        for wave, fill in zip(waves, fills, strict=True):
            length = round(row.shares[wave] * BAR_SPACE, 1)
            parts.append(f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length}" '
                         f'height="{BAR_HEIGHT}" fill="{fill}" stroke="{INK}"/>')
            parts.append(f'<text x="{LABEL_WIDTH + length + 6}" y="{y + BAR_HEIGHT - 4}" '
                         f'fill="{INK}">{row.counts[wave]} ({_percent(row.shares[wave])})'
                         '</text>')
            y += BAR_HEIGHT
        y += GAP
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text part above is escaped

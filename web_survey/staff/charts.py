"""Baseline-and-exit bar charts drawn on the server as SVG, readable without JavaScript.

Each answer gets two bars, baseline (solid) and exit (striped), so the waves differ by
more than colour. Bar length is the share of that wave's answers, so waves of
different sizes compare fairly; the count and share are written at each bar's end, and
the chart's ``<desc>`` says the same in words for screen readers.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

from bot.engine import WAVES, localise
from storage.reports import QuestionCounts

WIDTH, LABEL_WIDTH, BAR_HEIGHT, GAP, TOP = 640, 200, 18, 14, 34
BAR_SPACE = WIDTH - LABEL_WIDTH - 90
INK, BASELINE_FILL = "#0b0c0c", "#1d70b8"


@dataclass(frozen=True)
class Row:
    """One answer's counts in each wave, and its share of that wave's answers."""

    label: str
    counts: dict[str, int]
    shares: dict[str, float]


def rows(summary: QuestionCounts) -> list[Row]:
    """The answers in the question's order, with counts and shares per wave."""
    totals = {wave: sum(summary.counts[wave].values()) for wave in WAVES}
    result = []
    for option in summary.question.options:
        counts = {wave: summary.counts[wave][option.code] for wave in WAVES}
        shares = {wave: counts[wave] / totals[wave] if totals[wave] else 0.0 for wave in WAVES}
        result.append(Row(localise(option.label, "en"), counts, shares))
    return result


def _percent(share: float) -> str:
    return f"{round(share * 100)}%"


def describe(summary: QuestionCounts) -> str:
    """The chart in words: each wave's answers with counts out of the wave's total."""
    parts = []
    for wave in WAVES:
        total = sum(summary.counts[wave].values())
        if not total:
            parts.append(f"{wave.capitalize()}: no answers yet.")
            continue
        answers = ", ".join(f"{row.label} {row.counts[wave]} ({_percent(row.shares[wave])})"
                            for row in rows(summary))
        parts.append(f"{wave.capitalize()}, {total} answers: {answers}.")
    return " ".join(parts)


def bar_chart(summary: QuestionCounts, chart_id: str) -> Markup:
    """An inline SVG chart comparing baseline and exit answers to one question."""
    chart_rows = rows(summary)
    height = TOP + len(chart_rows) * (2 * BAR_HEIGHT + GAP) + 4
    title = escape(summary.question.label or summary.question.id)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{title}: baseline and exit compared</title>',
        f'<desc id="{chart_id}-desc">{escape(describe(summary))}</desc>',
        f'<defs><pattern id="{chart_id}-stripes" width="6" height="6" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="#ffffff"/><rect width="3" height="6" fill="{INK}"/>'
        '</pattern></defs>',
        # Legend: a swatch and a word for each wave.
        f'<rect x="{LABEL_WIDTH}" y="6" width="16" height="16" fill="{BASELINE_FILL}" '
        f'stroke="{INK}"/><text x="{LABEL_WIDTH + 22}" y="19" fill="{INK}">Baseline</text>',
        f'<rect x="{LABEL_WIDTH + 110}" y="6" width="16" height="16" '
        f'fill="url(#{chart_id}-stripes)" stroke="{INK}"/>'
        f'<text x="{LABEL_WIDTH + 132}" y="19" fill="{INK}">Exit</text>',
    ]
    y = TOP
    for row in chart_rows:
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR_HEIGHT + 5}" '
                     f'text-anchor="end" fill="{INK}">{escape(row.label)}</text>')
        for wave, fill in zip(WAVES, (BASELINE_FILL, f"url(#{chart_id}-stripes)"), strict=True):
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

"""Small, accessible SVG charts for the pilot report, written by hand (no plotting library).

Every chart is an `<svg role="img">` with an `aria-label`, a `<title>` and a `<desc>`, axis
labels and the values printed on it. Output depends only on the arguments: coordinates are
written with fixed formatting, so the same numbers always give the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

_FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"'
_BAR = "#1f5fa8"
_TEXT = "#1b1f24"
_MUTED = "#57606a"
_GRID = "#d0d7de"
_BAND = "#dff3e4"
_BAND_TEXT = "#1a6b34"
DASH = "\u2013"  # an en dash: "no value", and ranges (75\u201390%)
_SLOT = 30  # width of one bar's slot, in px
_PLOT_HEIGHT = 180
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 24, 48


def _n(value: float) -> str:
    """A coordinate: at most one decimal, no trailing zero."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def percent(value: float | None, digits: int = 0) -> str:
    return DASH if value is None else f"{value * 100:.{digits}f}%"


def number(value: float | None, digits: int = 1) -> str:
    return DASH if value is None else f"{value:,.{digits}f}"


def money(value: float | None) -> str:
    return DASH if value is None else f"${value:,.2f}"


def rate_rows(labels: Sequence[str], entries: Sequence[dict]) -> list[list[str]]:
    """Table rows: label, planned, sendable, completed, compliance."""
    return [
        [
            label,
            *(str(e[k]) for k in ("planned", "sendable", "completed")),
            percent(e["compliance"], 1),
        ]
        for label, e in zip(labels, entries, strict=True)
    ]


def nice_axis(largest: float) -> tuple[float, float]:
    """A round upper limit and tick step for counts from 0 to `largest`."""
    if largest <= 0:
        return 1.0, 1.0
    raw = largest / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    step = max(step, 1.0)
    return step * math.ceil(largest / step), step


def _open(width: float, height: float, title: str, description: str) -> list[str]:
    label = f"{title}. {description}"
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{_n(width)}" '
        f'height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'aria-label="{escape(label)}" {_FONT} font-size="11" fill="{_TEXT}">',
        f"<title>{escape(title)}</title>",
        f"<desc>{escape(description)}</desc>",
    ]


def _text(x: float, y: float, text: str, *, anchor: str = "middle", extra: str = "") -> str:
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def bar_chart(
    *,
    title: str,
    description: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    x_label: str,
    y_label: str,
    as_percent: bool,
    band: tuple[float, float, str] | None = None,
) -> Markup:
    """Vertical bars, one per label. `as_percent`: values are shares from 0 to 1 (axis 0-100%);
    otherwise counts. `band`: (low, high, text) shaded across the plot as a reference range.
    A missing value (None) gets no bar and a dash."""
    if as_percent:
        top, step = 1.0, 0.25
    else:
        top, step = nice_axis(max((v for v in values if v is not None), default=0))
    plot_width = _SLOT * max(len(labels), 1)
    width, height = _LEFT + plot_width + _RIGHT, _TOP + _PLOT_HEIGHT + _BOTTOM
    base = _TOP + _PLOT_HEIGHT

    def y(value: float) -> float:
        return base - _PLOT_HEIGHT * min(value, top) / top

    parts = _open(width, height, title, description)
    if band is not None:
        low, high, band_text = band
        parts.append(
            f'<rect x="{_LEFT}" y="{_n(y(high))}" width="{plot_width}" '
            f'height="{_n(y(low) - y(high))}" fill="{_BAND}"/>'
        )
        parts.append(
            _text(
                _LEFT + plot_width - 4,
                y(high) - 4,
                band_text,
                anchor="end",
                extra=f' fill="{_BAND_TEXT}"',
            )
        )
    ticks = round(top / step)
    for index in range(ticks + 1):
        tick = step * index
        parts.append(
            f'<line x1="{_LEFT}" x2="{_LEFT + plot_width}" y1="{_n(y(tick))}" '
            f'y2="{_n(y(tick))}" stroke="{_GRID}"/>'
        )
        parts.append(
            _text(
                _LEFT - 6,
                y(tick) + 4,
                percent(tick) if as_percent else _n(tick),
                anchor="end",
                extra=f' fill="{_MUTED}"',
            )
        )
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = _LEFT + _SLOT * index
        centre = x + _SLOT / 2
        if value is None:
            parts.append(_text(centre, base - 4, DASH, extra=f' fill="{_MUTED}"'))
        elif value or as_percent:  # a count of 0 is the axis itself: no label
            parts.append(
                f'<rect x="{_n(x + 4)}" y="{_n(y(value))}" width="{_SLOT - 8}" '
                f'height="{_n(base - y(value))}" fill="{_BAR}"/>'
            )
            shown = percent(value) if as_percent else _n(value)
            parts.append(_text(centre, y(value) - 3, shown, extra=' font-size="10"'))
        parts.append(_text(centre, base + 14, label))
    parts.append(
        f'<line x1="{_LEFT}" x2="{_LEFT + plot_width}" y1="{base}" y2="{base}" stroke="{_TEXT}"/>'
    )
    parts.append(_text(_LEFT + plot_width / 2, height - 10, x_label))
    parts.append(
        _text(
            14,
            _TOP + _PLOT_HEIGHT / 2,
            y_label,
            extra=f' transform="rotate(-90 14 {_n(_TOP + _PLOT_HEIGHT / 2)})"',
        )
    )
    parts.append("</svg>")
    return Markup("\n".join(parts))


def strip_box(
    *,
    title: str,
    description: str,
    values: Sequence[float],
    quartiles: tuple[float, float, float, float, float] | None,
    band: tuple[float, float, str] | None = None,
    threshold: float | None = None,
) -> Markup:
    """A horizontal box plot (min, q1, median, q3, max) over a 0-100% axis, with every value as
    a dot below it (spread vertically in a fixed pattern, not at random)."""
    plot_width, width, height = 600, _LEFT + 600 + 24, 200
    box_top, box_bottom, dots_y, base = 34, 74, 112, 150

    def x(value: float) -> float:
        return _LEFT + plot_width * value

    parts = _open(width, height, title, description)
    if band is not None:
        low, high, band_text = band
        parts.append(
            f'<rect x="{_n(x(low))}" y="{box_top - 14}" width="{_n(x(high) - x(low))}" '
            f'height="{base - box_top + 14}" fill="{_BAND}"/>'
        )
        parts.append(
            _text((x(low) + x(high)) / 2, box_top - 18, band_text, extra=f' fill="{_BAND_TEXT}"')
        )
    if threshold is not None:
        parts.append(
            f'<line x1="{_n(x(threshold))}" x2="{_n(x(threshold))}" y1="{box_top - 14}" '
            f'y2="{base}" stroke="{_MUTED}" stroke-dasharray="4 3"/>'
        )
    for tenth in range(11):
        tick = tenth / 10
        parts.append(
            f'<line x1="{_n(x(tick))}" x2="{_n(x(tick))}" y1="{base}" y2="{base + 5}" '
            f'stroke="{_TEXT}"/>'
        )
        parts.append(_text(x(tick), base + 18, percent(tick), extra=f' fill="{_MUTED}"'))
    parts.append(
        f'<line x1="{_LEFT}" x2="{_LEFT + plot_width}" y1="{base}" y2="{base}" stroke="{_TEXT}"/>'
    )
    if quartiles is not None:
        low, q1, median, q3, high = quartiles
        middle = (box_top + box_bottom) / 2
        parts.append(
            f'<line x1="{_n(x(low))}" x2="{_n(x(high))}" y1="{_n(middle)}" y2="{_n(middle)}" '
            f'stroke="{_TEXT}"/>'
        )
        for end in (low, high):
            parts.append(
                f'<line x1="{_n(x(end))}" x2="{_n(x(end))}" y1="{box_top + 8}" '
                f'y2="{box_bottom - 8}" stroke="{_TEXT}"/>'
            )
        parts.append(
            f'<rect x="{_n(x(q1))}" y="{box_top}" width="{_n(max(x(q3) - x(q1), 1))}" '
            f'height="{box_bottom - box_top}" fill="#c9dcf2" stroke="{_BAR}"/>'
        )
        parts.append(
            f'<line x1="{_n(x(median))}" x2="{_n(x(median))}" y1="{box_top}" '
            f'y2="{box_bottom}" stroke="{_TEXT}" stroke-width="3"/>'
        )
        parts.append(
            _text(x(median), box_bottom + 13, f"median {percent(median)}", extra=' font-size="10"')
        )
    for index, value in enumerate(sorted(values)):
        offset = (index * 7) % 9 - 4  # -4..4, a fixed scatter so dots overlap less
        parts.append(
            f'<circle cx="{_n(x(value))}" cy="{_n(dots_y + offset * 3)}" r="3" '
            f'fill="{_BAR}" fill-opacity="0.6"/>'
        )
    parts.append(_text(_LEFT + plot_width / 2, height - 8, "Compliance (completed / sendable)"))
    parts.append("</svg>")
    return Markup("\n".join(parts))

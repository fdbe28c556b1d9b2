"""Layout from boxes: rows of lines, and the value to the right of or below a label.

OCR engines return one box per run of text; on a receipt ``Total`` and ``15.00`` are separate
boxes on one row, and on a fapiao a label often sits above its value. These helpers give the
extractors those relations without caring which engine produced the lines.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable

from backroom.ocr.engines import Line

__all__ = ["Row", "below", "group_rows", "right_of"]


class Row(list[Line]):
    """Lines sharing a baseline, left to right."""

    @property
    def text(self) -> str:
        return " ".join(ln.text for ln in self)

    @property
    def cy(self) -> float:
        return sum(ln.cy for ln in self) / len(self)

    @property
    def confidence(self) -> float:
        return min(ln.confidence for ln in self)


def _median_height(lines: Iterable[Line]) -> float:
    heights = [ln.height for ln in lines if ln.height > 0]
    return statistics.median(heights) if heights else 10.0


def group_rows(lines: list[Line]) -> list[Row]:
    """Cluster lines into rows: a line joins a row when its vertical centre lies within half a
    typical line height of the row's centre and it overlaps the row vertically."""
    if not lines:
        return []
    tolerance = _median_height(lines) * 0.5
    rows: list[Row] = []
    for line in sorted(lines, key=lambda ln: (ln.page, ln.cy)):
        for row in reversed(rows[-3:]):
            if row[0].page == line.page and abs(row.cy - line.cy) <= tolerance:
                row.append(line)
                break
        else:
            rows.append(Row([line]))
    for row in rows:
        row.sort(key=lambda ln: ln.x0)
    rows.sort(key=lambda r: (r[0].page, r.cy))
    return rows


def right_of(label: Line, lines: list[Line], *, max_gap: float | None = None) -> list[Line]:
    """Lines on the label's row to its right, nearest first."""
    tolerance = max(label.height, 1.0) * 0.6
    gap = max_gap if max_gap is not None else float("inf")
    found = [
        ln
        for ln in lines
        if ln is not label
        and ln.page == label.page
        and abs(ln.cy - label.cy) <= tolerance
        and ln.x0 >= label.x1 - label.height
        and ln.x0 - label.x1 <= gap
    ]
    return sorted(found, key=lambda ln: ln.x0)


def below(label: Line, lines: list[Line], *, max_rows: float = 2.5) -> list[Line]:
    """Lines under the label that overlap it horizontally, within ``max_rows`` line heights."""
    limit = label.y1 + max(label.height, 1.0) * max_rows
    found = [
        ln
        for ln in lines
        if ln is not label
        and ln.page == label.page
        and label.y1 - label.height * 0.3 <= ln.y0 <= limit
        and ln.x0 < label.x1
        and ln.x1 > label.x0
    ]
    return sorted(found, key=lambda ln: ln.y0)

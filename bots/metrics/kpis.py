"""Contact-centre KPIs and their standard definitions, computed from raw counts.

Sources deliver *sums* (calls offered, seconds of handle time ...), never averages, so that any
grouping — an hour, a day, a queue, the whole centre — is a sum of numerators over a sum of
denominators and never an average of averages.

Raw metrics (what adapters store):

=====================  ===========================================================================
``offered``            contacts that reached the queue (answered + abandoned)
``answered``           contacts an agent answered
``abandoned``          contacts the caller gave up on while waiting
``answered_within_Ts`` contacts answered within T seconds of queueing (e.g. ``answered_within_20s``)
``handle_seconds``     talk + hold + after-call work, summed over answered contacts
``fcr_resolved``       answered contacts resolved on first contact (no repeat within the window)
``csat_responses``     satisfaction survey responses
``csat_satisfied``     responses scoring 4 or 5 of 5 ("top-two box")
``staffed_seconds``    agent time logged in and available or busy (excludes breaks)
=====================  ===========================================================================

KPIs (``KPI = numerator / denominator``):

* **服务水平 service level** = answered within T s / offered (T configurable, 20 s by default;
  the "80/20" convention; abandoned calls count against it);
* **放弃率 abandonment rate** = abandoned / offered;
* **平均处理时长 AHT** = handle seconds / answered;
* **首解率 first-contact resolution** = resolved on first contact / answered;
* **占用率 occupancy** = handle seconds / staffed seconds;
* **满意度 CSAT** = satisfied responses / responses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np

    from backroom.bots.metrics.named import MetricDef

__all__ = ["KPI_METRICS", "KPI_NAMES", "RAW_METRICS", "Kpi", "compute", "definitions", "format_value", "kpi_metrics"]

RAW_METRICS = (
    "offered",
    "answered",
    "abandoned",
    "handle_seconds",
    "fcr_resolved",
    "csat_responses",
    "csat_satisfied",
    "staffed_seconds",
)
KPI_NAMES = ("service_level", "abandonment_rate", "aht", "fcr", "occupancy", "csat")


@dataclass(frozen=True)
class Kpi:
    name: str
    label: str  # Chinese label used in reports and messages
    numerator: str
    denominator: str
    unit: Literal["ratio", "seconds", "count", "number", "percent"]
    higher_is_better: bool
    volume: str = "offered"  # the count the minimum-volume guard looks at
    guarded: bool = True  # False: every interval with a value is judged (named metrics)

    def format(self, value: float | None) -> str:
        return format_value(value, self.unit)


# The KPIs, written exactly as a ``[[bots.metrics.config.metrics]]`` entry is (see
# :mod:`bots.metrics.named`): a derived metric is ``numerator`` / ``denominator`` summed per interval,
# ``volume`` the count the ``min_volume`` guard looks at. ``source = "*"``: every source's counts.
# ``{t}`` is the service-level threshold in seconds. These ship as the defaults; a site that wants a
# variant writes the same entry, with its own name and source, under [[bots.metrics.config.metrics]].
KPI_METRICS: tuple[dict[str, object], ...] = (
    {"name": "offered", "label": "呼入量", "series": "offered", "aggregation": "sum", "unit": "count",
     "higher_is_better": True, "volume": "offered"},
    {"name": "service_level", "label": "服务水平({t}秒)", "numerator": "answered_within_{t}s",
     "denominator": "offered", "unit": "ratio", "higher_is_better": True},
    {"name": "abandonment_rate", "label": "放弃率", "numerator": "abandoned", "denominator": "offered",
     "unit": "ratio"},
    {"name": "aht", "label": "平均处理时长", "numerator": "handle_seconds", "denominator": "answered",
     "unit": "seconds"},
    {"name": "fcr", "label": "首解率", "numerator": "fcr_resolved", "denominator": "answered", "unit": "ratio",
     "higher_is_better": True},
    {"name": "occupancy", "label": "占用率", "numerator": "handle_seconds", "denominator": "staffed_seconds",
     "unit": "ratio", "higher_is_better": True, "volume": "answered"},
    {"name": "csat", "label": "满意度", "numerator": "csat_satisfied", "denominator": "csat_responses",
     "unit": "ratio", "higher_is_better": True},
)  # fmt: skip


def kpi_metrics(service_level_seconds: int = 20) -> list[MetricDef]:
    """The shipped KPI entries as validated metric definitions, service level at ``service_level_seconds``."""
    from backroom.bots.metrics.named import MetricDef

    t = str(service_level_seconds)
    out = []
    for entry in KPI_METRICS:
        filled = {k: v.replace("{t}", t) if isinstance(v, str) else v for k, v in entry.items()}
        out.append(MetricDef.model_validate({"source": "*", **filled}))
    return out


def definitions(service_level_seconds: int = 20) -> dict[str, Kpi]:
    """The KPI set, with service level measured at ``service_level_seconds``: each shipped entry of
    :data:`KPI_METRICS` in the shape rules and formatting take."""
    kpis = []
    for m in kpi_metrics(service_level_seconds):
        numerator = m.numerator or m.series or m.name
        volume = m.volume or m.denominator or numerator
        kpis.append(Kpi(m.name, m.label, numerator, m.denominator or "", m.unit, m.higher_is_better, volume))
    return {k.name: k for k in kpis}


def compute(kpi: Kpi, sums: Mapping[str, np.ndarray]) -> np.ndarray:
    """KPI values from summed raw metrics (arrays of one shape); NaN where undefined or missing."""
    import numpy as np

    shape = next(iter(sums.values())).shape if sums else (0,)
    nan = np.full(shape, np.nan)
    num = sums.get(kpi.numerator, nan)
    if not kpi.denominator:
        return np.asarray(num, dtype=float)
    den = sums.get(kpi.denominator, nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def format_value(value: float | None, unit: str) -> str:
    import math

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "seconds":
        return f"{value:.0f}秒"
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "number":
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:,.0f}"

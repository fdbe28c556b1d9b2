"""The metrics bot's settings (``[bots.metrics.config]``) and run parameters."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backroom.bots.metrics.anomaly import Rule
from backroom.bots.metrics.named import MetricDef
from backroom.bots.sdk.bot import Params as BaseParams
from backroom.bots.sdk.secrets import is_secret_ref
from backroom.bots.sdk.sms import SmsSettings
from backroom.bots.systems.metric_sources.base import SourceConfig

__all__ = ["DEFAULT_RULES", "DEFAULT_TARGETS", "Config", "GroupWebhook", "Params"]

DEFAULT_TARGETS = {
    "service_level": 0.80,
    "abandonment_rate": 0.05,
    "aht": 360.0,
    "fcr": 0.70,
    "occupancy": 0.75,
    "csat": 0.85,
}

DEFAULT_RULES = [
    Rule(kind="threshold", kpi="abandonment_rate", max=0.12),
    Rule(kind="threshold", kpi="service_level", min=0.60),
    Rule(kind="change", kpi="abandonment_rate", compare="last_week", min_change=1.0, min_abs=0.05, min_volume=100),
    Rule(kind="robust", kpi="abandonment_rate", z=4.0),
    Rule(kind="robust", kpi="service_level", z=4.0),
    Rule(kind="robust", kpi="aht", z=4.0),
    Rule(kind="robust", kpi="offered", z=5.0, direction="both"),
]


class GroupWebhook(BaseModel):
    """A WeCom / DingTalk / Feishu group robot, posted to directly (markdown and an image).

    ``url`` is the robot's full webhook URL — a secret, so normally a reference such as
    ``env:WECOM_BOT_URL`` (``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...``).
    """

    model_config = ConfigDict(extra="forbid")

    url: str
    style: Literal["wecom", "dingtalk", "feishu"] = "wecom"
    send_image: bool = True  # WeCom only: the dashboard screenshot as an image message


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[SourceConfig] = Field(default_factory=list)
    metrics: list[MetricDef] = Field(default_factory=list)  # named series, beside the built-in KPIs
    service_level_seconds: int = Field(default=20, ge=1, description="T in 'answered within T seconds'")
    resolution_minutes: int = Field(default=60, description="grid on which anomalies are judged")
    resolution_seconds: int | None = Field(default=None, ge=1, description="finer grid (system metrics)")
    min_volume: float = Field(default=20, ge=0, description="intervals below this volume are not judged")
    rules: list[Rule] = Field(default_factory=lambda: [r.model_copy() for r in DEFAULT_RULES])
    targets: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_TARGETS))
    history_days: int = Field(default=63, ge=1, description="first pull backfills this far")
    repull_hours: float = Field(default=6, ge=0, description="later pulls re-read this much (corrections)")
    evaluate_max_hours: float = Field(default=48, gt=0, description="longest window judged in one run")
    report_day: Literal["today", "yesterday"] = "yesterday"
    trend_days: int = Field(default=14, ge=2, le=92)
    group_webhooks: list[GroupWebhook] = Field(default_factory=list)
    sms: SmsSettings | None = None  # 短信群发: a short form of the digest and of each alert
    attach_workbook: bool = True  # to ctx.notify targets (e-mail); group robots get text only
    fail_when_all_sources_fail: bool = True

    @field_validator("resolution_minutes")
    @classmethod
    def _divides_day(cls, value: int) -> int:
        if value <= 0 or 1440 % value:
            raise ValueError("resolution_minutes must divide a day (15, 30, 60, 120 ...)")
        return value

    @field_validator("resolution_seconds")
    @classmethod
    def _divides_day_s(cls, value: int | None) -> int | None:
        if value is not None and 86400 % value:
            raise ValueError("resolution_seconds must divide a day (5, 10, 60, 300 ...)")
        return value

    @property
    def step_seconds(self) -> int:
        """The judging grid's step."""
        return self.resolution_seconds or self.resolution_minutes * 60

    @model_validator(mode="after")
    def _metrics_and_rules(self) -> Config:
        """Every named metric reads a configured series; every rule names a known metric and labels.
        All problems are reported at once, so one `backroom check` lists everything to fix."""
        from backroom.bots.metrics.kpis import definitions

        kpis = definitions(self.service_level_seconds)
        sources = {s.name: s for s in self.sources}
        named: dict[str, MetricDef] = {}
        problems: list[str] = []
        for m in self.metrics:
            if m.name in kpis or m.name in named:
                problems.append(f"metric name {m.name!r} is taken (a KPI or an earlier metric)")
                continue
            named[m.name] = m
            source = sources.get(m.source)
            if source is None:
                known = ", ".join(sources) or "(none)"
                problems.append(f"metric {m.name!r}: source {m.source!r} is not configured; sources: {known}")
                continue
            stored = _source_metrics(source)
            if stored is not None:
                for name in m.stored:
                    if name not in stored:
                        what = "query" if source.kind == "prometheus" else "field"
                        problems.append(
                            f"metric {m.name!r}: source {m.source!r} has no {what} {name!r}; "
                            f"its {what} names: {', '.join(stored)}"
                        )
            kept = _source_labels(source)
            if kept is not None:
                unknown = sorted({*(m.by or []), *m.labels} - set(kept))
                if unknown:
                    problems.append(
                        f"metric {m.name!r}: label(s) {', '.join(unknown)} are not dimensions of source "
                        f"{m.source!r} (it keeps {', '.join(kept) or 'none'})"
                    )
        for number, rule in enumerate(self.rules, start=1):
            if rule.kpi not in kpis and rule.kpi not in named:
                problems.append(
                    f"rule #{number} ({rule.key}): unknown metric {rule.kpi!r}; named metrics: "
                    f"{', '.join(named) or '(none)'}; KPIs: {', '.join(kpis)}"
                )
                continue
            if not rule.labels:
                continue
            if rule.kpi in named:
                metric = named[rule.kpi]
                known = metric.labels_known()
                if known is None and metric.source in sources:
                    known = _source_labels(sources[metric.source])
            else:
                known = _kpi_labels(kpis[rule.kpi], self.sources)
            unknown = sorted(set(rule.labels) - set(known)) if known is not None else []
            if unknown:
                problems.append(
                    f"rule #{number} ({rule.key}): metric {rule.kpi!r} has no label(s) {', '.join(unknown)}; "
                    f"its labels: {', '.join(known or []) or 'none'}"
                )
        if problems:
            raise ValueError(" | ".join(problems))
        return self

    @model_validator(mode="after")
    def _unique_names(self) -> Config:
        names = [s.name for s in self.sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"metric source names must be unique; repeated: {', '.join(dupes)}")
        for hook in self.group_webhooks:
            if not (is_secret_ref(hook.url) or hook.url.startswith(("http://127.", "http://localhost"))):
                raise ValueError("group_webhooks url must be a secret reference (it embeds the robot's key)")
        return self


def _source_options(source: SourceConfig) -> object | None:
    """The source's options as its adapter reads them (defaults filled in); None when they do not
    validate — :func:`~backroom.bots.systems.metric_sources.validate_options` reports that."""
    from pydantic import ValidationError

    from backroom.bots.systems.metric_sources import adapter

    try:
        return adapter(source.kind).Options.model_validate(source.options)
    except (ValidationError, ValueError, LookupError):
        return None


def _source_metrics(source: SourceConfig) -> list[str] | None:
    """The metric names a source stores (Prometheus query keys, row sources' field names)."""
    options = _source_options(source)
    for attribute in ("queries", "fields"):
        names = getattr(options, attribute, None)
        if isinstance(names, dict):
            return [str(n) for n in names]
    return None


def _kpi_labels(kpi: object, sources: list[SourceConfig]) -> list[str] | None:
    """The labels a built-in KPI's series carry: the dimensions of every source that stores its
    counts (or might: a source whose metric names only data can tell). None when some such source
    keeps labels that only data can tell — then a rule's filter cannot be checked before a run."""
    counts = {getattr(kpi, "numerator", ""), getattr(kpi, "denominator", "")} - {""}
    known: set[str] = set()
    for source in sources:
        stored = _source_metrics(source)
        if stored is not None and not counts & set(stored):
            continue
        labels = _source_labels(source)
        if labels is None:
            return None
        known.update(labels)
    return sorted(known)


def _source_labels(source: SourceConfig) -> list[str] | None:
    """The labels a source keeps when its config says (``dimensions``); None when only data can tell."""
    dims = getattr(_source_options(source), "dimensions", None)
    if isinstance(dims, (list, dict)):
        return [str(d) for d in dims]
    return None


class Params(BaseParams):
    day: dt.date | None = None  # the report's day (local); default from config.report_day
    report: bool = True  # False: pull and alert only (an intraday schedule)
    backfill_days: int | None = Field(default=None, ge=1, le=400)  # pull this far back this time
    sources: list[str] = Field(default_factory=list)  # only these sources (default all)
    resend: bool = False  # send the day's digest again even if it went out

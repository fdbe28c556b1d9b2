"""Prometheus metrics read from run history at scrape time.

Reading the database (rather than counting in this process) keeps the figures right across
restarts and when runs are started by the CLI: an alert such as "nightly bot has not succeeded
for 26 h" works from ``backroom_bot_last_success_timestamp_seconds``.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select

from backroom.schedules.history import Run
from backroom.schedules.runner import Runner
from backroom.schedules.status import ACTIVE, FINISHED, OK, RunStatus

__all__ = ["BUCKETS", "HistoryCollector", "render"]

BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0)


class HistoryCollector(Collector):
    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    def collect(self) -> Iterator[Metric]:
        history = self.runner.history
        with history.session() as s:
            by_status = s.execute(select(Run.bot, Run.status, func.count()).group_by(Run.bot, Run.status)).all()
            bucket_cols = [
                func.sum(case((Run.duration_s <= b, 1), else_=0)).label(f"b{i}") for i, b in enumerate(BUCKETS)
            ]
            durations = s.execute(
                select(Run.bot, func.count(), func.sum(Run.duration_s), *bucket_cols)
                .where(Run.duration_s.is_not(None), Run.status.in_(FINISHED))
                .group_by(Run.bot)
            ).all()
            last_ok = s.execute(
                select(Run.bot, func.max(Run.finished_at)).where(Run.status.in_(OK)).group_by(Run.bot)
            ).all()

        runs = CounterMetricFamily(
            "backroom_runs", "Runs recorded in history, by bot and status", labels=["bot", "status"]
        )
        active: dict[str, dict[str, int]] = {str(status): {} for status in ACTIVE}
        for bot, status, count in by_status:
            runs.add_metric([bot, status], count)
            if status in active:
                active[status][bot] = count
        yield runs

        for status in (RunStatus.RUNNING, RunStatus.QUEUED):
            gauge = GaugeMetricFamily(f"backroom_runs_{status}", f"Runs {status} now, by bot", labels=["bot"])
            for bot in sorted(set(self.runner.bots) | set(active[status])):
                gauge.add_metric([bot], active[status].get(bot, 0))
            yield gauge

        hist = HistogramMetricFamily(
            "backroom_run_duration_seconds", "Duration of finished runs, by bot", labels=["bot"]
        )
        for row in durations:
            bot, count, total = row[0], row[1], row[2] or 0.0
            cumulative = [(str(b), int(row[3 + i] or 0)) for i, b in enumerate(BUCKETS)]
            cumulative.append(("+Inf", int(count)))
            hist.add_metric([bot], cumulative, sum_value=float(total))
        yield hist

        last = GaugeMetricFamily(
            "backroom_bot_last_success_timestamp_seconds",
            "Unix time of the last successful run of each bot (absent if it never succeeded)",
            labels=["bot"],
        )
        for bot, when in last_ok:
            if when is not None:
                if when.tzinfo is None:
                    import datetime as dt

                    when = when.replace(tzinfo=dt.UTC)
                last.add_metric([bot], when.timestamp())
        yield last

        paused = GaugeMetricFamily("backroom_bot_paused", "1 when the bot's schedules are paused", labels=["bot"])
        for bot in sorted(self.runner.bots):
            paused.add_metric([bot], 1 if self.runner.is_paused(bot) else 0)
        yield paused


def make_registry(runner: Runner) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HistoryCollector(runner))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)

"""The metrics bot: pull every source, store the series, judge anomalies, send the daily report.

One run:

1. pulls each configured source concurrently over its window (first run: ``history_days`` back;
   later runs: from the last successful pull minus ``repull_hours``) and stores what came back —
   re-pulled intervals replace earlier values;
2. judges the anomaly rules — on the built-in KPIs and on the named metrics of
   ``[[bots.metrics.config.metrics]]`` (:mod:`bots.metrics.named`) — on the intervals since the
   previous evaluation, against the stored history, and reconciles alerts (new / ongoing /
   recovered);
3. writes the day's workbook and sends the 数据通报 digest (or, with ``report = false``, only the
   alerts that are new or recovered) to the notify targets, the group robots and by SMS.

Missing data is an alert of its own (:mod:`bots.metrics.nodata`): a source that fails, a query
that answers nothing, a scrape target that is down, a source silent longer than its
``stale_after_minutes`` — each is announced once, its recovery too, and the digest lists what is
missing instead of saying 无异常. The run fails only when every source failed.
``Result.outputs["anomalies"]`` lists new anomalies for a chained bot, ``no_data`` the missing
parts, ``sms`` the delivery result of every number (masked).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

from backroom.bots.metrics.config import Config, Params
from backroom.bots.sdk.bot import Bot, Result
from backroom.bots.sdk.context import Context
from backroom.bots.sdk.errors import ConfigError

__all__ = ["Metrics"]


class Metrics(Bot[Params, Config]):
    name = "metrics"
    summary = "Pull contact-centre metrics, detect anomalies, send the daily 数据通报 with a workbook"
    Params = Params
    Config = Config
    idempotent = True
    supports_dry_run = True

    @classmethod
    def required_systems(cls, config: Config) -> list[str]:
        """The [systems.*] tables this configuration uses (the runner passes only these)."""
        return sorted({s.system for s in config.sources if s.system})

    def run(self, ctx: Context[Config], params: Params) -> Result:
        from backroom.bots.metrics.alerts import AlertBook, alert_key
        from backroom.bots.metrics.daily import daily_sums, summarise, where_label
        from backroom.bots.metrics.detect import describe, detect
        from backroom.bots.metrics.kpis import definitions
        from backroom.bots.metrics.named import metric_grid
        from backroom.bots.metrics.nodata import NoData
        from backroom.bots.metrics.series import build_grid, floor_time
        from backroom.bots.metrics.store import Store
        from backroom.bots.systems.metric_sources import MetricSourceError, Window, pull_all, validate_options

        config = ctx.config
        if not config.sources:
            raise ConfigError("bots.metrics: no sources configured ([[bots.metrics.config.sources]])")
        sources = [s for s in config.sources if not params.sources or s.name in params.sources]
        unknown = set(params.sources) - {s.name for s in config.sources}
        if unknown:
            raise ConfigError(f"bots.metrics: unknown source(s) {', '.join(sorted(unknown))}")
        for source in sources:
            validate_options(source)
        kpis = definitions(config.service_level_seconds)
        named = {m.name: m for m in config.metrics}
        for rule in config.rules:
            if rule.kpi not in kpis and rule.kpi not in named:
                raise ConfigError(
                    f"bots.metrics: rule {rule.key!r} names unknown metric {rule.kpi!r}; "
                    f"known: {', '.join([*named, *kpis])}"
                )
        now = ctx.now()
        tz = ctx.timezone
        store = Store(ctx.engine)
        state = ctx.checkpoint

        # 1. pull -----------------------------------------------------------------------------
        windows = []
        for source in sources:
            last = state.get(f"pulled_until:{source.name}")
            back = dt.timedelta(days=params.backfill_days or config.history_days)
            start = now - back
            if last and not params.backfill_days:
                start = max(start, dt.datetime.fromisoformat(last) - dt.timedelta(hours=config.repull_hours))
            windows.append(Window(floor_time(start, 3600), now))
        ctx.log.info("pulling %d source(s)", len(sources))
        results = asyncio.run(pull_all(ctx, sources, windows))
        stale: dict[str, str] = {}
        issues: list[str] = []
        evidence: list[Path] = []
        stored = 0
        nodata = NoData(config.metrics, tz)
        with ctx.progress("storing pulls", total=len(sources)) as step:
            for source, result in zip(sources, results, strict=True):
                if isinstance(result, BaseException):
                    if not isinstance(result, (MetricSourceError, OSError, ValueError)):
                        ctx.log.error("source %s failed unexpectedly", source.name, exc_info=result)
                    reason = str(result) or type(result).__name__
                    stale[source.name] = reason if len(reason) < 300 else reason[:300] + "…"
                    ctx.log.warning("source %s is stale: %s", source.name, reason)
                    state.set(
                        f"status:{source.name}", {"ok": False, "at": now.isoformat(), "error": stale[source.name]}
                    )
                    nodata.source_failed(source.name, reason)
                    step.advance()
                    continue
                issues.extend(result.issues)
                evidence.extend(result.evidence)
                nodata.source_pulled(source.name, result.stale)
                for query, reason in result.stale.items():
                    ctx.log.warning("source %s query %s has no data: %s", source.name, query, reason)
                for line in result.issues[:20]:
                    ctx.log.warning("%s", line)
                if not ctx.dry_run:
                    stored += store.replace(source.name, result.samples, now)
                    newest = store.latest(source.name)
                    limit = source.stale_after_minutes
                    if limit is not None and (newest is None or newest < now - dt.timedelta(minutes=limit)):
                        seen = newest.isoformat() if newest else "ever"
                        nodata.add(source.name, "*", f"source {source.name!r} has no data since {seen}")
                    state.set_many(
                        {
                            f"pulled_until:{source.name}": now.isoformat(),
                            f"status:{source.name}": {
                                "ok": True,
                                "at": now.isoformat(),
                                "samples": len(result.samples),
                                "stale": dict(result.stale),
                            },
                        }
                    )
                step.advance()
        ctx.raise_if_cancelled()

        # 2. anomalies ------------------------------------------------------------------------
        step_s = config.step_seconds
        evaluated = state.get("evaluated_until")
        since = dt.datetime.fromisoformat(evaluated) if evaluated else now - dt.timedelta(hours=24)
        if params.report and not evaluated:  # a first run judges the whole report day too
            first_day = params.day or (now.astimezone(tz).date() - dt.timedelta(days=config.report_day == "yesterday"))
            since = min(since, dt.datetime.combine(first_day, dt.time(), tz))
        since = max(since, now - dt.timedelta(hours=config.evaluate_max_hours))
        since = floor_time(since, step_s)
        eval_end = floor_time(now, step_s)  # judge complete grid intervals only
        weeks = max((r.weeks for r in config.rules if r.kind == "robust"), default=1)
        history_start = since - dt.timedelta(days=7 * weeks + 1)
        names = [s.name for s in sources]
        rows = store.load(history_start, eval_end, sources=names)
        grid = build_grid(rows, history_start, eval_end, step_s)
        findings, judged = detect(grid, config.rules, kpis, since, min_volume=config.min_volume)
        graded = [(f, grid, kpis[f.kpi]) for f in findings]
        for metric in config.metrics:  # named metrics: each its own grid, aggregated as declared
            rules = [r for r in config.rules if r.kpi == metric.name]
            if not rules:
                continue
            own, kpi = metric_grid(rows, metric, grid.start, step_s, grid.n)
            more, seen = detect(own, rules, {metric.name: kpi}, since, min_volume=metric.min_volume or 0.0)
            graded.extend((f, own, kpi) for f in more)
            judged |= seen
        found: dict[str, dict[str, Any]] = {}
        for f, grid_of, kpi in graded:
            dims = grid_of.dims(grid_of.series.index((f.source, f.dims)))
            found[alert_key(f.rule, f.source, f.dims)] = {
                "rule": f.rule,
                "kind": f.kind,
                "kpi": f.kpi,
                "kpi_label": kpi.label,
                "source": f.source,
                "dims": dims,
                "where": where_label(f.dims),
                "interval": grid_of.time(f.index).astimezone(tz).isoformat(),
                "value": f.value,
                "reference": f.reference,
                "score": f.score if abs(f.score) < 1e9 else None,
                "value_text": kpi.format(f.value),
                "reference_text": kpi.format(f.reference),
                "compared_with": f.compared_with,
                "text": describe(f, grid_of, kpi, tz),
                **{k: v for k, v in f.extra.items() if k in ("intervals", "volume")},
            }
        book = AlertBook(ctx.engine)
        nodata.judge_open(book.open_alerts())
        found.update(nodata.found)
        judged |= nodata.judged
        alerts = book.reconcile(found, judged, now, dry_run=ctx.dry_run)
        for a in (*alerts.new, *alerts.ongoing, *alerts.recovered):  # people read local time
            a["opened_local"] = dt.datetime.fromisoformat(a["opened_at"]).astimezone(tz).isoformat()
        recovered_to_say = [a for a in alerts.recovered if a.get("was_announced")]
        ctx.log.info(
            "anomalies: %d new, %d ongoing, %d recovered", len(alerts.new), len(alerts.ongoing), len(alerts.recovered)
        )

        # 3. report and digest ----------------------------------------------------------------
        report_path: Path | None = None
        sent = False
        sms: list[dict[str, Any]] = []
        outbox = self._outbox(ctx, config)
        if outbox is not None:  # numbers an earlier message failed for get it now, before anything new
            sms = [{**r.as_dict(), "resent": True} for r in outbox.resend_pending()]
            for key in outbox.given_up:
                ctx.log.warning(
                    "SMS message %s given up after %d runs failed for some numbers", key, outbox.max_attempts
                )
        shot = next((p for p in evidence if p.suffix == ".png"), None)
        if params.report:
            day = params.day or (now.astimezone(tz).date() - dt.timedelta(days=config.report_day == "yesterday"))
            day_start = dt.datetime.combine(day - dt.timedelta(days=config.trend_days + 7), dt.time(), tz)
            day_end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tz)
            day_rows = store.load(day_start, day_end, sources=names)
            sums = daily_sums(day_rows, tz)
            headline = list(kpis.values())
            figures = summarise(sums, day, headline, config.targets)
            from backroom.bots.metrics.named import day_figures

            named_figures, missing = day_figures(day_rows, config.metrics, day, tz)
            today_start = dt.datetime.combine(day, dt.time(), tz)
            raw = {
                s.name: [r for r in day_rows if r["source"] == s.name and r["interval_start"] >= today_start]
                for s in sources
            }
            listing = (
                [{**a, "state": "新"} for a in alerts.new]
                + [{**a, "state": "持续"} for a in alerts.ongoing]
                + [{**a, "state": "已恢复"} for a in alerts.recovered]
            )
            from backroom.bots.metrics.report import write_workbook

            report_path = write_workbook(
                ctx.artifact(f"metrics-{day.isoformat()}.xlsx"),
                day=day,
                figures=figures,
                anomalies=listing,
                raw=raw,
                sums=sums,
                kpis=headline,
                trend_days=config.trend_days,
                stale={**stale, **_stale_queries(nodata.found)},
                tz=tz,
                named=named_figures,
            )
            from backroom.bots.metrics.digest import digest_text, sms_text

            text = digest_text(
                day.isoformat(),
                figures,
                alerts.new,
                alerts.ongoing,
                recovered_to_say,
                stale,
                len(issues),
                named_figures,
                missing,
            )
            short = sms_text(f"数据通报{day.isoformat()}", alerts.new, alerts.ongoing, recovered_to_say, len(missing))
            ctx.artifact(f"digest-{day.isoformat()}.md").write_text(text, encoding="utf-8")
            done_key = f"digest_sent:{day.isoformat()}"
            if ctx.dry_run:
                ctx.log.info("dry run: digest not sent")
            elif state.get(done_key) and not params.resend and not alerts.new and not recovered_to_say:
                ctx.log.info("digest for %s already sent; nothing new to announce", day)
            else:
                attachments = [report_path] if config.attach_workbook else []
                if shot is not None:
                    attachments.append(shot)
                key = ("digest", day.isoformat(), short)
                sms += self._send(
                    ctx, config, f"数据通报 {day.isoformat()}", text, attachments, shot, short, outbox, key
                )
                state.set(done_key, now.isoformat())
                sent = True
        elif (alerts.new or recovered_to_say) and not ctx.dry_run:
            from backroom.bots.metrics.digest import alert_text, sms_text

            short = sms_text("异常告警", alerts.new, [], recovered_to_say, 0)
            key = ("alerts", short, sorted((a["key"], a["opened_at"]) for a in (*alerts.new, *recovered_to_say)))
            sms += self._send(
                ctx, config, "异常告警", alert_text(alerts.new, recovered_to_say), [], None, short, outbox, key
            )
            sent = True
        if sent:
            book.mark_announced([a["key"] for a in alerts.new])
            book.mark_announced([a["key"] for a in recovered_to_say], recovery=True)
        if not ctx.dry_run:
            state.set("evaluated_until", eval_end.isoformat())

        failed_all = len(stale) == len(sources) and config.fail_when_all_sources_fail
        from backroom.bots.metrics.nodata import is_nodata

        gaps = [a for a in alerts.new + alerts.ongoing if is_nodata(a)]
        real_new = [a for a in alerts.new if not is_nodata(a)]
        summary = (
            f"{len(sources) - len(stale)}/{len(sources)} sources pulled, {stored} values stored; "
            f"anomalies: {len(alerts.new)} new, {len(alerts.ongoing)} ongoing, {len(alerts.recovered)} recovered"
        )
        if stale:
            summary += f"; stale: {', '.join(stale)}"
        if gaps:
            summary += f"; no data: {', '.join(a['where'] for a in gaps)}"
        if sms:
            summary += f"; SMS {sum(r['ok'] for r in sms)}/{len(sms)} delivered"
        return Result(
            status="failed" if failed_all else "succeeded",
            summary=summary,
            counts={
                "sources": len(sources),
                "sources_failed": len(stale),
                "values_stored": stored,
                "values_skipped": len(issues),
                "anomalies_new": len(real_new),
                "no_data": len(gaps),
                "sms_delivered": sum(r["ok"] for r in sms),
                "sms_failed": sum(not r["ok"] for r in sms),
                "sms_pending": outbox.pending() if outbox is not None else 0,
                "anomalies_ongoing": len(alerts.ongoing),
                "anomalies_recovered": len(alerts.recovered),
            },
            outputs={
                "anomalies": [_brief(a) for a in real_new],
                "no_data": [_brief(a) for a in gaps],
                "ongoing": [_brief(a) for a in alerts.ongoing],
                "recovered": [_brief(a) for a in alerts.recovered],
                "has_anomalies": bool(real_new),
                "queues": sorted({a["where"] for a in real_new}),
                "stale_sources": sorted(stale),
                "report": str(report_path) if report_path else None,
                "sent": sent,
                "sms": sms,  # one entry per number: masked phone, ok, provider code and message (resent: a retry)
                "sms_given_up": outbox.given_up if outbox is not None else [],
            },
        )

    def _send(
        self,
        ctx: Context,
        config: Config,
        title: str,
        text: str,
        attachments: list[Path],
        shot: Path | None,
        short: str = "",
        outbox: Any = None,
        key: tuple[Any, ...] = (),
    ) -> list[dict[str, Any]]:
        """Deliver to every channel; returns the SMS results, one per number (masked)."""
        from backroom.bots.sdk.secrets import resolve_if_ref

        ctx.notify(title, text, attachments)
        if config.group_webhooks:
            import httpx

            from backroom.bots.metrics.digest import post_group

            with httpx.Client(timeout=15) as client:
                for hook in config.group_webhooks:
                    url = resolve_if_ref(hook.url, ctx.secret)
                    post_group(client, url, hook.style, title, text, shot if hook.send_image else None)
        if outbox is None:
            return []
        results = [r.as_dict() for r in outbox.send(outbox.message_key(*key), short or title)]
        for r in results:
            if not r["ok"]:
                ctx.log.warning("SMS to %s not delivered: %s %s", r["phone"], r["code"], r["message"])
        return results

    @staticmethod
    def _outbox(ctx: Context, config: Config) -> Any:
        """The SMS ledger (:class:`~backroom.bots.sdk.sms.SmsOutbox`); None without SMS or in a dry run."""
        if config.sms is None or ctx.dry_run:
            return None
        from backroom.bots.sdk.sms import SmsOutbox, SmsSender

        return SmsOutbox(ctx.checkpoint, SmsSender(config.sms, ctx.secret))


def _stale_queries(found: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Queries without data, for the workbook's status line: "source/query" -> reason."""
    return {a["where"]: a["reason"] for a in found.values() if a.get("kind") == "nodata" and "/" in a["where"]}


def _brief(alert: dict[str, Any]) -> dict[str, Any]:
    keep = ("key", "rule", "kind", "kpi", "source", "dims", "where", "interval", "value", "reference", "text")
    return json.loads(json.dumps({k: alert.get(k) for k in keep}, default=str))

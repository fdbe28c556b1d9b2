"""The reconcile bot (银企对账): bank statements against the ledger, exceptions to people.

One run: apply reviewers' decisions from last time's workbook → take statements (a file given on
the command line, files in the inbox, or fetched from the bank portal) → check each (balance,
continuity, duplicate, gap) and import the good ones → read the ledger → match what is still open
→ keep the matches → write the workbook and notify. Matches and imported lines live in Backroom's
database, so each day's run only works on what is new or still open.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backroom.bots.formats.statements.profiles import Profile
from backroom.bots.sdk.bot import Bot, Params, Result
from backroom.bots.sdk.paths import InboxFolder, InboxPath

if TYPE_CHECKING:
    from backroom.bots.formats.statements import Statement, StatementLine
    from backroom.bots.reconcile.ledger import LedgerEntry
    from backroom.bots.reconcile.matching import MatchSettings
    from backroom.bots.reconcile.state import ReconcileState
    from backroom.bots.sdk.context import Context

__all__ = ["LedgerSource", "Matching", "Reconcile", "ReconcileConfig", "ReconcileParams"]


class ReconcileParams(Params):
    """One run. Files are given relative to the bot's inbox root (``[bots.reconcile.roots] inbox``)
    and refused when they resolve outside it."""

    statement: InboxPath | None = Field(default=None, description="one statement file to import (any format)")
    fetch: bool = Field(default=False, description="download statements from the bank portal first")
    start: dt.date | None = Field(default=None, description="first day to fetch (default: yesterday)")
    end: dt.date | None = Field(default=None, description="last day to fetch (default: start)")
    account: str | None = Field(default=None, description="only this account (default: all configured)")
    ledger: InboxPath | None = Field(default=None, description="a ledger Excel export instead of the configured source")
    review: InboxPath | None = Field(default=None, description="a reviewed workbook whose decisions to apply")


class LedgerSource(BaseModel):
    """Where the company's side comes from: an Excel export or a query on the accounting database."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["excel", "sql"] = "excel"
    path: Path | None = Field(default=None, description="excel: the workbook (relative to Backroom's home)")
    sheet: str | None = None
    system: str = Field(default="ledger", description="sql: [systems.NAME] with url and password reference")
    query: str = Field(
        default="",
        description="sql: SELECT ... AS entry_id, date, amount, currency, "
        "counterparty, reference, memo[, account] (every entry since book_opening_balance)",
    )
    account: str = Field(
        default="",
        description="the bank account this ledger is for; else each entry's 账号/account column; "
        "else the only configured account",
    )


class Matching(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date_window_days: int = Field(default=5, ge=0, le=60)
    reference_window_days: int = Field(default=45, ge=0, le=366)
    name_threshold: float = Field(default=80.0, ge=50, le=100)
    fee_max: Decimal = Field(default=Decimal("50.00"), ge=0, description="largest bank fee matched with an adjustment")
    fx_pct: Decimal = Field(default=Decimal("0.005"), ge=0, le=Decimal("0.1"))
    max_subset: int = Field(default=4, ge=2, le=6)

    def settings(self) -> MatchSettings:
        from backroom.bots.reconcile.matching import MatchSettings

        return MatchSettings(
            date_window=self.date_window_days,
            reference_window=self.reference_window_days,
            name_threshold=self.name_threshold,
            fee_max_cents=int(self.fee_max * 100),
            fx_pct=self.fx_pct,
            max_subset=self.max_subset,
        )


class ReconcileConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accounts: list[str] = Field(default_factory=list, description="bank accounts reconciled (empty = all seen)")
    portal: str = Field(default="bank", description="[systems.NAME] of the bank portal, for fetch")
    inbox: InboxFolder = Field(
        default=Path("var/inbox/reconcile"), description="statement files dropped here are imported (in the inbox root)"
    )
    review_inbox: InboxFolder = Field(
        default=Path("var/inbox/reconcile/review"), description="reviewed workbooks (in the inbox root)"
    )
    ledger: LedgerSource = Field(default_factory=LedgerSource)
    ledgers: list[LedgerSource] = Field(
        default_factory=list, description="more ledgers, e.g. one per bank account (each with its account)"
    )
    book_opening_balance: Decimal | None = Field(
        default=None, description="book balance before the first ledger entry read, for the 余额调节表"
    )
    book_opening_balances: dict[str, Decimal] = Field(
        default_factory=dict,
        description="per account: book balance before its first ledger entry, keyed 'ACCOUNT' or 'ACCOUNT/CUR'",
    )
    profiles: list[Profile] = Field(default_factory=list, description="extra Chinese bank layouts")
    matching: Matching = Field(default_factory=Matching)
    reject_on_gap: bool = Field(default=False, description="treat a date gap as an error, not a warning")


class Reconcile(Bot[ReconcileParams, ReconcileConfig]):
    name = "reconcile"
    summary = "Match bank statements against the ledger; report exceptions and the 余额调节表"
    Params = ReconcileParams
    Config = ReconcileConfig
    idempotent = True
    supports_dry_run = True

    def run(self, ctx: Context[ReconcileConfig], params: ReconcileParams) -> Result:
        from backroom.bots.reconcile.state import ReconcileState

        config = ctx.config
        state = ReconcileState(ctx.engine)
        decided, problems = self._apply_reviews(ctx, config, params, state)
        files = self._statement_files(ctx, config, params, state)
        ctx.raise_if_cancelled()  # between phases: each phase's writes are complete and keyed
        checks, imported = self._import(ctx, config, state, files, params)
        ctx.raise_if_cancelled()
        ledger = self._ledger(ctx, config, params)
        ctx.raise_if_cancelled()
        return self._reconcile(ctx, config, state, ledger, checks, imported, (decided, problems), params)

    # -- reviewers' decisions -------------------------------------------------------------------
    def _apply_reviews(
        self, ctx: Context, config: ReconcileConfig, params: ReconcileParams, state: ReconcileState
    ) -> tuple[int, list[str]]:
        """Apply each reviewed workbook once; a bad one is set aside with its reason, the run goes on."""
        import shutil

        from backroom.bots.formats.statements.model import file_digest
        from backroom.bots.reconcile.report import read_decisions
        from backroom.bots.sdk.errors import BusinessError

        books = (
            [ctx.file(params.review)]
            if params.review
            else ctx.inputs(ctx.folder(config.review_inbox), ["*.xlsx"], missing_ok=True)
        )
        applied = 0
        problems: list[str] = []
        for path in books:
            digest = file_digest(path.read_bytes())
            if f"review:{digest}" in ctx.checkpoint:
                continue
            try:
                decisions = read_decisions(path)
            except BusinessError as exc:
                ctx.log.warning("reviewed workbook rejected: %s", exc)
                problems.append(f"reviewed workbook not applied: {exc}")
                self._reject(ctx, path, str(exc), shutil)
                if not ctx.dry_run:
                    ctx.checkpoint.set(f"review:{digest}", {"file": str(path), "error": str(exc)})
                continue
            rows = [
                {
                    "bank_keys": d.bank_keys,
                    "ledger_ids": d.ledger_ids,
                    "rule": d.rule or "review",
                    "score": 100.0,
                    "status": "confirmed" if d.decision == "confirm" else "rejected",
                    "note": f"{d.decision}ed by reviewer in {path.name}",
                }
                for d in decisions
            ]
            if not ctx.dry_run:
                state.save_matches(rows, ctx.run_id, ctx.now())
                ctx.checkpoint.set(f"review:{digest}", {"file": str(path), "decisions": len(rows)})
            ctx.log.info("applied %d review decisions from %s", len(rows), path.name)
            applied += len(rows)
        return applied, problems

    # -- statements -----------------------------------------------------------------------------
    def _statement_files(
        self, ctx: Context, config: ReconcileConfig, params: ReconcileParams, state: ReconcileState
    ) -> list[Path]:
        if params.statement:
            return [ctx.file(params.statement)]
        files = []
        if params.fetch:
            files += self._fetch(ctx, config, params, state)
        for path in ctx.inputs(
            ctx.folder(config.inbox),
            [
                "*.xlsx",
                "*.xls",
                "*.csv",
                "*.txt",
                "*.sta",
                "*.mt940",
                "*.940",
                "*.942",
                "*.xml",
                "*.ofx",
                "*.qfx",
                "*.bai",
                "*.bai2",
            ],
            # fetching from the portal is this run's source: the inbox is then an optional extra
            missing_ok=params.fetch,
        ):
            from backroom.bots.formats.statements.model import file_digest

            if f"inbox:{file_digest(path.read_bytes())}" not in ctx.checkpoint:
                files.append(path)
        return files

    def _fetch(
        self, ctx: Context, config: ReconcileConfig, params: ReconcileParams, state: ReconcileState
    ) -> list[Path]:
        """Download each account's statement; without ``start``, from the day after the last one imported.

        So Monday's run fetches Friday to Sunday, and a day the bot did not run is caught up
        instead of becoming a gap.
        """
        from backroom.bots.systems.bank_portal.base import BankPortal
        from backroom.bots.systems.base import open_system

        yesterday = ctx.local_now().date() - dt.timedelta(days=1)
        portal = open_system(ctx, config.portal, BankPortal)
        out = []
        with ctx.browser() as page:
            portal.login(page)
            accounts = [params.account] if params.account else (config.accounts or portal.accounts(page))
            with ctx.progress("fetching statements", total=len(accounts)) as bar:
                for account in accounts:
                    start, end = params.start, params.end
                    if start is None:
                        previous = state.previous(account)
                        last = previous.period_end if previous else None
                        start = last + dt.timedelta(days=1) if last else yesterday
                        end = end or yesterday
                    end = end or start
                    if start > end:
                        ctx.log.info("account %s is up to date (statements to %s)", account, end)
                    else:
                        got = portal.fetch(page, account, start, end, ctx.artifacts_dir / "statements")
                        ctx.log.info("fetched %s (%d lines, verified)", got.path.name, got.announced_lines)
                        out.append(got.path)
                    bar.advance()
        return out

    def _import(
        self, ctx: Context, config: ReconcileConfig, state: ReconcileState, files: list[Path], params: ReconcileParams
    ) -> tuple[list[dict[str, Any]], list[Statement]]:
        import shutil

        from backroom.bots.formats.statements import Finding, StatementError, check_statement, read_statements

        checks: list[dict[str, Any]] = []
        imported: list[Statement] = []
        from backroom.bots.formats.statements.model import file_digest

        def done(path: Path) -> None:  # an inbox file is looked at once, good or bad (after its work)
            if params.statement is None and not ctx.dry_run:
                ctx.checkpoint.set(f"inbox:{file_digest(path.read_bytes())}", {"file": path.name})

        for path in files:
            try:
                fallback = params.account or (config.accounts[0] if len(config.accounts) == 1 else "")
                statements, failures = read_statements(path, config.profiles, account=fallback)
            except StatementError as exc:
                ctx.log.warning("statement rejected: %s", exc)
                checks.append({"file": path.name, "rejected": True, "findings": str(exc)})
                self._reject(ctx, path, str(exc), shutil)
                done(path)
                continue
            for exc in failures:  # one bad statement in a file of several: the good ones go on
                ctx.log.warning("statement rejected: %s", exc)
                checks.append({"file": path.name, "rejected": True, "findings": str(exc)})
            if failures:
                self._reject(ctx, path, "\n".join(str(e) for e in failures), shutil)
            seen = state.seen_digests()
            for k, st in enumerate(statements):
                if k:  # several statements in one file (MT940, camt): each needs its own identity
                    st.digest = f"{st.digest}:{k}"
                previous = state.previous(st.account, st.first_date)
                findings = check_statement(st, previous, seen_digests=seen, seen_line_keys=state.line_keys(st.account))
                if not st.account:
                    findings.insert(
                        0,
                        Finding(
                            "no-account",
                            "error",
                            "the file names no account number: pass "
                            "--param account=... or configure exactly one account",
                        ),
                    )
                elif config.accounts and st.account not in config.accounts:
                    findings.insert(
                        0,
                        Finding(
                            "unknown-account",
                            "error",
                            f"account {st.account} is not among the configured accounts ({', '.join(config.accounts)})",
                        ),
                    )
                errors = [f for f in findings if f.severity == "error" or (f.code == "gap" and config.reject_on_gap)]
                row = {
                    "file": path.name,
                    "account": st.account,
                    "format": st.format,
                    "period": f"{st.first_date} ~ {st.last_date}",
                    "opening": st.opening_balance,
                    "closing": st.closing_balance,
                    "lines": len(st.lines),
                    "rejected": bool(errors),
                    "findings": "; ".join(f"[{f.code}] {f.message}" for f in findings),
                }
                checks.append(row)
                if errors:
                    ctx.log.warning("statement %s rejected: %s", path.name, row["findings"])
                    if not any(f.code in ("duplicate-file", "duplicate-statement") for f in errors):
                        self._reject(ctx, path, row["findings"], shutil)
                    continue
                if not ctx.dry_run:
                    added = state.import_statement(st, ctx.now())
                    ctx.log.info("imported %s: %d new lines", path.name, added)
                imported.append(st)
            done(path)
        return checks, imported

    @staticmethod
    def _reject(ctx: Context, path: Path, why: str, shutil: Any) -> None:
        """A copy of the bad file and a .why.txt go to the run's rejected/ folder; the input stays.

        Only a file under the bot's roots is ever copied: artifacts are readable by every viewer.
        """
        ctx.roots.require(path, "copying a file into the run's artifacts")
        target = ctx.artifact(f"rejected/{path.name}")
        why_file = target.with_name(target.name + ".why.txt")
        if why_file.exists():  # another statement of the same file: add its reason, keep the first's
            with why_file.open("a", encoding="utf-8") as fh:
                fh.write(why + "\n")
            return
        shutil.copyfile(path, target)
        why_file.write_text(why + "\n", encoding="utf-8")

    # -- ledger ---------------------------------------------------------------------------------
    def _ledger(self, ctx: Context, config: ReconcileConfig, params: ReconcileParams) -> list[LedgerEntry]:
        """Every configured ledger's entries, each carrying the bank account it moves."""
        from dataclasses import replace

        from backroom.bots.reconcile.ledger import LedgerError

        sources = [config.ledger] if params.ledger else [config.ledger, *config.ledgers]
        only = config.accounts[0] if len(config.accounts) == 1 else ""
        entries: list[LedgerEntry] = []
        seen: dict[str, str] = {}
        for n, source in enumerate(sources):
            for e in self._read_ledger(ctx, source, params if n == 0 else None):
                account = e.account or source.account or only
                if e.entry_id in seen:
                    raise LedgerError(
                        f"entry id {e.entry_id!r} appears in two ledgers ({seen[e.entry_id]} and "
                        f"{source.path or source.system}): give each ledger its own ids"
                    )
                seen[e.entry_id] = str(source.path or source.system)
                entries.append(e if account == e.account else replace(e, account=account))
        return entries

    def _read_ledger(self, ctx: Context, source: LedgerSource, params: ReconcileParams | None) -> list[LedgerEntry]:
        from backroom.bots.reconcile.ledger import read_excel_ledger, read_sql_ledger
        from backroom.bots.sdk.errors import ConfigError

        if (params and params.ledger) or source.kind == "excel":
            if params and params.ledger:
                return read_excel_ledger(ctx.file(params.ledger), source.sheet)
            if source.path is None:
                raise ConfigError("no ledger: set [bots.reconcile.config.ledger] path or pass --param ledger=FILE")
            path = source.path if source.path.is_absolute() else ctx.home / source.path
            return read_excel_ledger(path, source.sheet)
        system = ctx.system(source.system)
        if not system.url or not source.query:
            raise ConfigError(f"ledger kind 'sql' needs [systems.{source.system}] url and a query")
        from sqlalchemy.engine import make_url

        url = make_url(system.url)
        if system.password:
            url = url.set(password=ctx.secret(system.password))
        return read_sql_ledger(url.render_as_string(hide_password=False), source.query)

    # -- matching and report --------------------------------------------------------------------
    def _reconcile(
        self,
        ctx: Context,
        config: ReconcileConfig,
        state: ReconcileState,
        ledger: list[LedgerEntry],
        checks: list[dict[str, Any]],
        imported: list[Statement],
        reviews: tuple[int, list[str]],
        params: ReconcileParams,
    ) -> Result:
        from backroom.bots.reconcile.matching import Outcome, match_items
        from backroom.bots.reconcile.report import ReportData, write_workbook

        accounts = [params.account] if params.account else config.accounts
        lines = state.bank_lines(accounts or None)
        if ctx.dry_run:  # nothing was stored: reconcile what was read in this run as well
            known = {ln.key for ln in lines}
            lines += [ln for st in imported for ln in st.lines if ln.key not in known]
        bank = {ln.key: ln for ln in lines}
        book = {e.entry_id: e for e in ledger}
        decided, problems = reviews
        kept = sorted(state.matches(["auto", "confirmed"]), key=lambda m: m["status"] != "confirmed")
        done_bank: set[str] = set()
        done_book: set[str] = set()
        matched_rows: list[dict[str, Any]] = []
        broken = []
        for m in kept:
            if (
                all(k in bank for k in m["bank_keys"])
                and all(i in book for i in m["ledger_ids"])
                and not (done_bank.intersection(m["bank_keys"]) or done_book.intersection(m["ledger_ids"]))
            ):
                done_bank.update(m["bank_keys"])
                done_book.update(m["ledger_ids"])
                matched_rows.append({**m, "note": f"kept from an earlier run; {m['note'] or ''}".strip("; ")})
            else:
                broken.append(m["id"])
        if broken and not ctx.dry_run:
            state.set_status(broken, "broken", ctx.now())
            ctx.log.warning("%d earlier matches refer to lines or entries that are gone; reopened", len(broken))
        rejected = {(b, g) for m in state.matches(["rejected"]) for b in m["bank_keys"] for g in m["ledger_ids"]}
        per_account = all(e.account for e in book.values())  # else the entries cannot be told apart by account
        pools = _pools(bank, book, done_bank, done_book, per_account)
        outcome = Outcome()
        with ctx.progress("matching", total=sum(len(b) for b, _ in pools.values())) as bar:
            for bank_items, book_items in pools.values():
                part = match_items(bank_items, book_items, config.matching.settings(), rejected=rejected)
                _merge(outcome, part)
                bar.advance(len(bank_items))
        if not per_account and len({ln.account for ln in bank.values()}) > 1:
            problems = [
                *problems,
                "ledger entries carry no bank account (no 账号 column, no ledger account): all accounts were "
                "matched as one pool and share one 余额调节表",
            ]
        new_rows = [_row(m) for m in outcome.matches]
        review_rows = [_row(m) for m in outcome.review]
        if not ctx.dry_run:
            state.drop_suggestions()
            state.save_matches(new_rows + review_rows, ctx.run_id, ctx.now())
        from backroom.bots.reconcile.state import match_id

        for r in new_rows + review_rows:
            r["id"] = match_id(r["bank_keys"], r["ledger_ids"])
        counts = dict(outcome.stage_counts)
        counts["confirmed"] = len(matched_rows)
        bank_balance, balance_date = state.latest_closing(accounts or sorted({ln.account for ln in lines}))
        if ctx.dry_run and imported:
            bank_balance = sum((s.closing_balance or Decimal(0) for s in imported), Decimal(0))
            balance_date = max(s.last_date for s in imported if s.last_date)
        book_balance = None
        if config.book_opening_balance is not None:
            book_balance = config.book_opening_balance + sum((e.amount for e in ledger), Decimal(0))
        groups = _groups(ctx, config, state, bank, book, imported) if per_account else []
        data = ReportData(
            bank=bank,
            ledger=book,
            matched=matched_rows + new_rows,
            review=review_rows,
            unmatched_bank=outcome.unmatched_bank,
            unmatched_ledger=outcome.unmatched_ledger,
            statements=checks,
            stage_counts=counts,
            bank_balance=bank_balance,
            bank_balance_date=balance_date,
            book_balance=book_balance,
            notes=([f"{decided} reviewer decisions applied this run"] if decided else []) + problems,
            groups=groups,
        )
        from backroom.bots.reconcile.report import report_filename

        path = write_workbook(ctx.artifact(report_filename(data)), data)  # named by account and period
        from backroom.bots.reconcile.report import reconciliation

        recs = {f"{g.account} {g.currency}": reconciliation(data, g) for g in groups} or {"": reconciliation(data)}
        known = [r["difference"] for r in recs.values() if r["difference"] is not None]
        difference = sum(known, Decimal(0)) if known else None
        lost = [c for c in checks if c.get("rejected") and _real_rejection(c)]
        already = sum(1 for c in checks if c.get("rejected") and not _real_rejection(c))
        # all rejected (not merely already imported): nothing of what was given got in — the run failed
        failed = bool(lost) and not imported
        headline = (
            f"{len(matched_rows) + len(new_rows)} matched, {len(review_rows)} to review, "
            f"{len(outcome.unmatched_bank)} bank / {len(outcome.unmatched_ledger)} ledger unmatched"
            + (f", {len(imported)} statement(s) imported" if imported else "")
            + (f", {len(lost)} statement(s) rejected ({_rejected_names(lost)})" if lost else "")
            + (f", {already} already imported before" if already else "")
            + (" — every statement was rejected, nothing imported" if failed else "")
            + (
                " — the others were imported; the rejected ones are in rejected/ with the reason"
                if lost and imported
                else ""
            )
        )
        lines_out = [
            f"调节后差额 difference: {r['difference']}" + (f" ({name})" if name else "")
            for name, r in recs.items()
            if r["difference"] is not None
        ]
        body = "\n".join([headline, *lines_out])
        if not ctx.dry_run:
            ctx.notify("银企对账 reconcile", body, attachments=[path])
        return Result(
            status="failed" if failed else "succeeded",
            summary=headline,
            counts={
                "bank_lines": len(bank),
                "ledger_entries": len(book),
                "matched": len(matched_rows) + len(new_rows),
                "auto_matched_now": len(new_rows),
                "review": len(review_rows),
                "unmatched_bank": len(outcome.unmatched_bank),
                "unmatched_ledger": len(outcome.unmatched_ledger),
                "statements_imported": len(imported),
                "statements_rejected": len(lost),  # lost to an error: with_warnings when others got in
                "statements_already_imported": already,  # the same statement given again: nothing lost
                "decisions_applied": decided,
            },
            outputs={
                "workbook": str(path),
                "difference": None if difference is None else str(difference),
                "differences": {n: None if r["difference"] is None else str(r["difference"]) for n, r in recs.items()},
            },
        )


def _rejected_names(lost: list[dict[str, Any]]) -> str:
    """Which statements were rejected, by file and statement number or period (no account numbers)."""
    names = []
    for check in lost:
        found = re.search(r"statement \d+", str(check.get("findings", "")))
        where = found.group(0) if found else (check.get("period") or "")
        names.append(f"{check['file']} {where}".strip())
    return ", ".join(dict.fromkeys(names))


def _real_rejection(check: dict[str, Any]) -> bool:
    """A rejection that lost something (not a file or statement that was already imported)."""
    findings = str(check.get("findings", ""))
    return not ("[duplicate-file]" in findings or "[duplicate-statement]" in findings)


def _pools(
    bank: dict[str, StatementLine],
    book: dict[str, LedgerEntry],
    done_bank: set[str],
    done_book: set[str],
    per_account: bool,
) -> dict[str, tuple[list[Any], list[Any]]]:
    """Open items by bank account (a ledger entry only meets its own account's lines), or one pool."""
    pools: dict[str, tuple[list[Any], list[Any]]] = {}
    for k, ln in bank.items():
        if k not in done_bank:
            pools.setdefault(ln.account if per_account else "", ([], []))[0].append(_bank_item(ln))
    for k, e in book.items():
        if k not in done_book:
            pools.setdefault(e.account if per_account else "", ([], []))[1].append(_book_item(e))
    return pools


def _merge(total: Any, part: Any) -> None:
    total.matches += part.matches
    total.review += part.review
    total.unmatched_bank += part.unmatched_bank
    total.unmatched_ledger += part.unmatched_ledger
    for k, v in part.stage_counts.items():
        total.stage_counts[k] = total.stage_counts.get(k, 0) + v


def _groups(
    ctx: Context,
    config: ReconcileConfig,
    state: ReconcileState,
    bank: dict[str, StatementLine],
    book: dict[str, LedgerEntry],
    imported: list[Statement],
) -> list[Any]:
    """One 余额调节表 per account and currency seen on either side, with both balances where known."""
    from backroom.bots.reconcile.report import AccountGroup

    keys = sorted(
        {(ln.account, ln.currency) for ln in bank.values()} | {(e.account, e.currency) for e in book.values()}
    )
    single = len(keys) == 1
    groups = []
    for account, currency in keys:
        closing, when, cur = state.closing(account)
        if ctx.dry_run:
            mine = [s for s in imported if s.account == account and s.closing_balance is not None]
            if mine:
                last = max(mine, key=lambda s: s.last_date or dt.date.min)
                closing, when, cur = last.closing_balance, last.last_date, last.currency
        if cur and cur != currency:
            closing = None  # that account's statement is in another currency
        opening = config.book_opening_balances.get(f"{account}/{currency}", config.book_opening_balances.get(account))
        if opening is None and single:
            opening = config.book_opening_balance
        book_balance = None
        if opening is not None:
            book_balance = opening + sum(
                (e.amount for e in book.values() if e.account == account and e.currency == currency), Decimal(0)
            )
        groups.append(AccountGroup(account, currency, closing, when, book_balance))
    return groups


def _bank_item(ln: StatementLine) -> Any:
    from backroom.bots.reconcile.matching import Item

    return Item.make(
        ln.key, ln.booking_date.toordinal(), ln.amount, ln.currency, ln.counterparty_name, ln.reference, ln.purpose
    )


def _book_item(e: LedgerEntry) -> Any:
    from backroom.bots.reconcile.matching import Item

    return Item.make(e.entry_id, e.date.toordinal(), e.amount, e.currency, e.counterparty, e.reference, e.memo)


def _row(m: Any) -> dict[str, Any]:
    return {
        "bank_keys": list(m.bank),
        "ledger_ids": list(m.ledger),
        "rule": m.rule,
        "score": m.score,
        "status": m.status,
        "adjustment": str(Decimal(m.adjustment_cents) / 100),
        "note": m.note,
        "alternatives": list(m.alternatives),
    }

"""The expenses bot: read an inbox of receipts and fapiao, audit them, write the claim workbook.

One run:

1. applies reviewer corrections from any audit workbook dropped back in the inbox;
2. reads the claims sheet (optional) that says who claims which file, in which category, for how
   much;
3. OCRs the new documents in a worker pool (models loaded once per worker), streaming results and
   recording each in the state table at once, so a crash never costs the OCR twice;
4. checks every document against the rules (:mod:`bots.expenses.rules`), duplicates against all
   history;
5. writes the workbook artifact, then moves files to ``processed/`` or ``rejected/`` (with a
   ``.why.txt``). Inputs are moved, never deleted; a dry run moves nothing and records nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backroom.bots.expenses.claims import Claim, read_claims
from backroom.bots.expenses.config import ExpensesConfig, ExpensesParams
from backroom.bots.expenses.rules import Doc, RuleResult, evaluate
from backroom.bots.expenses.state import DocumentStore, invoice_key, pack, receipt_key, unpack
from backroom.bots.sdk.bot import Bot, Result
from backroom.bots.sdk.errors import ConfigError
from backroom.bots.sdk.paths import InputFolderMissing, confine

if TYPE_CHECKING:
    from backroom.bots.sdk.context import Context
    from backroom.ocr.pipeline import DocumentResult

__all__ = ["Expenses"]


@dataclass
class _Input:
    path: Path
    sha256: str
    employee: str
    category: str
    claimed: Decimal | None
    subfolder: str | None
    claim: Claim | None = None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


#: Free text an invoice carries (备注 often names a bank account or a mobile number): masked before
#: it is stored or reported, as every personal datum is.
_FREE_TEXT = ("remarks",)


def _fields_of(result: DocumentResult) -> dict[str, tuple[Any, float, str]]:
    from backroom.bots.sdk.masking import mask_personal

    assert result.extraction is not None
    fields = {n: (f.value, f.confidence, f.source) for n, f in result.extraction.fields.items()}
    for name in _FREE_TEXT:
        if name in fields and isinstance(fields[name][0], str):
            value, confidence, source = fields[name]
            fields[name] = (mask_personal(value), confidence, source)
    return fields


def _unique(target: Path) -> Path:
    if not target.exists():
        return target
    for i in range(1, 10_000):
        candidate = target.with_name(f"{target.stem}-{i}{target.suffix}")
        if not candidate.exists():
            return candidate
    raise FileExistsError(target)  # pragma: no cover


def _move(ctx: Context, path: Path, folder: Path) -> Path:
    """Move ``path`` into ``folder`` under a free name; both must lie under the bot's roots."""
    ctx.roots.require(path, "moving a file from")
    ctx.roots.require(folder, "moving a file into")
    folder.mkdir(parents=True, exist_ok=True)
    target = _unique(folder / path.name)
    shutil.move(str(path), str(target))
    return target


class Expenses(Bot[ExpensesParams, ExpensesConfig]):
    name = "expenses"
    summary = "OCR receipts and VAT invoices, audit them against the rules, write the claim workbook"
    Params = ExpensesParams
    Config = ExpensesConfig
    idempotent = True
    supports_dry_run = True

    def run(self, ctx: Context[ExpensesConfig], params: ExpensesParams) -> Result:
        config = ctx.config
        inbox = confine(params.inbox, ctx.roots.root("inbox"), kind="dir", must_exist=False)
        if not inbox.is_dir():  # an unmounted share: fail, never a green "0 read" (nor create it)
            raise InputFolderMissing(inbox)
        claim_month = params.claim_month or ctx.local_now().date()
        month = f"{claim_month:%Y-%m}"
        store = DocumentStore(ctx.engine)
        processed_dir, rejected_dir = inbox / config.processed_dir, inbox / config.rejected_dir

        # 1. reviewer corrections -------------------------------------------------------------
        corrected_docs, correction_books = self._corrections(ctx, inbox, store, config)

        # 2. the claims sheet -----------------------------------------------------------------
        claims_path = ctx.file(params.claims) if params.claims is not None else None
        if claims_path is None:
            sheets = [p for p in ctx.inputs(inbox, ["claims*.xlsx", "报销*.xlsx"]) if p not in correction_books]
            claims_path = sheets[0] if sheets else None
        by_file: dict[str, Claim] = {}
        if claims_path is not None:
            for claim in read_claims(claims_path):  # a bad sheet is a BusinessError naming the column
                for name in claim.files:
                    by_file[name.lower()] = claim

        # 3. the documents --------------------------------------------------------------------
        inputs = self._collect(ctx, inbox, config, params, by_file)
        rejected: list[tuple[str, str]] = []
        docs: list[Doc] = []
        links: dict[str, Path] = {}
        thumbnails: dict[str, bytes] = {}
        to_read: list[_Input] = []
        known_results: dict[str, dict[str, Any]] = {}
        for item in inputs:
            row = store.get(item.sha256)
            if row is not None and row["status"] == "read":
                known_results[item.sha256] = row  # read by an interrupted run: no second OCR
            else:
                to_read.append(item)
        ctx.log.info("expenses: %d documents in %s (%d to OCR)", len(inputs), inbox, len(to_read))

        fresh: dict[str, DocumentResult] = {}
        with ctx.progress("reading documents", total=len(to_read)) as progress:
            if to_read:
                fresh = self._ocr(ctx, config, to_read, progress, store, month)

        pending_moves: list[tuple[_Input, str, str]] = []  # input, "processed"/"rejected", why
        seen_keys: dict[str, str] = {}
        for item in inputs:
            if item.sha256 in fresh:
                result = fresh[item.sha256]
                if result.thumbnail:
                    thumbnails[item.sha256] = result.thumbnail
                if result.error or result.extraction is None:
                    why = f"{result.error_kind or 'unreadable'}: {result.error}"
                    rejected.append((item.path.name, why))
                    pending_moves.append((item, "rejected", why))
                    continue
                if result.extraction.type == "unknown":
                    why = "not recognised as a receipt or invoice (no fapiao QR code, no total/date found)"
                    rejected.append((item.path.name, why))
                    pending_moves.append((item, "rejected", why))
                    continue
                fields = _fields_of(result)
                problems = list(result.extraction.problems)
                doc_type = result.extraction.type
            elif item.sha256 in known_results:
                row = known_results[item.sha256]
                (fields, problems), doc_type = unpack(row["fields"]), row["doc_type"]
            else:  # pragma: no cover - every input is one of the two
                continue
            doc = Doc(
                file=item.path.name,
                sha256=item.sha256,
                type=doc_type,
                fields=fields,
                problems=problems,
                employee=item.employee,
                category=item.category,
                claimed_amount=item.claimed,
                claim_month=claim_month,
                claim_row=item.claim.row if item.claim else None,
                claim_files=item.claim.files if item.claim else (),
            )
            doc.duplicate_of = self._duplicate(store, doc, seen_keys)
            docs.append(doc)
            pending_moves.append((item, "processed", ""))

        row_totals: dict[int, Decimal] = defaultdict(Decimal)
        for doc in docs:
            if doc.claim_row is not None and doc.total is not None and not doc.duplicate_of:
                row_totals[doc.claim_row] += doc.total
        for doc in docs:
            if doc.claim_row is not None:
                doc.claim_total = row_totals[doc.claim_row]
        day_totals: dict[tuple[str, dt.date], Decimal] = defaultdict(Decimal)
        for doc in [*docs, *corrected_docs]:
            if doc.date and doc.total is not None and not doc.duplicate_of:
                day_totals[(doc.employee, doc.date)] += doc.total
        for doc in docs:
            if doc.date:
                doc.day_total = day_totals[(doc.employee, doc.date)]
            evaluate(doc, config)
            if not ctx.dry_run:
                store.save(
                    sha256=doc.sha256,
                    file=doc.file,
                    employee=doc.employee,
                    category=doc.category,
                    claim_month=month,
                    doc_type=doc.type,
                    invoice_key=invoice_key(doc.fields) if doc.type == "fapiao" else None,
                    receipt_key=receipt_key(doc.fields) if doc.type == "receipt" else None,
                    fields=pack(doc.fields, doc.problems),
                    verdict=doc.verdict,
                    run_id=ctx.run_id,
                    status="read",
                )
        for doc in corrected_docs:
            if doc.date:
                doc.day_total = day_totals[(doc.employee, doc.date)]

        # 4. the workbook, then the moves -------------------------------------------------------
        for item, where, _ in pending_moves:
            base = processed_dir if where == "processed" else rejected_dir
            folder = base / item.subfolder if item.subfolder else base
            links[item.sha256] = folder / item.path.name
        all_docs = [*docs, *corrected_docs]
        from backroom.bots.reports import period_filename

        book = ctx.artifact(period_filename("费用报销审核", month))
        from backroom.bots.expenses.workbook import write_workbook

        write_workbook(
            book,
            all_docs,
            rejected,
            links=links,
            thumbnails=thumbnails,
            title="费用报销审核汇总",
            period=month,
        )
        if not ctx.dry_run:
            for item, where, why in pending_moves:
                base = processed_dir if where == "processed" else rejected_dir
                folder = base / item.subfolder if item.subfolder else base
                target = _move(ctx, item.path, folder)
                if where == "rejected":
                    target.with_name(target.name + ".why.txt").write_text(why + "\n", encoding="utf-8")
                elif store.get(item.sha256) is not None:
                    store.mark(item.sha256, status="done")
            for path in correction_books:
                _move(ctx, path, processed_dir)
            if claims_path is not None and claims_path.parent == inbox and claims_path.is_file():
                _move(ctx, claims_path, processed_dir)  # this batch's sheet; next month brings its own

        counts = {
            "documents": len(docs),
            "pass": sum(1 for d in all_docs if d.verdict == "pass"),
            "review": sum(1 for d in all_docs if d.verdict == "review"),
            "fail": sum(1 for d in all_docs if d.verdict == "fail"),
            "rejected": len(rejected),
            "corrected": len(corrected_docs),
        }
        summary = (  # what failed, in words: not "6 read, 3 fail"
            f"读取 {counts['documents']} 张单据：{counts['fail']} 张未通过审核，{counts['review']} 张待人工复核，"
            f"{counts['rejected']} 个文件无法读取已退回，{counts['corrected']} 张按复核人意见更正"
        )
        ctx.log.info("expenses: %s; workbook %s", summary, book)
        return Result(summary=summary, counts=counts, outputs={"workbook": str(book), "claim_month": month})

    # -- helpers -----------------------------------------------------------------------------
    def _collect(
        self, ctx: Context, inbox: Path, config: ExpensesConfig, params: ExpensesParams, by_file: dict[str, Claim]
    ) -> list[_Input]:
        skip = {config.processed_dir, config.rejected_dir}
        paths: list[tuple[Path, str | None]] = []
        if params.file is not None:
            file = confine(params.file, ctx.roots.root("inbox"), must_exist=False)
            if file.is_file():  # gone when an earlier run already took it
                sub = file.parent.name if file.parent.parent == inbox and file.parent.name not in skip else None
                paths.append((file, sub))
        else:
            paths = [(p, None) for p in ctx.inputs(inbox, config.patterns)]
            for sub in sorted(
                p
                for p in inbox.iterdir()
                if p.is_dir() and p.name not in skip and not p.name.startswith(".") and ctx.roots.contains(p)
            ):
                paths += [(p, sub.name) for p in ctx.inputs(sub, config.patterns)]
        # the earlier arrival first, so of two copies of one invoice the later one is the duplicate
        paths.sort(key=lambda ps: (ps[0].stat().st_mtime_ns, ps[0].name))
        items = []
        for path, subfolder in paths:
            claim = by_file.get(path.name.lower())
            employee = claim.employee if claim else subfolder or params.employee
            items.append(
                _Input(
                    path=path,
                    sha256=_sha256(path),
                    employee=employee,
                    category=claim.category if claim else "other",
                    claimed=claim.claimed_amount if claim else None,
                    subfolder=subfolder,
                    claim=claim,
                )
            )
        return items

    def _ocr(
        self,
        ctx: Context,
        config: ExpensesConfig,
        items: list[_Input],
        progress: Any,
        store: DocumentStore,
        month: str,
    ) -> dict[str, DocumentResult]:
        """OCR ``items`` in the pool; each readable result is recorded at once (status ``read``) so
        an interrupted run resumes without reading it again."""
        from backroom.ocr.errors import EngineUnavailable
        from backroom.ocr.pool import read_many

        engine_options = (
            {k: v for k, v in config.paddle.model_dump().items() if v is not None}
            if config.engine == "paddle"
            else {k: str(v) for k, v in config.rapid.model_dump().items() if v is not None}
            if config.engine == "rapid"
            else {}
        )
        by_path = {str(i.path): i.sha256 for i in items}
        by_item = {i.sha256: i for i in items}
        out: dict[str, DocumentResult] = {}
        results = read_many(
            [i.path for i in items],
            engine=config.engine,
            workers=config.workers or None,
            engine_options=engine_options,
            max_pages=config.max_pages,
            dayfirst=config.dayfirst,
            thumbnail=True,
        )
        try:
            for result in results:
                sha = by_path[str(result.path)]
                out[sha] = result
                if not ctx.dry_run and result.extraction is not None and result.extraction.type != "unknown":
                    item = by_item[sha]
                    fields = _fields_of(result)
                    store.save(
                        sha256=sha,
                        file=item.path.name,
                        employee=item.employee,
                        category=item.category,
                        claim_month=month,
                        doc_type=result.extraction.type,
                        invoice_key=None,
                        receipt_key=None,
                        fields=pack(fields, result.extraction.problems),
                        verdict="pending",
                        run_id=ctx.run_id,
                        status="read",
                    )
                progress.advance()
                if ctx.cancelled():
                    ctx.raise_if_cancelled()
        except EngineUnavailable as exc:
            raise ConfigError(f"[bots.expenses.config] engine = {config.engine!r}: {exc}") from exc
        return out

    def _duplicate(self, store: DocumentStore, doc: Doc, seen: dict[str, str]) -> str | None:
        inv = invoice_key(doc.fields) if doc.type == "fapiao" else None
        rec = receipt_key(doc.fields) if doc.type == "receipt" else None
        earlier = store.get(doc.sha256)
        if earlier is not None and earlier["status"] == "done":
            return f"the same file was already processed ({earlier['file']}, claim month {earlier['claim_month']})"
        for key in filter(None, (inv, rec)):
            if key in seen:
                return f"{seen[key]} in this batch"
        found = store.find_duplicate(doc.sha256, inv, rec)
        for key in filter(None, (inv, rec)):
            seen.setdefault(key, doc.file)
        if found is not None:
            return (
                f"{found['file']} claimed by {found['employee']} for {found['claim_month']} "
                f"(first seen {found['created_at']:%Y-%m-%d})"
            )
        return None

    def _corrections(
        self, ctx: Context, inbox: Path, store: DocumentStore, config: ExpensesConfig
    ) -> tuple[list[Doc], list[Path]]:
        from backroom.bots.expenses.workbook import is_audit_workbook, read_corrections

        books = [p for p in ctx.inputs(inbox, ["*.xlsx"]) if is_audit_workbook(p)]
        docs: list[Doc] = []
        applied: list[Path] = []
        for path in books:
            rows: dict[str, dict[str, Any]] = {}

            def lookup(sha: str, rows: dict[str, dict[str, Any]] = rows) -> dict[str, tuple[Any, float, str]] | None:
                row = store.get(sha)
                if row is None:
                    return None
                rows[sha] = row
                return unpack(row["fields"])[0]

            try:
                corrections = read_corrections(path, lookup)
            except ValueError as exc:  # a cell a reviewer typed that is not a date / an amount
                ctx.log.warning("expenses: corrections workbook %s not applied: %s", path.name, exc)
                if not ctx.dry_run:
                    target = _move(ctx, path, inbox / config.rejected_dir)
                    target.with_name(target.name + ".why.txt").write_text(f"{exc}\n", encoding="utf-8")
                continue
            for correction in corrections:
                row = rows[correction.sha256]
                fields, problems = unpack(row["fields"])
                for name, value in correction.fields.items():
                    fields[name] = (value, 1.0, "reviewer")
                month = dt.date.fromisoformat(row["claim_month"] + "-01")
                doc = Doc(
                    file=row["file"],
                    sha256=correction.sha256,
                    type=row["doc_type"],
                    fields=fields,
                    problems=problems,
                    employee=row["employee"],
                    category=row["category"],
                    claimed_amount=None,
                    claim_month=month,
                )
                evaluate(doc, config)
                if correction.verdict == "pass":  # the reviewer's approval overrides every rule
                    doc.verdicts = {"reviewer": RuleResult("pass", correction.note or "approved by the reviewer")}
                elif correction.verdict == "fail":
                    doc.verdicts["reviewer"] = RuleResult("fail", correction.note or "rejected by the reviewer")
                changed = ", ".join(f"{k}={v}" for k, v in correction.fields.items())
                ctx.log.info("expenses: reviewer corrected %s: %s", row["file"], changed or correction.verdict)
                if not ctx.dry_run:
                    store.save(
                        sha256=correction.sha256,
                        file=row["file"],
                        employee=row["employee"],
                        category=row["category"],
                        claim_month=row["claim_month"],
                        doc_type=row["doc_type"],
                        invoice_key=invoice_key(fields) if row["doc_type"] == "fapiao" else None,
                        receipt_key=receipt_key(fields) if row["doc_type"] == "receipt" else None,
                        fields=pack(fields, problems),
                        verdict=doc.verdict,
                        run_id=ctx.run_id,
                        status="done",
                    )
                docs.append(doc)
            applied.append(path)
        return docs, applied

"""Bank line identity: no made-up line ids, and the parts of a key kept so a reload reproduces it.

Revision ID: 0002
Revises: 0001

Up to 0001 an MT940 line without a bank reference got the id ``{:20:}-{n}`` and a camt entry
without ``AcctSvcrRef``/``NtryRef`` got ``{n}``. Banks that write the same ``:20:`` in every
statement (ABN AMRO) made the second statement's lines look "already imported", and ``n`` repeats
in every camt file. Such lines are now keyed by their content plus their rank among identical
lines of the statement (``occurrence``), like Chinese exports without a 流水号 always were.

This revision adds the statement's ``currency`` (one 余额调节表 per account and currency), and
``balance_after`` and ``occurrence`` (what the content key is built from) and
re-keys the lines that carried a made-up id, rewriting the bank keys inside stored matches (and
the match ids built from them) so reviewers' decisions stay attached. The key formula is spelled
out here, as it was when this revision was written.
"""

from __future__ import annotations

import hashlib
import json
import re

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _content_key(row: sa.RowMapping, occurrence: int) -> str:
    account = row["account"] or ""
    raw = "|".join(
        [
            account,
            row["booking_date"].isoformat(),
            row["amount"],
            row["counterparty_account"] or "",
            row["reference"] or "",
            row["purpose"] or "",
            "",  # no balance was stored for these lines
            str(occurrence),
        ]
    )
    return f"{account}|h{hashlib.sha1(raw.encode()).hexdigest()[:16]}"


_CONTENT = ("booking_date", "amount", "counterparty_account", "reference", "purpose")


def _made_up(fmt: str, statement_id: str, bank_line_id: str) -> int | None:
    """The ``n`` of a made-up id, or None when the id came from the bank."""
    if fmt in ("mt940", "mt942"):
        ref = (statement_id or "").split("/")[0]
        m = re.fullmatch(re.escape(ref) + r"-(\d+)", bank_line_id or "")
        return int(m.group(1)) if m else None
    if fmt.startswith("camt") and re.fullmatch(r"\d{1,6}", bank_line_id or ""):
        return int(bank_line_id)
    return None


def _match_id(bank_keys: list[str], ledger_ids: list[str]) -> str:
    raw = json.dumps([sorted(bank_keys), sorted(ledger_ids)], ensure_ascii=False)
    return hashlib.sha1(raw.encode()).hexdigest()[:16]


def upgrade() -> None:
    with op.batch_alter_table("reconcile_bank_lines") as table:
        table.add_column(sa.Column("balance_after", sa.String(32)))
        table.add_column(sa.Column("occurrence", sa.Integer))
    with op.batch_alter_table("reconcile_statements") as table:
        table.add_column(sa.Column("currency", sa.String(8)))  # one 余额调节表 per account and currency
    conn = op.get_bind()
    meta = sa.MetaData()
    lines = sa.Table("reconcile_bank_lines", meta, autoload_with=conn)
    statements = sa.Table("reconcile_statements", meta, autoload_with=conn)
    matches = sa.Table("reconcile_matches", meta, autoload_with=conn)
    formats = {
        r.digest: (r.format or "", r.statement_id or "")
        for r in conn.execute(sa.select(statements.c.digest, statements.c.format, statements.c.statement_id))
    }
    by_statement: dict[str, list[tuple[int, sa.RowMapping]]] = {}
    for row in conn.execute(sa.select(lines)).mappings():
        fmt, sid = formats.get(row["digest"] or "", ("", ""))
        n = _made_up(fmt, sid, row["bank_line_id"] or "")
        if n is not None:
            by_statement.setdefault(row["digest"], []).append((n, row))
    renamed: dict[str, str] = {}
    for rows in by_statement.values():
        seen: dict[tuple[str, ...], int] = {}
        for _, row in sorted(rows, key=lambda item: item[0]):
            content = tuple(
                str(row[c] or "") for c in ("booking_date", "amount", "counterparty_account", "reference", "purpose")
            )
            occurrence = seen.get(content, 0)
            seen[content] = occurrence + 1
            new = _content_key(row, occurrence)
            if new in renamed.values() or (new != row["key"] and _exists(conn, lines, new)):
                continue  # the same line already imported from another file: keep the row as it is
            renamed[row["key"]] = new
            conn.execute(
                lines.update().where(lines.c.key == row["key"]).values(key=new, bank_line_id="", occurrence=occurrence)
            )
    if not renamed:
        return
    for m in conn.execute(sa.select(matches)).mappings().all():
        keys = json.loads(m["bank_keys"] or "[]")
        if not any(k in renamed for k in keys):
            continue
        new_keys = sorted(renamed.get(k, k) for k in keys)
        ledger_ids = json.loads(m["ledger_ids"] or "[]")
        conn.execute(
            matches.update()
            .where(matches.c.id == m["id"])
            .values(id=_match_id(new_keys, ledger_ids), bank_keys=json.dumps(new_keys, ensure_ascii=False))
        )


def _exists(conn: sa.Connection, lines: sa.Table, key: str) -> bool:
    return conn.execute(sa.select(lines.c.key).where(lines.c.key == key)).first() is not None


def downgrade() -> None:
    with op.batch_alter_table("reconcile_statements") as table:
        table.drop_column("currency")
    with op.batch_alter_table("reconcile_bank_lines") as table:
        table.drop_column("occurrence")
        table.drop_column("balance_after")

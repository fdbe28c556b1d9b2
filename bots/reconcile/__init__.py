"""Bank reconciliation (银企对账): statements in, ledger in, matches and exceptions out.

    bot.py        the Reconcile bot (params, config, run)
    matching.py   the indexed matching cascade
    names.py      Chinese company-name normalisation
    ledger.py     ledger entries from Excel or SQL
    state.py      imported statements, lines and matches in Backroom's database
    report.py     the workbook (summary ... 余额调节表) and reading decisions back

Heavy libraries are imported inside functions, so listing bots stays fast.
"""

from __future__ import annotations

from backroom.bots.reconcile.bot import Reconcile, ReconcileConfig, ReconcileParams

__all__ = ["Reconcile", "ReconcileConfig", "ReconcileParams"]

"""The store of mailbox claims and condition evaluations (``[bots.NAME.mail]``, ``[bots.NAME.when]``).

A claim is inserted before its run is queued: of two pollers that see one message, the insert of one
fails and only the other starts the bot. Everything here is bookkeeping of triggers, never a run.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from backroom.schedules.history.engine import Store, utcnow
from backroom.schedules.history.models import ConditionState, MailClaim, Run

__all__ = ["TriggerState"]


class TriggerState(Store):
    """Mail claims and condition states on the same database as the runs."""

    # -- mail ------------------------------------------------------------------------------------
    def mail_claims(self, bot: str, keys: list[str]) -> dict[str, MailClaim]:
        """The claims of ``bot`` among ``keys`` (message keys), by key."""
        if not keys:
            return {}
        found: dict[str, MailClaim] = {}
        with self.session() as s:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                for claim in s.scalars(select(MailClaim).where(MailClaim.bot == bot, MailClaim.message_key.in_(chunk))):
                    found[claim.message_key] = claim
        return found

    def claim_mail(
        self,
        bot: str,
        key: str,
        *,
        message_id: str | None,
        folder: str,
        uidvalidity: int,
        uid: int,
        state: str = "running",
        now: dt.datetime | None = None,
    ) -> bool:
        """True the first time ``bot`` takes this message; never again, across restarts."""
        try:
            with self.session() as s, s.begin():
                s.add(
                    MailClaim(
                        bot=bot,
                        message_key=key,
                        message_id=message_id,
                        folder=folder,
                        uidvalidity=uidvalidity,
                        uid=uid,
                        state=state,
                        attempts=1 if state == "running" else 0,
                        claimed_at=now or utcnow(),
                    )
                )
            return True
        except IntegrityError:
            return False

    def retake_mail(self, bot: str, key: str, uidvalidity: int, uid: int, now: dt.datetime | None = None) -> bool:
        """Take a failed message again (compare-and-swap on its state): True when this caller won."""
        with self.session() as s, s.begin():
            result = s.execute(
                update(MailClaim)
                .where(MailClaim.bot == bot, MailClaim.message_key == key, MailClaim.state == "failed")
                .values(
                    state="running",
                    attempts=MailClaim.attempts + 1,
                    run_id=None,
                    uidvalidity=uidvalidity,
                    uid=uid,
                    claimed_at=now or utcnow(),
                    finished_at=None,
                )
            )
            return bool(result.rowcount)

    def set_mail_state(
        self, bot: str, key: str, state: str, *, run_id: str | None = None, now: dt.datetime | None = None
    ) -> None:
        values: dict[str, Any] = {"state": state}
        if run_id is not None:
            values["run_id"] = run_id
        if state in ("done", "failed"):
            values["finished_at"] = now or utcnow()
        with self.session() as s, s.begin():
            s.execute(update(MailClaim).where(MailClaim.bot == bot, MailClaim.message_key == key).values(**values))

    def last_of_chain(self, run_id: str) -> Run | None:
        """The latest run of ``run_id``'s chain of retries and requeues (the run itself when none)."""
        with self.session() as s:
            run = s.get(Run, run_id)
            seen = {run_id}
            while run is not None:
                child = s.scalars(
                    select(Run).where(Run.parent_run_id == run.id).order_by(Run.queued_at.desc()).limit(1)
                ).first()
                if child is None or child.id in seen:
                    return run
                seen.add(child.id)
                run = child
            return None

    # -- conditions ------------------------------------------------------------------------------
    def condition_state(self, bot: str) -> ConditionState | None:
        with self.session() as s:
            return s.get(ConditionState, bot)

    def condition_states(self) -> dict[str, ConditionState]:
        with self.session() as s:
            return {c.bot: c for c in s.scalars(select(ConditionState))}

    def save_condition(self, state: ConditionState) -> None:
        with self.session() as s, s.begin():
            s.merge(state)

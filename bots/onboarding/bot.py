"""The onboarding bot (入职 / 离职): accounts for new hires, and none left for leavers.

Per employee and step, idempotent and resumable: each step is keyed ``hire:NO:STEP@SYSTEM`` (or
``leave:…``) in the bot's checkpoint, and is done by first reading what the system already has, so a
re-run changes nothing and an interrupted run picks up where it stopped.

* hires: an account in every configured system (read back), the groups their position needs (the
  groups carry the queue rights), and open items for the steps a person does (badge, laptop);
* leavers, from their last working day: their open tickets go to their manager, then every account
  is disabled and read back disabled (its tokens stop working with it). A disabled account is checked
  again on every later day the leaver is listed, and disabled again if someone re-enabled it: a
  leaver's account left active is the failure this bot exists to prevent. What could not be done is
  a failed row and makes the run fail.

One work item per employee (the ``onboarding`` queue, :mod:`backroom.bots.sdk.workitems`): the run
first queues the people of its lists (key ``hire:NO:START``, and ``leave:NO:LAST_DAY@TODAY`` so a
leaver is queued again on each later day and a re-enabled account is found), then consumes the queue
one employee at a time. An employee whose steps could not be done (a disabled account in the way, a
leaver unknown to Backroom) ends business-failed and is reported without stopping the others; an
account system that is down leaves that employee's item to be retried with backoff (the runner starts
the bot again when it is due), resuming at the first step not done. A re-run the same day queues
nothing again and so changes nothing.

Personal data from the lists (ID number, mobile) is never stored or logged; neither the items nor the
checkpoint carry them: the checkpoint keeps the login, name and manager needed to offboard the person.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from backroom.bots.onboarding.checklist import Step, write_checklist
from backroom.bots.onboarding.config import OnboardingConfig, OnboardingParams
from backroom.bots.onboarding.people import Hire, Leaver, hires_from_api, leavers_from_api, read_hires, read_leavers
from backroom.bots.sdk.bot import Bot, Result
from backroom.bots.sdk.context import RunCancelled
from backroom.bots.sdk.errors import ApplicationError, BusinessError
from backroom.bots.systems.accounts.base import AccountDirectory, NewAccount
from backroom.bots.systems.registry import backend_class

if TYPE_CHECKING:
    from backroom.bots.payslips.mailer import Mailer
    from backroom.bots.sdk.context import Context

__all__ = ["QUEUE", "Onboarding"]

#: The work-item queue of employees to onboard or offboard (the console's queue page shows it).
QUEUE = "onboarding"
#: An account system down is tried again after 60 s, then 120 s; the third failure is reported.
MAX_ATTEMPTS = 3
BACKOFF_SECONDS = 60.0
_ITEM_COUNT = {
    "done": "items_done",
    "business_failed": "items_business_failed",
    "pending": "items_retrying",
    "failed": "items_failed",
}


def _hire_payload(hire: Hire) -> dict[str, Any]:
    """What an item needs to onboard a hire: no ID number, no mobile (they are never stored)."""
    return {
        "employee_no": hire.employee_no,
        "name": hire.name,
        "department": hire.department,
        "position": hire.position,
        "start": hire.start.isoformat(),
        "manager_no": hire.manager_no,
        "email": hire.email,
        "line": hire.line,
    }


def _hire_from_payload(payload: dict[str, Any]) -> Hire:
    try:
        return Hire(
            int(payload.get("line", 0)),
            str(payload["name"]),
            str(payload["employee_no"]),
            str(payload["department"]),
            str(payload["position"]),
            dt.date.fromisoformat(str(payload["start"])),
            str(payload.get("manager_no", "")),
            str(payload["email"]),
        )
    except (KeyError, ValueError) as exc:
        raise BusinessError(f"the item does not describe a hire: {exc}") from None


class _Systems:
    """The account directories and the mailer, opened on the first item that needs them, closed at the end."""

    def __init__(self, ctx: Context[OnboardingConfig], config: OnboardingConfig) -> None:
        self.ctx, self.config = ctx, config
        self._directories: dict[str, AccountDirectory] | None = None
        self._mailer: Mailer | None = None

    def directories(self) -> dict[str, AccountDirectory]:
        if self._directories is None:
            self._directories = {}
            for system in self.config.systems:
                settings = self.ctx.system(system)
                cls = backend_class("accounts", settings.kind, where=f"[systems.{system}]")
                self._directories[system] = cls(settings, self.ctx.secret)
        return self._directories

    def mailer(self) -> Mailer | None:
        if self._mailer is None and self.config.mail_system:
            from backroom.bots.payslips.mailer import Mailer

            mail = self.ctx.system(self.config.mail_system)
            self._mailer = Mailer(mail, self.ctx.secret(mail.password) if mail.password else None)
        return self._mailer

    def __enter__(self) -> _Systems:
        return self

    def __exit__(self, *exc: object) -> None:
        for directory in (self._directories or {}).values():
            directory.close()
        if self._mailer is not None:
            self._mailer.close()


class Onboarding(Bot[OnboardingParams, OnboardingConfig]):
    name = "onboarding"
    summary = "Create new hires' accounts and groups; hand over and disable leavers' accounts; a checklist workbook"
    Params = OnboardingParams
    Config = OnboardingConfig
    idempotent = True

    consumes = QUEUE

    def run(self, ctx: Context[OnboardingConfig], params: OnboardingParams) -> Result:
        config = ctx.config
        today = params.today or ctx.local_now().date()
        hires = read_hires(ctx.file(params.hires)) if params.hires is not None else []
        leavers = read_leavers(ctx.file(params.leavers)) if params.leavers is not None else []
        if params.hires is None and params.leavers is None and config.hr_api is not None:
            hires, leavers = self._from_api(ctx, config)
        steps: list[Step] = []
        queued = self._produce(ctx, hires, leavers, today, steps)
        items = {"items_done": 0, "items_business_failed": 0, "items_retrying": 0, "items_failed": 0}
        with _Systems(ctx, config) as systems:
            for item in ctx.items(QUEUE, max_attempts=MAX_ATTEMPTS, backoff=BACKOFF_SECONDS):
                with item:
                    self._consume(ctx, config, systems, item.payload, today, item.attempt, steps)
                items[_ITEM_COUNT.get(item.state, "items_failed")] += 1

        book = write_checklist(ctx.artifact(f"onboarding-{today:%Y-%m-%d}.xlsx"), f"{today}", steps, ctx.timezone)
        counts: dict[str, int] = {"hires": len(hires), "leavers": len(leavers), "queued": queued, **items}
        for status in ("done", "done_earlier", "failed", "open", "scheduled", "skipped", "retrying"):
            counts[status] = sum(1 for s in steps if s.status == status)
        summary = (
            f"{counts['hires']} hires, {counts['leavers']} leavers, {queued} queued: {counts['done']} steps done, "
            f"{counts['done_earlier']} done earlier, {counts['failed']} failed, {counts['open']} open for people; "
            f"{items['items_retrying']} employees to retry"
        )
        ctx.log.info("onboarding: %s", summary)
        unfinished = counts["failed"] or items["items_retrying"] or items["items_failed"]
        return Result(
            status="failed" if unfinished else "succeeded",
            summary=summary,
            counts=counts,
            outputs={"checklist": str(book)},
        )

    # -- the queue -------------------------------------------------------------------------------
    @staticmethod
    def _produce(
        ctx: Context[OnboardingConfig], hires: list[Hire], leavers: list[Leaver], today: dt.date, steps: list[Step]
    ) -> int:
        """Queue one item per employee; leavers whose last day is still ahead are rows only ("scheduled").

        Every hire is remembered first: a manager may be hired in the same batch, and a leaver's
        logins are found from it later. The items carry no ID number or mobile.
        """
        for hire in hires:
            ctx.checkpoint.set(
                f"person:{hire.employee_no}",
                {"login": hire.login, "name": hire.name, "manager": hire.manager_no},
            )
        items: list[tuple[str, dict[str, Any]]] = [
            (f"hire:{h.employee_no}:{h.start.isoformat()}", {"action": "hire", **_hire_payload(h)}) for h in hires
        ]
        for leaver in leavers:
            if leaver.last_day > today:
                person = ctx.checkpoint.get(f"person:{leaver.employee_no}") or {}
                steps.append(
                    Step(
                        leaver.employee_no,
                        person.get("name", ""),
                        "离职",
                        "accounts",
                        "*",
                        "scheduled",
                        evidence=f"last day {leaver.last_day}",
                    )
                )
                continue
            key = f"leave:{leaver.employee_no}:{leaver.last_day.isoformat()}@{today.isoformat()}"
            payload = {"action": "leave", "employee_no": leaver.employee_no, "last_day": str(leaver.last_day)}
            items.append((key, payload))
        return ctx.queue(QUEUE).put_many(items) if items else 0

    def _consume(
        self,
        ctx: Context[OnboardingConfig],
        config: OnboardingConfig,
        systems: _Systems,
        payload: dict[str, Any],
        today: dt.date,
        attempt: int,
        out: list[Step],
    ) -> None:
        """One employee's steps, added to ``out``; BusinessError when any could not be done (the item is reported).

        Any other error (an account system down) is the item's to retry: it stands on the checklist
        as ``retrying`` (or ``failed`` on the last attempt) and goes on to :class:`WorkItem`.
        """
        ctx.raise_if_cancelled()
        number = str(payload.get("employee_no", ""))
        kind = "入职" if payload.get("action") == "hire" else "离职"
        try:
            if payload.get("action") == "hire":
                hire = _hire_from_payload(payload)
                steps = self._hire(ctx, config, systems.directories(), hire)
                mailer = systems.mailer()
                if mailer is not None:
                    steps.append(self._welcome(ctx, config, hire, mailer))
            elif payload.get("action") == "leave":
                leaver = Leaver(0, number, dt.date.fromisoformat(payload["last_day"]))
                steps = self._leave(ctx, config, systems.directories(), leaver, today)
            else:
                raise BusinessError(f"not an onboarding item: action {payload.get('action')!r}")
        except (BusinessError, RunCancelled):
            raise
        except Exception as exc:  # an account system down: the item is retried, and the checklist says so
            status = "failed" if attempt >= MAX_ATTEMPTS else "retrying"
            evidence = f"{type(exc).__name__}: {exc} (attempt {attempt} of {MAX_ATTEMPTS})"
            out.append(Step(number, str(payload.get("name", "")), kind, "*", "*", status, ctx.now(), evidence))
            ctx.log.warning("onboarding: %s attempt %d failed: %s", number, attempt, exc)
            raise
        out.extend(steps)
        failed = [s for s in steps if s.status == "failed"]
        if failed:
            raise BusinessError("; ".join(f"{s.step}@{s.system}: {s.evidence}" for s in failed))

    # -- hires -----------------------------------------------------------------------------------
    def _hire(
        self,
        ctx: Context[OnboardingConfig],
        config: OnboardingConfig,
        directories: dict[str, AccountDirectory],
        hire: Hire,
    ) -> list[Step]:
        out: list[Step] = []
        position = config.positions.get(hire.position)

        def step(name: str, system: str, action: Any) -> None:
            key = f"hire:{hire.employee_no}:{name}@{system}"
            out.append(self._keyed(ctx, key, hire.employee_no, hire.name, "入职", name, system, action))

        for system, directory in directories.items():

            def account(directory: AccountDirectory = directory) -> tuple[str, str]:
                found = directory.find(hire.login)
                if found is not None and not found.disabled:
                    return "done", f"account {found.login} exists (id {found.id})"
                if found is not None:
                    raise BusinessError(f"account {found.login} exists but is disabled: a returning employee?")
                made = directory.create(NewAccount(hire.login, hire.email, hire.name, hire.department))
                return "done", f"account {made.login} created (id {made.id}), read back"

            step("account", system, account)
            groups = position.groups.get(system, []) if position else []

            def membership(directory: AccountDirectory = directory, groups: list[str] = groups) -> tuple[str, str]:
                found = directory.find(hire.login)
                if found is not None and set(groups) <= found.groups:
                    return "done", f"member of {', '.join(sorted(groups))}"
                made = directory.add_to_groups(hire.login, groups)
                return (
                    "done",
                    f"added to {', '.join(sorted(groups))}; memberships read back: {', '.join(sorted(made.groups))}",
                )

            if groups:
                step("groups", system, membership)
            else:
                out.append(
                    Step(
                        hire.employee_no,
                        hire.name,
                        "入职",
                        "groups",
                        system,
                        "skipped",
                        evidence=f"position {hire.position!r} lists none",
                    )
                )
        for human in config.human_steps:
            if human.on == "hire":
                out.append(Step(hire.employee_no, hire.name, "入职", human.step, "-", "open", role=human.role))
        return out

    @staticmethod
    def _from_api(ctx: Context[OnboardingConfig], config: OnboardingConfig) -> tuple[list[Hire], list[Leaver]]:
        api = config.hr_api
        assert api is not None
        with ctx.http(api.system) as client:

            def fetch(path: str) -> object:
                response = client.get(path)
                if response.status_code != 200:
                    raise ApplicationError(f"HR system {api.system}: GET {path} answered HTTP {response.status_code}")
                try:
                    return response.json()
                except ValueError:
                    raise ApplicationError(f"HR system {api.system}: GET {path} did not answer JSON") from None

            hires = hires_from_api(f"{api.system}{api.hires_path}", fetch(api.hires_path))
            leavers = (
                leavers_from_api(f"{api.system}{api.leavers_path}", fetch(api.leavers_path)) if api.leavers_path else []
            )
        return hires, leavers

    # -- the welcome pack ------------------------------------------------------------------------
    def _welcome(self, ctx: Context[OnboardingConfig], config: OnboardingConfig, hire: Hire, mailer: Mailer) -> Step:
        """The welcome mail, once: keyed ``sending`` before it leaves, ``done`` on the server's 250.

        It carries the first-login link, never a password. A ``sending`` left by an interrupted run
        may have been delivered, so it is reported for a person instead of being sent again.
        """
        from email.message import EmailMessage

        key = f"hire:{hire.employee_no}:welcome@{config.mail_system}"
        earlier = ctx.checkpoint.get(key)
        base = Step(hire.employee_no, hire.name, "入职", "welcome", str(config.mail_system), "")
        if earlier is not None and earlier.get("status") == "done":
            base.status, base.at, base.evidence = (
                "done_earlier",
                dt.datetime.fromisoformat(earlier["at"]),
                earlier["evidence"],
            )
            return base
        if earlier is not None and earlier.get("status") == "sending":
            base.status, base.evidence = (
                "failed",
                "an earlier send may have been delivered; confirm before sending again",
            )
            return base
        message = EmailMessage()
        message["From"] = config.sender
        message["To"] = hire.email
        message["Subject"] = f"欢迎加入{config.company}"
        link = config.first_login_url.format(login=hire.login)
        message.set_content(
            f"{hire.name}，您好：\n\n欢迎加入{config.company}！您的账号是 {hire.login}。\n"
            f"请在入职当天（{hire.start:%Y-%m-%d}）通过下面的链接设置密码并首次登录：\n{link}\n\n人力资源部\n"
        )
        at = ctx.now()
        ctx.checkpoint.set(key, {"status": "sending", "at": at.isoformat()})
        outcome = mailer.send(message, hire.email)
        if outcome.status == "sent":
            evidence = "welcome mail accepted by the server (250)"
            ctx.checkpoint.set(key, {"status": "done", "at": at.isoformat(), "evidence": evidence})
            base.status, base.at, base.evidence = "done", at, evidence
        elif outcome.status == "failed":
            ctx.checkpoint.delete(key)  # refused before the server took it: the next run sends it
            base.status, base.at, base.evidence = "failed", at, outcome.detail
        else:
            base.status, base.at, base.evidence = "failed", at, f"{outcome.detail}; may have been delivered"
        return base

    # -- leavers ---------------------------------------------------------------------------------
    def _leave(
        self,
        ctx: Context[OnboardingConfig],
        config: OnboardingConfig,
        directories: dict[str, AccountDirectory],
        leaver: Leaver,
        today: dt.date,
    ) -> list[Step]:
        person = ctx.checkpoint.get(f"person:{leaver.employee_no}")
        if person is None:
            return [
                Step(
                    leaver.employee_no,
                    "",
                    "离职",
                    "accounts",
                    "*",
                    "failed",
                    evidence="not onboarded by Backroom: no record of this employee's logins; disable by hand",
                )
            ]
        name, login = person["name"], person["login"]
        if leaver.last_day > today:
            return [
                Step(
                    leaver.employee_no,
                    name,
                    "离职",
                    "accounts",
                    "*",
                    "scheduled",
                    evidence=f"last day {leaver.last_day}",
                )
            ]
        manager = ctx.checkpoint.get(f"person:{person.get('manager')}") if person.get("manager") else None
        out: list[Step] = []
        for system, directory in directories.items():

            def handover(directory: AccountDirectory = directory) -> tuple[str, str]:
                tickets = directory.open_work(login)
                if not tickets:
                    return "done", "no open tickets"
                if manager is None:
                    raise BusinessError(f"{len(tickets)} open tickets, and no manager account known to hand them to")
                moved = [f"{t}→{directory.reassign(t, manager['login'])}" for t in tickets]
                return "done", "reassigned " + ", ".join(moved)

            out.append(
                self._keyed(
                    ctx,
                    f"leave:{leaver.employee_no}:handover@{system}",
                    leaver.employee_no,
                    name,
                    "离职",
                    "handover",
                    system,
                    handover,
                )
            )

            def disable(directory: AccountDirectory = directory) -> tuple[str, str]:
                found = directory.find(login)
                if found is None:
                    return "done", "no account"
                if found.disabled:
                    return "done", f"account {login} disabled (read back)"
                directory.disable(login)
                return "done", f"account {login} disabled, read back Disabled=1"

            key = f"leave:{leaver.employee_no}:disable@{system}"
            earlier = ctx.checkpoint.get(key)
            if earlier is not None and earlier.get("status") == "done":
                found = directory.find(login)  # a security control: checked again on every run
                if found is None or found.disabled:
                    out.append(
                        Step(
                            leaver.employee_no,
                            name,
                            "离职",
                            "disable",
                            system,
                            "done_earlier",
                            dt.datetime.fromisoformat(earlier["at"]),
                            earlier.get("evidence", ""),
                        )
                    )
                    continue
                ctx.log.warning(
                    "onboarding: leaver %s was re-enabled in %s; disabling again", leaver.employee_no, system
                )
                ctx.checkpoint.delete(key)
            out.append(self._keyed(ctx, key, leaver.employee_no, name, "离职", "disable", system, disable))
        for human in config.human_steps:
            if human.on == "leave":
                out.append(Step(leaver.employee_no, name, "离职", human.step, "-", "open", role=human.role))
        return out

    # -- one keyed step --------------------------------------------------------------------------
    def _keyed(
        self,
        ctx: Context[OnboardingConfig],
        key: str,
        number: str,
        name: str,
        kind: str,
        step: str,
        system: str,
        action: Any,
    ) -> Step:
        earlier = ctx.checkpoint.get(key)
        if earlier is not None and earlier.get("status") == "done":
            return Step(
                number,
                name,
                kind,
                step,
                system,
                "done_earlier",
                dt.datetime.fromisoformat(earlier["at"]),
                earlier.get("evidence", ""),
            )
        at = ctx.now()
        try:
            status, evidence = action()
        except BusinessError as exc:
            ctx.log.warning("onboarding: %s %s in %s failed: %s", number, step, system, exc)
            return Step(number, name, kind, step, system, "failed", at, str(exc))
        ctx.checkpoint.set(key, {"status": status, "at": at.isoformat(), "evidence": evidence})
        return Step(number, name, kind, step, system, status, at, evidence)

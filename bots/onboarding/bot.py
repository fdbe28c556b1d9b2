"""The onboarding bot (入职 / 离职): accounts for new hires, and none left for leavers.

Per employee and step, idempotent and resumable: each step is keyed ``hire:NO:STEP@SYSTEM`` (or
``leave:…``) in the bot's checkpoint, and is done by first reading what the system already has, so a
re-run changes nothing and an interrupted run picks up where it stopped.

* hires: an account in every configured system (read back), the groups their position needs (the
  groups carry the queue rights), and open items for the steps a person does (badge, laptop);
* leavers, from their last working day: their open tickets go to their manager, then every account
  is disabled and read back disabled (its tokens stop working with it). A disabled account is checked
  again on every later run and disabled again if someone re-enabled it: a leaver's account left
  active is the failure this bot exists to prevent. What could not be done is a failed row and makes
  the run fail.

Personal data from the lists (ID number, mobile) is never stored or logged; the checkpoint keeps the
login, name and manager needed to offboard the person later.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from backroom.bots.onboarding.checklist import Step, write_checklist
from backroom.bots.onboarding.config import OnboardingConfig, OnboardingParams
from backroom.bots.onboarding.people import Hire, Leaver, hires_from_api, leavers_from_api, read_hires, read_leavers
from backroom.bots.sdk.bot import Bot, Result
from backroom.bots.sdk.errors import ApplicationError, BusinessError
from backroom.bots.systems.accounts.base import AccountDirectory, NewAccount
from backroom.bots.systems.registry import backend_class

if TYPE_CHECKING:
    from backroom.bots.payslips.mailer import Mailer
    from backroom.bots.sdk.context import Context

__all__ = ["Onboarding"]


class Onboarding(Bot[OnboardingParams, OnboardingConfig]):
    name = "onboarding"
    summary = "Create new hires' accounts and groups; hand over and disable leavers' accounts; a checklist workbook"
    Params = OnboardingParams
    Config = OnboardingConfig
    idempotent = True

    def run(self, ctx: Context[OnboardingConfig], params: OnboardingParams) -> Result:
        config = ctx.config
        today = params.today or ctx.local_now().date()
        hires = read_hires(ctx.file(params.hires)) if params.hires is not None else []
        leavers = read_leavers(ctx.file(params.leavers)) if params.leavers is not None else []
        if params.hires is None and params.leavers is None and config.hr_api is not None:
            hires, leavers = self._from_api(ctx, config)
        directories: dict[str, AccountDirectory] = {}
        steps: list[Step] = []
        mailer: Mailer | None = None
        try:
            if config.mail_system and hires:
                from backroom.bots.payslips.mailer import Mailer

                mail = ctx.system(config.mail_system)
                mailer = Mailer(mail, ctx.secret(mail.password) if mail.password else None)
            for system in config.systems:
                settings = ctx.system(system)
                cls = backend_class("accounts", settings.kind, where=f"[systems.{system}]")
                directories[system] = cls(settings, ctx.secret)
            for hire in hires:  # remember every hire first: a manager may be hired in the same batch
                ctx.checkpoint.set(
                    f"person:{hire.employee_no}",
                    {"login": hire.login, "name": hire.name, "manager": hire.manager_no},
                )
            for hire in hires:
                ctx.raise_if_cancelled()
                steps += self._hire(ctx, config, directories, hire)
                if mailer is not None:
                    steps.append(self._welcome(ctx, config, hire, mailer))
            for leaver in leavers:
                ctx.raise_if_cancelled()
                steps += self._leave(ctx, config, directories, leaver, today)
        finally:
            for directory in directories.values():
                directory.close()
            if mailer is not None:
                mailer.close()

        book = write_checklist(ctx.artifact(f"onboarding-{today:%Y-%m-%d}.xlsx"), f"{today}", steps, ctx.timezone)
        counts: dict[str, int] = {"hires": len(hires), "leavers": len(leavers)}
        for status in ("done", "done_earlier", "failed", "open", "scheduled", "skipped"):
            counts[status] = sum(1 for s in steps if s.status == status)
        summary = (
            f"{counts['hires']} hires, {counts['leavers']} leavers: {counts['done']} steps done, "
            f"{counts['done_earlier']} done earlier, {counts['failed']} failed, {counts['open']} open for people"
        )
        ctx.log.info("onboarding: %s", summary)
        return Result(
            status="failed" if counts["failed"] else "succeeded",
            summary=summary,
            counts=counts,
            outputs={"checklist": str(book)},
        )

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

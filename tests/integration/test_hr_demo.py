"""The HR bots' demo parts work on a fresh folder, through each bot's own config model."""

from __future__ import annotations

from pathlib import Path

from backroom.bots.payslips import Payslips, PayslipsConfig, PayslipsParams
from backroom.bots.profiles import Profiles, ProfilesConfig, ProfilesParams
from backroom.bots.sdk.paths import ROOT_NAMES, Roots
from backroom.bots.sdk.testing import make_context, make_params


def _roots(tmp_path: Path, inbox: str) -> Roots:
    return Roots({**dict.fromkeys(ROOT_NAMES, tmp_path), "inbox": Path(inbox)})


def test_the_payslips_demo_sends_every_payslip(tmp_path: Path) -> None:
    from backroom.sandbox.demo_payslips import prepare

    part = prepare(tmp_path / "demo")
    try:
        config = PayslipsConfig.model_validate(part.bot_table["config"])
        ctx = make_context(
            tmp_path,
            "payslips",
            systems=part.systems,
            config=config,
            roots=_roots(tmp_path, part.bot_table["roots"]["inbox"]),
        )
        result = Payslips().run(ctx, make_params(PayslipsParams, ctx, **part.params))
        assert result.status == "succeeded", result.summary
        assert result.counts["sent"] == 12 and result.counts["check_failures"] == 0
        assert len(list((tmp_path / "demo" / "payslips" / "outbox").glob("*.eml"))) == 12
        assert part.bot_table["schedule"].startswith("cron:")
    finally:
        part.stop()


def test_the_profiles_demo_renders_every_profile(tmp_path: Path) -> None:
    from backroom.sandbox.demo_profiles import prepare

    part = prepare(tmp_path / "demo")
    config = ProfilesConfig.model_validate(part.bot_table["config"])
    ctx = make_context(tmp_path, "profiles", config=config, roots=_roots(tmp_path, part.bot_table["roots"]["inbox"]))
    result = Profiles().run(ctx, make_params(ProfilesParams, ctx, **part.params))
    assert result.counts == {"profiles": 4, "incomplete": 1}
    assert len(list(ctx.artifacts_dir.rglob("*.docx"))) == 5  # four profiles and the template
    assert len(list(ctx.artifacts_dir.rglob("*.pdf"))) == 4


def test_the_onboarding_demo_onboards_and_offboards(tmp_path: Path) -> None:
    import httpx

    from backroom.bots.onboarding import Onboarding, OnboardingConfig, OnboardingParams
    from backroom.sandbox.demo_onboarding import prepare
    from backroom.schedules.history import History

    History(f"sqlite:///{tmp_path / 'backroom.db'}")  # Backroom's database: onboarding queues its employees there
    part = prepare(tmp_path / "demo")
    try:
        config = OnboardingConfig.model_validate(part.bot_table["config"])
        ctx = make_context(
            tmp_path,
            "onboarding",
            systems=part.systems,
            config=config,
            environ=part.env,
            roots=_roots(tmp_path, part.bot_table["roots"]["inbox"]),
        )
        result = Onboarding().run(ctx, make_params(OnboardingParams, ctx, **part.params))
        assert result.status == "succeeded", result.summary
        # 3 × (account, groups, welcome) + the intern's handover and disabling
        assert result.counts["done"] == 11 and result.counts["failed"] == 0
        url = part.systems["helpdesk-accounts"]["url"]
        headers = {"Authorization": f"token {part.env['DEMO_ACCOUNTS_TOKEN']}"}
        intern = httpx.get(f"{url}/REST/2.0/user/intern@example.com", headers=headers).json()
        assert intern["Disabled"] == 1
        ticket = httpx.get(f"{url}/REST/2.0/ticket/7001", headers=headers).json()
        assert ticket["Owner"]["id"] == "lead@example.com"
        assert len(list((tmp_path / "demo" / "onboarding" / "outbox").glob("*.eml"))) == 3
    finally:
        part.stop()

"""Deterministic accounts and transactions: the same seed, account and range give the same lines."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["CENT", "BankData", "BankLine", "BankStatement"]

CENT = Decimal("0.01")


@dataclass(frozen=True)
class BankLine:
    date: dt.date
    line_id: str
    counterparty: str
    counterparty_account: str
    amount: Decimal  # signed, + money in
    purpose: str
    reference: str
    balance: Decimal


@dataclass(frozen=True)
class BankStatement:
    account: str
    holder: str
    currency: str
    start: dt.date
    end: dt.date
    opening: Decimal
    closing: Decimal
    lines: tuple[BankLine, ...]


@dataclass
class BankData:
    """Deterministic accounts and transactions. Lines exist from ``origin`` on."""

    seed: int = 42
    origin: dt.date = dt.date(2024, 1, 1)
    holder: str = "上海启航客服外包有限公司"
    accounts: tuple[tuple[str, str], ...] = (("6222020200112233445", "CNY"), ("6222020200998877665", "CNY"))
    lines_per_day: int = 6
    _companies: list[str] = field(default_factory=list, repr=False)
    _balances: dict[str, dict[dt.date, Decimal]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        from faker import Faker

        fake = Faker("zh_CN")
        fake.seed_instance(self.seed)
        seen: set[str] = set()
        while len(self._companies) < 60:
            name = fake.company()
            if name not in seen:
                seen.add(name)
                self._companies.append(name)
        self._accounts_of = {
            n: f"{random.Random(f'{self.seed}{n}').randrange(10**15, 10**16)}" for n in self._companies
        }

    def _day(self, account: str, day: dt.date) -> list[tuple[str, str, Decimal, str, str]]:
        rng = random.Random(f"{self.seed}:{account}:{day.isoformat()}")
        count = rng.randint(0, self.lines_per_day) if day.weekday() < 5 else rng.randint(0, 1)
        out = []
        for n in range(count):
            name = rng.choice(self._companies)
            incoming = rng.random() < 0.6
            amount = Decimal(rng.randint(5_000, 5_000_000)) / 100
            invoice = f"INV{day:%Y%m}{rng.randint(10000, 99999)}"
            if incoming:
                purpose = rng.choice([f"货款 {invoice}", f"服务费 发票号{invoice}", f"{invoice} 外包服务费"])
            else:
                purpose = rng.choice([f"采购付款 {invoice}", f"支付 {invoice} 设备款", "代发工资", "房租"])
                amount = -amount
            out.append((f"{day:%Y%m%d}{account[-4:]}{n:04d}", name, amount, purpose, invoice))
        return out

    def _opening(self, account: str, day: dt.date) -> Decimal:
        """Balance at the start of ``day``: walks forward from the origin, remembering each day."""
        cache = self._balances.setdefault(account, {})
        if not cache:
            cache[self.origin] = Decimal(random.Random(f"{self.seed}:{account}:open").randint(1_000_000, 9_000_000))
        if day <= self.origin:
            return cache[self.origin]
        known = max((d for d in cache if d <= day), default=self.origin)
        balance = cache[known]
        while known < day:
            balance += sum((t[2] for t in self._day(account, known)), Decimal(0))
            known += dt.timedelta(days=1)
            cache[known] = balance
        return balance

    def statement(self, account: str, start: dt.date, end: dt.date) -> BankStatement:
        if account not in dict(self.accounts):
            raise KeyError(account)
        start = max(start, self.origin)
        opening = balance = self._opening(account, start)
        lines = []
        day = start
        while day <= end:
            for line_id, name, amount, purpose, invoice in self._day(account, day):
                balance += amount
                lines.append(BankLine(day, line_id, name, self._accounts_of[name], amount, purpose, invoice, balance))
            day += dt.timedelta(days=1)
        return BankStatement(
            account, self.holder, dict(self.accounts)[account], start, end, opening, balance, tuple(lines)
        )


# -- writers ----------------------------------------------------------------------------------------

"""Field mapping and validation: each transform converts, or names the field and what was expected."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from backroom.bots.migrate.config import Config, FieldSpec
from backroom.bots.migrate.proof import canonical, checksum, decode_position, encode_position
from backroom.bots.migrate.transforms import FieldError, Mapper


def mapper(**fields: object) -> Mapper:
    return Mapper({k: FieldSpec.model_validate(v) for k, v in fields.items()})


def test_types_maps_phones_times_and_concat() -> None:
    m = mapper(
        amount={"from": "金额", "type": "decimal"},
        n={"from": "n", "type": "int"},
        ok={"from": "ok", "type": "bool"},
        day={"from": "day", "type": "date"},
        at={"from": "at", "type": "datetime", "tz": "Asia/Shanghai"},
        phone={"from": "tel", "phone": "CN"},
        national={"from": "tel", "phone": "CN", "phone_format": "national"},
        status={"from": "s", "map": {"1": "已缴", "0": "未缴"}},
        full={"concat": ["省", "市"], "sep": " "},
        code={"from": "code", "upper": True},
    )
    out = m.map(
        {
            "金额": "¥1,234.50",
            "n": "12",
            "ok": "是",
            "day": "2024年3月5日",
            "at": "2024-03-05 08:00:00",
            "tel": "138-0013-8000",
            "s": 1,
            "省": "广东",
            "市": " 深圳 ",
            "code": "ab",
        }
    )
    assert out["amount"] == Decimal("1234.50") and isinstance(out["amount"], Decimal)
    assert out["n"] == 12 and out["ok"] is True and out["day"] == dt.date(2024, 3, 5)
    assert out["at"] == dt.datetime(2024, 3, 5, 0, 0, tzinfo=dt.UTC)
    assert out["phone"] == "+8613800138000" and out["national"] == "13800138000"
    assert out["status"] == "已缴" and out["full"] == "广东 深圳" and out["code"] == "AB"


@pytest.mark.parametrize(
    ("spec", "value", "message"),
    [
        ({"from": "v", "type": "decimal"}, "12元x", "amount: type decimal: '12元x' is not a number"),
        ({"from": "v", "type": "int"}, "1.5", "amount: type int: '1.5' is not a whole number"),
        ({"from": "v", "phone": "CN"}, "12345", "amount: phone: '12345' is not a valid CN phone number"),
        ({"from": "v", "map": {"a": 1}}, "b", "amount: value map: 'b' is not one of ['a']"),
        ({"from": "v", "type": "decimal", "min": 0}, "-1", "amount: -1 is below the minimum 0"),
        ({"from": "v", "required": True}, "  ", "amount: is required but source 'v' is empty"),
        ({"from": "v", "pattern": r"C\d{6}"}, "C12", "amount: 'C12' does not match"),
        ({"from": "v", "max_length": 3}, "abcd", "amount: 4 characters, at most 3 allowed"),
    ],
)
def test_bad_values_name_the_field_and_the_expectation(spec: dict, value: str, message: str) -> None:
    with pytest.raises(FieldError) as err:
        mapper(amount=spec).map({"v": value})
    assert err.value.field == "amount" and str(err.value).startswith(message)


def test_defaults_and_empty_values() -> None:
    m = mapper(a={"from": "a", "default": "x"}, b={"from": "b", "type": "int"}, c={"const": "固定"})
    assert m.map({"a": "", "b": ""}) == {"a": "x", "b": None, "c": "固定"}


def test_config_errors_are_caught_at_load_time() -> None:
    base = {
        "source": {"kind": "sql", "system": "db", "table": "t"},
        "target": {"kind": "sql", "system": "db", "table": "u"},
    }
    with pytest.raises(ValidationError, match="key field"):
        Config.model_validate({"migrations": {"m": {**base, "key": "id", "fields": {"x": "x"}}}})
    with pytest.raises(ValidationError, match="exactly one of 'table' or 'query'"):
        Config.model_validate(
            {
                "migrations": {
                    "m": {**base, "source": {"kind": "sql", "system": "db"}, "key": "id", "fields": {"id": "id"}}
                }
            }
        )
    with pytest.raises(ValidationError, match="mirror"):
        Config.model_validate(
            {
                "migrations": {
                    "m": {
                        **base,
                        "target": {"kind": "form", "system": "crm"},
                        "mode": "mirror",
                        "key": "id",
                        "fields": {"id": "id"},
                    }
                }
            }
        )
    with pytest.raises(ValidationError, match="type"):
        Config.model_validate(
            {"migrations": {"m": {**base, "key": "id", "fields": {"id": {"from": "id", "type": "money"}}}}}
        )


def test_canonical_values_and_checksums() -> None:
    assert canonical(Decimal("12.50")) == canonical(Decimal("12.5")) == "12.5"
    assert canonical(Decimal("100")) == canonical(Decimal("1E+2")) == "100"
    shanghai = dt.timezone(dt.timedelta(hours=8))
    assert canonical(dt.datetime(2024, 1, 1, 8, tzinfo=shanghai)) == canonical(dt.datetime(2024, 1, 1, 0))
    rows = [{"id": 1, "a": Decimal("1.0")}, {"id": 2, "a": None}]
    assert checksum(rows, ["id", "a"], ["id"]) == checksum(list(reversed(rows)), ["id", "a"], ["id"])
    assert checksum(rows, ["id", "a"], ["id"]) != checksum([rows[0], {"id": 2, "a": ""}], ["id", "a"], ["id"])
    pos = [dt.datetime(2024, 1, 1, tzinfo=dt.UTC), Decimal("1.5"), dt.date(2024, 2, 1), 7, "x"]
    assert decode_position(encode_position(pos)) == pos


def test_unknown_migration_name_lists_the_known_ones(tmp_path: Path) -> None:
    from backroom.bots.migrate import Migrate, MigrateParams
    from backroom.bots.sdk.errors import ConfigError
    from backroom.bots.sdk.testing import make_context

    cfg = Config.model_validate(
        {
            "migrations": {
                "a": {
                    "source": {"kind": "sql", "system": "db", "table": "t"},
                    "target": {"kind": "sql", "system": "db", "table": "u"},
                    "key": "id",
                    "fields": {"id": "id"},
                }
            }
        }
    )
    ctx = make_context(tmp_path, "migrate", config=cfg)
    with pytest.raises(ConfigError, match=r"no migration named 'nope' .* \(known: a\)"):
        Migrate().run(ctx, MigrateParams(name="nope"))

"""Pure parts of the console: language negotiation, form generation and conversion, upload names."""

from __future__ import annotations

from pathlib import Path

from backroom.schedules.console.auth import is_loopback, role_allows
from backroom.schedules.console.forms import form_fields, form_to_params, safe_upload_name, save_upload_target
from backroom.schedules.console.i18n import Translator, negotiate
from tests.fixtures.console import TickerParams


def test_negotiate_language() -> None:
    assert negotiate("zh-CN,zh;q=0.9,en;q=0.8") == "zh-CN"
    assert negotiate("en-US,en;q=0.9,zh-CN;q=0.8") == "en"
    assert negotiate("fr-FR, zh-TW;q=0.7, en;q=0.3") == "zh-CN"
    assert negotiate(None) == "en" and negotiate("de") == "en"
    assert negotiate("zh-CN", cookie="en") == "en"
    assert negotiate("en;q=0,zh") == "zh-CN" and negotiate("en;q=abc,zh") == "en"
    assert Translator("zh-CN")("succeeded") == "成功" and Translator("en")("succeeded") == "succeeded"
    assert Translator("zh-CN")("a phrase nobody translated") == "a phrase nobody translated"


def test_form_fields_and_conversion() -> None:
    fields = {f.name: f for f in form_fields(TickerParams.model_json_schema())}
    assert fields["report_date"].widget == "date" and fields["report_date"].nullable
    assert fields["mode"].widget == "select" and fields["mode"].options == ["quick", "thorough"]
    assert fields["shout"].widget == "checkbox" and fields["steps"].widget == "number"
    assert fields["steps"].minimum == 1 and fields["steps"].maximum == 1000 and fields["steps"].step == "1"
    assert fields["statement_file"].widget == "file" and fields["label"].widget == "text"
    params, errors = form_to_params(
        list(fields.values()),
        {"steps": "12", "interval": "0.5", "report_date": "", "mode": "quick", "shout": "true", "label": " a "},
    )
    assert errors == {}
    assert params == {"steps": 12, "interval": 0.5, "mode": "quick", "shout": True, "label": "a"}
    params, _ = form_to_params(list(fields.values()), {"steps": "twelve"})
    assert params["steps"] == "twelve" and params["shout"] is False  # the model rejects it, with its words
    assert TickerParams.model_validate(form_to_params(list(fields.values()), {"interval": "1"})[0]).interval == 1


def test_json_fields_report_bad_json() -> None:
    schema = {"properties": {"queues": {"type": "array", "items": {"type": "string"}}}, "type": "object"}
    fields = form_fields(schema)
    assert fields[0].widget == "json"
    assert form_to_params(fields, {"queues": '["a","b"]'}) == ({"queues": ["a", "b"]}, {})
    _, errors = form_to_params(fields, {"queues": "[a"})
    assert errors["queues"].startswith("not valid JSON")


def test_upload_names_are_confined(tmp_path: Path) -> None:
    assert safe_upload_name("../../etc/passwd") == "passwd"
    assert safe_upload_name("C:\\Users\\x\\对账 单.csv") == "对账_单.csv"
    assert safe_upload_name("..") == "upload" and safe_upload_name(".bashrc") == "bashrc"
    first = save_upload_target(tmp_path / "inbox", "a.csv")
    first.write_text("1")
    assert save_upload_target(tmp_path / "inbox", "a.csv").name == "a-2.csv"


def test_roles_and_loopback() -> None:
    assert role_allows("admin", "operator") and role_allows("operator", "viewer")
    assert not role_allows("viewer", "operator") and not role_allows("operator", "admin")
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.8.0.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1") and not is_loopback("example.com")


def test_example_console_config_is_valid_and_may_bind_beyond_loopback() -> None:
    import tomllib

    from backroom.schedules.console import check_bind
    from backroom.schedules.settings import parse_settings

    path = Path(__file__).resolve().parents[2] / "config/examples/console.toml"
    settings = parse_settings(tomllib.loads(path.read_text(encoding="utf-8")), path)
    assert {u.role for u in settings.console.users} == {"admin", "operator", "viewer"}
    check_bind(settings.console.host, settings)


def test_optional_paths_are_uploads_and_folders_are_text() -> None:
    import datetime as dt
    from pathlib import Path as P

    from backroom.bots import Params

    class LikeReconcile(Params):
        statement: P | None = None
        inbox: P = P("var/inbox/expenses")
        start: dt.date | None = None
        sources: list[str] = []

    fields = {f.name: f for f in form_fields(LikeReconcile.model_json_schema())}
    assert fields["statement"].widget == "file" and fields["inbox"].widget == "text"
    assert fields["start"].widget == "date" and fields["sources"].widget == "json"
    params, _ = form_to_params(
        list(fields.values()), {"statement__pick": "march/s.csv", "statement__path": "/srv/in/s.csv", "inbox": "x"}
    )
    assert params == {"statement": "march/s.csv", "inbox": "x"}  # a picked inbox file; no free server path
    assert LikeReconcile.model_validate(params).statement == P("march/s.csv")

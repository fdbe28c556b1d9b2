"""The demo writes a real config file; what it writes must read back as the same data."""

from __future__ import annotations

import tomllib

from backroom.sandbox.demo import write_toml


def test_written_toml_reads_back_identically() -> None:
    data = {
        "timezone": "Asia/Shanghai",
        "systems": {"crm": {"kind": "browser", "url": "http://127.0.0.1:1", "options": {"客户": '名称 "引号"'}}},
        "bots": {
            "migrate": {
                "schedule": "cron: 0 1 * * *",
                "config": {"migrations": {"bills_to_crm": {"mapping": [{"from": "a", "to": "b"}], "ratio": 0.05}}},
                "params": {"name": "bills_to_crm", "dry": False},
            }
        },
    }
    assert tomllib.loads(write_toml(data)) == data


def test_none_values_are_left_out() -> None:
    assert tomllib.loads(write_toml({"a": None, "b": {"c": None, "d": 1}})) == {"b": {"d": 1}}


def test_every_character_a_string_may_hold_reads_back() -> None:
    """Tabs, control characters and line separators broke the old three-escape writer."""
    text = 'tab\there, bell\x07, cr\r, nul-free \u2028 line sep, quote " and back\\slash, 中文'
    assert tomllib.loads(write_toml({"s": {"v": text}})) == {"s": {"v": text}}


def test_paths_are_written_as_text() -> None:
    from pathlib import Path

    assert tomllib.loads(write_toml({"root": Path("/var/backroom")})) == {"root": "/var/backroom"}

"""The metrics bot's configuration: the shipped example validates; mistakes are named."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from backroom.bots.metrics import Config, Metrics, Params
from backroom.bots.sdk.errors import ConfigError
from backroom.bots.sdk.testing import make_context
from backroom.bots.systems.metric_sources import validate_options

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "examples" / "metrics.toml"


def test_example_config_validates() -> None:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    config = Config.model_validate(data["bots"]["metrics"]["config"])
    assert {s.kind for s in config.sources} == {"json", "prometheus", "sql", "files", "dashboard"}
    for source in config.sources:
        validate_options(source)
    Params.model_validate(data["bots"]["metrics"]["params"])
    assert Metrics.required_systems(config) == ["acd_api", "bi_dashboard", "prometheus"]


def test_config_mistakes_are_named(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="repeated: a"):
        Config.model_validate({"sources": [{"name": "a", "kind": "json"}, {"name": "a", "kind": "files"}]})
    with pytest.raises(ValidationError, match="secret reference"):
        Config.model_validate({"group_webhooks": [{"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"}]})
    with pytest.raises(ValidationError, match="needs 'min' or 'max'"):
        Config.model_validate({"rules": [{"kind": "threshold", "kpi": "aht"}]})
    with pytest.raises(ValidationError, match="resolution_minutes"):
        Config.model_validate({"resolution_minutes": 7})
    with pytest.raises(ConfigError, match="bad options"):
        validate_options(Config.model_validate({"sources": [{"name": "x", "kind": "sql", "options": {}}]}).sources[0])
    # a rule on an unknown metric is refused when the config is read (so `backroom check` says so)
    with pytest.raises(ValidationError, match=r"rule #1 \(robust:nps\): unknown metric 'nps'.*KPIs: offered"):
        Config.model_validate(
            {"sources": [{"name": "x", "kind": "json", "system": "s"}], "rules": [{"kind": "robust", "kpi": "nps"}]}
        )
    with pytest.raises(ConfigError, match="no sources"):
        Metrics().run(make_context(tmp_path, "metrics", config=Config()), Params())


def test_a_sites_own_layout_has_no_default() -> None:
    """A dashboard's headers and an exporter's metric names come from config, not from the sandbox."""
    from backroom.bots.systems.metric_sources import SourceConfig

    for kind, missing in (("dashboard", "fields"), ("prometheus", "queries")):
        with pytest.raises(ConfigError, match=missing):
            validate_options(SourceConfig(name="s", kind=kind, system="x", options={}))


def test_an_unknown_source_kind_names_the_known_ones() -> None:
    from backroom.bots.systems.metric_sources import SourceConfig

    with pytest.raises(ValidationError, match="unknown metric source kind 'fax'; known: dashboard, files, json"):
        SourceConfig(name="s", kind="fax")

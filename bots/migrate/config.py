"""How migrations are declared: ``[bots.migrate.config.migrations.NAME]`` in backroom.toml.

A migration is data, not code: a source, a target, the key that names a record on both sides, a
field mapping with transforms and validation, and a write mode. Everything here is validated when
the config loads (``backroom check``), so a typo fails before the night run, not during it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backroom.bots.sdk.paths import UnderRoot

__all__ = [
    "Config",
    "FieldSpec",
    "FileSource",
    "FormTarget",
    "Lookup",
    "Migration",
    "RestSource",
    "RestTarget",
    "SqlSource",
    "SqlTarget",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SqlSource(_Strict):
    """A table or query on a ``kind = "sql"`` system. ``cursor`` makes runs incremental."""

    kind: Literal["sql"] = "sql"
    system: str
    table: str | None = None
    query: str | None = None
    cursor: str | None = Field(default=None, description="updated-at or increasing-id column")

    @model_validator(mode="after")
    def _one_of(self) -> SqlSource:
        if bool(self.table) == bool(self.query):
            raise ValueError("give exactly one of 'table' or 'query'")
        return self


class RestSource(_Strict):
    """A REST collection, paged by cursor, offset, page number or ``Link`` header.

    ``cursor``: ``?cursor=...`` → ``next_cursor`` in the body. ``offset``: ``?offset=&limit=`` with the
    total in ``total_key`` (Redmine: ``total_count``). ``page``: ``?page=1,2...`` until a short page.
    ``link``: follow ``Link: <...>; rel="next"``. Nested objects are flattened to dotted columns
    (``project.name``). A pass that reads fewer records than the total the source announced fails.
    """

    kind: Literal["rest"] = "rest"
    system: str
    path: str
    items_key: str = "items"
    paging: Literal["cursor", "offset", "page", "link"] = "cursor"
    next_key: str = "next_cursor"
    cursor_param: str = "cursor"
    limit_param: str = "limit"
    offset_param: str = "offset"
    page_param: str = "page"
    total_key: str | None = Field(default="total_count", description="offset paging: the body's total")
    params: dict[str, str] = Field(default_factory=dict, description="fixed query parameters (status_id = '*')")
    since_param: str | None = Field(default="updated_since", description="query parameter for increments")
    since_format: str = Field(default="{}", description="how the since value is written, e.g. '>={}' (Redmine)")
    cursor: str | None = Field(default=None, description="record field whose maximum becomes the next 'since'")
    page_size: int = Field(default=200, ge=1)


class FileSource(_Strict):
    """Excel/CSV files in a folder; the file name is the cursor (each file is read once)."""

    kind: Literal["files"] = "files"
    folder: Annotated[str, UnderRoot("inbox")] = Field(description="relative to home; under the inbox root")
    patterns: list[str] = Field(default_factory=lambda: ["*.csv", "*.xlsx"])
    encoding: str | None = Field(default=None, description="None = detect (UTF-8, BOM, GB18030)")
    delimiter: str = ","
    sheet: str | None = None
    header_rows: int = Field(default=1, ge=1, le=5, description="rows the (merged) header spans")


class SqlTarget(_Strict):
    kind: Literal["sql"] = "sql"
    system: str
    table: str
    fast_path: bool = Field(default=True, description="PostgreSQL: COPY into staging + one INSERT..ON CONFLICT")
    pushdown: bool = Field(
        default=True,
        description="PostgreSQL → PostgreSQL: map in SQL and COPY source → staging when every field allows it",
    )


class RestTarget(_Strict):
    """Records sent one request each, concurrently under the system's rate limit.

    By key (default): ``PUT path/{key}`` ('{key}' is appended unless present).
    For applications that give records their own ids (Redmine): set ``item_path`` with ``{id}``;
    a record is created by ``POST`` to ``path`` (the collection) and later updated with
    ``update_method`` to ``item_path``, through a stored map from the source key to the target's id.
    Every write is read back (``GET item_path``) and compared field by field (``read_back`` says
    where a field is found in the answer, e.g. ``project_id = "project.id"``).
    """

    kind: Literal["rest"] = "rest"
    system: str
    path: str = Field(description="by key: collection path, '{key}' appended unless present; else the collection")
    method: Literal["PUT", "POST", "PATCH"] = "PUT"
    item_path: str | None = Field(default=None, description="e.g. '/issues/{id}.json': create-then-update mode")
    update_method: Literal["PUT", "PATCH"] = "PUT"
    envelope: str | None = Field(default=None, description="wrap the body, and unwrap answers: {'issue': {...}}")
    template: dict[str, Any] | None = Field(
        default=None, description="body template; a string '{field}' is replaced by that field's value"
    )
    id_field: str = Field(default="id", description="where the created record's id is in the (unwrapped) answer")
    find_path: str | None = Field(
        default=None,
        description="e.g. '/projects/{key}.json' or '/issues.json?cf_1={key}&status_id=*': looked up before "
        "every create, so a record created by a run killed before its id was saved is adopted, not doubled",
    )
    find_items: str | None = Field(
        default=None,
        description="find_path answers a list here (Redmine: 'issues'): none → create, one → adopt, "
        "several → reject (the target already holds duplicates)",
    )
    read_back: dict[str, str] = Field(default_factory=dict, description="field → dotted path in the read-back answer")
    compare: list[str] | None = Field(default=None, description="fields the read-back proof compares (default: all)")


class FormTarget(_Strict):
    """A web form driven through the browser, for systems with no write API (the CRM)."""

    kind: Literal["form"] = "form"
    system: str  # a form system (kind "browser"); its profile names the fields and the key
    pages: int = Field(default=3, ge=1, le=16, description="browser pages working in parallel")
    newer_by: str | None = Field(
        default=None,
        description="a field that never goes backwards (e.g. last_bill_month): older records are skipped as stale",
    )


class Lookup(_Strict):
    """Replace a value with one found in another table (``SELECT value FROM table WHERE key = ?``)."""

    system: str
    table: str
    key: str
    value: str
    required: bool = True


FieldType = Literal["str", "int", "decimal", "date", "datetime", "bool"]


class FieldSpec(_Strict):
    """One target field: where its value comes from, how it is converted and what makes it valid."""

    source: str | None = Field(default=None, alias="from")
    concat: list[str] | None = None
    sep: str = ""
    const: Any = None
    type: FieldType | None = None
    format: str | None = Field(default=None, description="strptime format for dates given as text")
    tz: str | None = Field(default=None, description="zone of naive source times; stored as UTC")
    map: dict[str, Any] | None = None
    map_default: Any = None
    map_strict: bool = Field(default=True, description="an unmapped value is a reject, not passed through")
    phone: str | None = Field(default=None, description="region (CN): normalise to E.164")
    phone_format: Literal["e164", "national"] = "e164"
    lookup: Lookup | None = None
    to_tz: str | None = Field(
        default=None,
        description="store times as this zone's wall time, without offset (targets whose column has no zone)",
    )
    round: int | None = Field(default=None, ge=0, le=18, description="decimal places, rounded half up")
    strip: bool = Field(default=True, description="trim spaces around text")
    upper: bool = False
    case: Literal["upper", "lower", "title"] | None = None
    default: Any = None
    required: bool = False
    pattern: str | None = None
    min: Any = None
    max: Any = None
    max_length: int | None = None
    choices: list[Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"from": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _has_origin(self) -> FieldSpec:
        if self.source is None and not self.concat and self.const is None:
            raise ValueError("a field needs 'from', 'concat' or 'const'")
        for zone in (self.tz, self.to_tz):
            if zone is not None:
                try:
                    ZoneInfo(zone)
                except (ZoneInfoNotFoundError, ValueError):
                    raise ValueError(f"unknown time zone {zone!r} (expected a name like 'Asia/Shanghai')") from None
        return self

    def inputs(self) -> list[str]:
        """Source columns this field reads (for schema-drift checks)."""
        return [self.source] if self.source else list(self.concat or [])


Source = Annotated[SqlSource | RestSource | FileSource, Field(discriminator="kind")]
Target = Annotated[SqlTarget | RestTarget | FormTarget, Field(discriminator="kind")]


class Migration(_Strict):
    """One named migration. ``key`` names target fields that identify a record."""

    description: str = ""
    source: Source
    target: Target
    key: list[str]
    fields: dict[str, FieldSpec]
    mode: Literal["append", "upsert", "mirror"] = "upsert"
    batch_size: int = Field(default=5000, ge=1, le=200_000)
    max_delete_ratio: float = Field(default=0.1, ge=0, le=1)
    max_reject_ratio: float = Field(default=0.05, ge=0, le=1)
    proof: bool = Field(default=True, description="read each batch back and compare checksums")
    fingerprints: bool = Field(
        default=False,
        description="PostgreSQL sources: a full re-read skips batches whose md5 matches the last successful "
        "write. This trusts Backroom's own record, not the target: rows emptied or edited in the target are "
        "not seen (verify=true always compares with the target)",
    )
    diff_samples: int = Field(default=5, ge=0, description="sample changes per field in a dry-run")
    deletion_check: Literal["count", "keys", "off"] = Field(
        default="count",
        description="SQL source and target, incremental upsert runs: how rows deleted at the source are found. "
        "'count' compares two count(*)s and compares the key sets only when they differ or rejects are "
        "pending (exact while the target holds only this migration's rows); 'keys' always compares the key "
        "sets; 'off' leaves it to full/verify runs",
    )

    @field_validator("key", mode="before")
    @classmethod
    def _key_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _key_is_mapped(self) -> Migration:
        missing = [k for k in self.key if k not in self.fields]
        if missing:
            raise ValueError(f"key field(s) {missing} are not in 'fields'")
        if self.mode == "mirror" and self.target.kind != "sql":
            raise ValueError("mode 'mirror' needs a SQL target (deletes are not sent through forms or REST)")
        return self


class Config(_Strict):
    """``[bots.migrate.config]``: the named migrations."""

    migrations: dict[str, Migration] = Field(default_factory=dict)

"""The Run-now form, generated from a bot's ``Params`` JSON schema, and its answers turned back into params.

Each property becomes one :class:`Field` with an HTML widget chosen from its schema: dates get date
pickers, enums selects, booleans checkboxes, numbers number inputs, lists and objects a JSON text
area, and a *file* parameter (a name like ``statement_file``, ``x-upload`` in its schema, or an
optional ``Path`` with no default such as ``statement: InboxPath | None = None``) an upload that is
saved into the bot's inbox root, with a picker beside it of the files already in that root. There is
no box for a free server path: a person chooses only among files inside the bot's roots, and the
runner confines whatever is sent under them again (a forged picker value is refused like any path).
The values sent back are converted only as far as HTML forces (checkbox → bool, empty → default);
validation stays with the bot's pydantic model, so the console and the CLI reject the same things.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backroom.schedules.console.schemas import MAX_JSON_DEPTH, json_depth

__all__ = [
    "PICK_SUFFIX",
    "Field",
    "form_fields",
    "form_to_params",
    "inbox_choices",
    "is_upload",
    "safe_upload_name",
    "save_upload_target",
]


#: the picker beside a file upload, of files already in the bot's inbox, is named ``<param>__pick``
PICK_SUFFIX = "__pick"
#: the picker lists at most this many files (newest first), two folder levels deep
PICK_LIMIT = 200


@dataclass
class Field:
    name: str
    label: str
    widget: str  # text | number | date | datetime-local | time | checkbox | select | json | file
    required: bool
    default: Any = None
    description: str = ""
    options: list[str] = field(default_factory=list)
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    step: str | None = None
    kind: str = "string"  # the JSON type the value is converted to

    @property
    def default_text(self) -> str:
        if self.default is None:
            return ""
        if self.widget == "json":
            return json.dumps(self.default, ensure_ascii=False)
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        return str(self.default)


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = root.get("$defs", {}).get(ref.rsplit("/", 1)[1], {})
        return {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _unwrap(schema: dict[str, Any], root: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The non-null alternative of an Optional field, and whether null was allowed."""
    schema = _resolve(schema, root)
    options = schema.get("anyOf") or schema.get("oneOf")
    if not options:
        return schema, schema.get("type") == "null"
    nullable = any(_resolve(o, root).get("type") == "null" for o in options)
    rest = [_resolve(o, root) for o in options if _resolve(o, root).get("type") != "null"]
    if len(rest) == 1:
        merged = {**rest[0], **{k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}}
        return merged, nullable
    return {**schema, "type": "string"}, nullable


_UPLOAD_NAME = re.compile(r"(^|_)(file|upload|attachment)s?$")


def is_upload(name: str, schema: dict[str, Any]) -> bool:
    """A parameter filled by uploading a file: ``x-upload`` in its schema, or a file-ish string name."""
    if schema.get("x-upload") is not None:
        return bool(schema.get("x-upload"))
    fmt = schema.get("format", "")
    return schema.get("type") == "string" and fmt in ("", "path", "file-path") and bool(_UPLOAD_NAME.search(name))


def form_fields(schema: dict[str, Any]) -> list[Field]:
    """One field per property of a Params JSON schema, in declaration order."""
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    out: list[Field] = []
    for name, raw in props.items():
        prop, nullable = _unwrap(raw, schema)
        label = prop.get("title") or name.replace("_", " ").capitalize()
        common = {
            "name": name,
            "label": label,
            "required": name in required,
            "default": raw.get("default", prop.get("default")),
            "description": prop.get("description", "") or raw.get("description", ""),
            "nullable": nullable,
        }
        typ = prop.get("type")
        fmt = prop.get("format", "")
        if "enum" in prop or "const" in prop:
            options = [str(v) for v in prop.get("enum", [prop.get("const")])]
            out.append(Field(widget="select", options=options, kind=typ or "string", **common))
        elif typ == "boolean":
            out.append(Field(widget="checkbox", kind="boolean", **common))
        elif typ in ("integer", "number"):
            out.append(
                Field(
                    widget="number",
                    kind=typ,
                    minimum=prop.get("minimum", prop.get("exclusiveMinimum")),
                    maximum=prop.get("maximum", prop.get("exclusiveMaximum")),
                    step="1" if typ == "integer" else "any",
                    **common,
                )
            )
        elif typ in ("array", "object"):
            out.append(Field(widget="json", kind=typ, **common))
        elif typ == "string" and fmt == "date":
            out.append(Field(widget="date", **common))
        elif typ == "string" and fmt == "date-time":
            out.append(Field(widget="datetime-local", **common))
        elif typ == "string" and fmt == "time":
            out.append(Field(widget="time", **common))
        elif is_upload(name, {**prop, **{k: v for k, v in raw.items() if k.startswith("x-")}}) or (
            fmt in ("path", "file-path") and "default" in raw and raw["default"] is None and prop.get("x-upload", True)
        ):
            out.append(Field(widget="file", **common))
        else:
            out.append(Field(widget="text", **common))
    return out


def form_to_params(fields: list[Field], form: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Form answers → params for the bot, plus conversion errors by field (e.g. bad JSON).

    Empty answers are left out so the bot's default (or config default) applies; a checkbox always
    answers (unchecked means False). Numbers that do not parse are passed through as text for the
    model to reject with its own message.
    """
    params: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fields:
        if f.widget == "file":
            picked = str(form.get(f"{f.name}{PICK_SUFFIX}") or "").strip()
            if picked:
                params[f.name] = picked  # relative to the inbox root; an upload, when given, replaces it
            continue
        if f.widget == "checkbox":
            params[f.name] = str(form.get(f.name, "")).lower() in ("on", "true", "1", "yes")
            continue
        value = form.get(f.name)
        if value is None or (isinstance(value, str) and value.strip() == ""):
            continue
        text = str(value).strip()
        if f.widget == "json":
            try:
                params[f.name] = json.loads(text)
            except json.JSONDecodeError as exc:
                errors[f.name] = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            except RecursionError:
                errors[f.name] = f"nested more than {MAX_JSON_DEPTH} levels deep"
            else:
                if json_depth(params[f.name]) > MAX_JSON_DEPTH:
                    del params[f.name]
                    errors[f.name] = f"nested more than {MAX_JSON_DEPTH} levels deep"
        elif f.kind == "integer":
            params[f.name] = int(text) if re.fullmatch(r"[+-]?\d+", text) else text
        elif f.kind == "number":
            try:
                params[f.name] = float(text) if not re.fullmatch(r"[+-]?\d+", text) else int(text)
            except ValueError:
                params[f.name] = text
        else:
            params[f.name] = text
    return params, errors


def inbox_choices(inbox: Path, limit: int = PICK_LIMIT) -> list[str]:
    """Files in the bot's inbox root (and one folder below), relative to it, newest first.

    Hidden entries, links and anything resolving outside the root are left out, so the picker shows
    only what the run would be allowed to read.
    """
    from backroom.bots.sdk.paths import PathRefused, confine

    if not inbox.is_dir():
        return []
    found: list[tuple[float, str]] = []
    for path in [*inbox.glob("*"), *inbox.glob("*/*")]:
        relative = path.relative_to(inbox)
        if any(part.startswith(".") for part in relative.parts) or path.is_symlink():
            continue
        try:
            real = confine(path, inbox, kind="file")
        except PathRefused:
            continue
        found.append((real.stat().st_mtime, relative.as_posix()))
    found.sort(key=lambda item: (-item[0], item[1]))
    return [name for _, name in found[:limit]]


_UNSAFE = re.compile(r"[^\w.\-\u4e00-\u9fff]+")


def safe_upload_name(filename: str) -> str:
    """The last path component of an uploaded name, with anything odd replaced; never empty or hidden."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip("._") or "upload"
    return base[:150]


def save_upload_target(inbox: Path, filename: str) -> Path:
    """A new path in ``inbox`` for ``filename``: an existing file is never overwritten (``name-2.ext``)."""
    inbox.mkdir(parents=True, exist_ok=True)
    name = safe_upload_name(filename)
    candidate = inbox / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 2
    while candidate.exists():
        candidate = inbox / f"{stem}-{n}{suffix}"
        n += 1
    return candidate

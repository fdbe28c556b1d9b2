"""``backroom ocr FILE_OR_DIR... [--engine rapid|paddle|tesseract] [--json]``: a look at what OCR reads.

Per document (an image, a PDF, an OFD or an invoice XML): its detected type (receipt / fapiao /
unknown) and every field with value and confidence, as a readable table, or one JSON object per line with ``--json``::

    {"file": "a.jpg", "type": "receipt", "fields": {"company": {"value": "...", "confidence": 0.98}, ...}}

The lead mounts :func:`ocr_command` on the ``backroom`` CLI; ``python -m ocr.cli`` runs it alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from backroom.ocr.documents import SUFFIXES
from backroom.ocr.engines import ENGINES, get_engine
from backroom.ocr.errors import EngineUnavailable
from backroom.ocr.fields import jsonable
from backroom.ocr.privacy import mask_tree

__all__ = ["expand_paths", "ocr_command"]


def expand_paths(paths: Iterable[Path | str]) -> list[Path]:
    """Files as given, and the documents inside folders (recursively, sorted)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES))
        else:
            found.append(path)
    return found


def ocr_command(
    paths: Sequence[Path | str], engine: str = "rapid", as_json: bool = False, *, out: TextIO | None = None
) -> int:
    """Read each document and print its fields, personal data masked (:mod:`ocr.privacy`). Returns
    the exit status: 0 when every document was read, 1 when some could not be, 2 for a usage problem
    (no files, unavailable engine)."""
    from backroom.ocr.pipeline import read_document

    out = out or sys.stdout
    err = sys.stderr
    files = expand_paths(paths)
    if not files:
        print("no documents found (expected image, PDF, OFD or invoice XML files, or folders holding them)", file=err)
        return 2
    if engine not in ENGINES:
        print(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}", file=err)
        return 2
    try:
        eng = get_engine(engine)
    except EngineUnavailable as exc:
        print(f"engine {engine!r} is not available: {exc}", file=err)
        return 2
    status = 0
    for path in files:
        result = read_document(path, eng)
        if result.error:
            status = 1
        if as_json:
            out.write(json.dumps(mask_tree(result.to_json()), ensure_ascii=False) + "\n")
            out.flush()
        else:
            _print_table(result, out)
    return status


def _print_table(result: object, out: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table

    data = mask_tree(result.to_json())  # type: ignore[attr-defined]
    table = Table(title=f"{data['file']} — {data['type']}", title_justify="left")
    table.add_column("field")
    table.add_column("value", overflow="fold")
    table.add_column("confidence", justify="right")
    for name, field in data["fields"].items():
        value = field["value"]
        if isinstance(value, list):
            value = "; ".join(
                " ".join(str(v) for v in jsonable(item).values()) if isinstance(item, dict) else str(item)
                for item in value
            )
        table.add_row(name, str(value), f"{field['confidence']:.2f}")
    console = Console(file=out, width=110)
    console.print(table)
    for problem in data.get("problems", []):
        console.print(f"  [yellow]check:[/] {problem}")
    if data.get("error"):
        console.print(f"  [red]error:[/] {data['error']}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="backroom ocr", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, metavar="FILE_OR_DIR")
    parser.add_argument("--engine", default="rapid", choices=ENGINES)
    parser.add_argument("--json", action="store_true", dest="as_json")
    args = parser.parse_args(argv)
    return ocr_command(args.paths, args.engine, args.as_json)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

"""Reading many documents: a process pool with the engine loaded once per worker, results streamed.

OCR is CPU-bound and ONNX Runtime already spreads one image over every core, but poorly on small
images: N single-threaded workers each reading its own document keep all cores busy instead.
Each worker builds its engine once (seconds, hundreds of MB) in the pool initializer; documents
are submitted a few at a time so memory stays bounded however long the month is, and results come
back as they finish so progress is steady.

``workers=1`` reads in this process (no pool), which is what tests and small runs want.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from backroom.ocr.pipeline import DocumentResult, read_document

__all__ = ["default_workers", "read_many", "release_memory"]

_ENGINE: Any = None
_OPTIONS: dict[str, Any] = {}


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _init_worker(engine: str, threads: int, engine_options: dict[str, Any], options: dict[str, Any]) -> None:
    global _ENGINE, _OPTIONS
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    from backroom.ocr.engines import get_engine

    extra = {"threads": threads} if engine == "rapid" else {}
    _ENGINE = get_engine(engine, **engine_options, **extra)
    _OPTIONS = options


def release_memory() -> None:
    """Hand freed heap back to the OS after a document (glibc keeps it otherwise, and a worker's
    RSS creeps up by the largest image's working set); a no-op where there is no glibc."""
    global _LIBC
    if _LIBC is None:
        try:
            import ctypes

            _LIBC = ctypes.CDLL("libc.so.6")
        except OSError:
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


_LIBC: Any = None


def _work(path: str) -> DocumentResult:
    try:
        return read_document(Path(path), _ENGINE, **_OPTIONS)
    finally:
        release_memory()


def read_many(
    paths: Iterable[Path | str],
    *,
    engine: str = "rapid",
    workers: int | None = None,
    threads_per_worker: int = 1,
    window: int | None = None,
    engine_options: dict[str, Any] | None = None,
    **options: Any,
) -> Iterator[DocumentResult]:
    """Yield a :class:`DocumentResult` per path as each finishes (completion order).

    ``window`` caps documents in flight (default 2 per worker): bounded memory for any volume.
    ``engine_options`` build the engine (model directories); ``options`` go to
    :func:`ocr.pipeline.read_document` (``max_pages``, ``dayfirst``, ``thumbnail``).
    """
    workers = workers or default_workers()
    engine_options = dict(engine_options or {})
    if workers <= 1:
        from backroom.ocr.engines import get_engine

        eng = get_engine(engine, **engine_options)
        for path in paths:
            result = read_document(Path(path), eng, **options)
            release_memory()
            yield result
        return
    import multiprocessing

    window = window or workers * 2
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(engine, threads_per_worker, engine_options, options),
    ) as pool:
        pending: set[Future[DocumentResult]] = set()
        iterator = iter(paths)
        exhausted = False
        while True:
            while not exhausted and len(pending) < window:
                try:
                    path = next(iterator)
                except StopIteration:
                    exhausted = True
                    break
                pending.add(pool.submit(_work, str(path)))
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()

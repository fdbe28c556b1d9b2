"""Every path a run touches lies under one of its configured roots.

An operator may pass a file to a bot ("import this statement"), but must not be able to make a bot read
``/proc/self/environ``, follow a symlink to ``/etc/shadow`` that someone dropped in an inbox, or move the
live database into ``rejected/``. So bots never take a free ``Path`` from a person: they declare
:data:`InboxPath` / :data:`OutboxPath` parameters, and the runner validates them with the bot's
:class:`Roots` in the validation context. Validation resolves the path (symlinks included, strictly) and
refuses it unless the real path is a regular file or folder under the root's real path.

Roots are configuration, set by an admin; nothing a run is given can widen them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ValidationInfo

from backroom.bots.sdk.errors import ConfigError

__all__ = [
    "ROOT_NAMES",
    "ArchiveFolder",
    "InboxFolder",
    "InboxLocation",
    "InboxPath",
    "InputFolderMissing",
    "OutboxFolder",
    "OutboxPath",
    "PathRefused",
    "Roots",
    "UnderRoot",
    "config_paths",
    "confine",
    "default_roots",
]

#: Kernel and device file systems: never a root, never a file a bot may read, whatever the roots say.
_FORBIDDEN_TREES = (Path("/proc"), Path("/sys"), Path("/dev"), Path("/run"))

RootName = Literal["inbox", "outbox", "runs", "archive"]
#: Every root a bot has, by role: what it reads, what it writes, its runs' folders, what it archives.
ROOT_NAMES: tuple[RootName, ...] = ("inbox", "outbox", "runs", "archive")


class PathRefused(ConfigError):
    """A path given to a run resolves outside the run's roots, or is not a plain file or folder."""

    def __init__(self, given: object, why: str) -> None:
        super().__init__(f"path {str(given)!r} refused: {why}")
        self.given = str(given)
        self.why = why


class InputFolderMissing(ConfigError):
    """A configured folder a run reads from does not exist (or is not a folder): an unmounted share, a typo.

    Never created on the fly: creating it would turn a broken mount into a green run that read nothing.
    """

    def __init__(self, folder: Path) -> None:
        what = "is not a folder" if folder.exists() else "does not exist"
        super().__init__(
            f"input folder {str(folder)!r} {what}: check that the share is mounted and the path in the "
            "config is right (Backroom does not create input folders)"
        )
        self.folder = str(folder)


def _under(path: Path, tree: Path) -> bool:
    """Whether ``path`` is ``tree`` or lies below it (both absolute and resolved; compared as text,
    which is what ``tree in path.parents`` means, at a fraction of its cost)."""
    inside, top = str(path), str(tree)
    return inside == top or inside.startswith(top if top.endswith("/") else top + "/")


@dataclass(frozen=True)
class Roots:
    """The folders one bot's runs may read and write, by role (absolute, resolved when checked)."""

    folders: Mapping[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, folder in self.folders.items():
            if not Path(folder).is_absolute():
                raise ConfigError(f"root {name!r} must be an absolute path, got {str(folder)!r}")
            real = Path(os.path.realpath(folder))
            if any(_under(real, tree) for tree in _FORBIDDEN_TREES):
                raise ConfigError(f"root {name!r} may not lie in {real} (a kernel or device file system)")

    def root(self, name: str) -> Path:
        try:
            return Path(self.folders[name])
        except KeyError:
            known = ", ".join(sorted(self.folders)) or "none"
            raise ConfigError(f"no {name!r} root is configured for this bot (configured: {known})") from None

    def contains(self, path: Path) -> bool:
        """Whether ``path`` (resolved) lies under any root: the check for moves and deletes."""
        real = Path(os.path.realpath(path))
        return any(_under(real, Path(os.path.realpath(folder))) for folder in self.folders.values())

    def require(self, path: Path, doing: str) -> Path:
        """``path`` unchanged if it lies under a root, else :class:`PathRefused` saying what was refused.

        Bots call this before every move, copy-out and delete, for the source and for the target.
        """
        if not self.contains(path):
            known = ", ".join(f"{name}={folder}" for name, folder in sorted(self.folders.items())) or "none"
            raise PathRefused(path, f"{doing} outside the bot's roots ({known})")
        return path

    def as_strings(self) -> dict[str, str]:
        """The roots as plain strings (for the run's payload; :class:`Roots` rebuilds them)."""
        return {name: str(folder) for name, folder in self.folders.items()}


def default_roots(home: Path, bot: str, runs: Path) -> dict[str, Path]:
    """The roots of ``bot`` when config names none: ``var/<role>/<bot>`` under ``home``, runs in ``runs``."""
    return {
        "inbox": home / "var" / "inbox" / bot,
        "outbox": home / "var" / "outbox" / bot,
        "runs": runs,
        "archive": home / "var" / "archive" / bot,
    }


def confine(
    given: str | os.PathLike[str],
    root: Path,
    *,
    kind: Literal["file", "dir", "any"] = "any",
    must_exist: bool = True,
) -> Path:
    """The real path of ``given`` (relative paths are taken from ``root``) if it stays under ``root``.

    Symlinks are resolved before the check, so a link inside the root that points out of it is refused;
    so are devices, sockets and FIFOs, and anything under /proc, /sys, /dev or /run.
    """
    raw = Path(given)
    candidate = raw if raw.is_absolute() else Path(root) / raw
    real_root = Path(os.path.realpath(root))
    try:
        real = Path(os.path.realpath(candidate, strict=must_exist))
    except OSError:
        raise PathRefused(given, f"it does not exist under {real_root}") from None
    if any(_under(real, tree) for tree in _FORBIDDEN_TREES):
        raise PathRefused(given, "kernel and device files are never read")
    if not _under(real, real_root):
        raise PathRefused(given, f"it resolves to {real}, outside the root {real_root}")
    if not real.exists():
        return real
    mode = real.stat().st_mode
    if stat.S_ISREG(mode):
        if kind == "dir":
            raise PathRefused(given, "a folder was expected, this is a file")
    elif stat.S_ISDIR(mode):
        if kind == "file":
            raise PathRefused(given, "a file was expected, this is a folder")
    else:
        raise PathRefused(given, "only plain files and folders are accepted (not a device, socket or pipe)")
    return real


def _rooted(root_name: str, *, must_exist: bool) -> Any:
    """A pydantic validator that confines a path under the root named ``root_name``.

    The roots come from the validation context (``model_validate(data, context={"roots": roots})``), which
    the runner always supplies. Without roots, only a relative path without ``..`` passes, unresolved.
    """

    def check(value: Path, info: ValidationInfo) -> Path:
        roots = (info.context or {}).get("roots") if info.context is not None else None
        try:
            if isinstance(roots, Roots):
                return confine(value, roots.root(root_name), must_exist=must_exist)
            if value.is_absolute() or ".." in value.parts:
                raise PathRefused(value, f"give a path relative to the bot's {root_name} folder, without '..'")
        except ConfigError as exc:  # pydantic turns only ValueError into a located validation error
            raise ValueError(str(exc)) from None
        return value

    return AfterValidator(check)


#: A file or folder a person hands to a run, under the bot's inbox root.
InboxPath = Annotated[Path, _rooted("inbox", must_exist=True)]
#: A place under the inbox root that may not exist (yet, or any more): a folder the bot creates, a
#: file an earlier run already took. Confined all the same (links that exist are resolved first).
InboxLocation = Annotated[Path, _rooted("inbox", must_exist=False)]
#: A file or folder a run writes or moves things into, under the bot's outbox root.
OutboxPath = Annotated[Path, _rooted("outbox", must_exist=False)]


@dataclass(frozen=True)
class UnderRoot:
    """Marks a *config* path (set by an admin, relative to Backroom's home) that must lie under a root.

    Config is trusted, but a folder a bot reads or moves files in still has to agree with the roots:
    ``backroom check`` finds every marked value (:func:`config_paths`) and reports one outside its root,
    and the bot confines it again at run time (``ctx.folder``).
    """

    root: RootName


#: A config folder the bot reads files from (reconcile's statement inbox, a migration's file source).
InboxFolder = Annotated[Path, UnderRoot("inbox")]
#: A config folder the bot writes into.
OutboxFolder = Annotated[Path, UnderRoot("outbox")]
#: A config folder the bot archives into (the tickets archive share).
ArchiveFolder = Annotated[Path, UnderRoot("archive")]


def config_paths(model: BaseModel, prefix: str = "") -> list[tuple[str, RootName, Path]]:
    """Every :class:`UnderRoot`-marked value of a validated config model: (location, root, path).

    Walks nested models, lists and dicts, so a marked field deep inside (a migration's source) counts.
    """
    found: list[tuple[str, RootName, Path]] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        where = f"{prefix}{name}"
        marks = [m for m in info.metadata if isinstance(m, UnderRoot)]
        if marks and value is not None:
            found.append((where, marks[0].root, Path(value)))
        found.extend(_nested_paths(value, where))
    return found


def _nested_paths(value: object, where: str) -> list[tuple[str, RootName, Path]]:
    if isinstance(value, BaseModel):
        return config_paths(value, f"{where}.")
    if isinstance(value, Mapping):
        return [p for key, item in value.items() for p in _nested_paths(item, f"{where}.{key}")]
    if isinstance(value, list | tuple):
        return [p for i, item in enumerate(value) for p in _nested_paths(item, f"{where}[{i}]")]
    return []

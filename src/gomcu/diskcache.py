"""Results of pure, expensive analyses on disk, keyed by the ELF's content hash.

A second `gomcu check` of the same firmware reads its code model instead of decoding every
instruction again. The cache lives in `$XDG_CACHE_HOME/gomcu` (else `~/.cache/gomcu`);
`GOMCU_NO_CACHE=1` or `--no-cache` turns it off. An entry's key holds the gomcu version, the
format number of what is stored, the capstone version and a hash of the analysis code that made
it (the sources of the packages named by the caller), so an entry made by other code is never
read. Entries are written whole (a temporary file, then renamed); one that cannot be read back
(damaged, truncated, of another shape) is rebuilt, never an error: the cache only saves time.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import gomcu

ENV_OFF = "GOMCU_NO_CACHE"
T = TypeVar("T")
_disabled = False


def disable() -> None:
    """Turn the cache off for this process (`--no-cache`)."""
    global _disabled
    _disabled = True


def directory() -> Path | None:
    """Where entries live, or None when the cache is off."""
    if _disabled or os.environ.get(ENV_OFF, "") not in ("", "0"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gomcu"


def _sources(directory: str, relative: str) -> Iterator[tuple[str, str]]:
    """(path relative to the package, path) of every .py and .toml file under `directory`."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            if entry.name != "__pycache__":
                yield from _sources(entry.path, f"{relative}{entry.name}/")
        elif entry.name.endswith((".py", ".toml")):
            yield f"{relative}{entry.name}", entry.path


@lru_cache(maxsize=None)
def code_version(packages: tuple[str, ...]) -> str:
    """A hash of the sources (Python and data) of the named gomcu packages ("" is the whole
    package: every analysis, the chip database and the built-in profiles): an edit to the
    analysis code makes a new key, so no entry of the old code is read. Reading them all takes a
    few milliseconds (os.scandir, not pathlib's rglob)."""
    root = os.path.dirname(os.path.abspath(gomcu.__file__))
    digest = hashlib.sha256()
    for package in packages:
        prefix = f"{package}/" if package else ""
        for relative, path in sorted(_sources(os.path.join(root, package), prefix)):
            digest.update(relative.encode())
            with open(path, "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()[:16]


@lru_cache(maxsize=None)
def library_versions(distributions: tuple[str, ...]) -> tuple[str, ...]:
    """The installed versions of the named libraries, as their metadata folders' names
    (`capstone-5.0.9.dist-info`), found by listing the folders of sys.path: importlib.metadata
    alone takes longer to import than a cached `gomcu check` is meant to take."""
    wanted = {d.lower().replace("-", "_") for d in distributions}
    found: set[str] = set()
    for folder in sys.path:
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        found.update(n for n in names if n.endswith((".dist-info", ".egg-info"))
                     and n.split("-", 1)[0].lower().replace("-", "_") in wanted)
    return tuple(sorted(found))


def key(kind: str, fmt: int, content_digest: str, packages: Iterable[str], extra: Iterable[str] = ()) -> str:
    """The key of an entry: what it is, its format, the input's hash and the code that made it."""
    parts = [kind, str(fmt), gomcu.__version__, code_version(tuple(packages)), content_digest, *extra]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _path(kind: str, entry: str) -> Path | None:
    base = directory()
    return None if base is None else base / kind / f"{entry}.pickle"


def load(kind: str, entry: str) -> Any | None:
    """The value stored under `entry`, or None (no cache, no entry, or one that cannot be read)."""
    path = _path(kind, entry)
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            stored_key, value = pickle.load(f)
    except FileNotFoundError:
        return None
    except Exception:  # a damaged entry of any kind is rebuilt, never reported
        return None
    return value if stored_key == entry else None


def store(kind: str, entry: str, value: Any) -> None:
    """Write `value` under `entry`; a cache that cannot be written is skipped (it only saves time)."""
    path = _path(kind, entry)
    if path is None:
        return
    import tempfile  # (only a write needs it: not imported by a run that only reads)

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump((entry, value), f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        return


def remembered(kind: str, fmt: int, content_digest: str | None, packages: Iterable[str], compute: Callable[[], T],
               valid: Callable[[Any], bool], extra: Iterable[str] = ()) -> T:
    """`compute()`, read from the cache when an entry for the same input and code exists and
    `valid` accepts it (a check of its shape), else computed and stored. Without a digest (an
    input that is not a file's bytes) nothing is cached. An exception from `compute` stores nothing."""
    if content_digest is None:
        return compute()
    entry = key(kind, fmt, content_digest, packages, extra)
    found = load(kind, entry)
    if found is not None and valid(found):
        return found
    value = compute()
    store(kind, entry, value)
    return value

"""How TinyGo names symbols, so that bytes can be grouped by Go package.

TinyGo symbols look like `runtime.alloc`, `(*fmt.pp).printArg`, `internal/task.start`,
`github.com/user/pkg.Func$1`, `main.main$gowrapper`. C symbols have no dot, except GCC's
clone suffixes (`memcpy.part.0`, `f.constprop.1`, `g.isra.0`, `h.cold`), which are stripped first.
"""

from __future__ import annotations

import re
from functools import lru_cache

_GCC_CLONE_SUFFIX = re.compile(r"\.(?:part|constprop|isra|cold|lto_priv|localalias|str)(?:\.\d+)*$")


def strip_clone_suffix(name: str) -> str:
    previous = None
    while previous != name:
        previous = name
        name = _GCC_CLONE_SUFFIX.sub("", name)
    return name


_HEAD_END = re.compile(r"[:{\[( ]")


@lru_cache(maxsize=1 << 16)
def go_package(symbol_name: str) -> str | None:
    """The Go import path a symbol belongs to, or None when it is not a Go-style name.

    The package is the text before the first `.` or `$` that follows the last `/` of the
    symbol's head (the part before any type text such as `[T]` or `:{...}`):
    `reflect/types.type:struct:{...}` -> `reflect/types`, `strconv$alloc.193` -> `strconv`.
    Interface dispatch thunks (`interface:{...}.Read$invoke`) group as "(interface methods)".
    """
    name = strip_clone_suffix(symbol_name)
    if name.startswith("interface:"):
        return "(interface methods)"
    if name.startswith("("):
        name = name[1:].lstrip("*")
    head = _HEAD_END.split(name, 1)[0]
    if not head or head[0] in "._$":
        return None
    slash = head.rfind("/")
    ends = [i for i in (head.find(".", slash + 1), head.find("$", slash + 1)) if i > 0]
    if not ends:
        return None
    package = head[: min(ends)]
    if not re.fullmatch(r"[\w\-./~]+", package):
        return None
    return package

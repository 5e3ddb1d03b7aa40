"""A recursive-descent parser for the GNU ld script language, as vendor scripts use it.

Hand-written rather than generated so that (a) the lexing can depend on context the way ld's
own lexer does (`*(.text*)` is a pattern, `a-b` inside an expression is a subtraction), (b) every
error carries file:line:column with the source line and a caret, and (c) hostile input is bounded:
nesting depth, script size and INCLUDE depth all have limits that end in `LinkerScriptError`.

INCLUDE is expanded while parsing, in the context where it appears (top level, MEMORY, SECTIONS
or an output section), as ld does.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Callable, Sequence

from gomcu.errors import LinkerScriptError
from gomcu.linker import ast

#: Limits that keep hostile input bounded (real vendor scripts are far below them).
MAX_SCRIPT_BYTES = 2 * 1024 * 1024
MAX_TOTAL_BYTES = 8 * 1024 * 1024
MAX_NESTING = 100
MAX_INCLUDE_DEPTH = 16

_EXPR_START = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_.$\\")
_EXPR_CHARS = _EXPR_START | set("0123456789~")
#: Symbol names where a statement starts: ld's SCRIPT state lets them contain `/`, so
#: `//name = 1;` assigns to the symbol `//name` (TinyGo's esp32c3.ld has such lines).
_SYMBOL_CHARS = _EXPR_CHARS | {"/"}
#: Output-section names, region names and other SCRIPT-state words.
_NAME_CHARS = _EXPR_CHARS | set("/-+")
#: File and section patterns in input-section descriptions.
_WILD_CHARS = _NAME_CHARS | set("*?[]^!:")

_ASSIGN_OPS = ("<<=", ">>=", "+=", "-=", "*=", "/=", "&=", "|=", "=")
_BINARY_LEVELS: tuple[tuple[str, ...], ...] = (
    ("||",),
    ("&&",),
    ("|",),
    ("^",),
    ("&",),
    ("==", "!="),
    ("<=", ">=", "<", ">"),
    ("<<", ">>"),
    ("+", "-"),
    ("*", "/", "%"),
)
_LEVEL = {op: level for level, ops in enumerate(_BINARY_LEVELS) for op in ops}
#: longest first so that `<<` is not read as `<`
_ALL_BINARY = tuple(sorted(_LEVEL, key=len, reverse=True))
_SECTION_TYPES = ("NOLOAD", "DSECT", "COPY", "INFO", "OVERLAY", "READONLY")
_SORTS = (
    "SORT_BY_NAME", "SORT_BY_ALIGNMENT", "SORT_BY_INIT_PRIORITY", "SORT_NONE", "SORT",
    "REVERSE",
)
_DATA = ("BYTE", "SHORT", "LONG", "QUAD", "SQUAD")
_SIMPLE_DIRECTIVES = (
    "ENTRY", "OUTPUT_FORMAT", "OUTPUT_ARCH", "SEARCH_DIR", "GROUP", "INPUT", "EXTERN", "TARGET",
    "STARTUP", "OUTPUT", "NOCROSSREFS", "NOCROSSREFS_TO", "LD_FEATURE", "AS_NEEDED",
)
_BARE_DIRECTIVES = (
    "FORCE_COMMON_ALLOCATION", "INHIBIT_COMMON_ALLOCATION", "FORCE_GROUP_ALLOCATION",
    "CREATE_OBJECT_SYMBOLS", "CONSTRUCTORS",
)
_NAME_BUILTINS = ("ORIGIN", "LENGTH", "ADDR", "LOADADDR", "SIZEOF", "ALIGNOF", "DEFINED",
                  "CONSTANT", "SEGMENT_START")
_EXPR_BUILTINS = ("ALIGN", "MIN", "MAX", "ABSOLUTE", "BLOCK", "NEXT", "LOG2CEIL",
                  "DATA_SEGMENT_ALIGN", "DATA_SEGMENT_END", "DATA_SEGMENT_RELRO_END", "ASSERT")


class _Source:
    """One file's text and a line index for turning offsets into line:column."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        self.line_starts = [0]
        start = text.find("\n")
        while start != -1:
            self.line_starts.append(start + 1)
            start = text.find("\n", start + 1)

    def pos(self, offset: int) -> ast.Pos:
        line = bisect.bisect_right(self.line_starts, offset) - 1
        return ast.Pos(self.name, line + 1, offset - self.line_starts[line] + 1)

    def line_text(self, line: int) -> str:
        start = self.line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end == -1 else self.text[start:end]


def syntax_error(source: _Source, offset: int, message: str) -> LinkerScriptError:
    """A LinkerScriptError whose message is `file:line:col: message`, with the source line
    and a caret under the column in `.excerpt`."""
    pos = source.pos(offset)
    error = LinkerScriptError(f"{pos}: {message}")
    text = source.line_text(pos.line).replace("\t", " ")
    if len(text) > 160:  # keep the excerpt readable for giant one-line files
        lo = max(0, pos.col - 80)
        text = text[lo:lo + 160]
        caret_col = pos.col - lo
    else:
        caret_col = pos.col
    error.pos = pos  # type: ignore[attr-defined]
    error.excerpt = f"    {text}\n    {' ' * (caret_col - 1)}^"  # type: ignore[attr-defined]
    return error


class _Loader:
    """Reads files for INCLUDE: -L search paths, cycle detection, size budget."""

    def __init__(self, search_paths: Sequence[str]) -> None:
        self.search_paths = list(search_paths)
        self.files: list[str] = []
        self.stack: list[str] = []
        self.total = 0

    def read(self, path: str) -> str:
        try:
            size = os.path.getsize(path)
        except OSError as error:
            raise LinkerScriptError(f"{path}: cannot read linker script: {error.strerror}") from None
        if size > MAX_SCRIPT_BYTES:
            raise LinkerScriptError(
                f"{path}: linker script too large ({size} bytes; the limit is "
                f"{MAX_SCRIPT_BYTES} bytes)"
            )
        self.total += size
        if self.total > MAX_TOTAL_BYTES:
            raise LinkerScriptError(f"{path}: INCLUDEd scripts exceed {MAX_TOTAL_BYTES} bytes")
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_SCRIPT_BYTES + 1)
        except OSError as error:
            raise LinkerScriptError(f"{path}: cannot read linker script: {error.strerror}") from None
        if b"\0" in data:
            raise LinkerScriptError(f"{path}: not a linker script (binary data)")
        return data.decode("utf-8", errors="replace")

    def resolve(self, name: str, including: str) -> str | None:
        """ld looks in the current directory, then the -L directories; we also try the
        including script's directory (ld does when the script came in with -T)."""
        candidates = [name]
        if not os.path.isabs(name):
            candidates.append(os.path.join(os.path.dirname(including), name))
            candidates.extend(os.path.join(d, name) for d in self.search_paths)
        for candidate in candidates:
            if os.path.isfile(candidate):
                return candidate
        return None


class _Parser:
    """Parses one file; INCLUDEs start a child parser in the same context."""

    def __init__(self, source: _Source, loader: _Loader) -> None:
        self.src = source
        self.text = source.text
        self.n = len(self.text)
        self.i = 0
        self.loader = loader
        self.nesting = 0

    # ------------------------------------------------------------------ lexing helpers

    def error(self, message: str, offset: int | None = None) -> LinkerScriptError:
        return syntax_error(self.src, self.i if offset is None else offset, message)

    def pos(self, offset: int | None = None) -> ast.Pos:
        return self.src.pos(self.i if offset is None else offset)

    def skip(self) -> None:
        text, n, i = self.text, self.n, self.i
        while i < n:
            c = text[i]
            if c in " \t\r\n\f\v":
                i += 1
            elif text.startswith("/*", i):
                end = text.find("*/", i + 2)
                if end == -1:
                    self.i = i
                    raise self.error("unterminated comment")
                i = end + 2
            elif c == "#" and (i == 0 or text[i - 1] == "\n"):
                # preprocessor line markers (scripts run through cpp) are ignored
                end = text.find("\n", i)
                i = n if end == -1 else end + 1
            else:
                break
        self.i = i

    def at_end(self) -> bool:
        self.skip()
        return self.i >= self.n

    def peek(self, token: str) -> bool:
        self.skip()
        return self.text.startswith(token, self.i)

    def accept(self, token: str) -> bool:
        if self.peek(token):
            self.i += len(token)
            return True
        return False

    def expect(self, token: str, what: str | None = None) -> None:
        if not self.accept(token):
            raise self.error(f"expected {what or repr(token)}, found {self.describe()}")

    def describe(self) -> str:
        self.skip()
        if self.i >= self.n:
            return "end of file"
        c = self.text[self.i]
        if c in _NAME_CHARS or c.isdigit():
            j = self.i
            while j < self.n and j - self.i < 40 and self.text[j] in _WILD_CHARS:
                j += 1
            return repr(self.text[self.i:j])
        return repr(c)

    def word(self, chars: set[str] = _NAME_CHARS) -> str | None:
        """The next word made of `chars` (or a quoted string), consumed; None if there is none."""
        self.skip()
        i = self.i
        if i < self.n and self.text[i] == '"':
            end = self.text.find('"', i + 1)
            if end == -1:
                raise self.error("unterminated string")
            self.i = end + 1
            return self.text[i + 1:end]
        j = i
        text, n = self.text, self.n
        while j < n and text[j] in chars:
            # a comment start ends a word even when `/` and `*` are word characters
            if text[j] == "/" and j + 1 < n and text[j + 1] == "*":
                break
            j += 1
        if j == i:
            return None
        self.i = j
        return text[i:j]

    def peek_word(self, chars: set[str] = _NAME_CHARS) -> str | None:
        save = self.i
        w = self.word(chars)
        self.i = save
        return w

    def keyword(self, *names: str) -> str | None:
        """Consume one of `names` if it is the next whole word."""
        save = self.i
        w = self.word(_NAME_CHARS)
        if w is not None and w in names:
            return w
        self.i = save
        return None

    def need_word(self, what: str, chars: set[str] = _NAME_CHARS) -> str:
        w = self.word(chars)
        if w is None:
            raise self.error(f"expected {what}, found {self.describe()}")
        return w

    def enter(self) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise self.error(f"nested too deeply (more than {MAX_NESTING} levels)")

    def leave(self) -> None:
        self.nesting -= 1

    # ------------------------------------------------------------------ expressions

    def expr(self) -> ast.Expr:
        self.enter()
        start = self.i
        cond = self.binary(0)
        if self.peek("?"):
            self.i += 1
            then = self.expr()
            self.expect(":", "':' in conditional expression")
            otherwise = self.expr()
            depth = 1 + max(cond.depth, then.depth, otherwise.depth)
            cond = ast.Cond(cond, then, otherwise, self.pos(start), depth)
        self.leave()
        return cond

    def binary(self, min_level: int) -> ast.Expr:
        """Precedence climbing: one Python frame per nesting level, not per operator level,
        and a left-associative loop for chains."""
        left = self.unary()
        while True:
            self.skip()
            op = self.binary_op(_ALL_BINARY)
            if op is None or _LEVEL[op] < min_level:
                return left
            at = self.i
            self.i += len(op)
            self.enter()
            right = self.binary(_LEVEL[op] + 1)
            self.leave()
            depth = 1 + max(left.depth, right.depth)
            if depth > MAX_NESTING:
                raise self.error(f"expression nested too deeply (more than {MAX_NESTING} levels)",
                                 at)
            left = ast.Binary(op, left, right, self.pos(at), depth)

    def binary_op(self, ops: tuple[str, ...]) -> str | None:
        text, i = self.text, self.i
        for op in ops:
            if not text.startswith(op, i):
                continue
            nxt = text[i + len(op):i + len(op) + 1]
            # don't mistake `a <<= 1`, `a += 1`, `a || b` or `a && b` for lower-level operators
            if op in ("|", "&") and nxt in (op, "="):
                continue
            if op in ("<", ">") and nxt in (op, "="):
                continue
            if op in ("<<", ">>", "+", "-", "*", "/", "%", "^") and nxt == "=":
                continue
            if op == "/" and nxt == "*":
                continue
            return op
        return None

    def unary(self) -> ast.Expr:
        self.skip()
        c = self.text[self.i:self.i + 1]
        if c in ("-", "!", "~", "+") and not self.text.startswith("!=", self.i):
            at = self.i
            self.i += 1
            self.enter()
            operand = self.unary()
            self.leave()
            return ast.Unary(c, operand, self.pos(at), operand.depth + 1)
        return self.primary()

    def number(self) -> ast.Num:
        text, i, n = self.text, self.i, self.n
        start = i
        if text.startswith(("0x", "0X"), i):
            i += 2
            j = i
            while j < n and text[j] in "0123456789abcdefABCDEF":
                j += 1
            if j == i:
                raise self.error("malformed hexadecimal number")
            value = int(text[i:j], 16)
        elif text.startswith("$", i):
            i += 1
            j = i
            while j < n and text[j] in "0123456789abcdefABCDEF":
                j += 1
            value = int(text[i:j] or "0", 16)
        else:
            j = i
            while j < n and text[j].isdigit():
                j += 1
            digits = text[i:j]
            if j < n and text[j] in "hH" and not (j + 1 < n and text[j + 1] in _EXPR_CHARS):
                value = int(digits, 16)
                j += 1
            elif len(digits) > 1 and digits[0] == "0":
                try:
                    value = int(digits, 8)
                except ValueError:
                    raise self.error(f"malformed octal number {digits!r}", start) from None
            else:
                value = int(digits)
        if j < n and text[j] in "kK":
            value *= 1024
            j += 1
        elif j < n and text[j] in "mM":
            value *= 1024 * 1024
            j += 1
        if j < n and (text[j].isalnum() or text[j] == "_"):
            self.i = j
            raise self.error(f"malformed number {text[start:j + 1]!r}", start)
        self.i = j
        return ast.Num(value, self.pos(start))

    def primary(self) -> ast.Expr:
        self.skip()
        at = self.i
        if self.i >= self.n:
            raise self.error("expected an expression, found end of file")
        c = self.text[self.i]
        if c.isdigit() or (c == "$" and self.i + 1 < self.n and self.text[self.i + 1] in
                           "0123456789abcdefABCDEF"):
            return self.number()
        if c == "(":
            self.i += 1
            self.enter()
            inner = self.expr()
            self.leave()
            self.expect(")", "')'")
            return inner
        name = self.word(_EXPR_CHARS) if c != '"' else self.word()
        if name is None:
            raise self.error(f"expected an expression, found {self.describe()}")
        pos = self.pos(at)
        upper = name
        if upper in ("SIZEOF_HEADERS", "sizeof_headers"):
            return ast.Call("SIZEOF_HEADERS", (), None, pos)
        if (upper in _NAME_BUILTINS or upper in _EXPR_BUILTINS) and self.peek("("):
            return self.builtin(upper, pos)
        return ast.Sym(name, pos)

    def builtin(self, func: str, pos: ast.Pos) -> ast.Expr:
        self.expect("(")
        self.enter()
        if func in _NAME_BUILTINS:
            if func == "SEGMENT_START":
                segment = self.need_word("a segment name")
                self.expect(",")
                default = self.expr()
                self.expect(")", "')'")
                self.leave()
                return ast.Call(func, (default,), segment, pos, default.depth + 1)
            name = self.word(_NAME_CHARS)
            if name is None:
                raise self.error(f"expected a name in {func}(), found {self.describe()}")
            self.expect(")", f"')' to close {func}(")
            self.leave()
            return ast.Call(func, (), name, pos)
        args: list[ast.Expr] = []
        message = None
        if not self.peek(")"):
            args.append(self.expr())
            while self.accept(","):
                if func == "ASSERT":
                    message = self.need_word("an assertion message")
                    break
                args.append(self.expr())
        self.expect(")", f"')' to close {func}(")
        self.leave()
        arity = {"ALIGN": (1, 2), "MIN": (2,), "MAX": (2,), "ABSOLUTE": (1,), "BLOCK": (1,),
                 "NEXT": (1,), "LOG2CEIL": (1,), "DATA_SEGMENT_ALIGN": (2,),
                 "DATA_SEGMENT_END": (1,), "DATA_SEGMENT_RELRO_END": (2,), "ASSERT": (1,)}
        if len(args) not in arity[func]:
            raise syntax_error(self.src, self.src.line_starts[pos.line - 1] + pos.col - 1,
                               f"{func}() takes {' or '.join(map(str, arity[func]))} "
                               f"argument(s), not {len(args)}")
        depth = 1 + max((a.depth for a in args), default=0)
        return ast.Call(func, tuple(args), message, pos, depth)

    # ------------------------------------------------------------------ statements

    def at_assign_op(self) -> bool:
        self.skip()
        text, i = self.text, self.i
        return any(text.startswith(op, i) for op in _ASSIGN_OPS) and not text.startswith("==", i)

    def assign_op(self) -> str | None:
        self.skip()
        for op in _ASSIGN_OPS:
            if self.text.startswith(op, self.i):
                if op == "=" and self.text.startswith("==", self.i):
                    return None
                self.i += len(op)
                return op
        return None

    def assignment_after_target(self, target: str, at: int, wrapper: str | None,
                                need_end: bool) -> ast.Assignment:
        op = self.assign_op()
        if op is None:
            raise self.error(f"expected an assignment to {target!r}, found {self.describe()}")
        value = self.expr()
        if need_end:
            if not (self.accept(";") or self.accept(",")):
                raise self.error(f"expected ';' after the assignment to {target!r}, "
                                 f"found {self.describe()}")
        return ast.Assignment(target, op, value, wrapper, self.pos(at))

    def wrapped_assignment(self, wrapper: str, at: int) -> ast.Assignment:
        self.expect("(", f"'(' after {wrapper}")
        target = self.word(_EXPR_CHARS)
        if target is None:
            raise self.error(f"expected a symbol name in {wrapper}(), found {self.describe()}")
        node = self.assignment_after_target(target, at, wrapper, need_end=False)
        self.expect(")", f"')' to close {wrapper}(")
        self.accept(";")
        return node

    def assert_stmt(self, at: int) -> ast.Assert:
        self.expect("(", "'(' after ASSERT")
        cond = self.expr()
        self.expect(",", "',' and a message in ASSERT")
        message = self.need_word("an assertion message", _NAME_CHARS | set(" "))
        self.expect(")", "')' to close ASSERT(")
        self.accept(";")
        return ast.Assert(cond, message.strip(), self.pos(at))

    def directive_args(self, name: str, at: int) -> ast.Directive:
        """NAME(arg, arg ...) with file or symbol names as arguments."""
        self.expect("(", f"'(' after {name}")
        args: list[str] = []
        depth = 1
        while True:
            self.skip()
            if self.i >= self.n:
                raise self.error(f"unterminated {name}(")
            if self.accept(")"):
                depth -= 1
                if depth == 0:
                    break
                continue
            if self.accept("("):
                depth += 1
                if depth > MAX_NESTING:
                    raise self.error("nested too deeply")
                continue
            if self.accept(","):
                continue
            w = self.word(_WILD_CHARS | set("=,<>@%"))
            if w is None:
                raise self.error(f"unexpected {self.describe()} in {name}(")
            args.append(w)
        self.accept(";")
        return ast.Directive(name, tuple(args), self.pos(at))

    def braced_blob(self, name: str, at: int) -> ast.Directive:
        """PHDRS { ... } / VERSION { ... }: skipped with balanced braces."""
        self.expect("{")
        depth = 1
        while depth:
            self.skip()
            if self.i >= self.n:
                raise self.error(f"unterminated {name} block", at)
            c = self.text[self.i]
            depth += {"{": 1, "}": -1}.get(c, 0)
            self.i += 1
        return ast.Directive(name, (), self.pos(at))

    def include(self, at: int, context: Callable[[_Parser], list]) -> list:
        path = self.need_word("a file name after INCLUDE", _WILD_CHARS)
        self.accept(";")
        loader = self.loader
        resolved = loader.resolve(path, self.src.name)
        if resolved is None:
            raise self.error(f"cannot find INCLUDE file {path!r} (searched the current "
                             "directory, the script's directory and -L paths)", at)
        key = os.path.realpath(resolved)
        if key in loader.stack:
            chain = " -> ".join(os.path.basename(p) for p in [*loader.stack, key])
            raise self.error(f"circular INCLUDE of {path!r} ({chain})", at)
        if len(loader.stack) >= MAX_INCLUDE_DEPTH:
            raise self.error(f"INCLUDE nested more than {MAX_INCLUDE_DEPTH} deep", at)
        child = _Parser(_Source(resolved, loader.read(resolved)), loader)
        loader.files.append(resolved)
        loader.stack.append(key)
        items = context(child)
        loader.stack.pop()
        if not child.at_end():
            raise child.error(f"unexpected {child.describe()} in INCLUDEd file")
        return items

    # top level --------------------------------------------------------------

    def script(self) -> list[ast.Command]:
        commands: list[ast.Command] = []
        while not self.at_end():
            commands.extend(self.command())
        return commands

    def command(self) -> list[ast.Command]:
        self.skip()
        at = self.i
        if self.accept(";"):
            return []
        w = self.word(_SYMBOL_CHARS)
        if w is None:
            raise self.error(f"expected a linker script command, found {self.describe()}")
        if w == "MEMORY":
            return [self.memory(at)]
        if w == "SECTIONS":
            return [self.sections(at)]
        if w == "INCLUDE":
            return self.include(at, _Parser.script)
        if w in ("PROVIDE", "PROVIDE_HIDDEN", "HIDDEN") and self.peek("("):
            return [self.wrapped_assignment(w, at)]
        if w == "ASSERT" and self.peek("("):
            return [self.assert_stmt(at)]
        if w == "REGION_ALIAS" and self.peek("("):
            self.expect("(")
            alias = self.need_word("an alias name")
            self.expect(",")
            region = self.need_word("a region name")
            self.expect(")", "')' to close REGION_ALIAS(")
            self.accept(";")
            return [ast.RegionAlias(alias, region, self.pos(at))]
        if w == "INSERT":
            kind = self.keyword("AFTER", "BEFORE")
            if kind is None:
                raise self.error("expected AFTER or BEFORE after INSERT")
            section = self.need_word("an output section name")
            self.accept(";")
            return [ast.Insert(kind == "AFTER", section, self.pos(at))]
        if w in ("PHDRS", "VERSION"):
            return [self.braced_blob(w, at)]
        if w in _SIMPLE_DIRECTIVES and self.peek("("):
            return [self.directive_args(w, at)]
        if w in _BARE_DIRECTIVES:
            self.accept(";")
            return [ast.Directive(w, (), self.pos(at))]
        return [self.assignment_after_target(w, at, None, need_end=True)]

    # MEMORY -----------------------------------------------------------------

    def memory(self, at: int) -> ast.Memory:
        self.expect("{", "'{' after MEMORY")
        regions = self.memory_body()
        self.expect("}", "'}' to close MEMORY")
        return ast.Memory(tuple(regions), self.pos(at))

    def memory_body(self) -> list:
        regions: list = []
        while not self.at_end() and not self.peek("}"):
            at = self.i
            name = self.need_word("a memory region name")
            if name == "INCLUDE":
                regions.extend(self.include(at, _Parser.memory_body))
                continue
            attrs = ""
            if self.accept("("):
                attrs = self.word(set("rwxailRWXAIL!")) or ""
                self.expect(")", "')' to close the region attributes")
            self.expect(":", f"':' after region {name!r}")
            if self.keyword("ORIGIN", "org", "o") is None:
                raise self.error(f"expected ORIGIN for region {name!r}, found {self.describe()}")
            self.expect("=", "'=' after ORIGIN")
            origin = self.expr()
            self.expect(",", "',' between ORIGIN and LENGTH")
            if self.keyword("LENGTH", "len", "l") is None:
                raise self.error(f"expected LENGTH for region {name!r}, found {self.describe()}")
            self.expect("=", "'=' after LENGTH")
            length = self.expr()
            self.accept(";")
            regions.append(ast.Region(name, attrs, origin, length, self.pos(at)))
        return regions

    # SECTIONS ---------------------------------------------------------------

    def sections(self, at: int) -> ast.Sections:
        self.expect("{", "'{' after SECTIONS")
        items = self.sections_body()
        self.expect("}", "'}' to close SECTIONS")
        return ast.Sections(tuple(items), self.pos(at))

    def sections_body(self) -> list:
        items: list = []
        while not self.at_end() and not self.peek("}"):
            items.extend(self.sections_item())
        return items

    def sections_item(self) -> list:
        self.skip()
        at = self.i
        if self.accept(";"):
            return []
        w = self.word(_NAME_CHARS)
        if w is None:
            raise self.error(f"expected an output section or assignment, found {self.describe()}")
        if w == "INCLUDE":
            return self.include(at, _Parser.sections_body)
        if w in ("PROVIDE", "PROVIDE_HIDDEN", "HIDDEN") and self.peek("("):
            return [self.wrapped_assignment(w, at)]
        if w == "ASSERT" and self.peek("("):
            return [self.assert_stmt(at)]
        if w == "OVERLAY":
            return [self.overlay(at)]
        if w in ("ENTRY",) and self.peek("("):
            return [self.directive_args(w, at)]
        if w in _BARE_DIRECTIVES:
            self.accept(";")
            return [ast.Directive(w, (), self.pos(at))]
        # an assignment (`sym = ...`, `. += ...`) or an output section (`name ... :`)
        if self.at_assign_op():
            if not all(ch in _SYMBOL_CHARS for ch in w):
                # ld lexes `a-b = 1` as one name; we only allow real symbol names
                raise self.error(f"invalid symbol name {w!r}", at)
            return [self.assignment_after_target(w, at, None, need_end=True)]
        return [self.output_section(w, at)]

    def section_type(self) -> str | None:
        """`(NOLOAD)` etc.; leaves the position unchanged if the parenthesis is not a type."""
        save = self.i
        if self.accept("("):
            w = self.word(_NAME_CHARS)
            if w in _SECTION_TYPES and self.accept(")"):
                return w
        self.i = save
        return None

    def output_section(self, name: str, at: int, in_overlay: bool = False) -> ast.OutputSection:
        address = None
        stype = None
        if not in_overlay:
            stype = self.section_type()
            if stype is None and not self.peek(":"):
                if self.keyword("BIND"):
                    pass
                address = self.expr()
                stype = self.section_type()
        if not (in_overlay and self.peek("{")):
            self.expect(":", f"':' after output section {name!r}")
        lma = align = subalign = None
        constraint = None
        align_with_input = False
        while True:
            kw = self.keyword("AT", "ALIGN", "SUBALIGN", "ALIGN_WITH_INPUT", "ONLY_IF_RO",
                              "ONLY_IF_RW", "SPECIAL")
            if kw is None:
                break
            if kw == "AT":
                if self.peek(">"):  # `AT>` right after the colon is not valid here
                    raise self.error("AT> goes after the closing brace")
                self.expect("(", "'(' after AT")
                lma = self.expr()
                self.expect(")", "')' to close AT(")
            elif kw == "ALIGN":
                self.expect("(", "'(' after ALIGN")
                align = self.expr()
                self.expect(")", "')' to close ALIGN(")
            elif kw == "SUBALIGN":
                self.expect("(", "'(' after SUBALIGN")
                subalign = self.expr()
                self.expect(")", "')' to close SUBALIGN(")
            elif kw == "ALIGN_WITH_INPUT":
                align_with_input = True
            else:
                constraint = kw
        self.expect("{", f"'{{' to open output section {name!r}")
        self.enter()
        items = self.output_body()
        self.leave()
        self.expect("}", f"'}}' to close output section {name!r}")
        region = lma_region = fill = None
        phdrs: list[str] = []
        while True:
            self.skip()
            if self.text.startswith("AT>", self.i) or (self.peek("AT") and self._at_gt()):
                self.keyword("AT")
                self.expect(">")
                lma_region = self.need_word("a region name after AT>")
            elif self.peek(">") and not in_overlay:
                self.i += 1
                region = self.need_word("a region name after '>'")
            elif self.peek(":") and not self.peek("::"):
                self.i += 1
                phdrs.append(self.need_word("a program header name after ':'"))
            elif self.peek("=") and not self.peek("=="):
                self.i += 1
                fill = self.expr()
            else:
                break
        self.accept(",")
        return ast.OutputSection(
            name, tuple(items), address, stype, lma, align, align_with_input, subalign,
            constraint, region, lma_region, tuple(phdrs), fill, self.pos(at),
        )

    def _at_gt(self) -> bool:
        save = self.i
        ok = self.keyword("AT") is not None and self.peek(">")
        self.i = save
        return ok

    def output_body(self) -> list:
        items: list = []
        while not self.at_end() and not self.peek("}"):
            items.extend(self.output_item())
        return items

    def output_item(self) -> list:
        self.skip()
        at = self.i
        if self.accept(";"):
            return []
        w = self.peek_word(_WILD_CHARS)
        if w is None:
            raise self.error(f"expected an input section description or assignment, "
                             f"found {self.describe()}")
        bare = w.rstrip(":")
        if bare in ("INCLUDE",):
            self.word(_WILD_CHARS)
            return self.include(at, _Parser.output_body)
        if bare in ("PROVIDE", "PROVIDE_HIDDEN", "HIDDEN") and self._next_is_paren(w):
            self.word(_WILD_CHARS)
            return [self.wrapped_assignment(w, at)]
        if bare == "ASSERT" and self._next_is_paren(w):
            self.word(_WILD_CHARS)
            return [self.assert_stmt(at)]
        if bare in _DATA and self._next_is_paren(w):
            self.word(_WILD_CHARS)
            self.expect("(")
            value = self.expr()
            self.expect(")", f"')' to close {bare}(")
            self.accept(";")
            return [ast.Data(bare, value, self.pos(at))]
        if bare == "FILL" and self._next_is_paren(w):
            self.word(_WILD_CHARS)
            self.expect("(")
            value = self.expr()
            self.expect(")", "')' to close FILL(")
            self.accept(";")
            return [ast.Fill(value, self.pos(at))]
        if bare in _BARE_DIRECTIVES:
            self.word(_WILD_CHARS)
            self.accept(";")
            return [ast.Directive(bare, (), self.pos(at))]
        if bare == "SORT" and self._next_is_paren(w) and self._sort_constructors():
            return [ast.Directive("CONSTRUCTORS", (), self.pos(at))]
        # assignment?  `name =`, `. +=` ...
        ew = self.peek_word(_EXPR_CHARS)
        if ew is not None:
            save = self.i
            self.word(_EXPR_CHARS)
            if self.at_assign_op():
                return [self.assignment_after_target(ew, at, None, need_end=True)]
            self.i = save
        return [self.input_spec(at)]

    def _next_is_paren(self, w: str) -> bool:
        save = self.i
        self.word(_WILD_CHARS)
        ok = self.peek("(")
        self.i = save
        return ok

    def _sort_constructors(self) -> bool:
        save = self.i
        self.word(_WILD_CHARS)
        self.expect("(")
        if self.keyword("CONSTRUCTORS") and self.accept(")"):
            return True
        self.i = save
        return False

    def input_spec(self, at: int) -> ast.InputSpec:
        keep = False
        if self.keyword("KEEP"):
            if self.peek("("):
                keep = True
                self.expect("(")
                self.enter()
                spec = self.input_spec_inner(at, keep=True)
                self.leave()
                self.expect(")", "')' to close KEEP(")
                self.accept(";")
                return spec
            self.i = at
        spec = self.input_spec_inner(at, keep)
        self.accept(";")
        return spec

    def sort_wrapped(self, what: str) -> tuple[tuple[str, ...], tuple[str, ...], str]:
        """[SORT...(] [EXCLUDE_FILE(...)] pattern [)] -> (sorts, excludes, pattern)."""
        sorts: list[str] = []
        while True:
            kw = self.keyword(*_SORTS)
            if kw is None:
                break
            self.expect("(", f"'(' after {kw}")
            sorts.append(kw)
            if len(sorts) > 4:
                raise self.error("too many nested SORT keywords")
        excludes: tuple[str, ...] = ()
        if self.keyword("EXCLUDE_FILE"):
            excludes = self.exclude_list()
        pattern = self.word(_WILD_CHARS)
        if pattern is None:
            raise self.error(f"expected {what}, found {self.describe()}")
        for _ in sorts:
            self.expect(")", "')' to close SORT(")
        return tuple(sorts), excludes, pattern

    def exclude_list(self) -> tuple[str, ...]:
        self.expect("(", "'(' after EXCLUDE_FILE")
        files: list[str] = []
        while not self.accept(")"):
            f = self.word(_WILD_CHARS)
            if f is None:
                raise self.error(f"expected a file pattern in EXCLUDE_FILE, found {self.describe()}")
            files.append(f)
        return tuple(files)

    def input_spec_inner(self, at: int, keep: bool) -> ast.InputSpec:
        excludes: tuple[str, ...] = ()
        file_sort: tuple[str, ...] = ()
        if self.keyword("EXCLUDE_FILE"):
            excludes = self.exclude_list()
            file_pattern = self.need_word("a file pattern", _WILD_CHARS)
        elif self.peek_word(_WILD_CHARS) in _SORTS:
            file_sort, _, file_pattern = self.sort_wrapped("a file pattern")
        else:
            file_pattern = self.need_word("a file pattern", _WILD_CHARS)
        sections: list[ast.SectionPattern] = []
        if file_pattern.endswith(":") and not self.peek("("):
            pass
        if self.accept("("):
            while not self.accept(")"):
                self.accept(",")
                if self.peek(")"):
                    continue
                if self.keyword("INPUT_SECTION_FLAGS"):
                    self.directive_args("INPUT_SECTION_FLAGS", self.i)
                    continue
                sorts, sect_excludes, pattern = self.sort_wrapped("a section name pattern")
                sections.append(ast.SectionPattern(pattern, sorts, sect_excludes))
                if self.at_end():
                    raise self.error("unterminated input section list")
            if not sections:
                raise self.error("empty input section list", at)
        return ast.InputSpec(file_pattern, tuple(sections), keep, file_sort, excludes,
                             self.pos(at))

    # OVERLAY ----------------------------------------------------------------

    def overlay(self, at: int) -> ast.Overlay:
        start = None
        if not self.peek(":"):
            start = self.expr()
        self.expect(":", "':' after OVERLAY")
        nocross = self.keyword("NOCROSSREFS") is not None
        lma = None
        if self.keyword("AT"):
            self.expect("(")
            lma = self.expr()
            self.expect(")")
        self.expect("{", "'{' to open OVERLAY")
        sections: list[ast.OutputSection] = []
        while not self.accept("}"):
            self.skip()
            sat = self.i
            name = self.word(_NAME_CHARS)
            if name is None:
                raise self.error(f"expected an overlay section, found {self.describe()}")
            sections.append(self.output_section(name, sat, in_overlay=True))
        region = lma_region = fill = None
        while True:
            if self.peek("AT") and self._at_gt():
                self.keyword("AT")
                self.expect(">")
                lma_region = self.need_word("a region name")
            elif self.accept(">"):
                region = self.need_word("a region name")
            elif self.peek(":") and not self.peek("::"):
                self.i += 1
                self.need_word("a program header name")
            elif self.peek("=") and not self.peek("=="):
                self.i += 1
                fill = self.expr()
            else:
                break
        return ast.Overlay(tuple(sections), start, lma, nocross, region, lma_region, fill,
                           self.pos(at))


def parse_text(text: str, filename: str = "<script>",
               search_paths: Sequence[str] = ()) -> ast.Script:
    """Parse a script held in memory (INCLUDEs are resolved against `search_paths`)."""
    if len(text) > MAX_SCRIPT_BYTES:
        raise LinkerScriptError(f"{filename}: linker script too large ({len(text)} characters; "
                                f"the limit is {MAX_SCRIPT_BYTES})")
    loader = _Loader(search_paths)
    loader.files.append(filename)
    loader.stack.append(os.path.realpath(filename))
    parser = _Parser(_Source(filename, text), loader)
    commands = parser.script()
    return ast.Script(tuple(commands), tuple(loader.files))


def load_script(path: str, search_paths: Sequence[str] = ()) -> ast.Script:
    """Read and parse a script file, expanding INCLUDEs (searched in -L `search_paths`)."""
    loader = _Loader(search_paths)
    text = loader.read(path)
    loader.files.append(path)
    loader.stack.append(os.path.realpath(path))
    parser = _Parser(_Source(path, text), loader)
    commands = parser.script()
    return ast.Script(tuple(commands), tuple(loader.files))


def parse_expression(text: str, filename: str = "<command line>") -> ast.Expr:
    """Parse one expression, e.g. the value of `--defsym NAME=EXPR`."""
    parser = _Parser(_Source(filename, text), _Loader(()))
    value = parser.expr()
    if not parser.at_end():
        raise parser.error(f"unexpected {parser.describe()} after the expression")
    return value

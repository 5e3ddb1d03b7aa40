"""tree-sitter trees -> the model (model.Package). Syntax only: no type checker, so types are
followed as far as declarations spell them (package vars, struct fields, parameters, `x := T{}`,
`(*T)(...)`); what cannot be resolved is recorded as a function value or interface call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gomcu.source.model import (
    Call,
    CallKind,
    Construct,
    Form,
    Function,
    GoStatement,
    MmioAccess,
    MmioPointer,
    Package,
    Position,
    Registration,
)
from gomcu.source.names import CallbackApi, SourceNames
from gomcu.source.parse import ParsedFile

Node = Any  # tree_sitter.Node

BUILTIN_TYPES = frozenset(
    "bool byte rune string error any int int8 int16 int32 int64 uint uint8 uint16 uint32 uint64 "
    "uintptr float32 float64 complex64 complex128".split())
HARMLESS_BUILTINS = frozenset("len cap copy delete close recover min max clear complex real imag".split())
STRING_LITERALS = ("interpreted_string_literal", "raw_string_literal")
PACKAGE_INIT = "(package initialisers)"


def _text(node: Node) -> str:
    return node.text.decode("utf-8", "replace") if node is not None else ""


def _short(node: Node) -> str:
    first = _text(node).splitlines()[0] if _text(node) else ""
    return first if len(first) <= 60 else first[:57] + "..."


def _op(node: Node) -> str:
    """The operator token of a unary/binary expression or assignment."""
    op = node.child_by_field_name("operator")
    if op is not None:
        return _text(op)
    for child in node.children:
        if not child.is_named:
            return _text(child)
    return ""


@dataclass
class _Decls:
    """Package-level declarations, over all files."""

    functions: set[str] = field(default_factory=set)
    methods: dict[str, set[str]] = field(default_factory=dict)       # method -> receiver types
    types: dict[str, str] = field(default_factory=dict)              # name -> struct|interface|func|other
    fields: dict[str, dict[str, str | None]] = field(default_factory=dict)  # struct -> field -> type
    field_nodes: dict[str, list[tuple[str, Node, dict[str, str]]]] = field(default_factory=dict)
    consts: dict[str, str] = field(default_factory=dict)             # name -> string|int|other
    vars: dict[str, str | None] = field(default_factory=dict)        # name -> type
    mmio_vars: set[str] = field(default_factory=set)
    func_vars: dict[str, str] = field(default_factory=dict)          # package var -> function it holds
    assigned: set[str] = field(default_factory=set)                  # names assigned with `=` somewhere


def _imports(root: Node) -> dict[str, str]:
    out: dict[str, str] = {}
    for spec in _descendants(root, "import_spec"):
        path = _text(spec.child_by_field_name("path")).strip('"`')
        name = spec.child_by_field_name("name")
        alias = _text(name) if name is not None else path.rsplit("/", 1)[-1]
        if alias not in ("_", "."):
            out[alias] = path
    return out


def _export_name(decl: Node) -> str | None:
    """The name in a `//export NAME` (or `//go:export NAME`) comment directly above a declaration."""
    node, line = decl.prev_sibling, decl.start_point[0]
    while node is not None and node.type == "comment" and node.end_point[0] >= line - 1:
        words = _text(node).split()
        if len(words) >= 2 and words[0] in ("//export", "//go:export"):
            return words[1]
        node, line = node.prev_sibling, node.start_point[0]
    return None


def _param_types(literal: Node, imports: dict[str, str]) -> str:
    """A function literal's parameter types as "machine.Pin, *machine.CAN" (import paths, not aliases)."""
    params = literal.child_by_field_name("parameters")
    out = []
    for p in params.named_children if params is not None else ():
        typ = p.child_by_field_name("type")
        if typ is None:
            continue
        ref = _type_ref(typ, imports) or _text(typ)
        star = "*" if typ.type == "pointer_type" else ""
        out.extend([star + ref] * max(1, len(p.children_by_field_name("name"))))
    return ", ".join(out)


def _descendants(node: Node, kind: str) -> list[Node]:
    out = []
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == kind:
            out.append(n)
        stack.extend(reversed(n.children))
    return out


def _type_ref(node: Node | None, imports: dict[str, str]) -> str | None:
    """A type as "T" (package or builtin), "path.T" (other package), or a kind word."""
    if node is None:
        return None
    kind = node.type
    if kind in ("pointer_type", "parenthesized_type"):
        return _type_ref(node.named_children[-1] if node.named_children else None, imports)
    if kind in ("type_identifier", "identifier"):
        return _text(node)
    if kind == "qualified_type":
        pkg = _text(node.child_by_field_name("package"))
        return f"{imports.get(pkg, pkg)}.{_text(node.child_by_field_name('name'))}"
    if kind == "selector_expression":  # a qualified type written in expression position
        operand = node.child_by_field_name("operand")
        if operand is not None and operand.type == "identifier" and _text(operand) in imports:
            return f"{imports[_text(operand)]}.{_text(node.child_by_field_name('field'))}"
        return None
    if kind == "generic_type":
        return _type_ref(node.child_by_field_name("type"), imports)
    if kind == "unary_expression" and _op(node) == "*":
        return _type_ref(node.child_by_field_name("operand"), imports)
    if kind == "func_type":
        return "func"
    if kind == "channel_type":
        return "chan"
    if kind == "interface_type":
        return "interface"
    return None


class Extractor:
    """Builds the model of one package from its parsed files."""

    def __init__(self, files: tuple[ParsedFile, ...], names: SourceNames) -> None:
        self.files = files
        self.names = names
        self.decls = _Decls()
        self.functions: list[Function] = []
        self.registrations: list[Registration] = []
        self.goroutines: list[GoStatement] = []
        self.pointers: list[MmioPointer] = []
        self.accesses: list[MmioAccess] = []

    # -- pass 1: declarations --------------------------------------------------------------------

    def _collect(self, parsed: ParsedFile, imports: dict[str, str]) -> None:
        d = self.decls
        for node in parsed.tree.root_node.named_children:
            if node.type == "function_declaration":
                d.functions.add(_text(node.child_by_field_name("name")))
            elif node.type == "method_declaration":
                receiver = self._receiver(node)[1]
                d.methods.setdefault(_text(node.child_by_field_name("name")), set()).add(receiver or "?")
            elif node.type == "type_declaration":
                for spec in node.named_children:
                    if spec.type not in ("type_spec", "type_alias"):
                        continue
                    name = _text(spec.child_by_field_name("name"))
                    body = spec.child_by_field_name("type")
                    kind = {"struct_type": "struct", "interface_type": "interface",
                            "func_type": "func"}.get(body.type if body is not None else "", "other")
                    d.types[name] = kind
                    if kind == "struct" and body is not None:
                        self._struct_fields(name, body, imports)
            elif node.type == "const_declaration":
                last = "int"
                for spec in node.named_children:
                    if spec.type != "const_spec":
                        continue
                    value = spec.child_by_field_name("value")
                    typ = spec.child_by_field_name("type")
                    if typ is not None:
                        last = "string" if _text(typ) == "string" else "int"
                    elif value is not None and value.named_children:
                        first = value.named_children[0]
                        last = "string" if first.type in STRING_LITERALS or "\"" in _text(first) else "int"
                    names = spec.children_by_field_name("name")
                    for i, name_node in enumerate(names):
                        d.consts[_text(name_node)] = last
                        if value is not None and len(value.named_children) == len(names):
                            typ = self._static_type(value.named_children[i], imports)  # machine.LED
                            if typ is not None and "." in typ:
                                d.vars[_text(name_node)] = typ
            elif node.type == "var_declaration":
                for spec in _descendants(node, "var_spec"):
                    typ = _type_ref(spec.child_by_field_name("type"), imports)
                    value = spec.child_by_field_name("value")
                    names = spec.children_by_field_name("name")
                    for i, name_node in enumerate(names):
                        t = typ
                        if t is None and value is not None and len(value.named_children) == len(names):
                            t = self._static_type(value.named_children[i], imports)
                        d.vars[_text(name_node)] = t

    def _struct_fields(self, struct: str, body: Node, imports: dict[str, str]) -> None:
        fields: dict[str, str | None] = {}
        nodes: list[tuple[str, Node, dict[str, str]]] = []
        for decl in _descendants(body, "field_declaration"):
            typ = decl.child_by_field_name("type")
            names = decl.children_by_field_name("name") or [typ]
            for name_node in names:
                fields[_text(name_node)] = _type_ref(typ, imports)
                nodes.append((_text(name_node), typ, imports))
        self.decls.fields[struct] = fields
        self.decls.field_nodes[struct] = nodes

    def _receiver(self, method: Node) -> tuple[str | None, str | None]:
        """(receiver variable, receiver type name) of a method declaration."""
        params = method.child_by_field_name("receiver")
        for p in params.named_children if params is not None else ():
            if p.type == "parameter_declaration":
                name = p.child_by_field_name("name")
                typ = _type_ref(p.child_by_field_name("type"), {})
                return (_text(name) if name is not None else None), typ
        return None, None

    def _static_type(self, expr: Node | None, imports: dict[str, str]) -> str | None:
        """The type an initialiser spells out: T{...}, &T{...}, (*T)(x), new(T)."""
        if expr is None:
            return None
        if expr.type == "composite_literal":
            return _type_ref(expr.child_by_field_name("type"), imports)
        if expr.type == "unary_expression" and _op(expr) == "&":
            return self._static_type(expr.child_by_field_name("operand"), imports)
        if expr.type == "parenthesized_expression" and expr.named_children:
            return self._static_type(expr.named_children[0], imports)
        if expr.type == "call_expression":
            fn = expr.child_by_field_name("function")
            args = expr.child_by_field_name("arguments")
            if fn is not None and fn.type == "parenthesized_expression" and fn.named_children:
                return _type_ref(fn.named_children[0], imports)
            if fn is not None and _text(fn) == "new" and args is not None and args.named_children:
                return _type_ref(args.named_children[0], imports)
            if fn is not None and fn.type == "selector_expression":
                return None
        if expr.type == "type_conversion_expression":
            return _type_ref(expr.child_by_field_name("type"), imports)
        if expr.type in STRING_LITERALS:
            return "string"
        if expr.type == "selector_expression":  # machine.LED: a value of another package, named by the profile
            operand = expr.child_by_field_name("operand")
            if operand is not None and operand.type == "identifier" and _text(operand) in imports:
                return self.names.value_type(f"{imports[_text(operand)]}.{_text(expr.child_by_field_name('field'))}")
        return None

    # -- MMIO ------------------------------------------------------------------------------------

    def _constant_int(self, node: Node | None) -> bool:
        if node is None:
            return False
        if node.type == "int_literal":
            return True
        if node.type == "identifier":
            return self.decls.consts.get(_text(node)) == "int"
        if node.type == "parenthesized_expression":
            return all(self._constant_int(c) for c in node.named_children)
        if node.type == "binary_expression":
            return (self._constant_int(node.child_by_field_name("left"))
                    and self._constant_int(node.child_by_field_name("right")))
        if node.type == "call_expression":  # uintptr(0x4000_0000), uint32(base)
            fn = node.child_by_field_name("function")
            args = node.child_by_field_name("arguments")
            return (fn is not None and _text(fn) in BUILTIN_TYPES and args is not None
                    and len(args.named_children) == 1 and self._constant_int(args.named_children[0]))
        return False

    def mmio_pointer(self, call: Node, imports: dict[str, str]) -> tuple[Node, str] | None:
        """(target type node, address text) when the call is (*T)(unsafe.Pointer(<constant>))."""
        fn = call.child_by_field_name("function")
        args = call.child_by_field_name("arguments")
        if fn is None or fn.type != "parenthesized_expression" or not fn.named_children:
            return None
        star = fn.named_children[0]
        if star.type not in ("unary_expression", "pointer_type") or (
                star.type == "unary_expression" and _op(star) != "*"):
            return None
        if args is None or len(args.named_children) != 1:
            return None
        inner = args.named_children[0]
        if inner.type != "call_expression":
            return None
        ifn = inner.child_by_field_name("function")
        iargs = inner.child_by_field_name("arguments")
        if ifn is None or ifn.type != "selector_expression":
            return None
        operand = ifn.child_by_field_name("operand")
        if (operand is None or imports.get(_text(operand)) != self.names.unsafe_package
                or _text(ifn.child_by_field_name("field")) != "Pointer"):
            return None
        if iargs is None or len(iargs.named_children) != 1 or not self._constant_int(iargs.named_children[0]):
            return None
        target = star.named_children[-1]
        return target, _text(iargs.named_children[0])

    def is_volatile(self, type_node: Node, imports: dict[str, str], depth: int = 0) -> bool:
        """A volatile register type, or a struct (of the package) made only of them."""
        while type_node is not None and type_node.type == "array_type":
            type_node = type_node.child_by_field_name("element")
        ref = _type_ref(type_node, imports)
        if ref is None:
            return False
        if ref.startswith(self.names.volatile_package + "."):
            return True
        if depth < 4 and self.decls.types.get(ref) == "struct":
            nodes = self.decls.field_nodes.get(ref, [])
            return bool(nodes) and all(name == "_" or self.is_volatile(n, imp, depth + 1)
                                       for name, n, imp in nodes)
        return False

    # -- passes 2 and 3: bodies --------------------------------------------------------------

    def run(self, directory: str) -> Package:
        per_file = [(f, _imports(f.tree.root_node)) for f in self.files]
        for parsed, imports in per_file:
            self._collect(parsed, imports)
            for stmt in _descendants(parsed.tree.root_node, "assignment_statement"):
                left = stmt.child_by_field_name("left")
                self.decls.assigned.update(_text(n) for n in (left.named_children if left is not None else ())
                                           if n.type == "identifier")
        init = _Walker(self, PACKAGE_INIT, None, None, None)
        init.link = "init"
        for parsed, imports in per_file:
            init.file, init.imports = parsed.path, imports
            for node in parsed.tree.root_node.named_children:
                if node.type == "var_declaration":
                    init.walk(node)
        self.decls.func_vars.update(init.literal_vars)
        if init.constructs or init.calls:
            self.functions.append(init.finish(Position(self.files[0].path, 1, 1)))
        for parsed, imports in per_file:
            for node in parsed.tree.root_node.named_children:
                if node.type in ("function_declaration", "method_declaration"):
                    self._function(node, parsed.path, imports)
        notes = tuple(f"{f.path}:{f.error[0]}:{f.error[1]}: syntax error; analysed what tree-sitter "
                      "recovered around it" for f in self.files if f.error)
        names = [_text(c) for f in self.files for c in _descendants(f.tree.root_node, "package_identifier")[:1]]
        package = names[0] if names else "?"
        if len(set(names)) > 1:
            notes += (f"files declare different packages ({', '.join(sorted(set(names)))}); analysed together",)
        return Package(package, directory, tuple(f.path for f in self.files), tuple(self.functions),
                       tuple(self.registrations), tuple(self.goroutines), tuple(self.pointers),
                       tuple(self.accesses), notes)

    def _function(self, node: Node, file: str, imports: dict[str, str]) -> None:
        name = _text(node.child_by_field_name("name"))
        receiver = method = None
        walker_name = name
        link = name
        if node.type == "method_declaration":
            recv_var, receiver = self._receiver(node)
            method = name
            walker_name = f"{receiver}.{name}"
            recv = node.child_by_field_name("receiver")
            pointer = recv is not None and any(p.child_by_field_name("type") is not None
                                               and p.child_by_field_name("type").type == "pointer_type"
                                               for p in recv.named_children)
            link = f"({'*' if pointer else ''}{receiver}).{name}"
        w = _Walker(self, walker_name, receiver, method, None)
        w.file, w.imports, w.link = file, imports, link
        exported = _export_name(node)
        if exported is not None:
            w.exported = exported
            if self.names.is_export_handler(exported):
                self.registrations.append(Registration(exported, walker_name, True, False, w.pos(node), walker_name,
                                                       Form.EXPORT, how="function"))
        if node.type == "method_declaration":
            recv = node.child_by_field_name("receiver")
            if recv is not None:
                w.declare_params(recv)
        w.walk_function(node)
        self.functions.append(w.finish(w.pos(node)))


class _Walker:
    """Walks one function body (a function literal gets its own walker)."""

    def __init__(self, ex: Extractor, name: str, receiver: str | None, method: str | None,
                 parent: _Walker | None) -> None:
        self.ex = ex
        self.name = name
        self.receiver = receiver
        self.method = method
        self.parent = parent
        self.file: str = parent.file if parent else ""
        self.imports: dict[str, str] = parent.imports if parent else {}
        self.constructs: list[Construct] = []
        self.calls: list[Call] = []
        self.types: dict[str, str | None] = {}
        self.literal_vars: dict[str, str] = {}
        self.mmio_vars: set[str] = set()
        self.used: set[str] = set()
        self.skip: set[int] = set()
        self.loop = 0
        self.counter: list[int] = [0] if parent is None else parent.counter
        self.top: str = name if parent is None else parent.top
        self.link: str = name  # TinyGo's name (set by the creator); literals add "$N" in order
        self.anon = 0
        self.exported: str | None = None

    # -- helpers -------------------------------------------------------------------------------

    def pos(self, node: Node) -> Position:
        return Position(self.file, node.start_point[0] + 1, node.start_point[1] + 1)

    def add(self, kind: str, category: str, node: Node) -> None:
        self.constructs.append(Construct(kind, category, _short(node), self.pos(node), self.loop > 0))

    def call(self, callee: str, kind: CallKind, node: Node, receiver: str | None = None) -> None:
        self.calls.append(Call(callee, kind, self.pos(node), self.loop > 0, receiver))

    def finish(self, position: Position) -> Function:
        return Function(self.name, position, tuple(self.constructs), tuple(self.calls),
                        self.receiver, self.method, literal=self.parent is not None, link=self.link,
                        exported=self.exported)

    def is_local(self, name: str) -> bool:
        w: _Walker | None = self
        while w is not None:
            if name in w.types:
                return True
            w = w.parent
        return False

    def local_type(self, name: str) -> str | None:
        w: _Walker | None = self
        while w is not None:
            if name in w.types:
                return w.types[name]
            w = w.parent
        return self.ex.decls.vars.get(name)

    def is_mmio_var(self, name: str) -> bool:
        w: _Walker | None = self
        while w is not None:
            if name in w.mmio_vars:
                return True
            if name in w.types:
                return False
            w = w.parent
        return name in self.ex.decls.mmio_vars

    def declare(self, name: str, typ: str | None = None) -> None:
        if name and name != "_":
            self.types[name] = typ

    def declare_params(self, params: Node) -> None:
        for p in params.named_children:
            if p.type in ("parameter_declaration", "variadic_parameter_declaration"):
                typ = _type_ref(p.child_by_field_name("type"), self.imports)
                if p.type == "variadic_parameter_declaration":
                    typ = None
                for n in p.children_by_field_name("name"):
                    self.declare(_text(n), typ)

    def type_of(self, expr: Node | None) -> str | None:
        if expr is None:
            return None
        if expr.type == "identifier":
            return self.local_type(_text(expr))
        if expr.type == "selector_expression":
            operand = expr.child_by_field_name("operand")
            if operand is not None and operand.type == "identifier" and _text(operand) in self.imports \
                    and not self.is_local(_text(operand)):
                return self.ex.names.value_type(f"{self.imports[_text(operand)]}.{_text(expr.child_by_field_name('field'))}")
            owner = self.type_of(operand)
            if owner is not None:
                return self.ex.decls.fields.get(owner, {}).get(_text(expr.child_by_field_name("field")))
            return None
        if expr.type in ("parenthesized_expression",) and expr.named_children:
            return self.type_of(expr.named_children[0])
        if expr.type == "unary_expression" and _op(expr) in ("*", "&"):
            inner = expr.child_by_field_name("operand")
            static = self.ex._static_type(inner, self.imports) if _op(expr) == "&" else None
            return static or self.type_of(inner)
        if expr.type == "index_expression":
            return None
        return self.ex._static_type(expr, self.imports)

    # -- the walk ------------------------------------------------------------------------------

    def walk(self, node: Node) -> None:
        handler = getattr(self, "_" + node.type, None)
        if handler is not None:
            handler(node)
            return
        if node.type == "identifier":
            self.used.add(_text(node))
        for child in node.named_children:
            self.walk(child)

    def _children(self, node: Node) -> None:
        for child in node.named_children:
            self.walk(child)

    def _func_literal(self, node: Node) -> None:
        self.literal(node, call=True)

    def walk_function(self, node: Node) -> None:
        """Declare a function's (or literal's) parameters, then walk its body."""
        params = node.child_by_field_name("parameters")
        if params is not None:
            self.declare_params(params)
        body = node.child_by_field_name("body")
        if body is not None:
            self.walk(body)

    def literal(self, node: Node, call: bool) -> str:
        """Walk a function literal as a function of its own; an edge from here unless started by go."""
        self.counter[0] += 1
        name = f"{self.top}.func{self.counter[0]}"
        w = _Walker(self.ex, name, None, None, self)
        self.anon += 1
        w.link = f"{self.link}${self.anon}"
        w.walk_function(node)
        self.ex.functions.append(w.finish(self.pos(node)))
        free = w.used - set(w.types)
        captured = sorted(n for n in free if self.is_local(n))
        self.used |= free
        if captured and self.name != PACKAGE_INIT:
            self.constructs.append(Construct("closure", "alloc",
                                             f"func literal capturing {', '.join(captured)}",
                                             self.pos(node), self.loop > 0))
        if call:
            self.call(name, CallKind.LITERAL, node)
        return name

    def _go_statement(self, node: Node) -> None:
        self.add("go", "go", node)
        call = node.named_children[0] if node.named_children else None
        fn = call.child_by_field_name("function") if call is not None and call.type == "call_expression" else None
        literal = None
        if fn is not None and fn.type == "func_literal":
            literal = self.literal(fn, call=False)
            target = "func literal"
        else:
            target = _text(fn) if fn is not None else _short(node)
        self.ex.goroutines.append(GoStatement(self.name, target, literal, self.pos(node), self.loop > 0))
        args = call.child_by_field_name("arguments") if call is not None else None
        if args is not None:
            self.walk(args)

    def _defer_statement(self, node: Node) -> None:
        self.add("defer", "defer", node)
        self._children(node)

    def _send_statement(self, node: Node) -> None:
        self.add("send", "block", node)
        self._children(node)

    def _select_statement(self, node: Node) -> None:
        if not any(c.type == "default_case" for c in node.named_children):
            self.add("select", "block", node)
        else:
            self.add("select with default", "fine", node)
        for case in node.named_children:
            comm = case.child_by_field_name("communication")
            for child in case.named_children:
                if comm is None or child.id != comm.id:
                    self.walk(child)
            if comm is not None and comm.type == "receive_statement":
                left = comm.child_by_field_name("left")
                for n in left.named_children if left is not None else ():
                    if _text(comm).find(":=") >= 0:
                        self.declare(_text(n))

    def _for_statement(self, node: Node) -> None:
        body = node.child_by_field_name("body")
        for child in node.named_children:
            if body is not None and child.id == body.id:
                continue
            if child.type == "range_clause":
                left = child.child_by_field_name("left")
                for n in left.named_children if left is not None else ():
                    self.declare(_text(n))
                right = child.child_by_field_name("right")
                if right is not None:
                    self.walk(right)
                continue
            self.walk(child)
        if body is not None:
            self.loop += 1
            self.walk(body)
            self.loop -= 1

    def _short_var_declaration(self, node: Node) -> None:
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        if right is not None:
            self.walk_values(left, right)
        for n in left.named_children if left is not None else ():
            if _text(n) not in self.types:
                self.declare(_text(n))
        if left is not None and right is not None and len(left.named_children) == len(right.named_children):
            for lhs, rhs in zip(left.named_children, right.named_children):
                self.bind(_text(lhs), rhs)

    def walk_values(self, left: Node | None, right: Node) -> None:
        del left
        for child in right.named_children:
            self.walk(child)

    def bind(self, name: str, value: Node) -> None:
        """What a name now holds: a type, a function literal, a non-volatile MMIO pointer."""
        self.types[name] = self.type_of(value)
        if value.type == "func_literal":
            lit = [f for f in self.calls if f.kind is CallKind.LITERAL and f.position == self.pos(value)]
            if lit:
                self.literal_vars[name] = lit[-1].callee
        elif value.type == "identifier" and _text(value) in self.ex.decls.functions and not self.is_local(_text(value)):
            self.literal_vars[name] = _text(value)
        if value.type == "call_expression":
            found = self.ex.mmio_pointer(value, self.imports)
            if found is not None and not self.ex.is_volatile(found[0], self.imports):
                if self.name == PACKAGE_INIT:
                    self.ex.decls.mmio_vars.add(name)
                    self.types.pop(name, None)
                else:
                    self.mmio_vars.add(name)

    def _var_spec(self, node: Node) -> None:
        value = node.child_by_field_name("value")
        if value is not None:
            self.walk(value)
        typ = _type_ref(node.child_by_field_name("type"), self.imports)
        names = node.children_by_field_name("name")
        for n in names:
            self.declare(_text(n), typ)
        if value is not None and len(value.named_children) == len(names):
            for n, v in zip(names, value.named_children):
                self.bind(_text(n), v)
                if typ is not None:
                    self.types[_text(n)] = typ
        if self.name == PACKAGE_INIT:
            for n in names:
                self.types.pop(_text(n), None)

    def _assignment_statement(self, node: Node) -> None:
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        if _op(node) == "+=" and left is not None and right is not None:
            if any(self.type_of(n) == "string" for n in left.named_children) or any(
                    self.string_leaves(n)[0] for n in right.named_children):
                self.add("string-concat", "alloc", node)
        self._children(node)

    def _unary_expression(self, node: Node) -> None:
        op = _op(node)
        operand = node.child_by_field_name("operand")
        if op == "<-":
            self.add("receive", "block", node)
        elif op == "&" and operand is not None and operand.type == "composite_literal":
            self.add("address-of-literal", "alloc", node)
            body = operand.child_by_field_name("body")
            if body is not None:
                self.walk(body)
            return
        elif op == "*" and operand is not None:
            if operand.type == "identifier" and self.is_mmio_var(_text(operand)):
                self.access(node, _text(operand))
            elif operand.type == "call_expression":
                found = self.ex.mmio_pointer(operand, self.imports)
                if found is not None and not self.ex.is_volatile(found[0], self.imports):
                    self.access(node, None)
        self._children(node)

    def _selector_expression(self, node: Node) -> None:
        operand = node.child_by_field_name("operand")
        if operand is not None and operand.type == "identifier" and self.is_mmio_var(_text(operand)):
            self.access(node, _text(operand))
        if operand is not None:
            self.walk(operand)

    def access(self, node: Node, variable: str | None) -> None:
        """A read or write through a non-volatile MMIO pointer (write: on the left of =, ++, --)."""
        child, parent = node, node.parent
        while parent is not None and parent.type in ("selector_expression", "index_expression",
                                                     "parenthesized_expression", "expression_list"):
            child, parent = parent, parent.parent
        write = False
        if parent is not None and parent.type == "assignment_statement":
            left = parent.child_by_field_name("left")
            write = left is not None and left.id == child.id
        elif parent is not None and parent.type in ("inc_statement", "dec_statement"):
            write = True
        self.ex.accesses.append(MmioAccess(variable, write, _short(parent if write and parent is not None else node),
                                           self.pos(node), self.name))

    def _composite_literal(self, node: Node) -> None:
        typ = node.child_by_field_name("type")
        if typ is not None and typ.type in ("slice_type", "map_type", "implicit_length_array_type"):
            if typ.type != "implicit_length_array_type":
                self.add("map-literal" if typ.type == "map_type" else "slice-literal", "alloc", node)
        body = node.child_by_field_name("body")
        if body is not None:
            self.walk(body)

    def _type_conversion_expression(self, node: Node) -> None:
        typ = node.child_by_field_name("type")
        if typ is not None and (_text(typ) in ("[]byte", "[]rune", "string")):
            self.add("conversion", "alloc", node)
        operand = node.child_by_field_name("operand")
        if operand is not None:
            self.walk(operand)

    def string_leaves(self, node: Node) -> tuple[bool, bool]:
        """(is a string, is constant) for the leaves of a + chain."""
        if node.type == "binary_expression" and _op(node) == "+":
            ls, lc = self.string_leaves(node.child_by_field_name("left"))
            rs, rc = self.string_leaves(node.child_by_field_name("right"))
            return ls or rs, lc and rc
        if node.type == "parenthesized_expression" and node.named_children:
            return self.string_leaves(node.named_children[0])
        if node.type in STRING_LITERALS:
            return True, True
        if node.type in ("int_literal", "float_literal", "rune_literal"):
            return False, True
        if node.type == "identifier":
            name = _text(node)
            if not self.is_local(name) and name in self.ex.decls.consts:
                return self.ex.decls.consts[name] == "string", True
            return self.local_type(name) == "string", False
        return self.type_of(node) == "string", False

    def _binary_expression(self, node: Node) -> None:
        parent = node.parent
        if _op(node) == "+" and not (parent is not None and parent.type == "binary_expression" and _op(parent) == "+"):
            is_string, constant = self.string_leaves(node)
            if is_string and not constant:
                self.add("string-concat", "alloc", node)
        self._children(node)

    def _call_expression(self, node: Node) -> None:
        fn = node.child_by_field_name("function")
        args = node.child_by_field_name("arguments")
        arg_nodes = args.named_children if args is not None else []
        if fn is not None:
            self.classify_call(node, fn, arg_nodes)
            if fn.type == "call_expression" or fn.type == "func_literal" or fn.type == "index_expression":
                self.walk(fn)
            elif fn.type == "selector_expression":
                self.walk(fn)
            elif fn.type == "identifier":
                self.used.add(_text(fn))
        if fn is not None and fn.type == "parenthesized_expression":
            found = self.ex.mmio_pointer(node, self.imports)
            if found is not None:
                target, address = found
                variable = None
                parent = node.parent
                if parent is not None and parent.type == "expression_list":
                    owner = parent.parent
                    if owner is not None and owner.type in ("var_spec", "short_var_declaration", "assignment_statement"):
                        names = (owner.children_by_field_name("name") if owner.type == "var_spec"
                                 else (owner.child_by_field_name("left").named_children
                                       if owner.child_by_field_name("left") is not None else []))
                        if len(names) == 1:
                            variable = _text(names[0])
                self.ex.pointers.append(MmioPointer(_text(target), address,
                                                    self.ex.is_volatile(target, self.imports),
                                                    variable, self.pos(node), self.name))
        for arg in arg_nodes:
            if arg.id not in self.skip:
                self.walk(arg)

    def classify_call(self, node: Node, fn: Node, args: list[Node]) -> None:
        d = self.ex.decls
        names = self.ex.names
        if fn.type == "identifier":
            name = _text(fn)
            if name in self.literal_vars:
                self.call(self.literal_vars[name], CallKind.LITERAL, node)
            elif self.is_local(name):
                self.call(name, CallKind.VALUE, node)
            elif name in ("make", "new", "append"):
                self.add(name, "alloc", node)
            elif name == "panic":
                self.add("panic", "panic", node)
            elif name in names.printing_builtins:
                self.add("print", "print", node)
            elif name == "string":
                if not (args and args[0].type in STRING_LITERALS):
                    self.add("conversion", "alloc", node)
            elif name in d.functions:
                self.call(name, CallKind.LOCAL, node)
            elif name in d.types or name in BUILTIN_TYPES or name in HARMLESS_BUILTINS:
                return
            else:
                self.call(name, CallKind.VALUE, node)
        elif fn.type == "selector_expression":
            operand = fn.child_by_field_name("operand")
            member = _text(fn.child_by_field_name("field"))
            if operand is not None and operand.type == "identifier" and _text(operand) in self.imports \
                    and not self.is_local(_text(operand)):
                path = self.imports[_text(operand)]
                if path == names.interrupt_package and member == "New":
                    self.registration(node, args)
                apis = [a for a in names.callback_apis(member, len(args)) if a.api == f"{path}.{member}"]
                if apis:
                    self.callback(node, "", apis, args)
                self.call(f"{path}.{member}", CallKind.EXTERNAL, node)
                return
            owner = self.type_of(operand)
            apis = [a for a in names.callback_apis(member, len(args)) if a.receiver is not None
                    and (a.receiver == owner or (owner is None and member not in d.methods))]
            if apis:
                self.callback(node, _text(operand), apis, args)
            if owner is not None and "." in owner:
                self.call(f"{owner}.{member}", CallKind.EXTERNAL, node)
            elif owner is not None and d.types.get(owner) == "interface":
                self.call(f"{owner}.{member}", CallKind.INTERFACE, node)
            elif owner is not None and owner in d.methods.get(member, set()):
                self.call(member, CallKind.METHOD, node, owner)
            elif member in d.methods and not (owner is not None and d.fields.get(owner, {}).get(member)):
                self.call(member, CallKind.METHOD, node)
            else:
                self.call(_text(fn), CallKind.VALUE, node)
        elif fn.type == "func_literal":
            return  # the literal's walk adds the edge
        elif fn.type == "parenthesized_expression":
            return  # a conversion (*T)(x)
        else:
            self.call(_short(fn), CallKind.VALUE, node)

    def callback(self, node: Node, receiver: str, apis: list[CallbackApi], args: list[Node]) -> None:
        """A call that hands a callback to an API that runs it in interrupt context."""
        for index in sorted({i for a in apis for i in a.callbacks}):
            if index >= len(args):
                continue
            arg = args[index]
            fits = [a for a in apis if index in a.callbacks]
            if arg.type == "func_literal":  # the literal spells its parameters: keep the APIs it fits
                spelled = _param_types(arg, self.imports)
                fits = [a for a in fits if a.signature == spelled] or fits
            if arg.type == "nil":
                continue
            handler, resolved, literal, how = self.callback_target(arg)
            self.ex.registrations.append(Registration(receiver, handler, resolved, literal, self.pos(node), self.name,
                                                      Form.CALLBACK, tuple(a.api for a in fits), how))

    def callback_target(self, arg: Node) -> tuple[str, bool, bool, str]:
        """(handler, resolved, literal, how) for a callback argument: a function literal, a function
        of the package, a method value, or a variable set once from one of these."""
        d = self.ex.decls
        if arg.type == "func_literal":
            self.skip.add(arg.id)  # walked here as a function of its own, not again as an argument
            return self.literal(arg, call=False), True, True, "literal"
        if arg.type == "identifier":
            name = _text(arg)
            if name in d.assigned:
                return name, False, False, f"variable {name} is assigned more than once"
            target = self.literal_of(name)
            if target is not None:
                return target, True, ".func" in target, "variable"
            if self.is_local(name):
                return name, False, False, f"{name} is a variable not set from a function of the package"
            if name in d.functions:
                return name, True, False, "function"
            return name, False, False, f"{name} is not a function of the package"
        if arg.type == "selector_expression":
            operand = arg.child_by_field_name("operand")
            member = _text(arg.child_by_field_name("field"))
            if operand is not None and operand.type == "identifier" and _text(operand) in self.imports \
                    and not self.is_local(_text(operand)):
                return _text(arg), False, False, "a function of another package (not followed)"
            owner = self.type_of(operand)
            receivers = d.methods.get(member, set())
            if owner is None and len(receivers) == 1:
                owner = next(iter(receivers))
            if owner is not None and owner in receivers:
                return f"{owner}.{member}", True, False, "method value"
            return _text(arg), False, False, "a method value whose receiver type the source does not spell"
        return _short(arg), False, False, "an expression, not a function of the package"

    def literal_of(self, name: str) -> str | None:
        """The function a variable was set from (`cb := func(...)`, `var cb = onPress`), if any."""
        w: _Walker | None = self
        while w is not None:
            if name in w.literal_vars:
                return w.literal_vars[name]
            if name in w.types:
                return None
            w = w.parent
        return self.ex.decls.func_vars.get(name)

    def registration(self, node: Node, args: list[Node]) -> None:
        irq = _text(args[0]) if args else "?"
        handler = args[1] if len(args) > 1 else None
        if handler is not None and handler.type == "func_literal":
            name = self.literal(handler, call=False)
            self.skip.add(handler.id)  # walked here: not again (and not as a call) with the arguments
            self.ex.registrations.append(Registration(irq, name, True, True, self.pos(node), self.name))
            return
        text = _text(handler) if handler is not None else "?"
        resolved = text in self.ex.decls.functions and not self.is_local(text)
        self.ex.registrations.append(Registration(irq, text, resolved, False, self.pos(node), self.name))

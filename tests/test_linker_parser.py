"""Parser coverage for constructs that the oracle scripts cannot link on their own, and the
`show` JSON shape."""

from __future__ import annotations

import json

from gomcu import linker
from gomcu.cli import main
from gomcu.linker import ast
from test_linker_support import COMMON, FIXTURES

TEXT = """
SEARCH_DIR("/opt/lib") GROUP(-lgcc -lc) INPUT(crt0.o) STARTUP(crt0.o) TARGET(elf32-littlearm)
PHDRS { text PT_LOAD FILEHDR PHDRS ; data PT_LOAD ; }
NOCROSSREFS(.a .b)
MEMORY { ROM (rx!w) : ORIGIN = 1M + 0x100, LENGTH = 40h }
SECTIONS {
  .a 0x100 (NOLOAD) : AT(0x2000) ALIGN(8) SUBALIGN(4) ONLY_IF_RO {
     EXCLUDE_FILE(*crtend.o) *(.a*) SORT(*)(.b) *(EXCLUDE_FILE(x.o y.o) .c SORT_BY_ALIGNMENT(.d*))
     INPUT_SECTION_FLAGS(SHF_ALLOC) *(.e) CREATE_OBJECT_SYMBOLS SORT(CONSTRUCTORS)
  } :text =0x90909090
  .b : { KEEP(*crtbegin.o(.ctors)) } > ROM :data
} INSERT AFTER .text;
"""


def test_vendor_constructs_parse() -> None:
    script = linker.parse_text(TEXT)
    names = [type(c).__name__ for c in script.commands]
    assert names.count("Directive") >= 6 and "Insert" in names
    memory = next(c for c in script.commands if isinstance(c, ast.Memory))
    region = memory.regions[0]
    assert region.attrs == "rx!w" and region.pos.line == 5
    sections = next(c for c in script.commands if isinstance(c, ast.Sections))
    a = sections.items[0]
    assert (a.name, a.type, a.constraint, a.phdrs) == (".a", "NOLOAD", "ONLY_IF_RO", ("text",))
    specs = [i for i in a.items if isinstance(i, ast.InputSpec)]
    assert specs[0].exclude_files == ("*crtend.o",)
    assert specs[1].file_sort == ("SORT",)
    assert specs[2].sections[0].exclude_files == ("x.o", "y.o")
    assert specs[2].sections[1].sort == ("SORT_BY_ALIGNMENT",)
    b = sections.items[1]
    assert b.items[0].keep and b.items[0].file_pattern == "*crtbegin.o"
    insert = next(c for c in script.commands if isinstance(c, ast.Insert))
    assert insert.after and insert.section == ".text"


def test_numbers_and_precedence() -> None:
    layout = linker.evaluate(linker.parse_text(
        "a = 1 + 2 * 3 << 1; b = 010 + 0x10 + 4K + 1M; c = 1 ? 2 : 3; d = 7 - 2 - 1;"))
    values = {k: v.value for k, v in layout.symbols.items()}
    assert values == {"a": 14, "b": 8 + 16 + 4096 + 1048576, "c": 2, "d": 4}


def test_show_json_keys(capsys) -> None:
    status = main(["ld", "show", str(FIXTURES / "tinygo_style_chip.ld"), "-L", str(COMMON),
                   "--defsym", "_stack_size=0x1000", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert status == 0
    assert {"name", "origin", "length", "used"} <= set(doc["regions"][0])
    stack = next(s for s in doc["sections"] if s["name"] == ".stack")
    assert {"name", "vma", "lma", "size", "region"} <= set(stack)
    assert stack == {**stack, "vma": 0x20000000, "size": 0x1000, "region": "RAM"}
    assert doc["symbols"]["_stack_top"] == 0x20001000
    assert doc["symbols"]["_heap_end"] == 0x20008000

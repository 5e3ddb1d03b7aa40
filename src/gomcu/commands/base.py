"""The small base class every subcommand implements, and options they share."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, ClassVar

from gomcu.errors import require_file

__all__ = ["require_file"]

#: Exit statuses (docs/architecture.md): 0 all held, 1 a limit or budget failed, 2 bad input or usage.
EXIT_OK = 0
EXIT_LIMIT_FAILED = 1
EXIT_BAD_INPUT = 2

#: 2: every figure has `qualifier` ("at most"/"at least" or null) and `partial` (why an emulated
#: figure holds only up to an early stop, or null); `chips --fits` adds `goroutine_stack_bytes` and
#: `ram_needed_bytes`, and its `ram_headroom` is the heap left after goroutine stacks and GC metadata.
JSON_SCHEMA_VERSION = 2


class Command:
    """A subcommand: `add_arguments` declares its options, `run` calls the library."""

    name: ClassVar[str]
    help: ClassVar[str]
    description: ClassVar[str | None] = None

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Declare this command's options."""

    def run(self, args: argparse.Namespace) -> int:
        """Do the work and return the exit status."""
        raise NotImplementedError


def add_format_option(parser: argparse.ArgumentParser) -> None:
    """`--format text|json`, on every analysis command."""
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="output format (default: text)",
    )


def add_firmware_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("firmware", metavar="FIRMWARE.elf", help="the linked firmware ELF")


def add_runtime_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runtime", metavar="NAME|FILE.toml",
                        help="runtime profile to use instead of the detected one (tinygo, refmw, or a .toml file)")


def add_src_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--src", metavar="DIR",
                        help="the program's Go package: resolve the machine package's indirect calls to the callbacks "
                             "it registers (Pin.SetInterrupt, ...), by TinyGo name and DWARF declaration")


def add_chip_option(parser: argparse.ArgumentParser, help_text: str | None = None) -> None:
    from gomcu.commands.options import chip_name

    parser.add_argument(
        "--chip",
        metavar="NAME",
        type=chip_name,
        help=help_text or "the microcontroller, by name or alias (see `gomcu chips`)",
    )


def print_json(document: dict[str, Any]) -> None:
    """Write a JSON document with the schema version first."""
    out = {"schema_version": JSON_SCHEMA_VERSION, **document}
    json.dump(out, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def chip_for_image(name: str, image: Any) -> Any:
    """The named chip, refusing one whose core cannot run the firmware (bad input, exit 2)."""
    from gomcu.chips import find_chip, isa_runs_on
    from gomcu.errors import ChipError

    chip = find_chip(name)
    if not isa_runs_on(image.arch.value, image.core, chip, hard_float=image.hard_float):
        float_note = " hard-float" if image.hard_float else ""
        raise ChipError(
            f"chip {chip.name} ({chip.core}) cannot run this firmware, built for "
            f"{image.arch.value} {image.core}{float_note}"
        )
    return chip

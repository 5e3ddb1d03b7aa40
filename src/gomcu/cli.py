"""Command-line entry point: parse arguments, run one subcommand, map errors to exit codes.

Thin by design (docs/architecture.md): all work happens in the library; this module only discovers the
subcommands in `gomcu.commands` and turns `GomcuError` into one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

import gomcu
import gomcu.commands
from gomcu import diskcache
from gomcu.commands.base import EXIT_BAD_INPUT, Command
from gomcu.errors import GomcuError


def discover_commands(only: str | None = None) -> list[Command]:
    """Every `COMMAND` defined by a module of `gomcu.commands`, sorted by name; with `only`, just
    that command when its module has its name (importing every command's analyses and emulator
    is a noticeable part of a short command's time), else all of them."""
    if only is not None and only.isidentifier() and only != "base" and not only.startswith("_"):
        try:
            module = importlib.import_module(f"gomcu.commands.{only}")
        except ModuleNotFoundError as error:
            if error.name != f"gomcu.commands.{only}":
                raise
        else:
            command = getattr(module, "COMMAND", None)
            if isinstance(command, Command) and command.name == only:
                return [command]
    import pkgutil

    names = [info.name for info in pkgutil.iter_modules(gomcu.commands.__path__)
             if info.name != "base" and not info.name.startswith("_")]
    found: list[Command] = []
    for name in names:
        module = importlib.import_module(f"gomcu.commands.{name}")
        command = getattr(module, "COMMAND", None)
        if isinstance(command, Command):
            found.append(command)
    return sorted(found, key=lambda c: c.name)


class _Version(argparse.Action):
    """`--version`: the version, and whether the emulator's native hook is available (its absence
    makes every emulated run about ten times slower, so a user should see it at once)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        from gomcu.emu import emulator_path

        sys.stdout.write(f"gomcu {gomcu.__version__}\nemulator: {emulator_path()}\n")
        raise SystemExit(0)


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2 like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


_NO_CACHE_HELP = (f"neither read nor write the cache of decoded code, line tables and static check results (also: {diskcache.ENV_OFF}=1; "
                  "it lives in $XDG_CACHE_HOME/gomcu, else ~/.cache/gomcu)")


def build_parser(commands: Sequence[Command]) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gomcu",
        description="Can Go run on this microcontroller, and will it keep its deadlines? "
        "gomcu analyses a firmware ELF (TinyGo-built or any Cortex-M / RISC-V32 firmware) "
        "along four limits: memory, garbage collection, interrupts and the linker script.",
    )
    parser.add_argument("--version", action=_Version, nargs=0,
                        help="show the version and which emulator path runs will use, then exit")
    parser.add_argument("--debug", action="store_true", help="show a traceback on errors")
    parser.add_argument("--no-cache", action="store_true", help=_NO_CACHE_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command in commands:
        p = sub.add_parser(
            command.name,
            help=command.help,
            description=command.description or command.help,
        )
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show a traceback on errors")
        command.add_arguments(p)
        if "--no-cache" not in p._option_string_actions:  # `lab` has its own, which keeps nothing either
            p.add_argument("--no-cache", action="store_true", default=argparse.SUPPRESS, help=_NO_CACHE_HELP)
        p.set_defaults(_command=command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_given = sys.argv[1:] if argv is None else list(argv)
    first = next((a for a in args_given if not a.startswith("-")), None)
    # `gomcu --version` needs no command: importing them all was most of its time
    commands = [] if first is None and "--version" in args_given else discover_commands(first)
    parser = build_parser(commands)
    args = parser.parse_args(argv)
    command: Command | None = getattr(args, "_command", None)
    if command is None:
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    if args.no_cache:
        diskcache.disable()
    try:
        return command.run(args)
    except GomcuError as error:
        if args.debug:
            import traceback

            traceback.print_exc()
        sys.stderr.write(f"gomcu {command.name}: error: {error}\n")
        excerpt = getattr(error, "excerpt", None)  # e.g. a linker-script line with a caret
        if excerpt:
            sys.stderr.write(f"{excerpt}\n")
        return error.exit_status
    except KeyboardInterrupt:
        sys.stderr.write("gomcu: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    finally:
        _warn_slow_emulator()


def _warn_slow_emulator() -> None:
    """Once per command: a run fell back to the pure-Python emulator (the extension is missing)."""
    if "gomcu.emu.native" not in sys.modules:
        return  # nothing ran in the emulator (and importing it would cost a static command's time)
    from gomcu.emu import fallback_warning

    warning = fallback_warning()
    if warning:
        sys.stderr.write(f"gomcu: warning: {warning}\n")


if __name__ == "__main__":
    raise SystemExit(main())

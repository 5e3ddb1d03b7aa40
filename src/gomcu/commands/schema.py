"""`gomcu schema`: print the JSON Schema that `gomcu check --format json` conforms to."""

from __future__ import annotations

import argparse
import json
import sys

from gomcu.commands.base import EXIT_OK, Command


class SchemaCommand(Command):
    name = "schema"
    help = "print the JSON Schema of `gomcu check --format json`"

    def run(self, args: argparse.Namespace) -> int:
        from gomcu.report.json_report import SCHEMA

        json.dump(SCHEMA, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK


COMMAND = SchemaCommand()

"""The JSON form of a Report, and the JSON Schema it conforms to (`gomcu schema`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from gomcu.commands.base import JSON_SCHEMA_VERSION
from gomcu.findings import Figure, Finding
from gomcu.report.details import details_of
from gomcu.report.model import Report


def figure_json(f: Figure) -> dict[str, Any]:
    return {"name": f.name, "value": f.value, "unit": f.unit, "origin": f.origin.value,
            "qualifier": f.qualifier or None, "partial": f.partial or None, "deciding": f.deciding}


def finding_json(f: Finding) -> dict[str, Any]:
    location = None
    if f.location is not None:
        location = {"address": f.location.address, "function": f.location.function,
                    "file": f.location.file, "line": f.location.line}
    return {"rule": f.rule, "severity": f.severity.value, "message": f.message,
            "location": location, "chain": list(f.chain), "in_runtime": f.in_runtime}


def to_json(report: Report) -> dict[str, Any]:
    return {
        "schema_version": JSON_SCHEMA_VERSION,
        "firmware": report.firmware,
        "arch": report.arch,
        "core": report.core,
        "toolchain": report.toolchain,
        "chip": report.chip,
        "runtime": report.runtime,
        "overall": report.overall.value,
        "limits": [
            {
                "limit": r.limit,
                "title": r.title,
                "status": r.status.value,
                "skipped": r.skipped,
                "figures": [figure_json(f) for f in r.figures],
                "findings": [finding_json(f) for f in r.findings],
                "suggestions": list(r.suggestions),
                "details": details_of(r),
            }
            for r in report.limits
        ],
        "budget": [
            {"key": b.key, "limit": b.limit, "actual": b.actual, "unit": b.unit, "kind": b.kind,
             "exceeded": b.exceeded}
            for b in report.budget
        ],
        "plots": asdict(report.plots),
        "notes": list(report.notes),
    }


def error_json(message: str) -> dict[str, Any]:
    """What `--format json` prints instead of a report when the input is unusable."""
    return {"schema_version": JSON_SCHEMA_VERSION, "error": message}


_STATUS = {"enum": ["pass", "warn", "fail", "unknown"]}
_NULLABLE_STR = {"type": ["string", "null"]}
_NUMBER_OR_NULL = {"type": ["number", "null"]}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://gomcu.invalid/schema/check-report.json",
    "title": "gomcu check report",
    "type": "object",
    "oneOf": [
        {"required": ["schema_version", "error"]},
        {"required": ["schema_version", "firmware", "arch", "core", "overall", "limits", "budget"]},
    ],
    "properties": {
        "schema_version": {"const": JSON_SCHEMA_VERSION},
        "error": {"type": "string"},
        "firmware": {"type": "string"},
        "arch": {"enum": ["arm", "riscv32"]},
        "core": {"type": "string"},
        "toolchain": {"type": "string"},
        "chip": _NULLABLE_STR,
        "runtime": _NULLABLE_STR,
        "overall": _STATUS,
        "limits": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["limit", "status", "figures", "findings", "suggestions", "details"],
                "properties": {
                    "limit": {"enum": ["memory", "gc", "interrupts", "linker"]},
                    "title": {"type": "string"},
                    "status": _STATUS,
                    "skipped": _NULLABLE_STR,
                    "figures": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name", "value", "unit", "origin"],
                            "properties": {
                                "name": {"type": "string"},
                                "value": _NUMBER_OR_NULL,
                                "unit": {"type": "string"},
                                "origin": {"enum": ["static", "emulated", "source", "datasheet"]},
                                "qualifier": {"enum": [None, "at most", "at least"]},
                                "partial": _NULLABLE_STR,
                                "deciding": {"type": "boolean"},
                            },
                        },
                    },
                    "findings": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["rule", "severity", "message"],
                            "properties": {
                                "rule": {"type": "string"},
                                "severity": {"enum": ["info", "warning", "error"]},
                                "message": {"type": "string"},
                                "location": {"type": ["object", "null"]},
                                "chain": {"type": "array", "items": {"type": "string"}},
                                "in_runtime": {"type": "boolean"},
                            },
                        },
                    },
                    "suggestions": {"type": "array", "items": {"type": "string"}},
                    "details": {"type": "object"},
                },
            },
        },
        "budget": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "limit", "actual", "unit", "kind", "exceeded"],
                "properties": {
                    "key": {"type": "string"},
                    "limit": {"type": "number"},
                    "actual": _NUMBER_OR_NULL,
                    "unit": {"type": "string"},
                    "kind": {"enum": ["max", "min"]},
                    "exceeded": {"type": "boolean"},
                },
            },
        },
        "plots": {"type": "object"},
        "notes": {"type": "array", "items": {"type": "string"}},
    },
}

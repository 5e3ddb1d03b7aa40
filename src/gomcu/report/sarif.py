"""SARIF 2.1.0 output, so that GitHub code scanning shows findings at their source lines."""

from __future__ import annotations

from typing import Any

import gomcu
from gomcu.findings import Severity
from gomcu.report.model import Report

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _artifact(path: str, root: str | None) -> dict[str, Any]:
    """A repository-relative URI under %SRCROOT% when the file lies under the source root (or is
    already relative to it, as DWARF writes files of the unit's own directory); else as it is."""
    path = path.replace("\\", "/")
    if root:
        root = root.replace("\\", "/").rstrip("/")
        if path.startswith(root + "/"):
            return {"uri": path[len(root) + 1:], "uriBaseId": "SRCROOT"}
        if not path.startswith("/"):
            return {"uri": path, "uriBaseId": "SRCROOT"}
    return {"uri": path}


def to_sarif(report: Report, include_runtime: bool = False, src_root: str | None = None) -> dict[str, Any]:
    """Findings as SARIF results; those wholly inside the toolchain's runtime only when asked."""
    root = src_root or report.source_root
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for limit in report.limits:
        for finding in limit.findings:
            if finding.in_runtime and not include_runtime:
                continue
            rules.setdefault(
                finding.rule,
                {"id": finding.rule, "name": finding.rule.replace(".", "_").replace("-", "_"),
                 "shortDescription": {"text": f"{limit.title}: {finding.rule}"},
                 "properties": {"limit": limit.limit}},
            )
            result: dict[str, Any] = {
                "ruleId": finding.rule,
                "level": _LEVEL[finding.severity],
                "message": {"text": finding.message + (f" (chain: {' -> '.join(finding.chain)})" if finding.chain else "")},
            }
            loc = finding.location
            if loc is not None and loc.file:
                physical: dict[str, Any] = {"artifactLocation": _artifact(loc.file, root)}
                if loc.line:
                    physical["region"] = {"startLine": loc.line}
                result["locations"] = [{"physicalLocation": physical}]
            else:
                result["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": report.firmware}}}]
            if loc is not None and loc.function:
                result["locations"][0]["logicalLocations"] = [{"name": loc.function, "kind": "function"}]
            results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "gomcu", "version": gomcu.__version__,
                                    "informationUri": "https://gomcu.invalid/", "rules": list(rules.values())}},
                "results": results,
                **({"originalUriBaseIds": {"SRCROOT": {"uri": "file://" + _dir_uri(root)}}}
                   if root and root.startswith("/") else {}),
                "properties": {"overall": report.overall.value, "firmware": report.firmware},
            }
        ],
    }


def _dir_uri(root: str) -> str:
    return root.replace("\\", "/").rstrip("/") + "/"

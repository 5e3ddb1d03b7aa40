"""Outcomes on disk, one JSON file per run key, so a re-run or an interrupted campaign only does
what is missing. Files are written whole (to a temporary name, then renamed), so an interrupted
campaign never leaves a half outcome behind. Runs that could not be made ("error") are not cached:
the cause may be fixed before the next try."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from gomcu.lab.runs import RunOutcome, RunSpec

DEFAULT_DIR = ".gomcu-cache/lab"


class Cache:
    def __init__(self, directory: str | os.PathLike[str] | None) -> None:
        self.directory = Path(directory) if directory is not None else None

    def _path(self, spec: RunSpec) -> Path | None:
        if self.directory is None:
            return None
        return self.directory / spec.key[:2] / f"{spec.key}.json"

    def get(self, spec: RunSpec) -> RunOutcome | None:
        path = self._path(spec)
        if path is None or not path.is_file():
            return None
        try:
            data = json.loads(path.read_text())
            outcome = RunOutcome.from_json(data)
        except (ValueError, KeyError, TypeError):
            return None  # damaged or from another format: measure again
        return outcome if outcome.key == spec.key else None

    def put(self, spec: RunSpec, outcome: RunOutcome) -> None:
        path = self._path(spec)
        if path is None or outcome.stop == "error":
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(outcome.to_json(spec.kind), f)
        os.replace(tmp, path)

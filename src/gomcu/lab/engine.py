"""Execute a campaign's runs: cached outcomes first, the rest in this process (`jobs=1`), on a
local process pool (`jobs>1`) or on a dask.distributed cluster (`cluster="tcp://host:port"`, or a
`distributed.Client`). Outcomes come back in the order of the runs whatever finished first, so a
campaign's tables do not depend on the parallelism."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

from gomcu.errors import GomcuError
from gomcu.lab.cache import Cache
from gomcu.lab.runs import RunOutcome, RunSpec, execute

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class CampaignStats:
    """How a campaign's outcomes were obtained."""

    runs: int
    cached: int
    executed: int
    failed: int  # outcomes with stop "error"
    where: str  # "this process", "4 local processes", "dask tcp://..."


def run_all(specs: Sequence[RunSpec], firmware: dict[str, bytes], *, jobs: int = 1, cluster: Any = None,
            cache: Cache | None = None, progress: Progress | None = None) -> tuple[list[RunOutcome], CampaignStats]:
    """The outcome of every run, in order. `firmware` maps each digest to the ELF's bytes."""
    cache = cache or Cache(None)
    unique: dict[str, RunSpec] = {}
    for spec in specs:
        unique.setdefault(spec.key, spec)
    done: dict[str, RunOutcome] = {}
    for key, spec in unique.items():
        hit = cache.get(spec)
        if hit is not None:
            done[key] = hit
    todo = [s for k, s in unique.items() if k not in done]
    total, cached = len(unique), len(done)
    if progress:
        progress(cached, total)

    def finished(spec: RunSpec, outcome: RunOutcome) -> None:
        done[spec.key] = outcome
        cache.put(spec, outcome)
        if progress:
            progress(len(done), total)

    if cluster is not None:
        where = _on_cluster(todo, firmware, cluster, finished)
    elif jobs > 1 and len(todo) > 1:
        where = _on_pool(todo, firmware, jobs, finished)
    elif not todo:
        where = "nowhere (all cached)"
    else:
        where = "this process"
        for spec in todo:
            finished(spec, execute(spec, firmware[spec.digest]))
    outcomes = [done[s.key] for s in specs]
    failed = sum(1 for o in done.values() if o.stop == "error")
    return outcomes, CampaignStats(total, cached, len(todo), failed, where)


def _on_pool(todo: list[RunSpec], firmware: dict[str, bytes], jobs: int,
             finished: Callable[[RunSpec, RunOutcome], None]) -> str:
    workers = min(jobs, len(todo))
    # spawn: no unicorn state or open files inherited from this process
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(execute, spec, firmware[spec.digest]): spec for spec in todo}
        for future in as_completed(futures):
            finished(futures[future], future.result())
    return f"{workers} local processes"


def _on_cluster(todo: list[RunSpec], firmware: dict[str, bytes], cluster: Any,
                finished: Callable[[RunSpec, RunOutcome], None]) -> str:
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError:
        raise GomcuError("--cluster needs dask.distributed: pip install 'gomcu[cluster]'") from None
    own = not isinstance(cluster, Client)
    try:
        client = Client(cluster, timeout="10s") if own else cluster
    except OSError as error:
        raise GomcuError(f"cannot reach the dask scheduler at {cluster}: {error}") from None
    try:
        scattered = {d: client.scatter(data, broadcast=True) for d, data in firmware.items()
                     if any(s.digest == d for s in todo)}
        futures = {client.submit(execute, spec, scattered[spec.digest], pure=False): spec for spec in todo}
        for future in dask_completed(list(futures)):
            finished(futures[future], future.result())
        return f"dask {client.scheduler.address}"
    finally:
        if own:
            client.close()


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))

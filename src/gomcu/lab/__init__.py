"""`gomcu lab`: the article's experiments as reproducible campaigns.

An experiment (`experiments.py`) expands into runs: each a `RunSpec` — a kind of measurement, the
firmware's content hash, a chip and parameters — that `runs.execute` turns into typed `figures`,
as a pure function of (ELF bytes, chip, parameters). `engine.py` executes the runs in this process,
on a local process pool (`-j N`) or on a dask.distributed cluster, caching each outcome on disk by
its key (`cache.py`), so a re-run or an interrupted campaign only does what is missing. The
experiment then turns the outcomes into tables (`tables.py`). A plan file (`plan.py`) describes a
whole characterisation.
"""

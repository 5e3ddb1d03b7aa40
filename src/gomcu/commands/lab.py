"""`gomcu lab`: the article's experiments as reproducible campaigns, in parallel."""

from __future__ import annotations

import argparse

from gomcu.commands.base import EXIT_OK, Command, add_format_option, print_json
from gomcu.errors import GomcuError


class LabCommand(Command):
    name = "lab"
    help = "run the article's experiments (recursion, heap, footprint, gc-pause, jitter, priorities, profile) as campaigns"
    description = (
        "Each experiment expands into emulated and static runs (firmware x chip x parameters), executes them "
        "on local processes (-j) or a dask.distributed cluster (--cluster), caches every run by content hash "
        "(a re-run only does what is missing) and prints the article's table with measured figures, the article's "
        "claim quoted beside it. EXPERIMENT is one of: recursion, heap, footprint, gc-pause, jitter, priorities, "
        "profile; or give --plan FILE.toml for a whole characterisation.")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("experiment", nargs="?", metavar="EXPERIMENT", help="the experiment to run")
        parser.add_argument("firmware", nargs="*", metavar="FIRMWARE.elf", help="one or more firmware ELFs")
        parser.add_argument("--plan", metavar="FILE.toml", help="a campaign file: experiments, firmware, chips, grids")
        parser.add_argument("--chip", action="append", metavar="NAME",
                            help="a chip to run on (repeat for several; default: chosen from the ELF)")
        parser.add_argument("--heap", metavar="SIZES", help="heap sizes to cut the heap to, e.g. 8K,16K,32K "
                            "(gc-pause, heap, jitter; default: as linked)")
        parser.add_argument("--stack-size", metavar="SIZES", dest="stack_sizes",
                            help="stack sizes for the recursion experiment, e.g. 1K,2K (default: as allotted)")
        parser.add_argument("--irq", type=_non_negative, metavar="N", help="the IRQ to inject (jitter)")
        parser.add_argument("--period", metavar="US", dest="period_us",
                            help="injection periods in µs, e.g. 100,200 (jitter; default 200)")
        parser.add_argument("--count", type=_positive, metavar="N", help="injections per run (jitter; default 200)")
        parser.add_argument("--seed", type=int, metavar="N", help="jitter seed (default 1)")
        parser.add_argument("--max-insns", type=_positive, metavar="N", dest="max_insns",
                            help="instruction budget of each emulated run (default 200000000)")
        parser.add_argument("-j", "--jobs", type=_positive, metavar="N",
                            help="local processes (default: the cores this process may use)")
        parser.add_argument("--cluster", metavar="tcp://HOST:PORT",
                            help="run on this dask.distributed scheduler instead (needs gomcu[cluster])")
        parser.add_argument("--cache", metavar="DIR", help="where run outcomes are kept (default .gomcu-cache/lab)")
        parser.add_argument("--no-cache", action="store_true", help="measure every run again and keep nothing")
        parser.add_argument("--html", metavar="FILE", help="also write a static HTML report with plots")
        add_format_option(parser)

    def run(self, args: argparse.Namespace) -> int:
        from gomcu.lab import cache as cache_mod
        from gomcu.lab import engine
        from gomcu.lab.experiments import EXPERIMENTS
        from gomcu.lab.inputs import make_inputs, read_firmware
        from gomcu.lab.plan import load_plan
        from gomcu.report import lab as report
        from gomcu.report.progress import emulation_progress

        if args.plan:
            if args.experiment or args.firmware:
                raise GomcuError("give either --plan FILE or EXPERIMENT FIRMWARE..., not both")
            plan = load_plan(args.plan, set(EXPERIMENTS))
            wanted = [(p.name, p.settings) for p in plan.experiments]
            jobs, cluster = args.jobs or plan.jobs, args.cluster or plan.cluster
            cache_dir = args.cache or plan.cache
        else:
            if not args.experiment:
                raise GomcuError(f"name an experiment ({', '.join(EXPERIMENTS)}) or give --plan FILE.toml")
            if args.experiment not in EXPERIMENTS:
                raise GomcuError(f"unknown experiment {args.experiment!r} (known: {', '.join(EXPERIMENTS)})")
            if not args.firmware:
                raise GomcuError(f"{args.experiment}: give one or more FIRMWARE.elf")
            settings = {"firmware": args.firmware, "chips": args.chip, "heap": args.heap,
                        "stack_sizes": args.stack_sizes, "irq": args.irq, "period_us": args.period_us,
                        "count": args.count, "seed": args.seed, "max_insns": args.max_insns}
            wanted = [(args.experiment, settings)]
            jobs, cluster, cache_dir = args.jobs, args.cluster, args.cache
        cache = cache_mod.Cache(None if args.no_cache else (cache_dir or cache_mod.DEFAULT_DIR))
        prepared = []
        data: dict[str, bytes] = {}
        for name, settings in wanted:
            firmware, raw = read_firmware(list(settings["firmware"]))
            data.update(raw)
            prepared.append((EXPERIMENTS[name], make_inputs(firmware, settings)))
        # One campaign for all experiments: every run shares the pool (or the cluster) at once.
        expanded = [(experiment, inputs, experiment.expand(inputs)) for experiment, inputs in prepared]
        every = [spec for _e, _i, specs in expanded for spec in specs]
        update, finish = emulation_progress("lab runs")
        try:
            outcomes, stats = engine.run_all(every, data, jobs=jobs or engine.default_jobs(), cluster=cluster,
                                             cache=cache, progress=update)
        finally:
            finish()
        by_spec = dict(zip(every, outcomes))
        results = [experiment.tabulate(inputs, {s: by_spec[s] for s in specs}) for experiment, inputs, specs in expanded]
        if args.format == "json":
            print_json(report.to_json(results, stats))
        else:
            report.render_text(results, stats)
        if args.html:
            with open(args.html, "w") as f:
                f.write(report.render_html(results, stats))
        return EXIT_OK


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be positive")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be 0 or more")
    return value


COMMAND = LabCommand()

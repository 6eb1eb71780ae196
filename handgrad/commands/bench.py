"""`handgrad bench [--workload NAME ...] [--repeat N] [--json] [--peers/--no-peers]`.

Exit status: 0 timed; 1 one of handgrad's own workers (`train`, `fast`) gave no time on some
workload; 2 bad options, or data that cannot feed a workload (a missing directory, or fewer training
images than it needs: refused before anything is timed).
"""

from __future__ import annotations

import argparse
import json
import sys

from handgrad import bench
from handgrad.bench import DEFAULT_WORKLOADS, PEERS, THREADS, WORKLOADS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `handgrad bench`."""
    parser.epilog = "workloads: " + "; ".join(
        f"{w.name}: {w.description}" for w in WORKLOADS.values()
    )
    parser.add_argument(
        "--workload",
        action="append",
        choices=tuple(WORKLOADS),
        help=f"a workload to time (repeatable; default: {', '.join(DEFAULT_WORKLOADS)})",
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per implementation")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--peers",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time JAX and PyTorch (each absent one gives null)",
    )
    parser.add_argument("--threads", type=int, default=THREADS, help="BLAS / PyTorch threads")
    parser.add_argument("--data-dir", help="directory with the MNIST IDX files")


def _fmt(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}g}"


def format_table(report: dict) -> str:
    """The human-readable table of a `handgrad.bench.run` report."""
    peers = list(dict.fromkeys(n for e in report["workloads"].values() for n in e["seconds"]))
    peers = [n for n in peers if n not in ("handgrad", "handgrad_fast")]
    head = ["workload", "handgrad", "fast", *peers, "floor", "fastest peer", "hg/peer"]
    rows = [[*head, "fast/peer", "hg/floor", "fast/floor", "RSS MiB", "budget"]]
    for name, e in report["workloads"].items():
        s, r = e["seconds"], e["ratios"]
        timed = [p for p in peers if s[p] is not None]
        fastest = min(timed, key=lambda p: s[p]) if timed else None
        rows.append(
            [name, _fmt(s["handgrad"]), _fmt(s["handgrad_fast"])]
            + [_fmt(s[p]) for p in peers]
            + [_fmt(e["floor_seconds"]), fastest or "-", _fmt(r["handgrad"]["best_peer"])]
            + [_fmt(r["handgrad_fast"]["best_peer"]), _fmt(r["handgrad"]["floor"])]
            + [_fmt(r["handgrad_fast"]["floor"])]
            + [_fmt(e["peak_rss_mb"], 4), _fmt(e["memory_budget_mb"], 4)]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    m, v = report["machine"], report["versions"]
    load = f"load average {m['loadavg_start'][0]:.1f} at the start, {m['loadavg_end'][0]:.1f} at the end"
    lines += [
        "",
        f"seconds: {report['statistic']}; handgrad: `handgrad train` (gate off); fast: the same "
        "SGD over handgrad.fast; peer: the fastest peer; RSS: handgrad's peak (budget: 2 x the "
        "float32 training images + parameters)",
        f"machine: {m['cpus']} CPUs, {m['processor']}, {load}; numpy {v['numpy']} ({v['blas']}, "
        f"the floor's), scipy {v.get('scipy')} ({v.get('scipy_blas')}); handgrad.fast calls "
        f"{v.get('fast_blas')}; {report['threads']} BLAS threads; jax {v['jax']}, "
        f"torch {v['torch']}",
    ]
    if not peers:
        lines.append("peers: not timed (--no-peers)")
    busy = m["loadavg_start"][0]  # before any worker ran (at the end it counts the bench's own)
    if m["cpus"] and busy >= m["cpus"]:
        lines.append(
            f"warning: load average {busy:.1f} on {m['cpus']} CPUs before timing: other work "
            "shared the machine, and thread pools cope with it unequally; these ratios say little"
        )
    for name, e in report["workloads"].items():
        lines += [f"{name}: {who} gave no time: {why}" for who, why in e["errors"].items()]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Time every workload; print the table (progress on stderr) or the JSON report."""
    if args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    from handgrad import data

    data.fetch("mnist", args.data_dir)  # a missing data directory: one line, before any timing
    report = bench.run(
        list(dict.fromkeys(args.workload or DEFAULT_WORKLOADS)),  # each once: keyed by name
        args.repeat,
        PEERS if args.peers else {},
        args.threads,
        args.data_dir,
        log=lambda message: print(message, file=sys.stderr, flush=True),
    )
    print(json.dumps(report, indent=1) if args.json else format_table(report))
    own = ("handgrad", "handgrad_fast")  # the training run, and the SGD that gives the floor
    return 0 if all(e["seconds"][n] for e in report["workloads"].values() for n in own) else 1

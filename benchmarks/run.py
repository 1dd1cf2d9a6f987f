"""Benchmark of the matching engine on fictitious cohorts of 1,000, 10,000 and 50,000 students.

Per size and variant (offers spread as usual, or services offers scarce so that
gender balance binds; --variants also takes `mixed genders` and `dense`, below)
it prints: acceptable pairs, the time of every stage with its value, bound and
status, the whole solve in wall and CPU seconds (CPU time hardly moves when other
jobs share the machine), the peak memory of the process right after the solve,
and, measured in the same run, the time OR-tools' min-cost flow takes on the
same acceptable pairs without any side constraint (the median of three solves):
the reference no engine can beat. Each case runs in a fresh process so that peak
memory is its own.

    python benchmarks/run.py                       # all sizes, both variants
    python benchmarks/run.py --sizes 1000 10000 --time-limit 60
    python benchmarks/run.py --sizes 100000 --variants usual "scarce services"
    python benchmarks/run.py --sizes 50000 --variants dense

With --rerun it measures the re-run after publication instead: the round is
solved, 2 % of the offers holding students are withdrawn, and the changed round
is solved fresh and re-run against the first assignment (the stage `changes`
after placements). Per size, variant and seed it prints both times and
placements, then the worst case over the seeds:

    python benchmarks/run.py --rerun --sizes 1000 3000 10000 --seeds 1 2 3

With --sweep it solves every size and variant over many seeds (one process per
size and variant) and reports the distribution, not only the median: p50, p90
and worst of the whole solve (wall and CPU) and of the school-fairness stage, the
worst time of every stage, the same-run reference min-cost flow, the ratios to it
of the whole solve and of the four stages alone (the reference, like the stages,
does not build the acceptable pairs), and the peak memory; then the same over all
variants of a size. Variants add `mixed genders` (services scarce, genders drawn
at random whatever the trade) and `dense` (fewer intakes: each student accepts
about 1 % of all offers, 70–90 at 10,000 students, about 400 at 50,000):

    python benchmarks/run.py --sweep --sizes 1000 3000 10000 --seeds $(seq 1 50)
    python benchmarks/run.py --sweep --sizes 10000 --seeds $(seq 1 13)   # 4 × 13 rounds
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from ortools.graph.python import min_cost_flow

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cohorts import benchmark_round

from mobility_match.domain import Gender, RoundInput, RoundResult, load_vocabulary
from mobility_match.matching.engine import solve_round
from mobility_match.matching.problem import prepare

VARIANTS = ("usual", "scarce services", "mixed genders", "dense")
DEFAULT_VARIANTS = ("usual", "scarce services")
"""What a run without --variants measures (a sweep: every variant)."""
STAGES = ("placements", "changes", "gender_gap", "preferences", "school_fairness")


def peak_mb() -> int:
    """The peak resident memory of this process so far, in MB (Linux gives kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def timed_solve(round_input: RoundInput, **options: Any) -> tuple[RoundResult, float]:
    """Solve a round; return the result and the CPU seconds of this process it took.

    CPU time, unlike the wall time the result reports, hardly moves when other jobs
    share the machine: compare variants by it, report the wall time as well.
    """
    vocabulary = load_vocabulary()
    started = time.process_time()
    result = solve_round(round_input, vocabulary, **options)
    return result, time.process_time() - started


def sweep_round(size: int, seed: int, variant: str) -> RoundInput:
    """The round of one seed of a sweep variant (see the module's docstring)."""
    if variant == "dense":
        return benchmark_round(size, seed, dense=True)
    round_input = benchmark_round(size, seed, scarce_services=variant != "usual")
    if variant != "mixed genders":
        return round_input
    rng = np.random.default_rng(seed)
    genders = rng.choice([Gender.F, Gender.M, Gender.X], size, p=[0.48, 0.48, 0.04])
    students = tuple(
        replace(s, gender=g) for s, g in zip(round_input.students, genders, strict=True)
    )
    return RoundInput(students, round_input.offers)


def run_sweep_case(size: int, variant: str, seed: int, time_limit: float) -> dict[str, Any]:
    """Solve one seed of a sweep; runs inside the child process of its size and variant."""
    round_input = sweep_round(size, seed, variant)
    result, cpu = timed_solve(round_input, time_limit=time_limit, seed=seed)
    fairness = [s for s in result.stages if s.name == "school_fairness"]
    return {
        "seed": seed,
        "pairs": result.acceptable_pairs,
        "solve_seconds": result.solve_seconds,
        "solve_cpu_seconds": cpu,
        "stage_seconds": {s.name: s.seconds for s in result.stages},
        "fairness_seconds": fairness[0].seconds if fairness else 0.0,
        "fairness_method": fairness[0].method if fairness else "",
        "reference_seconds": reference_seconds(round_input),
        "all_optimal": all(s.status.value == "OPTIMAL" for s in result.stages),
        "peak_mb": peak_mb(),
    }


def _quantiles(values: list[float]) -> str:
    p50, p90 = np.percentile(values, [50, 90])
    return f"{p50:.2f} / {p90:.2f} / {max(values):.2f}"


def _stage_worst(runs: list[dict[str, Any]]) -> str:
    """The worst wall seconds of each stage over the runs, in policy order."""
    worst = {
        name: max(r["stage_seconds"].get(name, 0.0) for r in runs)
        for name in STAGES
        if any(name in r["stage_seconds"] for r in runs)
    }
    return " / ".join(f"{seconds:.2f}" for seconds in worst.values())


def sweep_markdown(cases: list[tuple[int, str, list[dict[str, Any]]]]) -> str:
    """Per size and variant: the distribution over the seeds, as a Markdown table.

    Then, per size, one line over every variant: the worst case the targets speak of.
    """
    lines = [
        "| students | variant | seeds | pairs (max) | solve s p50 / p90 / max "
        "| solve CPU s p50 / p90 / max | school fairness s p50 / p90 / max "
        "| worst s per stage (placements / gap / preferences / fairness) "
        "| ref. min-cost flow s p50 / max | solve / ref. p50 / p90 / max "
        "| stages / ref. p50 / p90 / max | all OPTIMAL | worst seed | peak MB |",
        "|---:|---|---:|---:|---|---|---|---|---|---|---|---:|---:|---:|",
    ]
    sizes = sorted({size for size, _, _ in cases})
    every = [
        (size, "all variants", [r for s, _, rs in cases if s == size for r in rs]) for size in sizes
    ]
    for size, variant, runs in [*cases, *every]:
        ratios = [r["solve_seconds"] / max(r["reference_seconds"], 1e-3) for r in runs]
        # The stages alone, as the reference: neither builds the acceptable pairs.
        stage_ratios = [
            sum(r["stage_seconds"].values()) / max(r["reference_seconds"], 1e-3) for r in runs
        ]
        reference = [r["reference_seconds"] for r in runs]
        worst = max(runs, key=lambda r: r["solve_seconds"])
        lines.append(
            f"| {size:,} | {variant} | {len(runs)} | {max(r['pairs'] for r in runs):,} "
            f"| {_quantiles([r['solve_seconds'] for r in runs])} "
            f"| {_quantiles([r['solve_cpu_seconds'] for r in runs])} "
            f"| {_quantiles([r['fairness_seconds'] for r in runs])} "
            f"| {_stage_worst(runs)} "
            f"| {np.percentile(reference, 50):.3f} / {max(reference):.3f} "
            f"| {_quantiles(ratios)} | {_quantiles(stage_ratios)} "
            f"| {sum(r['all_optimal'] for r in runs)}/{len(runs)} | {worst['seed']} "
            f"| {max(r['peak_mb'] for r in runs)} |"
        )
    return "\n".join(lines)


def sweep_main(sizes: list[int], variants: list[str], seeds: list[int], time_limit: float) -> None:
    """One child process per size and variant, solving every seed; then the table."""
    cases = []
    for size in sizes:
        for variant in variants:
            child = [
                sys.executable,
                __file__,
                "--sweep-child",
                str(size),
                variant,
                "--seeds",
                *map(str, seeds),
                "--time-limit",
                str(time_limit),
            ]
            runs = []
            with subprocess.Popen(child, stdout=subprocess.PIPE, text=True) as process:
                assert process.stdout is not None
                for line in process.stdout:
                    run = json.loads(line)
                    runs.append(run)
                    print(
                        f"{size:>6} {variant:<16} seed {run['seed']:>3} pairs {run['pairs']:>9,} "
                        f"solve {run['solve_seconds']:>7.2f} s "
                        f"(CPU {run['solve_cpu_seconds']:.2f} s)  fairness "
                        f"{run['fairness_seconds']:>6.2f} s ({run['fairness_method']})  "
                        f"reference {run['reference_seconds']:.3f} s  stages / ref. "
                        f"{sum(run['stage_seconds'].values()) / run['reference_seconds']:.2f}  "
                        f"optimal {run['all_optimal']}",
                        flush=True,
                    )
            if process.returncode != 0:
                raise SystemExit(f"the child for {size} {variant} failed")
            cases.append((size, variant, runs))
    print()
    print(sweep_markdown(cases))


REFERENCE_RUNS = 3
"""How many times the reference min-cost flow is timed; its time is their median."""


def reference_seconds(round_input: RoundInput) -> float:
    """Time OR-tools' min-cost max-flow on the acceptable pairs, with no side constraint:
    the median of REFERENCE_RUNS solves, each of a solver built afresh. One solve alone
    varies by a third or more from one to the next on a shared machine, and the
    worst ratio over many seeds would pick the luckiest of them."""
    problem = prepare(round_input, load_vocabulary())
    pairs = problem.pairs
    n, m = problem.n_students, problem.n_offers
    source, sink = n + m, n + m + 1
    arcs = (
        np.concatenate([np.full(n, source), pairs.student, n + np.arange(m)]).astype(np.int32),
        np.concatenate([np.arange(n), n + pairs.offer, np.full(m, sink)]).astype(np.int32),
        np.concatenate([np.ones(n + len(pairs)), problem.capacity]).astype(np.int64),
        np.concatenate([np.zeros(n), pairs.cost, np.zeros(m)]).astype(np.int64),
    )
    timings = []
    for _ in range(REFERENCE_RUNS):
        solver = min_cost_flow.SimpleMinCostFlow()
        solver.add_arcs_with_capacity_and_unit_cost(*arcs)
        solver.set_node_supply(source, n)
        solver.set_node_supply(sink, -n)
        started = time.perf_counter()
        status = solver.solve_max_flow_with_min_cost()
        timings.append(time.perf_counter() - started)
        if status != solver.OPTIMAL:
            raise RuntimeError(f"reference min-cost flow failed: {status}")
        del solver
    return float(np.median(timings))


def run_case(size: int, variant: str, seed: int, time_limit: float) -> dict[str, Any]:
    """Generate, solve and measure one case; runs inside the child process.

    The peak memory is taken before the reference min-cost flow is built, so that it
    is the engine's (with the round's input, generated in the same process).
    """
    started = time.perf_counter()
    round_input = sweep_round(size, seed, variant)
    generated = time.perf_counter() - started
    result, cpu = timed_solve(round_input, time_limit=time_limit, seed=seed)
    peak = peak_mb()
    placed = sum(1 for p in result.placements if p.offer_id)
    reference = reference_seconds(round_input)
    return {
        "students": size,
        "offers": len(round_input.offers),
        "places": sum(o.places for o in round_input.offers),
        "pairs": result.acceptable_pairs,
        "placed": placed,
        "generate_seconds": round(generated, 2),
        "solve_seconds": round(result.solve_seconds, 2),
        "solve_cpu_seconds": round(cpu, 2),
        "reference_seconds": round(reference, 3),
        "peak_mb": peak,
        "peak_with_reference_mb": peak_mb(),
        "stages": [
            {
                "name": s.name,
                "value": float(s.value),
                "bound": float(s.bound),
                "status": s.status.value,
                "seconds": round(s.seconds, 2),
                "method": s.method,
            }
            for s in result.stages
        ],
    }


WITHDRAWN = 0.02
"""The share of the offers holding students withdrawn before a re-run."""


def run_rerun_case(size: int, variant: str, seed: int, time_limit: float) -> dict[str, Any]:
    """Solve, withdraw 2 % of the offers holding students, then solve fresh and re-run."""
    vocabulary = load_vocabulary()
    round_input = sweep_round(size, seed, variant)
    # Only what is published matters, not how long it took: the first solve is not timed.
    first = solve_round(round_input, vocabulary, time_limit=min(time_limit, 20), seed=seed)
    published = {p.student_id: p.offer_id for p in first.placements}
    holding = sorted({offer for offer in published.values() if offer})
    rng = np.random.default_rng(seed)
    count = max(1, round(WITHDRAWN * len(holding)))
    gone = set(rng.choice(holding, count, replace=False).tolist())
    changed = RoundInput(
        round_input.students, tuple(o for o in round_input.offers if o.offer_id not in gone)
    )
    fresh, fresh_cpu = timed_solve(changed, time_limit=time_limit, seed=seed)
    rerun, rerun_cpu = timed_solve(changed, time_limit=time_limit, seed=seed, previous=published)
    cpu = {id(fresh): fresh_cpu, id(rerun): rerun_cpu}

    def moved(result: RoundResult) -> int:
        return sum(1 for p in result.placements if published.get(p.student_id) != p.offer_id)

    def summary(result: RoundResult) -> dict[str, Any]:
        return {
            "seconds": round(result.solve_seconds, 2),
            "cpu_seconds": round(cpu[id(result)], 2),
            "placed": sum(1 for p in result.placements if p.offer_id),
            "moved": moved(result),
            "all_optimal": all(s.status.value == "OPTIMAL" for s in result.stages),
            "stages": {s.name: f"{s.method} {s.seconds:.2f}s" for s in result.stages},
        }

    return {
        "students": size,
        "seed": seed,
        "withdrawn": count,
        "first_seconds": round(first.solve_seconds, 2),
        "fresh": summary(fresh),
        "rerun": summary(rerun),
        "peak_mb": peak_mb(),
    }


def rerun_markdown(cases: list[tuple[str, list[dict[str, Any]]]]) -> str:
    """The worst case over the seeds of each size and variant, as a Markdown table."""
    lines = [
        "| students | variant | seeds | withdrawn | fresh s (worst) | re-run s (worst) "
        "| re-run CPU s (worst) | re-run / fresh (worst) | placed: re-run − fresh (worst) "
        "| moved: re-run / fresh | all stages OPTIMAL |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for variant, runs in cases:
        ratio = max(r["rerun"]["seconds"] / max(r["fresh"]["seconds"], 0.01) for r in runs)
        lines.append(
            "| "
            + " | ".join(
                [
                    f"{runs[0]['students']:,}",
                    variant,
                    str(len(runs)),
                    "–".join(
                        sorted(
                            {
                                str(min(r["withdrawn"] for r in runs)),
                                str(max(r["withdrawn"] for r in runs)),
                            },
                            key=int,
                        )
                    ),
                    f"{max(r['fresh']['seconds'] for r in runs):.2f}",
                    f"{max(r['rerun']['seconds'] for r in runs):.2f}",
                    f"{max(r['rerun']['cpu_seconds'] for r in runs):.2f}",
                    f"{ratio:.2f}",
                    str(min(r["rerun"]["placed"] - r["fresh"]["placed"] for r in runs)),
                    ", ".join(f"{r['rerun']['moved']}/{r['fresh']['moved']}" for r in runs),
                    "yes" if all(r["rerun"]["all_optimal"] for r in runs) else "no",
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def _format_value(value: float) -> str:
    if value == int(value) and value > 1:
        return f"{value:.0f}"
    return f"{value:.2e}" if 0 < value < 0.001 else f"{value:.4f}"


def markdown(cases: list[tuple[str, dict[str, Any]]]) -> str:
    """Return the results as the Markdown table the README shows."""
    lines = [
        "| students | variant | pairs | stage | value | bound | status | s | total s "
        "| total CPU s | ref. min-cost flow s | peak MB |",
        "|---:|---|---:|---|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for variant, case in cases:
        for k, stage in enumerate(case["stages"]):
            first = k == 0
            lines.append(
                "| "
                + " | ".join(
                    [
                        f"{case['students']:,}" if first else "",
                        variant if first else "",
                        f"{case['pairs']:,}" if first else "",
                        stage["name"],
                        _format_value(stage["value"]),
                        _format_value(stage["bound"]),
                        stage["status"],
                        f"{stage['seconds']:.2f}",
                        f"{case['solve_seconds']:.2f}" if first else "",
                        f"{case['solve_cpu_seconds']:.2f}" if first else "",
                        f"{case['reference_seconds']:.3f}" if first else "",
                        str(case["peak_mb"]) if first else "",
                    ]
                )
                + " |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 50_000])
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=list(VARIANTS),
        help="Default: all four with --sweep, else usual and scarce services.",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--rerun", action="store_true", help="Measure re-runs (see above).")
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[1, 2, 3], help="With --rerun or --sweep."
    )
    parser.add_argument("--sweep", action="store_true", help="Seeds sweep (see above).")
    parser.add_argument("--child", nargs=2, metavar=("SIZE", "VARIANT"), help=argparse.SUPPRESS)
    parser.add_argument("--sweep-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sweep_child:
        size, variant = int(args.sweep_child[0]), args.sweep_child[1]
        for seed in args.seeds:
            print(json.dumps(run_sweep_case(size, variant, seed, args.time_limit)), flush=True)
        return
    if args.sweep:
        sweep_main(args.sizes, args.variants or list(VARIANTS), args.seeds, args.time_limit)
        return
    args.variants = args.variants or list(DEFAULT_VARIANTS)
    if args.child:
        size, variant = int(args.child[0]), args.child[1]
        case = run_rerun_case if args.rerun else run_case
        print(json.dumps(case(size, variant, args.seed, args.time_limit)))
        return
    if args.rerun:
        rerun_main(args.sizes, args.variants, args.seeds, args.time_limit)
        return
    cases = []
    for size in args.sizes:
        for variant in args.variants:
            child = [
                sys.executable,
                __file__,
                "--child",
                str(size),
                variant,
                "--seed",
                str(args.seed),
                "--time-limit",
                str(args.time_limit),
            ]
            done = subprocess.run(child, capture_output=True, text=True, check=True)
            case = json.loads(done.stdout.strip().splitlines()[-1])
            cases.append((variant, case))
            print(
                f"{size:>6} {variant:<16} pairs {case['pairs']:>9,} "
                f"solve {case['solve_seconds']:>7.2f} s (CPU {case['solve_cpu_seconds']:.2f} s)  "
                f"reference {case['reference_seconds']:.3f} s  peak {case['peak_mb']} MB  "
                + "  ".join(
                    f"{s['name']}={_format_value(s['value'])}/{_format_value(s['bound'])}"
                    f" {s['status'][:3]} {s['seconds']:.2f}s"
                    for s in case["stages"]
                ),
                flush=True,
            )
    print()
    print(markdown(cases))


def rerun_main(sizes: list[int], variants: list[str], seeds: list[int], time_limit: float) -> None:
    """Run every re-run case in a fresh process; print each, then the worst cases."""
    cases = []
    for size in sizes:
        for variant in variants:
            runs = []
            for seed in seeds:
                child = [
                    sys.executable,
                    __file__,
                    "--rerun",
                    "--child",
                    str(size),
                    variant,
                    "--seed",
                    str(seed),
                    "--time-limit",
                    str(time_limit),
                ]
                done = subprocess.run(child, capture_output=True, text=True, check=True)
                run = json.loads(done.stdout.strip().splitlines()[-1])
                runs.append(run)
                fresh, rerun = run["fresh"], run["rerun"]
                print(
                    f"{size:>6} {variant:<16} seed {seed}  withdrawn {run['withdrawn']:>3}  "
                    f"fresh {fresh['seconds']:>6.2f} s placed {fresh['placed']:>6} "
                    f"moved {fresh['moved']:>5}  re-run {rerun['seconds']:>6.2f} s "
                    f"(CPU {rerun['cpu_seconds']:.2f} s) "
                    f"placed {rerun['placed']:>6} moved {rerun['moved']:>5}  "
                    f"optimal {rerun['all_optimal']}  {rerun['stages']}",
                    flush=True,
                )
            cases.append((variant, runs))
    print()
    print(rerun_markdown(cases))


if __name__ == "__main__":
    main()

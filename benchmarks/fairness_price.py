"""Benchmark of the price of fairness on fictitious cohorts of 1,000 and 10,000 students.

Per size and variant (offers spread as usual, or services offers scarce so that
gender balance binds), on the cohorts of benchmarks/cohorts.py: the round solved
under the default policy, then the two more solves the price of fairness makes
(services/fairness_price.compare: without `gender_gap`, without
`school_fairness`), each timed, with the figures a coordinator compares. Also the
time of the round's SHA-256 record (services/reproducibility.inputs_sha256).

    python benchmarks/fairness_price.py                      # 1,000 and 10,000
    python benchmarks/fairness_price.py --sizes 1000 --time-limit 30
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from cohorts import benchmark_round

from mobility_match.domain import load_vocabulary
from mobility_match.matching.engine import solve_round
from mobility_match.matching.policy import DEFAULT_POLICY
from mobility_match.services.fairness_price import compare, figures
from mobility_match.services.reproducibility import inputs_sha256

VARIANTS = {"usual": False, "scarce services": True}


def run_case(size: int, scarce: bool, seed: int, time_limit: float) -> list[dict[str, Any]]:
    """The round and its two comparisons, with the wall seconds of each solve."""
    data = benchmark_round(size, seed, scarce_services=scarce)
    started = time.perf_counter()
    digest = inputs_sha256(data, DEFAULT_POLICY)
    hashing = time.perf_counter() - started
    result = solve_round(data, load_vocabulary(), time_limit=time_limit, seed=seed)
    own = figures(data, result)
    started = time.perf_counter()
    variants = compare(data, DEFAULT_POLICY, time_limit=time_limit, seed=seed, own=own)
    both = time.perf_counter() - started
    variants[0]["hash_seconds"] = hashing
    variants[0]["sha256"] = digest[:12]
    variants[0]["comparison_seconds"] = both
    return variants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    print(
        "| students | offers | column | solve s | placed | gender gap (points) "
        "| preference cost | lowest school rate | proven |"
    )
    print("|---:|---|---|---:|---:|---:|---:|---:|---|")
    for size in args.sizes:
        for variant, scarce in VARIANTS.items():
            variants = run_case(size, scarce, args.seed, args.time_limit)
            for column in variants:
                seconds = column["seconds"] if column["in_policy"] else 0.0
                print(
                    f"| {size:,} | {variant} | {column['name']} | {seconds:.2f} "
                    f"| {column['placed']:,} | {column['gender_gap'] * 100:.2f} "
                    f"| {column['preference_cost']:,} | {column['min_school_rate'] * 100:.1f} % "
                    f"| {'yes' if column['proven'] else 'no'} |"
                )
            first = variants[0]
            print(
                f"|  | {variant} | (two more solves, wall: {first['comparison_seconds']:.2f} s; "
                f"SHA-256 of the inputs: {first['hash_seconds']:.3f} s) |  |  |  |  |  |  |"
            )


if __name__ == "__main__":
    main()

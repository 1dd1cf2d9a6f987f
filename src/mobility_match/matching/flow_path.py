"""The flow path: placements, gender gap and preferences settled by network flows.

Max-flow for placements; the gender polytope (balance.py) for the gap; min-cost
flows along its optimal lines for preferences; then school fairness by flows
with a proven bound (fairness.py), with CP-SAT only when flows cannot reach it.
Used for policies that start with placements followed by gender_gap and/or
preferences (engine.uses_flow_path says which).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from fractions import Fraction

from mobility_match.matching.balance import (
    GenderPolytope,
    Vector,
    compute_ranks,
    convex_minimum,
    lines,
)
from mobility_match.matching.cpsat import CpRound
from mobility_match.matching.fairness import (
    FairnessLimits,
    SchoolNetwork,
    candidate_rates,
    highest,
)
from mobility_match.matching.flows import FlowNetwork
from mobility_match.matching.problem import Assignment, measure
from mobility_match.matching.run import RoundRun

FLOW_STAGES = ("gender_gap", "preferences")
RATE_PROBES = 6
"""How many lower rates school fairness tries by flows when the bound itself is not reached."""


@dataclass(frozen=True)
class LeastCost:
    """The least preference cost, an assignment reaching it, and every gender vector that can."""

    cost: int
    assignment: Assignment
    vectors: tuple[Vector, ...]
    """Free placements by gender of all least-cost vectors (empty: gender was not constrained)."""


def solve_by_flows(run: RoundRun) -> Assignment:
    """Settle every stage of a flow-path policy; return the final assignment."""
    problem, policy = run.problem, run.policy
    network = FlowNetwork(problem)
    locked = measure(problem, problem.locked_assignment())
    since = run.started("placements")
    free_max, assignment = network.max_placements()
    allowed = run.record("placements", Fraction(free_max + locked.placed), since, "flow")
    min_free = int(allowed) - locked.placed
    stages = [s for s in policy.stages if s in FLOW_STAGES]
    e_f, e_m, _ = problem.eligible_by_gender()
    polytope: GenderPolytope | None = None
    gap_limit: int | None = None
    least: LeastCost | None = None
    if "gender_gap" in stages:
        since = run.started("gender_gap")
        polytope = GenderPolytope(
            compute_ranks(lambda caps: network.max_placements(caps)[0], network.free_students),
            min_free,
            locked.placed_by_gender,
            e_f,
            e_m,
        )
        best = polytope.smallest_gap()
        allowed = run.record("gender_gap", Fraction(best, max(1, e_f * e_m)), since, "flow")
        gap_limit = int(allowed * e_f * e_m)
        if "preferences" not in stages:
            caps = polytope.most_placements(gap_limit)
            placed, assignment = network.max_placements(caps)
            if placed != sum(caps):
                raise RuntimeError(f"flow placed {placed} students where {sum(caps)} are reachable")
    if "preferences" in stages:
        since = run.started("preferences")
        if polytope is None or gap_limit is None:
            cost, assignment = _least_cost(network, min_free, None)
        else:
            least = _least_cost_balanced(network, polytope, gap_limit)
            cost, assignment = least.cost, least.assignment
        run.record("preferences", Fraction(cost + locked.preference_cost), since, "flow")
    if "school_fairness" in policy.stages:
        limits = FairnessLimits(
            min_placed=int(run.allowed["placements"]),
            max_placed=free_max + locked.placed,
            max_cost=int(run.allowed["preferences"]) if "preferences" in stages else None,
            max_gap=gap_limit,
        )
        assignment = _school_fairness(run, network, assignment, limits, least)
    return assignment


def _least_cost(network: FlowNetwork, total: int, caps: Vector | None) -> tuple[int, Assignment]:
    solved = network.min_cost(total, caps)
    if solved is None:
        raise RuntimeError(f"no flow places {total} students within {caps}")
    return solved


def _least_cost_balanced(
    network: FlowNetwork, polytope: GenderPolytope, gap_limit: int
) -> LeastCost:
    """Least preference cost over every vector of most placements and gap within the limit.

    Trivial when the gap cannot differ (a gender has no eligible student); else
    the vectors lie on at most two lattice lines, along which the cost is
    convex, so a binary search finds each line's least cost and the run of
    vectors that tie with it.
    """
    if polytope.eligible_f == 0 or polytope.eligible_m == 0:
        cost, assignment = _least_cost(network, polytope.min_total, None)
        return LeastCost(cost, assignment, ())
    cache: dict[Vector, int] = {}

    def cost_of(vector: Vector) -> int:
        if vector not in cache:
            cache[vector] = _least_cost(network, sum(vector), vector)[0]
        return cache[vector]

    tied: list[Vector] = []
    for line in lines(list(polytope.vectors(gap_limit)), polytope):
        k = convex_minimum(lambda i, line=line: cost_of(line[i]), len(line))  # type: ignore[misc]
        low = high = k
        while low > 0 and cost_of(line[low - 1]) == cost_of(line[k]):
            low -= 1
        while high < len(line) - 1 and cost_of(line[high + 1]) == cost_of(line[k]):
            high += 1
        tied.extend(line[low : high + 1])
    if not tied:
        raise RuntimeError("no vector reaches the smallest gender gap")
    best = min(cost_of(v) for v in tied)
    vectors = tuple(sorted(v for v in tied if cost_of(v) == best))
    least, assignment = _least_cost(network, sum(vectors[0]), vectors[0])
    return LeastCost(least, assignment, vectors)


def _school_fairness(
    run: RoundRun,
    network: FlowNetwork,
    assignment: Assignment,
    limits: FairnessLimits,
    least: LeastCost | None,
) -> Assignment:
    """Raise the lowest school rate by flows up to a proven bound; CP-SAT when flows fall short.

    When gap and preferences were both settled without tolerance, the assignments
    allowed are exactly the least-cost flows of the least-cost gender vectors:
    one network cut down to those flows per vector, and no cost to watch.
    Otherwise one network with the limits. Each network's relaxation (school
    rates without the gender constraint) bounds the stage; flows that also keep
    the gender constraint, found at the bound or just below, give the value.
    """
    problem, policy = run.problem, run.policy
    since = run.started("school_fairness")
    exact = (
        least is not None
        and least.vectors
        and all(policy.tolerance_of(s) == 0 for s in ("placements", "gender_gap", "preferences"))
    )
    locked = measure(problem, problem.locked_assignment()).placed_by_gender
    if exact and least is not None:
        cut = [
            (
                SchoolNetwork(problem, network.admissible(v)),
                _with_counts(limits, tuple(a + b for a, b in zip(v, locked, strict=True))),
            )
            for v in least.vectors
        ]
    else:
        cut = [(SchoolNetwork(problem), limits)]
    rates = candidate_rates(problem.eligible_by_school())
    reached = measure(problem, assignment).min_school_rate
    first = bisect.bisect_left(rates, reached)
    bounds: list[int] = []
    for school_network, network_limits in cut:
        if school_network.solve(rates[first], network_limits) is None:
            bounds.append(-1)
            continue

        def reachable(
            rate: Fraction,
            net: SchoolNetwork = school_network,
            lim: FairnessLimits = network_limits,
        ) -> bool:
            return net.solve(rate, lim) is not None

        bounds.append(first + highest(rates[first:], reachable))
    bound = max(bounds)
    best_index, best = first, assignment
    for (school_network, network_limits), top in zip(cut, bounds, strict=True):
        lo, hi = best_index, top
        for probe in range(RATE_PROBES):
            if hi <= lo:
                break
            # The bound itself first, then halve the way down toward what is reached.
            rate = hi if probe == 0 else (lo + hi + 1) // 2
            found = school_network.balanced(rates[rate], network_limits)
            if found is not None and _keeps(run, found, network_limits):
                lo, best_index, best = rate, rate, found
            else:
                hi = rate - 1
    if best_index == bound:
        run.record("school_fairness", rates[bound], since, "flow")
        return best
    # Flows fell short of the bound: CP-SAT searches between, told the bound.
    if len(cut) == 1 and cut[0][0].admissible is not None and cut[0][1].counts is not None:
        model = CpRound(problem, cut[0][0].admissible, cut[0][1].counts)
    else:
        model = run.cp
    model.cap_fairness(rates[bound])
    return run.cp_stage("school_fairness", best, since, model)


def _with_counts(limits: FairnessLimits, counts: tuple[int, ...]) -> FairnessLimits:
    return FairnessLimits(
        limits.min_placed,
        limits.max_placed,
        limits.max_cost,
        limits.max_gap,
        (counts[0], counts[1], counts[2]),
    )


def _keeps(run: RoundRun, assignment: Assignment, limits: FairnessLimits) -> bool:
    """Check an assignment found by flows against every limit of the earlier stages."""
    measures = measure(run.problem, assignment)
    if not limits.min_placed <= measures.placed <= limits.max_placed:
        return False
    if limits.max_cost is not None and measures.preference_cost > limits.max_cost:
        return False
    if limits.max_gap is not None and measures.gap_numerator > limits.max_gap:
        return False
    return limits.counts is None or measures.placed_by_gender == limits.counts

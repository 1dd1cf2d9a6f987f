"""The flow path: placements, gender gap and preferences settled by network flows.

Max-flow for placements; the gender polytope (balance.py) for the gap; min-cost
flows along its optimal lines for preferences; then school fairness by flows
with a proven bound (fairness.py), lowered where gender binds by the prices of
gender-steered flows, or else by its linear relaxation (fairness_lp.py), with
CP-SAT only on what flows and LP leave.
Used for policies that start with placements followed by gender_gap and/or
preferences (engine.uses_flow_path says which).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from mobility_match.domain import StageStatus
from mobility_match.matching.balance import (
    GenderPolytope,
    Vector,
    compute_ranks,
    convex_minimum,
    lines,
)
from mobility_match.matching.changes import change_weights, count_changes
from mobility_match.matching.cpsat import CpRound, Effort
from mobility_match.matching.fairness import (
    WALKS,
    Beyond,
    FairnessLimits,
    SchoolFlow,
    SchoolNetwork,
    Shortfall,
    candidate_rates,
    steered_excess,
)
from mobility_match.matching.fairness_lp import Relaxation, StageLp, Unsolved, rate_bound
from mobility_match.matching.flows import FlowNetwork
from mobility_match.matching.problem import Assignment, measure
from mobility_match.matching.repair import Verdict, repair
from mobility_match.matching.run import RoundRun
from mobility_match.matching.stages import Stage

FLOW_STAGES = (Stage.GENDER_GAP, Stage.PREFERENCES)
"""The stages flows settle between placements (and changes) and school fairness."""
RATE_PROBES = 16
"""How many rates, from the relaxation bound down, school fairness tries by flows alone."""
LARGE_WALKS = 2
"""Legs of the walk at the bound, before the LP, on a network too large for swaps by
max-flows (SchoolNetwork.residual_fits): there each leg is a steered min-cost flow alone,
8-10 s at 50,000 dense students, against 2 s for the LP."""
GENDER_PROOFS = 3
"""How many times school fairness lowers its bound by gender-steered flows (_steered_bound)
and walks at the new bound, before the LP."""
PROOF_STEPS = 4
"""How many rates, up from the best flows reach, school fairness settles by CP-SAT."""
NEIGHBOURHOOD_EFFORT = 2.0
"""Deterministic seconds for a CP-SAT repair of the students that flows move."""
PROOF_EFFORT = 30.0
"""Deterministic seconds for a CP-SAT model of every student at one rate."""
ROUNDING_EFFORT = 8.0
"""Deterministic seconds for a CP-SAT repair around the LP solution's fractional students."""


@dataclass(frozen=True)
class LeastCost:
    """The least preference cost, an assignment reaching it, and every gender vector that can."""

    cost: int
    assignment: Assignment
    vectors: tuple[Vector, ...]
    """Free placements by gender of all least-cost vectors (empty: gender was not constrained,
    or the search was cut short)."""
    assignments: tuple[Assignment, ...] = ()
    """The least-cost flow of each vector, as FlowNetwork.min_cost gave it."""
    proven: bool = True
    """False when the round's deadline cut the search short: `cost` is then only the least
    found, and `vectors` empty."""


class _Late(Exception):
    """The round's deadline passed in the middle of a search by flows."""


def solve_by_flows(run: RoundRun) -> Assignment:
    """Settle every stage of a flow-path policy; return the final assignment.

    On a re-run, `changes` (right after placements) is the min-cost max-flow of
    the change weights (over every total the placements' tolerance allows), and
    every later flow has the least changes first in its costs (changes.FlowCost),
    so it keeps them.
    """
    problem, policy = run.problem, run.policy
    before = run.previous if Stage.CHANGES in policy.stages else None
    if Stage.CHANGES in policy.stages and before is None:
        raise ValueError(f"the {Stage.CHANGES.value!r} stage needs the previous assignment")
    network = FlowNetwork(problem, run.flow_cost.pair)
    locked = measure(problem, problem.locked_assignment())
    since = run.started(Stage.PLACEMENTS)
    free_max, assignment = network.max_placements()
    allowed = run.record(Stage.PLACEMENTS, Fraction(free_max + locked.placed), since, "flow")
    min_free = int(allowed) - locked.placed
    fewest = min_free if min_free < free_max else None
    if before is not None:
        since = run.started(Stage.CHANGES)
        assignment = _least_cost(network, free_max, None, fewest)[1]
        changes = count_changes(before, assignment)
        run.record(Stage.CHANGES, Fraction(changes), since, "flow")
    stages = [s for s in policy.stages if s in FLOW_STAGES]
    e_f, e_m, _ = problem.eligible_by_gender()
    polytope: GenderPolytope | None = None
    gap_limit: int | None = None
    least: LeastCost | None = None
    if Stage.GENDER_GAP in stages:
        since = run.started(Stage.GENDER_GAP)
        if before is not None:
            # Only the vectors of the flows with the fewest changes.
            weight = change_weights(before, network.pair_student, network.pair_offer)
            ranks, floors = network.least_weight_ranks(free_max, weight, fewest)
        else:
            sizes = network.capacities[network.group_arcs].tolist()
            ranks = compute_ranks(
                network.max_placed, network.free_students, free_max, (sizes[0], sizes[1], sizes[2])
            )
            floors = None
        polytope = GenderPolytope(ranks, min_free, locked.placed_by_gender, e_f, e_m, floors)
        best = polytope.smallest_gap()
        allowed = run.record(Stage.GENDER_GAP, Fraction(best, max(1, e_f * e_m)), since, "flow")
        gap_limit = int(allowed * e_f * e_m)
        if Stage.PREFERENCES not in stages:
            caps = polytope.most_placements(gap_limit)
            if before is not None:
                placed, assignment = sum(caps), _least_cost(network, sum(caps), caps)[1]
            else:
                placed, assignment = network.max_placements(caps)
            if placed != sum(caps):
                raise RuntimeError(f"flow placed {placed} students where {sum(caps)} are reachable")
    if Stage.PREFERENCES in stages:
        since = run.started(Stage.PREFERENCES)
        if polytope is None or gap_limit is None:
            # Preference costs are never negative: the least is at the fewest placements.
            # A re-run's costs are (changes first), so it is sought over every total.
            total, least_total = (free_max, fewest) if before is not None else (min_free, None)
            cost, assignment = _least_cost(network, total, None, least_total)
        else:
            least = _least_cost_balanced(network, polytope, gap_limit, run)
            cost, assignment = least.cost, least.assignment
        if before is not None:  # the flows' cost holds the changes: measure preferences alone
            cost = measure(problem, assignment).preference_cost - locked.preference_cost
        value = Fraction(cost + locked.preference_cost)
        if least is None or least.proven:
            run.record(Stage.PREFERENCES, value, since, "flow")
        else:  # cut short by the deadline: only the trivial bound is proven
            bound = Fraction(locked.preference_cost)
            status = StageStatus.OPTIMAL if bound == value else StageStatus.FEASIBLE
            run.record(Stage.PREFERENCES, value, since, "flow", bound, status)
    if Stage.SCHOOL_FAIRNESS in policy.stages:
        limits = FairnessLimits(
            min_placed=int(run.allowed[Stage.PLACEMENTS]),
            max_placed=free_max + locked.placed,
            max_cost=run.flow_cost.limit(
                int(run.allowed[Stage.CHANGES]) if before is not None else None,
                int(run.allowed[Stage.PREFERENCES]) if Stage.PREFERENCES in stages else None,
            ),
            max_gap=gap_limit,
        )
        since = run.started(Stage.SCHOOL_FAIRNESS)
        # No time left for networks: the assignment so far, unproven.
        cut = None if run.out_of_time() else _school_networks(run, network, limits, least)
        del network  # its arrays: the school networks replace them (20 million pairs: 1 GB)
        if cut is None:
            return run.cp_stage(Stage.SCHOOL_FAIRNESS, assignment, since)
        assignment = _school_fairness(run, cut, assignment, since)
    return assignment


def _least_cost(
    network: FlowNetwork, total: int, caps: Vector | None, fewest: int | None = None
) -> tuple[int, Assignment]:
    solved = network.min_cost(total, caps, fewest)
    if solved is None:
        raise RuntimeError(f"no flow places {total} students within {caps}")
    return solved


def _least_cost_balanced(
    network: FlowNetwork, polytope: GenderPolytope, gap_limit: int, run: RoundRun
) -> LeastCost:
    """Least preference cost over every vector of most placements and gap within the limit.

    Trivial when the gap cannot differ (a gender has no eligible student); else
    the vectors lie on at most two lattice lines, along which the cost is
    convex, so a binary search finds each line's least cost and the run of
    vectors that tie with it. Past the round's deadline, the least cost found so
    far, unproven.
    """
    if polytope.eligible_f == 0 or polytope.eligible_m == 0:
        cost, assignment = _least_cost(network, polytope.min_total, None)
        return LeastCost(cost, assignment, ())
    cache: dict[Vector, int] = {}
    assignments: dict[Vector, Assignment] = {}

    def cost_of(vector: Vector) -> int:
        if vector not in cache:
            if cache and run.out_of_time():
                raise _Late
            cache[vector], assignments[vector] = _least_cost(network, sum(vector), vector)
        return cache[vector]

    tied: list[Vector] = []
    try:
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
    except _Late:
        vector = min(cache, key=lambda v: (cache[v], v))
        return LeastCost(cache[vector], assignments[vector], (), proven=False)
    vectors = tuple(sorted(v for v in tied if cost_of(v) == best))
    solved = tuple(assignments[v] for v in vectors)
    return LeastCost(best, solved[0], vectors, solved)


def _school_networks(
    run: RoundRun, network: FlowNetwork, limits: FairnessLimits, least: LeastCost | None
) -> list[tuple[SchoolNetwork, FairnessLimits]]:
    """The networks school fairness searches, each with the limits its flows must keep.

    When gap and preferences were both settled without tolerance, the assignments
    allowed are exactly the least-cost flows of the least-cost gender vectors:
    one network cut down to those flows per vector, and no cost to watch.
    Otherwise one network with the limits.
    """
    problem, policy = run.problem, run.policy
    network.release()  # the gender network's solvers are done with: free their memory
    exact = (
        least is not None
        and least.vectors
        and all(
            policy.tolerance_of(s) == 0
            for s in (Stage.PLACEMENTS, Stage.GENDER_GAP, Stage.PREFERENCES)
        )
    )
    if not exact or least is None:
        return [(SchoolNetwork(problem, cost=run.flow_cost), limits)]
    locked = measure(problem, problem.locked_assignment()).placed_by_gender
    return [
        (
            SchoolNetwork(problem, network.admissible(v, solved), run.flow_cost),
            replace(limits, counts=(v[0] + locked[0], v[1] + locked[1], v[2] + locked[2])),
        )
        for v, solved in zip(least.vectors, least.assignments, strict=True)
    ]


def _school_fairness(
    run: RoundRun,
    cut: list[tuple[SchoolNetwork, FairnessLimits]],
    assignment: Assignment,
    since: float,
) -> Assignment:
    """Raise the lowest school rate to a proven optimum: flows, small CP-SAT repairs, proofs.

    Each network of `cut` (_school_networks) has a flow relaxation (school rates
    without the gender constraint) that bounds the stage. When a flow does not
    reach that bound, gender binds. Where a walk's steered flow proves it so,
    _steered_bound lowers the bound, most often to the optimum, where max-flows
    swapping its flows, or else a longer walk, land; otherwise the linear relaxation
    with the gender limits (fairness_lp.py) gives a bound most often equal to the
    optimum, and a solution that reaches it once a few students are placed by CP-SAT.
    What remains is settled as before: flows find a rate they reach, from the bound
    down; the rate just above is settled by CP-SAT (repair.py): reached, and the
    next one is tried, or out of reach in every network, which proves the stage
    optimal. When the effort allowed settles neither, CP-SAT searches between the
    best found and the bound. The round's deadline cuts every loop short, the
    bound staying proven.
    """
    problem = run.problem
    rates = candidate_rates(problem.eligible_by_school())
    reached = measure(problem, assignment).min_school_rate
    first = bisect.bisect_left(rates, reached)
    tops = [_relaxation_bound(run, net, lim, rates, first) for net, lim in cut]
    for net, _ in cut:
        net.release()  # the max-flow of the bounds, one per network: 1.2 GB at 20 million pairs
    best_index, best, method = first, assignment, "flow"
    # A walk by flows at the bound first (SchoolNetwork.balanced, each leg most often a
    # max-flow's swaps and one steered min-cost flow, 0.1-0.2 s at 10,000 students): where
    # it misses, the LP (0.4-1.2 s) does better.
    nearest: dict[int, Assignment] = {}
    faces: dict[int, tuple[int, int, int]] = {}
    walks = WALKS if all(net.residual_fits for net, _ in cut) else LARGE_WALKS
    for lowered in range(GENDER_PROOFS + 1):
        # Max-flows alone first, from the assignment so far; a walk where they miss. (At a
        # bound lowered, _steered_bound swapped its own flows already.)
        if not lowered:
            best_index, best = _lifted(run, cut, rates, tops, best_index, best)
        beyond: dict[int, Beyond] = {}
        best_index, best = _highest_reached(
            run,
            cut,
            rates,
            best_index,
            max(tops),
            best,
            probes=1,
            walks=walks,
            nearest=nearest,
            beyond=beyond,
            tops=tops,
            faces=faces,
        )
        # A steered flow proved the gender counts out of reach at the bound: its prices
        # lower the bound, most often to the optimum, where swaps by max-flows (or else
        # a longer walk) land.
        if lowered == GENDER_PROOFS or best_index >= max(tops) or not beyond:
            break
        if run.out_of_time() or not all(cut[k][0].residual_fits for k in beyond):
            # Too large to price (dense rounds of 50,000): each rate lower would take a
            # steered flow of many seconds; the LP takes it from just below.
            break
        faces = {}
        for k, proof in beyond.items():
            tops[k], face, found = _steered_bound(
                run, cut[k][0], cut[k][1], rates, best_index, tops[k], proof
            )
            if found is not None and tops[k] > best_index:
                best_index, best = tops[k], found
            if face is not None:
                faces[k] = face
    for k in beyond:  # proofs not followed up: their own rate is out of reach all the same
        tops[k] -= 1
    if best_index < max(tops) and not run.out_of_time():
        # Flows miss the flow bound: gender binds. The LP with gender bounds tighter,
        # and rounding its solution most often reaches that bound.
        best_index, best = _linear_relaxation(run, cut, rates, tops, best_index, best, nearest)
        method = "flow+lp"
    for _ in range(PROOF_STEPS):
        if run.out_of_time():
            break
        # Flows alone, from the bound down: the highest rate they reach, without proof.
        best_index, best = _highest_reached(run, cut, rates, best_index, max(tops), best)
        # Reaching a rate means reaching every lower one: settling the rate just above
        # either proves the stage optimal or raises the rate reached.
        rate = best_index + 1
        if rate > max(tops):
            break
        settled = True
        for k, (school_network, network_limits) in enumerate(cut):
            if tops[k] < rate:
                continue
            if run.out_of_time():
                settled = False
                break
            outcome = _reach(run, school_network, network_limits, rates[rate])
            method = "flow+cp-sat"
            if outcome.verdict is Verdict.FOUND and outcome.assignment is not None:
                best_index, best = rate, outcome.assignment
                break
            if outcome.verdict is Verdict.IMPOSSIBLE:
                tops[k] = rate - 1
            else:
                settled = False
        if not settled:
            break
    bound = max(*tops, best_index)
    if best_index == bound:
        run.record(Stage.SCHOOL_FAIRNESS, rates[bound], since, method)
        return best
    # CP-SAT searches between the best rate reached and the bound, told the bound.
    if len(cut) == 1 and cut[0][0].admissible is not None and cut[0][1].counts is not None:
        model = CpRound(problem, cut[0][0].admissible, cut[0][1].counts)
    else:
        model = run.cp
    model.cap_fairness(rates[bound])
    return run.cp_stage(Stage.SCHOOL_FAIRNESS, best, since, model, rates[bound])


def _lifted(
    run: RoundRun,
    cut: list[tuple[SchoolNetwork, FairnessLimits]],
    rates: list[Fraction],
    tops: list[int],
    best_index: int,
    best: Assignment,
) -> tuple[int, Assignment]:
    """The bound reached, if max-flows alone lift `best` there with its gender counts
    (SchoolNetwork.lifted) in the network that keeps them; else `best_index` and `best`
    as they were. Where gender binds, most often the cheapest way to the bound: a few
    max-flows (0.05-0.1 s at 10,000 students), no steered min-cost flow."""
    top = max(tops)
    if best_index >= top or run.out_of_time():
        return best_index, best
    for k, (school_network, limits) in enumerate(cut):
        if tops[k] < top or not school_network.residual_fits:
            continue
        start = school_network.flow_of(best, limits)
        if start is None or tuple(start.placed_by_gender.tolist()) != limits.counts:
            continue
        found = _kept(run, school_network.lifted(rates[top], limits, start), limits)
        if found is not None:
            return top, found
    return best_index, best


def _linear_relaxation(
    run: RoundRun,
    cut: list[tuple[SchoolNetwork, FairnessLimits]],
    rates: list[Fraction],
    tops: list[int],
    best_index: int,
    best: Assignment,
    starts: Mapping[int, Assignment],
) -> tuple[int, Assignment]:
    """Lower each network's bound (`tops`, in place) by LPs; try to reach the highest.

    A whole LP's simplex starts from the flow of its network nearest the gender
    limits at the flow bound (`starts`, by network), which keeps every row but the
    gender counts; a generated one (StageLp) from `best`.

    Per network, the LP's optimum bounds the rate; then the LP with every school's
    floor at a rate (⌈rate · eligible⌉ students), feasible for a rate only if it is
    for every lower one, is searched between the best rate reached and that bound:
    no solution proves a rate out of reach there. The highest rate with one is most
    often reached by its solution, integral but for a few students, whom a small
    CP-SAT repair (then their offers' other students) places. Return the best rate
    index and assignment.
    """
    order = sorted(range(len(cut)), key=lambda k: -tops[k])
    for k in order:
        school_network, limits = cut[k]
        if tops[k] <= best_index or run.out_of_time():
            continue
        lp = StageLp(
            run.problem,
            school_network.admissible,
            limits,
            run.flow_cost,
            best,
            whole_start=starts.get(k),
        )
        try:
            optimum = lp.solve(None, run.wall_left())
            if optimum is None:
                tops[k] = -1
                continue
            hi = min(tops[k], rate_bound(rates, optimum.rate))
            lo, solution = best_index, None
            if hi > best_index and not optimum.fractional.any():
                # An integral optimum is an assignment already: no floors to try.
                found = _round(run, school_network, limits, rates[hi], optimum)
                if found is not None:
                    tops[k], best_index, best = hi, hi, found
                    continue
            # Down from the bound, most often reached or nearly, in steps that double
            # until a rate has a solution; then by halves between it and the bound.
            probe, step = hi, 0
            while lo < hi and not run.out_of_time():
                floors = lp.solve(rates[probe], run.wall_left())
                if floors is None:
                    hi = probe - 1
                    if solution is None:
                        probe, step = max(lo + 1, hi - step), 2 * step + 1
                        continue
                    probe = (lo + hi + 1) // 2
                else:
                    lo, solution = probe, floors
                    # The LP at a higher rate is this one with higher floors: one of its
                    # solutions would be one of this LP with a lowest rate at least as
                    # high. So no rate above this LP's optimum has a solution; the highest
                    # rate below it, tried next, most often has one.
                    hi = min(hi, max(lo, rate_bound(rates, floors.rate)))
                    probe = hi
        except Unsolved:
            run.wall_clock_stops += 1
            return best_index, best
        if lo < hi:  # cut short by the deadline: hi is still a bound
            tops[k] = hi
            continue
        tops[k] = hi
        if solution is not None and lo > best_index:
            found = _round(run, school_network, limits, rates[lo], solution)
            if found is not None:
                best_index, best = lo, found
    return best_index, best


def _round(
    run: RoundRun,
    school_network: SchoolNetwork,
    limits: FairnessLimits,
    rate: Fraction,
    lp: Relaxation,
) -> Assignment | None:
    """Place the LP solution's fractional students (then every student of their offers) by
    CP-SAT, the integral ones kept, so that every school reaches `rate`."""
    problem = run.problem
    free = lp.fractional.copy()
    pairs = problem.pairs
    offers = np.zeros(problem.n_offers, dtype=bool)
    offers[pairs.offer[free[pairs.student]]] = True
    wider = free.copy()
    wider[pairs.student[offers[pairs.offer]]] = True
    # The wider neighbourhood gets more effort: what follows, if it fails, costs more.
    for students, most in ((free, NEIGHBOURHOOD_EFFORT), (wider, ROUNDING_EFFORT)):
        share = run.effort(Stage.SCHOOL_FAIRNESS)
        if run.out_of_time():
            return None
        effort = Effort(min(most, share.deterministic), share.wall / 2)
        repaired = repair(
            problem,
            school_network.admissible,
            limits,
            rate,
            lp.integral,
            students,
            effort,
            run.cancelled,
            run.flow_cost,
        )
        run.deterministic_used += repaired.deterministic_time
        run.wall_clock_stops += repaired.wall_clock_stop
        if repaired.assignment is not None and _keeps(run, repaired.assignment, limits):
            return repaired.assignment
    return None


def _relaxation_bound(
    run: RoundRun,
    school_network: SchoolNetwork,
    limits: FairnessLimits,
    rates: list[Fraction],
    first: int,
) -> int:
    """The index of the highest rate at least rates[first] reached without the gender
    constraint (-1: none).

    From the top down, from the most every school could reach (all its free students
    with an acceptable offer placed): a rate the max-flow does not reach gives a cut
    (Shortfall) that rules out every rate down to the first whose lower floors could
    make up its deficit; that one is tried next, and the first reached is the bound,
    most often after two or three flows. A rate out of reach before any flow (a
    school's floor above its free students), or where the cost is watched (min-cost
    flows, no cut), halves the range instead, each flow found lifting the lower end
    to the lowest rate it reaches. Cut short by the round's deadline, the highest
    rate not ruled out, still a bound.
    """
    most = school_network.lowest_rate(school_network.free_by_school.astype(np.int64))
    lo, hi = first - 1, max(first, bisect.bisect_right(rates, most) - 1)
    cuts, probe = school_network.gives_cuts(limits), hi
    while lo < hi:
        if run.out_of_time():
            return hi
        found = school_network.relaxed(rates[probe], limits)
        if isinstance(found, Fraction):
            lo = max(probe, bisect.bisect_right(rates, found) - 1)
            probe = hi if cuts else (lo + hi + 1) // 2
            continue
        if isinstance(found, Shortfall):
            # The highest rate below the probe that the cut leaves possible.
            hi = _highest_within(school_network, found, rates, lo, probe - 1)
            probe = hi
            continue
        # Plainly out, or no cut to learn from: halve.
        hi = probe - 1
        probe = (lo + hi + 1) // 2
    return lo if lo >= first else -1


def _highest_within(
    school_network: SchoolNetwork, cut: Shortfall, rates: list[Fraction], lo: int, hi: int
) -> int:
    """The highest rate index in (lo, hi] that `cut` leaves within reach, else lo (it leaves
    every lower rate within reach once it leaves one)."""
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if school_network.within_reach(cut, rates[mid]):
            lo = mid
        else:
            hi = mid - 1
    return lo


@dataclass(frozen=True)
class Outcome:
    """What trying one rate in one network gave, and by which method."""

    verdict: Verdict
    assignment: Assignment | None = None
    method: str = "flow"


def _reach(
    run: RoundRun,
    school_network: SchoolNetwork,
    limits: FairnessLimits,
    rate: Fraction,
) -> Outcome:
    """Settle whether one network reaches `rate` within the limits, if the effort allows.

    Flows first (SchoolNetwork.balanced); then CP-SAT on the students their
    gender-changing cycles move, everyone else kept; then CP-SAT on every
    student, whose infeasibility is a proof.
    """
    attempt = school_network.balanced(rate, limits, run.out_of_time)
    if attempt.nearest is None or attempt.beyond is not None:
        return Outcome(Verdict.IMPOSSIBLE)
    if attempt.assignment is not None and _keeps(run, attempt.assignment, limits):
        return Outcome(Verdict.FOUND, attempt.assignment)
    start = attempt.nearest.assignment()
    everyone = np.ones(run.problem.n_students, dtype=bool)
    for free, most in ((attempt.moved, NEIGHBOURHOOD_EFFORT), (everyone, PROOF_EFFORT)):
        # Within the stage's share of the round's deterministic time, and half its wall time.
        share = run.effort(Stage.SCHOOL_FAIRNESS)
        if run.out_of_time():
            break
        effort = Effort(min(most, share.deterministic), share.wall / 2)
        repaired = repair(
            run.problem,
            school_network.admissible,
            limits,
            rate,
            start,
            free,
            effort,
            run.cancelled,
            run.flow_cost,
        )
        run.deterministic_used += repaired.deterministic_time
        run.wall_clock_stops += repaired.wall_clock_stop
        if repaired.assignment is not None and _keeps(run, repaired.assignment, limits):
            return Outcome(Verdict.FOUND, repaired.assignment, "flow+cp-sat")
        if repaired.verdict is Verdict.IMPOSSIBLE and free.all():
            return Outcome(Verdict.IMPOSSIBLE)
    return Outcome(Verdict.UNKNOWN)


def _highest_reached(
    run: RoundRun,
    cut: list[tuple[SchoolNetwork, FairnessLimits]],
    rates: list[Fraction],
    lo: int,
    hi: int,
    best: Assignment,
    probes: int = RATE_PROBES,
    walks: int = WALKS,
    nearest: dict[int, Assignment] | None = None,
    beyond: dict[int, Beyond] | None = None,
    tops: list[int] | None = None,
    faces: Mapping[int, tuple[int, int, int]] | None = None,
) -> tuple[int, Assignment]:
    """The highest rate in [lo, hi] that flows reach (lo: `best` already does), the bound first.

    Then a binary search: not a proof, flows may miss a rate that can be reached. In
    `nearest`, per network (its index in `cut`), the flow that came nearest the gender
    limits at the bound; in `beyond`, the proofs that the bound is out of reach the walks
    came upon. A network is not tried above its bound in `tops`; with a steer in `faces`,
    its walk keeps to that steer's least-cost flows (SchoolNetwork.balanced).
    """
    for probe in range(probes):
        if hi <= lo or run.out_of_time():
            break
        rate = hi if probe == 0 else (lo + hi + 1) // 2
        for k, (school_network, network_limits) in enumerate(cut):
            if tops is not None and tops[k] < rate:
                continue
            face = None if faces is None else faces.get(k)
            attempt = school_network.balanced(
                rates[rate], network_limits, run.out_of_time, walks, False, face
            )
            if nearest is not None and probe == 0 and attempt.nearest is not None:
                nearest[k] = attempt.nearest.assignment()
            if beyond is not None and probe == 0 and attempt.beyond is not None:
                beyond[k] = attempt.beyond
            if attempt.assignment is not None and _keeps(run, attempt.assignment, network_limits):
                lo, best = rate, attempt.assignment
                break
        else:
            hi = rate - 1
    return lo, best


def _steered_bound(
    run: RoundRun,
    school_network: SchoolNetwork,
    limits: FairnessLimits,
    rates: list[Fraction],
    lo: int,
    top: int,
    proof: Beyond,
) -> tuple[int, tuple[int, int, int] | None, Assignment | None]:
    """Lower a network's bound `top`, which `proof` puts out of reach, to the highest rate
    index above `lo` (reached already) that flows steered like the proof's do not; and
    the proof's steer when the counts reach its least there exactly (a face of the gender
    vectors at that rate: SchoolNetwork.balanced keeps to it); and an assignment that
    reaches that rate, when max-flows found one on the way.

    The proof's floor prices (SchoolNetwork.floor_prices) rule out every rate down to
    the first whose floors drop enough to pay for its excess. The proof's flow reaches
    that rate too, with floors lower by then: max-flows from it (SchoolNetwork.lifted)
    most often swap its genders to the counts there, which settles the stage. Else a
    steered flow there either proves it out of reach too (and its prices go on) or not,
    and then no rate above it is within reach but it. Rates out of reach for one steer
    are for every higher rate. Cut short by the deadline, the highest rate not ruled out.
    """
    index = top
    while True:
        prices = school_network.floor_prices(proof, limits)
        below = index - 1
        if prices is None:  # the proof's rate alone is ruled out
            return max(below, lo), None, None
        floors = school_network.lower_bounds(rates[index])
        while (
            below > lo
            and int((prices * (floors - school_network.lower_bounds(rates[below]))).sum())
            < proof.excess
        ):
            below -= 1
        if below <= lo or run.out_of_time() or limits.counts is None:
            return max(below, lo), None, None
        swapped = _kept(run, school_network.lifted(rates[below], limits, proof.flow), limits)
        if swapped is not None:
            return below, None, swapped
        flow = school_network.solve(rates[below], limits, proof.steer)
        if flow is None:  # no flow at all there, whatever the genders
            return max(below - 1, lo), None, None
        excess = steered_excess(proof.steer, flow.placed_by_gender, limits.counts)
        if excess <= 0:
            # That flow, swapped to the counts by max-flows, most often lands there.
            swapped = _kept(run, school_network.lifted(rates[below], limits, flow), limits)
            if swapped is not None:
                return below, None, swapped
            # A face to walk on: a walk weighs its steer by the number of students, so
            # only a steer of a walk's own (a cost of -1, 0 or 1 per gender) makes one.
            unit = max(map(abs, proof.steer)) <= 1
            return below, proof.steer if excess == 0 and unit else None, None
        proof, index = Beyond(proof.steer, flow, rates[below], limits.counts), below


def _kept(run: RoundRun, flow: SchoolFlow | None, limits: FairnessLimits) -> Assignment | None:
    """The assignment of a flow found by max-flows, if it keeps every limit (`_keeps`)."""
    if flow is None:
        return None
    assignment = flow.assignment()
    return assignment if _keeps(run, assignment, limits) else None


def _keeps(run: RoundRun, assignment: Assignment, limits: FairnessLimits) -> bool:
    """Check an assignment found by flows against every limit of the earlier stages."""
    measures = measure(run.problem, assignment)
    if not limits.min_placed <= measures.placed <= limits.max_placed:
        return False
    if limits.max_cost is not None and run.flow_cost.of(run.problem, assignment) > limits.max_cost:
        return False
    if limits.max_gap is not None and measures.gap_numerator > limits.max_gap:
        return False
    return limits.counts is None or measures.placed_by_gender == limits.counts

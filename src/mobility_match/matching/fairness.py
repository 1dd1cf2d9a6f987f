"""The school-fairness stage: raise the lowest placement rate among schools.

A lowest rate t holds when every school k places at least ⌈t·eligible_k⌉ of
its students. Without the gender constraint that is a flow with lower bounds on
source → school arcs, so the best t of that relaxation, found by a binary search
over the few rates that exist (p/eligible_k), bounds the stage from above. Its
flow often keeps the gender gap of the earlier stage too, and is then optimal;
when it does not, flows with a small cost on one gender are walked toward the
gender target, and where they stop, the students their cycles move are handed
to a small CP-SAT repair (repair.py). Where gender binds, a steered flow (a
min-cost flow) can prove a rate out of reach, and its floor prices lower rates
too; else the linear relaxation of the whole stage (fairness_lp.py) bounds it
tighter. Flow_path.py decides which rates to try.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
from ortools.graph.python import max_flow, min_cost_flow

from mobility_match.matching.changes import FlowCost, flow_cost
from mobility_match.matching.flows import Admissible
from mobility_match.matching.network import FIRST_GROUP, SINK, SOURCE, layout
from mobility_match.matching.offer_classes import OfferClasses
from mobility_match.matching.pairs import IntArray
from mobility_match.matching.problem import Assignment, F, M, Problem, X, measure

TARGETS_TRIED = 8
"""How many gender vectors, nearest first, `balanced` aims at from one flow."""
WALKS = 6
"""How many times `balanced` walks part of the way and aims again before giving up."""
PRICE_PASSES = 500
"""Bellman-Ford passes `floor_prices` allows (each about 2 ms at 10,000 students; 20 or
so settle)."""
CHECK_PASSES = 30
"""Bellman-Ford passes `balanced` allows to check that a flow it holds is a least-cost flow
of another steer: those of a least-cost flow settle in 5-15 passes at 10,000 students, and
about 20 ms either way, where a steered min-cost flow of its own takes 0.1 s or more."""
RESIDUAL_ARCS = 5_000_000
"""Above this many open arcs (dense rounds of 50,000 students), `floor_prices` and the swaps
of a walk (`_swapped`) give up, and the steered flows are solved without merged offers:
their residual networks and classes would take a gigabyte or more, and the steered flows
and the LP do the work."""


EXCHANGES = tuple(
    (a, b, c)
    for a in (-1, 0, 1)
    for b in (-1, 0, 1)
    for c in (-1, 0, 1)
    if sorted((a, b, c)) == [-1, 0, 1]
)
"""Steering costs that swap one gender for another: tried where the walk stops."""


@dataclass(frozen=True)
class FairnessLimits:
    """What earlier stages let this stage do, in counts over all students (locks included)."""

    min_placed: int
    max_placed: int
    max_cost: int | None
    """Highest cost allowed (changes.FlowCost: the preference cost, and on a re-run the
    changes first), or None when neither preferences nor changes were a stage before."""
    max_gap: int | None
    """Highest gender-gap numerator allowed, or None when the gap was not a stage before."""
    counts: tuple[int, int, int] | None = None
    """Exact placed (F, M, X) to keep, when the network is cut down to least-cost flows."""


@dataclass(frozen=True)
class _ExchangeArcs:
    """The parts of `SchoolNetwork._exchanged`'s max-flows that do not change from one to
    the next: the split source's nodes (`top`, and `loss`, the sink), its arcs and the
    schools' (`tails`, `heads`: first in every max-flow), which arcs of the network may
    carry a path (`usable`), the gender of each student arc's student, and every arc's
    tail with those of the student arcs moved to their school's twin."""

    top: int
    loss: int
    tails: npt.NDArray[np.int32]
    heads: npt.NDArray[np.int32]
    usable: npt.NDArray[np.bool_]
    genders: npt.NDArray[Any]
    twinned_tails: npt.NDArray[np.int32]


class SchoolNetwork:
    """source → school → student → offer → sink, with a bypass for totals below the most.

    With `admissible`, the network is cut down to the arcs that least-cost flows
    for those gender counts may use (flows.Admissible): preference cost then
    needs no watching, only the gender counts.
    """

    def __init__(
        self, problem: Problem, admissible: Admissible | None = None, cost: FlowCost | None = None
    ) -> None:
        """`cost`: what pairs cost (default: their preference cost), see FairnessLimits."""
        self.problem = problem
        self.admissible = admissible
        self.locked = measure(problem, problem.locked_assignment())
        cost = flow_cost(problem, None) if cost is None else cost
        self.locked_cost = cost.of(problem, problem.locked_assignment())
        n_schools = len(problem.school_ids)
        arcs = layout(problem, problem.school, n_schools, cost.pair, bypass=True)
        self.students = arcs.students
        self.pair_student, self.pair_offer, self.pair_cost = (
            arcs.pair_student,
            arcs.pair_offer,
            arcs.pair_cost,
        )
        self.free_by_school = arcs.capacities[arcs.group_arcs]
        self.eligible_by_school = problem.eligible_by_school()
        # The last arc, source → sink, carries the placements earlier stages let go.
        self._tails, self._heads = arcs.tails, arcs.heads
        self._capacities = arcs.capacities
        self._bypass = arcs.bypass_arc
        self._n_nodes = arcs.n_nodes
        self._group_arcs, self._student_arcs = arcs.group_arcs, arcs.student_arcs
        self._pair_arcs, self._offer_arcs = arcs.pair_arcs, arcs.offer_arcs
        self._pairs = arcs.pair_slice
        self._lower = np.zeros(len(self._tails), dtype=np.int32)
        if admissible is not None:
            self._restrict(admissible, problem.free_pair_mask())
        # A lower bound l on u → v: l units are sent up front, so u owes l and v holds l.
        # These bounds do not change with the rate; those of the school arcs do.
        bounded = np.flatnonzero(self._lower)
        self._fixed_supply = np.zeros(self._n_nodes, dtype=np.int64)
        np.subtract.at(self._fixed_supply, self._tails[bounded], self._lower[bounded])
        np.add.at(self._fixed_supply, self._heads[bounded], self._lower[bounded])
        self._fixed_fit = not (self._lower[bounded] > self._capacities[bounded]).any()
        self._open = self._open_arcs()
        self._max_flow: _Reachability | None = None
        self._classes: OfferClasses | None = None
        self._exchange: _ExchangeArcs | None = None
        self._last_bounds: (
            tuple[tuple[Fraction, FairnessLimits], tuple[IntArray, IntArray]] | None
        ) = None
        # The last flow steered by a gender cost, by what it was solved for: the walk at a
        # bound lowered by steered flows (flow_path._steered_bound) asks for it again.
        self._last_steered: tuple[_Steering, SchoolFlow] | None = None
        # The last flow `relaxed` found, by rate and limits: the bound's, where walks start.
        self._last_reached: tuple[Fraction, FairnessLimits, npt.NDArray[np.int32]] | None = None

    def release(self) -> None:
        """Free the max-flow solver `relaxed` keeps (every arc of the round): the next
        call builds it again."""
        self._max_flow = None
        self._last_steered = None
        self._last_bounds = None

    def _restrict(self, admissible: Admissible, free: npt.NDArray[np.bool_]) -> None:
        """Close the arcs least-cost flows never use; make those they always fill compulsory."""
        caps, lower = self._capacities, self._lower
        caps[self._pairs] = admissible.pair_allowed[free]
        lower[self._pairs] = admissible.pair_forced[free]
        caps[self._student_arcs] = ~admissible.student_forbidden[self.students]
        lower[self._student_arcs] = admissible.student_forced[self.students]
        offers = self._offer_arcs
        caps[offers] = np.where(admissible.offer_empty, 0, caps[offers])
        lower[offers] = np.where(admissible.offer_full, caps[offers], 0)

    def _open_arcs(self) -> npt.NDArray[np.int32] | None:
        """The arcs the solvers get, in order; None for all of them.

        An arc with nothing left to carry once its lower bound is sent (closed, or
        forced full) is left out: on a network cut down by least-cost flows, about a
        third of the pairs, and each solve is that much shorter. The school arcs and
        the bypass, whose capacities change with the rate, stay; they come first and
        last, so the school arcs keep their indexes in the solvers.
        """
        open_arcs = self._capacities > self._lower
        open_arcs[self._group_arcs] = True
        open_arcs[self._bypass] = True
        if open_arcs.all():
            return None
        return np.flatnonzero(open_arcs).astype(np.int32)

    def _solver_arcs(self, values: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """Per arc values (tails, heads, capacities, costs) cut down to the open arcs."""
        return values if self._open is None else values[self._open]

    @property
    def _solver_bypass(self) -> int:
        """The bypass's index in the solvers: the last of their arcs."""
        return self._bypass if self._open is None else len(self._open) - 1

    def _from_solver(self, solved: npt.ArrayLike) -> npt.NDArray[np.int32]:
        """Every arc's flow from a solver's flows of the open arcs (the closed carry 0)."""
        flows = np.asarray(solved, dtype=np.int32)
        if self._open is None:
            return flows
        every = np.zeros(len(self._tails), dtype=np.int32)
        every[self._open] = flows
        return every

    def arc_students(self, arcs: IntArray) -> IntArray:
        """The student of each arc (group → student and student → offer arcs), else -1."""
        students = np.full(len(arcs), -1, dtype=np.int64)
        first_student, first_pair = len(self._group_arcs), self._pairs.start
        first_offer = self._pairs.stop
        on_student = (arcs >= first_student) & (arcs < first_pair)
        on_pair = (arcs >= first_pair) & (arcs < first_offer)
        students[on_student] = self.students[arcs[on_student] - first_student]
        students[on_pair] = self.pair_student[arcs[on_pair] - first_pair]
        return students

    def lower_bounds(self, rate: Fraction) -> IntArray:
        """Return how many free students each school must place for its rate to reach `rate`."""
        needed = school_floors(rate, self.eligible_by_school)
        lower: IntArray = np.maximum(0, needed - self.locked.school_placed)
        return lower

    def _watches_cost(self, limits: FairnessLimits) -> bool:
        return self.admissible is None and limits.max_cost is not None

    def student_arc_genders(self, arcs: IntArray) -> IntArray:
        """The gender of the student of each group → student arc, else -1."""
        genders = np.full(len(arcs), -1, dtype=np.int64)
        first = len(self._group_arcs)
        on_student = (arcs >= first) & (arcs < self._pairs.start)
        genders[on_student] = self.problem.gender[self.students[arcs[on_student] - first]]
        return genders

    def _arcs(self, rate: Fraction, limits: FairnessLimits) -> _RateArcs | None:
        """What changes with `rate`: the school arcs' lower bounds, the bypass's capacity and
        the node supplies; None if the rate is plainly out of reach."""
        most = limits.max_placed - self.locked.placed
        fewest = max(0, limits.min_placed - self.locked.placed)
        school_lower = self.lower_bounds(rate)
        if (
            not self._fixed_fit
            or most < fewest
            or (school_lower > self.free_by_school).any()
            or int(school_lower.sum()) > most
        ):
            return None
        supplies = self._fixed_supply.copy()
        supplies[SOURCE] += most - int(school_lower.sum())
        supplies[SINK] -= most
        supplies[FIRST_GROUP : FIRST_GROUP + len(school_lower)] += school_lower
        return _RateArcs(school_lower, most - fewest, supplies)

    def _with_bounds(self, solved: npt.ArrayLike, arcs: _RateArcs) -> npt.NDArray[np.int32]:
        """Every arc's flow from a solver's flows of the network with its lower bounds sent
        up front (fixed ones, and the rate's on school arcs): those added back."""
        flows = np.asarray(solved, dtype=np.int32)
        flows += self._lower
        flows[self._group_arcs] += arcs.school_lower.astype(np.int32)
        return flows

    def reach(self, rate: Fraction, limits: FairnessLimits) -> Fraction | None:
        """The lowest school rate of a flow that reaches `rate` within the placement and cost
        limits (not gender), at least `rate`; None when no flow reaches it."""
        found = self.relaxed(rate, limits)
        return found if isinstance(found, Fraction) else None

    def relaxed(self, rate: Fraction, limits: FairnessLimits) -> Fraction | Shortfall | None:
        """What `reach` gives, and where no flow reaches the rate, the cut that proves it when
        the max-flow found one (a Shortfall: it rules out lower rates too).

        Without a cost to watch, a max-flow from a super source to a super sink
        settles it, several times faster than the min-cost flow of `solve`: the
        supplies the lower bounds leave must all get through. Its solver is built
        once and kept (`release` frees it): between rates only the capacities of the
        school arcs, the bypass and the super arcs change.
        """
        if self._watches_cost(limits):
            found = self.solve(rate, limits)
            return None if found is None else found.lowest_rate
        arcs = self._arcs(rate, limits)
        if arcs is None:
            return None
        if self._max_flow is None:
            self._max_flow = _Reachability(self)
        if not self._max_flow.all_through(self, arcs):
            return self._max_flow.shortfall(rate, arcs)
        # The walk at the bound starts from this flow (`solve`): kept, not solved again.
        self._last_reached = (rate, limits, self._max_flow.solved_flows(self, arcs))
        placed = self._max_flow.school_flows(self) + arcs.school_lower
        return self.lowest_rate(placed)

    def within_reach(self, shortfall: Shortfall, rate: Fraction) -> bool:
        """Whether `shortfall`'s cut leaves `rate` possible: lower floors on the schools
        inside it make up its deficit."""
        drop = self.lower_bounds(shortfall.rate) - self.lower_bounds(rate)
        return int(drop[shortfall.schools].sum()) >= shortfall.deficit

    def gives_cuts(self, limits: FairnessLimits) -> bool:
        """Whether `relaxed` gives a Shortfall where no flow reaches a rate: where it solves
        max-flows (no cost to watch)."""
        return not self._watches_cost(limits)

    def lowest_rate(self, free_placed: IntArray) -> Fraction:
        """The lowest school rate when each school places `free_placed` free students."""
        placed = free_placed + self.locked.school_placed
        eligible = self.eligible_by_school
        counted = np.flatnonzero(eligible > 0)
        if not len(counted):
            return Fraction(1)
        k = int(counted[np.argmin(placed[counted] / eligible[counted])])
        return Fraction(int(placed[k]), int(eligible[k]))

    def solve(
        self,
        rate: Fraction,
        limits: FairnessLimits,
        gender_cost: tuple[int, int, int] = (0, 0, 0),
        merge_offers: bool = True,
    ) -> SchoolFlow | None:
        """Place students so that every school reaches `rate`, at least preference cost.

        `gender_cost` adds a cost per placed student of each gender, to steer the
        gender counts; when preference cost is watched, only among the flows of
        least preference cost. Return None when no flow reaches the rate within
        the placement and preference-cost limits; gender is not checked here.
        Where no pair costs anything, interchangeable offers are one node for the
        solver (`_solve_merged`), unless `merge_offers` is False (a check: solved
        afresh, on the whole network) or the network is too large for it
        (`residual_fits`).
        """
        steering = (rate, limits, self._steer_key(limits, gender_cost))
        if merge_offers and self._last_steered is not None and self._last_steered[0] == steering:
            found = self._last_steered[1]
            self._last_steered = None
            return found
        arcs = self._arcs(rate, limits)
        if arcs is None:
            return None
        watch = self._watches_cost(limits)
        if not watch and not any(gender_cost):
            # Nothing costs anything: any flow will do, and a max-flow finds one several
            # times faster than a min-cost flow; the last one `relaxed` found, if at `rate`.
            if self._last_reached is not None and self._last_reached[:2] == (rate, limits):
                reached, self._last_reached = self._last_reached[2], None
                return SchoolFlow(self, reached)
            reachability = self._max_flow or _Reachability(self)
            through = reachability.flows(self, arcs)
            return None if through is None else SchoolFlow(self, through)
        weight = len(self.students) + 1 if any(gender_cost) else 1
        costs = self._gender_costs(gender_cost)
        if watch:
            np.multiply(self.pair_cost, weight, out=costs[self._pairs], dtype=np.int64)
        residual = self._residual(arcs)
        if watch or not merge_offers or not self.residual_fits:
            network = [self._solver_arcs(a) for a in (self._tails, self._heads, residual, costs)]
            del residual, costs
            solved = _min_cost_flows(network, arcs.supplies)
        else:  # pairs cost nothing: offers that take the same students are one
            solved = self._solve_merged(
                self._solver_arcs(residual), self._solver_arcs(costs), arcs.supplies
            )
            del residual, costs
        if solved is None:
            return None
        found = SchoolFlow(self, self._with_bounds(self._from_solver(solved), arcs))
        if watch and limits.max_cost is not None and found.cost > limits.max_cost:
            return None
        self._last_steered = (steering, found)
        return found

    def _steer_key(
        self, limits: FairnessLimits, steer: tuple[int, int, int]
    ) -> tuple[int, int, int]:
        """What `steer` is solved for: where every flow places as many students and no cost
        is watched, a steer plus the same cost on every gender, or times a positive
        number, has the same least-cost flows (least of 0 and of greatest common divisor 1:
        (-1, -1, 1) and (0, 0, 1), the least of the third gender, are one)."""
        if limits.min_placed != limits.max_placed or self._watches_cost(limits):
            return steer
        shifted = [c - min(steer) for c in steer]
        divisor = math.gcd(*shifted) or 1
        return (shifted[0] // divisor, shifted[1] // divisor, shifted[2] // divisor)

    def _residual(self, arcs: _RateArcs) -> npt.NDArray[np.int32]:
        """Every arc's capacity once its lower bound (at the rate of `arcs`) is sent."""
        residual = self._capacities - self._lower
        residual[self._group_arcs] = self.free_by_school - arcs.school_lower
        residual[self._bypass] = arcs.bypass
        return residual

    def _offer_classes(self) -> OfferClasses:
        """The offers in classes of interchangeable ones, and the merged network (built once)."""
        if self._classes is None:
            solver = np.arange(len(self._tails)) if self._open is None else self._open
            self._classes = OfferClasses(
                self._tails,
                self._heads,
                self._capacities,
                self._lower,
                self._fixed_supply,
                self._pairs,
                self.pair_offer,
                self._offer_arcs,
                solver,
            )
        return self._classes

    def _merged_costs(self, steer: tuple[int, int, int]) -> IntArray:
        """Per arc of the merged network, its cost under `steer` (the student arcs')."""
        return self._offer_classes().costs(self._solver_arcs(self._gender_costs(steer)))

    def _solve_merged(
        self, residual: IntArray, costs: IntArray, supplies: IntArray
    ) -> npt.NDArray[np.int64] | None:
        """Each solver arc's flow above its lower bound in a least-cost flow, where no pair
        costs anything (a steered flow), solved with interchangeable offers made one
        (offer_classes.py); None when no flow meets the `supplies`."""
        classes = self._offer_classes()
        solved = _min_cost_flows(
            [classes.tails, classes.heads, classes.merge(residual), classes.costs(costs)],
            classes.supplies(supplies),
        )
        return None if solved is None else classes.share_out(solved, residual, supplies)

    def balanced(
        self,
        rate: Fraction,
        limits: FairnessLimits,
        stop: Callable[[], bool] | None = None,
        walks: int = WALKS,
        exchanges: bool = True,
        face: tuple[int, int, int] | None = None,
    ) -> Attempt:
        """Look for an assignment reaching `rate` that also keeps the gender limits.

        From a flow reaching the rate, pick the nearest gender vectors allowed
        (the exact counts, or those within the gap limit); for each, steer toward
        it (`_steer_toward`) with a flow that costs the same in preferences, split the
        difference of the two flows into cycles, and apply a subset of cycles that lands
        exactly on the vector. Every subset keeps the school rates and the
        preference cost (the cycles of the difference of two least-cost flows
        cost nothing), so only the gender counts need aiming. When no target is
        hit, which proves nothing, the attempt keeps the nearest flow and the
        students that cycles changing the gender counts move: there a small
        CP-SAT model (repair.py) can finish the job. Where the total placed is fixed
        and no cost is watched, each leg first swaps genders by max-flows (`_swapped`),
        several times faster: most often they land where the gap is small, and
        elsewhere bring the walk nearer. `stop` (the round's deadline)
        ends the walk early, as if no target were hit; `walks` bounds its legs, and
        without `exchanges` the swaps around where it stops are not tried (the
        students they move are only needed for a repair).

        With a `face` (a steer whose least over the flows at `rate` the exact counts
        reach), every assignment keeping the counts is a least-cost flow of that steer:
        the walk starts from one and steers by it first, so that every cycle keeps it,
        and only a line of gender vectors is left to aim along.

        Where a leg's steer pushed one gender harder than both others and its flow is
        still short of that gender's count, that gender alone most often proves the
        counts out of reach, a leg or two before the walk's end would (`_pushed_short`):
        by the leg's own flow, before its cycles, when Bellman-Ford passes show it a
        least-cost flow of that gender alone too (about 20 ms); else by that gender's
        own steered flow, once the leg's cycles land nowhere.

        Where the walk stops short, a steer of one gender alone (`_lone_steers`) may
        still prove the rate out of reach: the walk's steers, signs of what is left to
        move (`_steer_toward`), can pass by counts that lie beyond one gender's least or
        most. Else the swaps of a lift (`_swapped_to`, by way of the third gender too) may
        still land.
        """
        weight, current, on_face = 0, None, None
        if face is not None and limits.counts is not None:
            on_face = self.solve(rate, limits, face)
            if on_face is not None and not steered_excess(
                face, on_face.placed_by_gender, limits.counts
            ):
                current, weight = on_face, len(self.students) + 1
        if current is None:
            current = self.solve(rate, limits)
        moved = np.zeros(self.problem.n_students, dtype=bool)
        if current is None:
            return Attempt(None, None, moved)
        # The fewest and the most of each gender among the flows the walk comes upon:
        # a count one of them passes is no proof for that gender's steer alone.
        low, high = current.placed_by_gender.copy(), current.placed_by_gender.copy()
        fixed_total = limits.min_placed == limits.max_placed
        swapping = fixed_total and not self._watches_cost(limits) and self.residual_fits
        for _ in range(walks):
            if stop is not None and stop():
                return Attempt(None, current, moved)
            targets = self._targets(current, limits)
            if targets is None:
                return Attempt(current.assignment(), current, moved)
            for target in targets[:TARGETS_TRIED]:
                if stop is not None and stop():
                    return Attempt(None, current, moved)
                delta = target - current.placed_by_gender
                if not delta.any():
                    return Attempt(current.assignment(), current, moved)
                if not fixed_total:
                    delta[X] = 0
                if swapping:
                    # Swaps of one gender for another by max-flows first: where they land,
                    # no steered flow is needed; where they stop short, off a face, the
                    # walk goes on from there.
                    swapped = self._swapped_directly(rate, limits, current, target)
                    if not (swapped.placed_by_gender - target).any():
                        return Attempt(swapped.assignment(), swapped, moved)
                    np.minimum(low, swapped.placed_by_gender, out=low)
                    np.maximum(high, swapped.placed_by_gender, out=high)
                    if not weight:
                        current = swapped
                        delta = target - current.placed_by_gender
                steer = _steer_toward(delta)
                aimed = None
                if weight and face is not None and on_face is not None:
                    # The face's steer first: what `_on_face` solves, else that weighed.
                    aimed = self._on_face(rate, limits, on_face, face, steer)
                    steer = (
                        weight * face[0] + steer[0],
                        weight * face[1] + steer[1],
                        weight * face[2] + steer[2],
                    )
                if aimed is None:
                    aimed = self._steered(rate, limits, current, steer)
                if aimed is None:
                    continue
                np.minimum(low, aimed.placed_by_gender, out=low)
                np.maximum(high, aimed.placed_by_gender, out=high)
                beyond = self._beyond(rate, limits, steer, aimed)
                if beyond is not None:
                    return Attempt(None, current, moved, beyond)
                # A gender the steer pushed harder than both others and still short of its
                # count: the least (or most) of that gender alone most often proves the
                # counts out of reach, and the leg's own flow is most often one of its
                # least-cost flows too, which its potentials settling show (no steered
                # flow of its own needed).
                lone = None if weight else self._pushed_short(limits, steer, aimed, low, high)
                if (
                    lone is not None
                    and self._potentials(rate, limits, aimed, lone, CHECK_PASSES) is not None
                ):
                    beyond = self._beyond(rate, limits, lone, aimed)
                    if beyond is not None:
                        return Attempt(None, current, moved, beyond)
                    lone = None
                cycles = current.cycles_to(aimed)
                moved |= self.students_on(cycles)
                wanted = (int(delta[F]), int(delta[M]))
                changes = [c.gender_change for c in cycles]
                chosen = choose_cycles(wanted, changes)
                if chosen is not None:
                    found = current.apply(cycles, chosen)
                    return Attempt(found.assignment(), found, moved)
                if swapping:
                    landed = self._one_gender_then_swap(rate, limits, current, cycles, target)
                    if landed is not None:
                        return Attempt(landed.assignment(), landed, moved)
                if lone is not None:
                    # Not settled by the leg's own flow: the least (or most) of that gender
                    # alone, by a steered flow of its own.
                    beyond = self._lone_proof(rate, limits, current, lone, low, high)
                    if beyond is not None:
                        return Attempt(None, current, moved, beyond)
                closer = closer_cycles(wanted, changes, fixed_total)
                if closer:
                    # Not there yet: walk part of the way, then aim again from there.
                    current = current.apply(cycles, closer)
                    break
            else:
                break
        # The walk's steers follow the signs of what is left to move: where the counts lie
        # beyond every flow at `rate` in one gender's count alone, their least-cost flows
        # may pass them by, and the least or the most of that count proves it (one
        # steered flow each, before the LP of many).
        for steer in self._lone_steers(current, limits, low, high):
            if stop is not None and stop():
                return Attempt(None, current, moved)
            beyond = self._lone_proof(rate, limits, current, steer, low, high)
            if beyond is not None:
                return Attempt(None, current, moved, beyond)
        # Where the walk stopped, the swaps of a lift, by way of the third gender too
        # (`_swapped_to`: a few max-flows), may still land where its own swaps did not.
        if swapping and limits.counts is not None:
            landed = self._swapped_to(rate, limits, current, np.array(limits.counts))
            if tuple(landed.placed_by_gender.tolist()) == limits.counts:
                return Attempt(landed.assignment(), landed, moved)
        # Swaps of one gender for another, around where the walk stopped.
        for steer in EXCHANGES if exchanges else ():
            if stop is not None and stop():
                break
            aimed = self._steered(rate, limits, current, steer)
            if aimed is not None:
                beyond = self._beyond(rate, limits, steer, aimed)
                if beyond is not None:
                    return Attempt(None, current, moved, beyond)
                moved |= self.students_on(current.cycles_to(aimed))
        return Attempt(None, current, moved)

    def _one_gender_then_swap(
        self,
        rate: Fraction,
        limits: FairnessLimits,
        current: SchoolFlow,
        cycles: list[Cycle],
        target: IntArray,
    ) -> SchoolFlow | None:
        """`current` at the gender counts `target`, where no subset of `cycles` (of a
        difference from it) lands exactly: cycles bring one gender's count there, those
        that leave it be bring the other two nearer, and a swap of those two by a
        max-flow (`_swapped`) does the rest; None when no such swap lands. Each gender
        is tried in turn, the rarest first: the cycles that move the rarest most often
        move the others too far for cycles alone. For a fixed total, no cost watched."""
        changes = [(dx_f, dx_m, -dx_f - dx_m) for dx_f, dx_m in (c.gender_change for c in cycles)]
        wanted = (target - current.placed_by_gender).tolist()
        for gender in np.argsort(current.placed_by_gender, kind="stable").tolist():
            if wanted[gender] == 0:
                continue
            one = choose_cycles((wanted[gender], 0), [(d[gender], 0) for d in changes])
            if one is None:
                continue
            other, last = [g for g in range(3) if g != gender]
            left = wanted[other] - sum(changes[k][other] for k in one)
            # Cycles that leave that gender be, toward the other two's counts.
            taken = set(one)
            kept = [k for k, d in enumerate(changes) if d[gender] == 0 and k not in taken]
            nearer = closer_cycles((left, 0), [(changes[k][other], 0) for k in kept], False)
            chosen = one + [kept[i] for i in nearer]
            found = current.apply(cycles, chosen)
            left = wanted[other] - sum(changes[k][other] for k in chosen)
            if left:
                swap = np.zeros(3, dtype=np.int64)
                swap[other], swap[last] = left, -left
                found = self._swapped(rate, limits, found, swap) or found
            if not (found.placed_by_gender - target).any():
                return found
        return None

    def _lone_steers(
        self, current: SchoolFlow, limits: FairnessLimits, low: IntArray, high: IntArray
    ) -> list[tuple[int, int, int]]:
        """Steers of one gender alone toward the exact counts from `current`: the least of
        its count where the counts have fewer, the most where they have more, the farthest
        first. Only those that may prove the counts out of reach (`_beyond`): none where
        a flow already seen (each gender's fewest in `low`, most in `high`) has as few,
        or as many, as the counts, and none where preference cost is watched."""
        if limits.counts is None or self._watches_cost(limits):
            return []
        counts = np.array(limits.counts)
        left = counts - current.placed_by_gender
        possible = np.where(left < 0, low > counts, high < counts)
        steers = []
        for gender in sorted(
            np.flatnonzero((left != 0) & possible).tolist(), key=lambda g: (-abs(int(left[g])), g)
        ):
            steer = [0, 0, 0]
            steer[gender] = -int(np.sign(left[gender]))
            steers.append((steer[0], steer[1], steer[2]))
        return steers

    def _lone_proof(
        self,
        rate: Fraction,
        limits: FairnessLimits,
        current: SchoolFlow,
        steer: tuple[int, int, int],
        low: IntArray,
        high: IntArray,
    ) -> Beyond | None:
        """The proof (`_beyond`) that the least-cost flow of `steer`, one gender's alone,
        gives at `rate`, if it gives one; its counts go into the fewest (`low`) and the
        most (`high`) of each gender seen."""
        aimed = self._steered(rate, limits, current, steer)
        if aimed is None:
            return None
        np.minimum(low, aimed.placed_by_gender, out=low)
        np.maximum(high, aimed.placed_by_gender, out=high)
        return self._beyond(rate, limits, steer, aimed)

    def _pushed_short(
        self,
        limits: FairnessLimits,
        steer: tuple[int, int, int],
        aimed: SchoolFlow,
        low: IntArray,
        high: IntArray,
    ) -> tuple[int, int, int] | None:
        """The steer of one gender alone (`_lone_steers`) worth a try once `aimed`, the
        least-cost flow of `steer`, fell short of the exact counts: that of the gender whose
        cost in `steer` is above both others' (below both) and whose count in `aimed` is
        still above its count (below it). Pushed harder than any other and still short,
        that gender most often lies beyond its least (most) at the rate. None when no
        gender is so, or `_lone_steers` rules its steer out."""
        if limits.counts is None:
            return None
        left = np.array(limits.counts) - aimed.placed_by_gender
        for gender in range(3):
            others = [steer[g] for g in range(3) if g != gender]
            if steer[gender] > max(others) and left[gender] < 0:
                sign = 1
            elif steer[gender] < min(others) and left[gender] > 0:
                sign = -1
            else:
                continue
            lone = (sign * (gender == 0), sign * (gender == 1), sign * (gender == 2))
            return lone if lone in self._lone_steers(aimed, limits, low, high) else None
        return None

    def _beyond(
        self, rate: Fraction, limits: FairnessLimits, steer: tuple[int, int, int], aimed: SchoolFlow
    ) -> Beyond | None:
        """The proof that `aimed`, steered by `steer` alone, gives when it does: exact counts
        to keep and no preference cost in the flows' costs (a network cut down to
        least-cost flows)."""
        if limits.counts is None or self._watches_cost(limits):
            return None
        if steered_excess(steer, aimed.placed_by_gender, limits.counts) <= 0:
            return None
        return Beyond(steer, aimed, rate, limits.counts)

    def floor_prices(self, beyond: Beyond, limits: FairnessLimits) -> IntArray | None:
        """Per school, how much the least of beyond.steer · counts can fall, at most, per
        student its floor drops below that of beyond.rate.

        Those are the reduced costs of the school arcs under potentials of the steered
        min-cost flow (`_potentials`). By weak duality, at every lower rate that least
        is at least beyond's least − Σ price · (floor drop): while that stays above the
        counts' own, those rates are out of reach too, without a flow. None when the
        potentials do not settle.
        """
        distance = self._potentials(beyond.rate, limits, beyond.flow, beyond.steer)
        if distance is None:
            return None
        school_arcs = self._group_arcs
        reduced = distance[self._tails[school_arcs]] - distance[self._heads[school_arcs]]
        prices: IntArray = np.maximum(reduced, 0).astype(np.int64)
        return prices

    def _potentials(
        self,
        rate: Fraction,
        limits: FairnessLimits,
        flow: SchoolFlow,
        steer: tuple[int, int, int],
        passes: int = PRICE_PASSES,
    ) -> npt.NDArray[np.signedinteger[Any]] | None:
        """Node potentials of `flow`, a least-cost flow at `rate` of the cost `steer` per
        placed student of each gender: shortest distances in its residual network from a
        root joined to every node at no cost, by Bellman-Ford passes in numpy (a few
        dozen at 10,000 students). Under them no arc of the residual network costs less
        than 0. None when the passes do not settle within `passes`, or on a network
        too large (`residual_fits`).
        """
        bounds = self._bounds(rate, limits)
        if bounds is None or not self.residual_fits:
            return None
        lower, upper = (self._solver_arcs(b) for b in bounds)
        flows = self._solver_arcs(flow.flows)
        # 32 bits hold every distance while |steer| · nodes does (a walk on a face weighs
        # its steer by the number of students: 64 bits then).
        wide = max(map(abs, steer)) * self._n_nodes >= 1 << 31
        return _residual_potentials(
            self._solver_arcs(self._tails),
            self._solver_arcs(self._heads),
            flows < upper,
            flows > lower,
            self._solver_arcs(self._gender_costs(steer, np.int64 if wide else np.int32)),
            self._n_nodes,
            passes,
        )

    def _gender_costs(
        self, steer: tuple[int, int, int], kind: type[np.signedinteger[Any]] = np.int64
    ) -> npt.NDArray[np.signedinteger[Any]]:
        """Every arc's cost under `steer`: a cost per placed student of each gender, on the
        student arcs."""
        costs: npt.NDArray[np.signedinteger[Any]] = np.zeros(len(self._tails), dtype=kind)
        costs[self._student_arcs] = np.array(steer)[self.problem.gender[self.students]]
        return costs

    def _on_face(
        self,
        rate: Fraction,
        limits: FairnessLimits,
        on_face: SchoolFlow,
        face: tuple[int, int, int],
        steer: tuple[int, int, int],
    ) -> SchoolFlow | None:
        """The least-cost flow of `steer` among the least-cost flows of `face` at `rate`, from
        `on_face`, one of the latter; None where the potentials of `on_face` do not settle.

        On the network with interchangeable offers merged (offer_classes.py), under
        potentials of `on_face` (`_residual_potentials`), an arc whose reduced cost is not
        0 carries in every least-cost flow of `face` what it carries in `on_face`
        (complementary slackness): it is kept so, and the other arcs are left to a
        min-cost flow of `steer` alone. That gives what `face` weighed by the number of
        students plus `steer` would, but with costs of -1, 0 or 1 the solver's cost
        scaling takes about half the phases.
        """
        arcs = self._arcs(rate, limits)
        if arcs is None or self._watches_cost(limits) or not self.residual_fits:
            return None
        classes = self._offer_classes()
        residual = self._solver_arcs(self._residual(arcs))
        above = on_face.flows - self._lower
        above[self._group_arcs] -= arcs.school_lower.astype(np.int32)
        capacities, flows = classes.merge(residual), classes.merge(self._solver_arcs(above))
        del above
        face_costs = self._merged_costs(face)
        potentials = _residual_potentials(
            classes.tails, classes.heads, flows < capacities, flows > 0, face_costs, self._n_nodes
        )
        if potentials is None:
            return None
        kept = face_costs + potentials[classes.tails] - potentials[classes.heads] != 0
        low = np.where(kept, flows, 0)
        high = np.where(kept, flows, capacities)
        free = np.flatnonzero(high > low)
        # What the kept flows already move, the free arcs need not.
        supplies = (
            classes.supplies(arcs.supplies)
            - np.bincount(classes.tails, low, self._n_nodes).astype(np.int64)
            + np.bincount(classes.heads, low, self._n_nodes).astype(np.int64)
        )
        solved = _min_cost_flows(
            [
                classes.tails[free],
                classes.heads[free],
                (high - low)[free],
                self._merged_costs(steer)[free],
            ],
            supplies,
        )
        if solved is None:
            return None
        low[free] += solved
        shared = classes.share_out(low, residual, arcs.supplies)
        return SchoolFlow(self, self._with_bounds(self._from_solver(shared), arcs))

    @property
    def residual_fits(self) -> bool:
        """Whether `floor_prices`, `_swapped` and the merged offers of `_solve_merged` work on
        this network: not above RESIDUAL_ARCS open arcs."""
        return (len(self._tails) if self._open is None else len(self._open)) <= RESIDUAL_ARCS

    def _bounds(self, rate: Fraction, limits: FairnessLimits) -> tuple[IntArray, IntArray] | None:
        """Every arc's lower and upper bound at `rate` (None: plainly out of reach), read-only:
        the last rate's are kept, for the many max-flows of a walk or a lift there."""
        if self._last_bounds is not None and self._last_bounds[0] == (rate, limits):
            return self._last_bounds[1]
        arcs = self._arcs(rate, limits)
        if arcs is None:
            return None
        lower = self._lower.astype(np.int64)
        lower[self._group_arcs] += arcs.school_lower
        upper = self._capacities.astype(np.int64)
        upper[self._bypass] = lower[self._bypass] + arcs.bypass
        lower.flags.writeable = upper.flags.writeable = False
        self._last_bounds = ((rate, limits), (lower, upper))
        return lower, upper

    def _swapped(
        self, rate: Fraction, limits: FairnessLimits, current: SchoolFlow, swap: IntArray
    ) -> SchoolFlow | None:
        """`current` with as many as it can, up to `swap` (gender_swaps), of the students of
        one gender placed instead of another's, found by a max-flow in its residual
        network (`_exchanged`); None when it finds none. For a fixed total, no cost
        watched.

        A school may gain up to its free students and lose down to its floor at `rate`,
        so every school keeps the rate. A heuristic: the same-school swaps of a school
        at its floor are left out. Several times faster than the steered min-cost flow
        of `_steered`, which the walk goes on with.
        """
        bounds = self._bounds(rate, limits)
        if bounds is None or int(swap.sum()) != 0:
            return None
        lower, upper = bounds
        placed = current.flows[self._group_arcs].astype(np.int64)
        found = self._exchanged(
            current,
            bounds,
            swap > 0,
            swap < 0,
            upper[self._group_arcs] - placed,
            placed - lower[self._group_arcs],
            int(swap[swap > 0].sum()),
        )
        if found is None:
            return None
        # A path through a school's twin swaps twice: past the swap wanted, none is kept.
        gained = found.placed_by_gender - current.placed_by_gender
        return found if (gained * np.sign(swap) <= np.abs(swap)).all() else None

    def _swapped_directly(
        self, rate: Fraction, limits: FairnessLimits, current: SchoolFlow, target: IntArray
    ) -> SchoolFlow:
        """`current` with each swap of one gender for another toward the gender counts
        `target` (gender_swaps) that its max-flow finds (`_swapped`), one after another."""
        for swap in gender_swaps(target - current.placed_by_gender):
            current = self._swapped(rate, limits, current, swap) or current
        return current

    def _swapped_to(
        self, rate: Fraction, limits: FairnessLimits, current: SchoolFlow, target: IntArray
    ) -> SchoolFlow:
        """`current` brought as near the gender counts `target` as swaps (`_swapped`) bring it:
        each swap wanted first; where one stops short, by way of the third gender (one
        gender for the third, then the third for the other), which the max-flows of a
        direct swap may not find."""
        current = self._swapped_directly(rate, limits, current, target)
        for taker in range(3):
            for giver in range(3):
                left = target - current.placed_by_gender
                amount = min(int(left[taker]), int(-left[giver]))
                if amount <= 0:
                    continue
                third = 3 - taker - giver
                first = np.zeros(3, dtype=np.int64)
                first[taker], first[third] = amount, -amount
                via = self._swapped(rate, limits, current, first)
                if via is None:
                    continue
                moved = int(via.placed_by_gender[taker] - current.placed_by_gender[taker])
                second = np.zeros(3, dtype=np.int64)
                second[third], second[giver] = moved, -moved
                back = self._swapped(rate, limits, via, second)
                if (
                    back is not None
                    and np.abs(target - back.placed_by_gender).sum() < np.abs(left).sum()
                ):
                    current = back
        return current

    def lifted(
        self, rate: Fraction, limits: FairnessLimits, start: SchoolFlow
    ) -> SchoolFlow | None:
        """A flow reaching `rate` with the exact gender counts, found from the flow `start`
        (which may keep other counts, and reach `rate` or not) by max-flows in the residual
        network alone (`_exchanged`); None when they do not find one, which proves nothing,
        or on a network too large for them (`residual_fits`).

        First, students of each gender move between schools: a school below its floor
        places one more of a gender, one above it one fewer of the same, the counts
        kept. Where that stops short of every floor, students of any gender, and the
        few swaps of one gender for another (`_swapped_to`) that the counts then need.
        """
        if limits.counts is None or self._watches_cost(limits) or not self.residual_fits:
            return None
        bounds = self._bounds(rate, limits)
        if bounds is None:
            return None
        floors = bounds[0][self._group_arcs]
        current = start
        every = np.ones(3, dtype=bool)
        for genders in (*np.eye(3, dtype=bool), every):
            placed = current.flows[self._group_arcs].astype(np.int64)
            below = np.maximum(floors - placed, 0)
            if not below.any():
                break
            above = np.maximum(placed - floors, 0)
            found = self._exchanged(
                current, bounds, genders, genders, below, above, int(below.sum())
            )
            current = current if found is None else found
        if (current.flows[self._group_arcs] < floors).any():
            return None
        current = self._swapped_to(rate, limits, current, np.array(limits.counts))
        return current if tuple(current.placed_by_gender.tolist()) == limits.counts else None

    def _exchanged(
        self,
        current: SchoolFlow,
        bounds: tuple[IntArray, IntArray],
        placing: npt.NDArray[np.bool_],
        unplacing: npt.NDArray[np.bool_],
        gains: IntArray,
        losses: IntArray,
        most: int,
    ) -> SchoolFlow | None:
        """`current` changed by a max-flow in its residual network (None when none moves):
        within every arc's `bounds` (`_bounds`), students of the genders in `placing`
        may be placed, those of `unplacing` unplaced, every other student stays placed
        or not (moving between offers maybe); each school gains at most `gains` and
        loses at most `losses` of its students, `most` paths in all.

        The source is split in two: a school's arc from it carries what the school
        gains, its arc back what it loses, so each path from one to the other places
        a student in one school and unplaces one in another (or the same). Each school
        is in two too: the arcs that unplace its students end in it, those that place
        them start from its twin, and one arc from the first to the second lets a path
        go on through the school, none back (gains → school → losses at once).
        """
        flows = current.flows
        lower, upper = bounds
        static = self._exchange_arcs()
        # Which arcs each direction may use: the student arcs by gender, not the bypass
        # nor the school arcs (the split source's instead).
        use_forward = static.usable.copy()
        use_backward = static.usable.copy()
        use_forward[self._student_arcs] = placing[static.genders]
        use_backward[self._student_arcs] = unplacing[static.genders]
        fwd = np.flatnonzero(use_forward & (flows < upper))
        bwd = np.flatnonzero(use_backward & (flows > lower))
        k = len(self._group_arcs)
        tails = np.concatenate([static.tails, static.twinned_tails[fwd], self._heads[bwd]])
        heads = np.concatenate([static.heads, self._heads[fwd], self._tails[bwd]])
        capacities = np.concatenate(
            [
                [most],
                gains,
                losses,
                self.free_by_school,
                upper[fwd] - flows[fwd],
                flows[bwd] - lower[bwd],
            ]
        )
        solver = max_flow.SimpleMaxFlow()
        solver.add_arcs_with_capacity(tails, heads, capacities.astype(np.int64))
        if solver.solve(static.top, static.loss) != solver.OPTIMAL:
            raise RuntimeError("max-flow failed")
        if solver.optimal_flow() == 0:
            return None
        sent = np.asarray(solver.flows(np.arange(len(tails), dtype=np.int32)), dtype=np.int32)
        changed = flows.copy()
        changed[self._group_arcs] += sent[1 : 1 + k] - sent[1 + k : 1 + 2 * k]
        start = 1 + 3 * k
        changed[fwd] += sent[start : start + len(fwd)]
        changed[bwd] -= sent[start + len(fwd) :]
        return SchoolFlow(self, changed)

    def _exchange_arcs(self) -> _ExchangeArcs:
        """What every max-flow of `_exchanged` shares (built once)."""
        if self._exchange is None:
            n, k = self._n_nodes, len(self._group_arcs)
            top, gain, loss = n, n + 1, n + 2
            schools = (FIRST_GROUP + np.arange(k)).astype(np.int32)
            twins = (n + 3 + np.arange(k)).astype(np.int32)
            usable = np.ones(len(self._tails), dtype=bool)
            usable[self._bypass] = False
            usable[self._group_arcs] = False
            # The arcs that place a student start from its school's twin.
            twinned = self._tails.astype(np.int32)
            twinned[self._student_arcs] = twins[twinned[self._student_arcs] - FIRST_GROUP]
            self._exchange = _ExchangeArcs(
                top,
                loss,
                np.concatenate([[top], np.full(k, gain), schools, schools]).astype(np.int32),
                np.concatenate([[gain], twins, np.full(k, loss), twins]).astype(np.int32),
                usable,
                self.problem.gender[self.students],
                twinned,
            )
        return self._exchange

    def flow_of(self, assignment: Assignment, limits: FairnessLimits) -> SchoolFlow | None:
        """The flow of `assignment` in this network (at rate 0: the school arcs have no
        floor); None when it is none: it uses an arc the network closes, leaves one it
        makes compulsory, or places a number of students the limits do not allow."""
        flows = np.zeros(len(self._tails), dtype=np.int64)
        used = assignment[self.pair_student] == self.pair_offer
        flows[self._pairs] = used
        placed = assignment[self.students] >= 0
        flows[self._student_arcs] = placed
        flows[self._group_arcs] = np.bincount(
            self.problem.school[self.students[placed]], minlength=len(self._group_arcs)
        )
        flows[self._offer_arcs] = np.bincount(
            self.pair_offer[used], minlength=len(self._offer_arcs)
        )
        most = limits.max_placed - self.locked.placed
        fewest = max(0, limits.min_placed - self.locked.placed)
        flows[self._bypass] = most - int(placed.sum())
        within = (flows >= self._lower) & (flows <= self._capacities)
        within[self._bypass] = 0 <= flows[self._bypass] <= most - fewest
        return SchoolFlow(self, flows.astype(np.int32)) if within.all() else None

    def _steered(
        self,
        rate: Fraction,
        limits: FairnessLimits,
        current: SchoolFlow,
        steer: tuple[int, int, int],
    ) -> SchoolFlow | None:
        """A flow steered by a cost per gender, if it costs what `current` does in preferences."""
        aimed = self.solve(rate, limits, steer)
        if aimed is None or (self._watches_cost(limits) and aimed.cost != current.cost):
            return None
        return aimed

    def students_on(self, cycles: list[Cycle]) -> npt.NDArray[np.bool_]:
        """Students whose placement the cycles that change gender counts touch."""
        touched = np.zeros(self.problem.n_students, dtype=bool)
        arcs = [arc for c in cycles if c.gender_change != (0, 0) for arc, _ in c.arcs]
        students = self.arc_students(np.array(arcs, dtype=np.int64))
        touched[students[students >= 0]] = True
        return touched

    def _targets(self, start: SchoolFlow, limits: FairnessLimits) -> list[IntArray] | None:
        """Gender vectors to aim at, nearest to start first; None when gender is free."""
        if limits.counts is not None:
            return [np.array(limits.counts, dtype=np.int64)]
        if limits.max_gap is None:
            return None
        e_f, e_m, e_x = self.problem.eligible_by_gender()
        if e_f == 0 or e_m == 0 or start.gap <= limits.max_gap:
            return None
        total = int(start.placed_by_gender.sum())
        targets = []
        for a in range(e_f + 1):
            low = -(-(a * e_m - limits.max_gap) // e_f)
            high = (a * e_m + limits.max_gap) // e_f
            for b in range(max(0, low, total - a - e_x), min(e_m, high, total - a) + 1):
                targets.append(np.array([a, b, total - a - b], dtype=np.int64))
        targets.sort(key=lambda v: (int(np.abs(v - start.placed_by_gender).sum()), v.tolist()))
        return targets


_Steering = tuple[Fraction, FairnessLimits, tuple[int, int, int]]
"""What a steered flow is solved for: the rate, the limits and the cost per gender."""


@dataclass(frozen=True)
class Attempt:
    """What `balanced` reached at a rate."""

    assignment: Assignment | None
    """An assignment reaching the rate within every gender limit, if one was hit."""
    nearest: SchoolFlow | None
    """The flow nearest the gender limits reaching the rate; None proves no flow reaches it."""
    moved: npt.NDArray[np.bool_]
    """Students moved by cycles that change gender counts: where to repair."""
    beyond: Beyond | None = None
    """A proof that no flow at the rate keeps the exact gender counts, when a steered flow
    gave one."""


@dataclass(frozen=True)
class Beyond:
    """A proof that the exact gender counts are out of reach at a rate: over every flow of
    the network at that rate, the least of steer · counts, which `flow` reaches (a
    min-cost flow), is above the counts' own. Rounding cannot help: that least is the
    linear relaxation's too."""

    steer: tuple[int, int, int]
    flow: SchoolFlow
    rate: Fraction
    counts: tuple[int, int, int]

    @property
    def excess(self) -> int:
        """How far the least of steer · counts is above the counts' own (positive)."""
        return steered_excess(self.steer, self.flow.placed_by_gender, self.counts)


def steered_excess(
    steer: tuple[int, int, int], placed: IntArray, counts: tuple[int, int, int]
) -> int:
    """steer · placed − steer · counts: above 0, when `placed` is the least of steer · counts
    at a rate, those counts are out of reach there."""
    return sum(c * (int(p) - t) for c, p, t in zip(steer, placed.tolist(), counts, strict=True))


@dataclass(frozen=True)
class Shortfall:
    """A proof that no flow reaches a rate, gender aside: a cut of the network (Hoffman's
    condition) across which the floors of the schools inside it must send `deficit` more
    than its arcs carry out. Only the floors of those schools change with the rate, so
    the cut rules out every lower rate at which they drop by less than the deficit
    (SchoolNetwork.within_reach)."""

    rate: Fraction
    deficit: int
    schools: npt.NDArray[np.bool_]
    """The schools whose floor counts against the cut: inside it, the source outside."""


@dataclass(frozen=True)
class Cycle:
    """A cycle of the difference of two flows: (arc, +1/-1) steps, and placed (F, M) it adds."""

    arcs: tuple[tuple[int, int], ...]
    gender_change: tuple[int, int]


class SchoolFlow:
    """A flow of a SchoolNetwork, with what it means for the round."""

    def __init__(self, network: SchoolNetwork, flows: npt.NDArray[np.int32]) -> None:
        self.network = network
        self.flows = flows
        placed = flows[network._student_arcs] > 0
        by_gender = np.bincount(
            network.problem.gender[network.students[placed]], minlength=3
        ) + np.array(network.locked.placed_by_gender)
        self.placed_by_gender = by_gender
        e_f, e_m, _ = network.problem.eligible_by_gender()
        self.signed_gap = int(by_gender[F]) * e_m - int(by_gender[M]) * e_f if e_f and e_m else 0
        used = flows[network._pairs] > 0
        self.cost = int(network.pair_cost[used].sum()) + network.locked_cost
        """What the pairs used cost (FairnessLimits.max_cost), locked students included."""

    @property
    def gap(self) -> int:
        return abs(self.signed_gap)

    @property
    def lowest_rate(self) -> Fraction:
        """The lowest school rate of the flow, locked students included."""
        network = self.network
        return network.lowest_rate(self.flows[network._group_arcs].astype(np.int64))

    def assignment(self) -> Assignment:
        network = self.network
        used = self.flows[network._pairs] > 0
        assignment = network.problem.locked_assignment()
        assignment[network.pair_student[used]] = network.pair_offer[used]
        return assignment

    def apply(self, cycles: list[Cycle], chosen: list[int]) -> SchoolFlow:
        """Return this flow with the chosen cycles (of a difference from it) added."""
        flows = self.flows.copy()
        for k in chosen:
            for arc, sign in cycles[k].arcs:
                flows[arc] += sign
        return SchoolFlow(self.network, flows)

    def cycles_to(self, other: SchoolFlow) -> list[Cycle]:
        """Split other − self into cycles that each follow the sign of the difference."""
        network = self.network
        difference = other.flows - self.flows
        changed = np.flatnonzero(difference)
        amounts = difference[changed]
        forward = amounts > 0
        tails = np.where(forward, network._tails[changed], network._heads[changed])
        heads = np.where(forward, network._heads[changed], network._tails[changed])
        out: dict[int, list[tuple[int, int, int]]] = {}
        for arc, tail, head, amount in zip(
            changed.tolist(), tails.tolist(), heads.tolist(), amounts.tolist(), strict=True
        ):
            out.setdefault(tail, []).extend([(head, arc, 1 if amount > 0 else -1)] * abs(amount))
        # The gender of the student of each changed student arc (the others: none).
        student_gender = {
            arc: gender
            for arc, gender in zip(
                changed.tolist(), network.student_arc_genders(changed).tolist(), strict=True
            )
            if gender >= 0
        }
        cycles: list[Cycle] = []
        for first in [int(node) for node in out]:
            while out.get(first):
                path: list[tuple[int, int, int]] = []
                position = {first: 0}
                node: int = first
                while True:
                    head, arc, sign = out[node].pop()
                    path.append((node, arc, sign))
                    if head in position:
                        loop = path[position[head] :]
                        del path[position[head] :]
                        for step in loop:
                            position.pop(step[0], None)
                        genders = [(student_gender.get(arc, -1), sign) for _, arc, sign in loop]
                        change = (
                            sum(sign for g, sign in genders if g == F),
                            sum(sign for g, sign in genders if g == M),
                        )
                        cycles.append(Cycle(tuple((a, s) for _, a, s in loop), change))
                        if not path:
                            break
                        node = head
                        position[head] = len(path)
                        continue
                    position[head] = len(path)
                    node = head
        return cycles


@dataclass(frozen=True)
class _RateArcs:
    """What a rate changes in a SchoolNetwork (SchoolNetwork._arcs)."""

    school_lower: IntArray
    """Per school: the students it must place from its free ones."""
    bypass: int
    """The capacity of source → sink: how many fewer than the most may be placed."""
    supplies: IntArray
    """Per node, once every lower bound is sent up front."""


class _Reachability:
    """One max-flow solver of a SchoolNetwork, re-solved at each rate (`reach`).

    A flow with lower bounds exists when, once the bounds are sent up front, a
    super source feeding every node that holds supply and a super sink draining
    every node that owes it are joined by a flow that saturates them. Only the
    nodes some bound touches can hold or owe: the source, the sink, the schools,
    and the ends of the network's fixed bounds; each gets one arc from the super
    source and one to the super sink, opened at each rate to its supply.
    """

    def __init__(self, network: SchoolNetwork) -> None:
        nodes = np.union1d(
            np.flatnonzero(network._fixed_supply),
            np.concatenate([[SOURCE, SINK], FIRST_GROUP + np.arange(len(network.free_by_school))]),
        ).astype(np.int32)
        source, sink = network._n_nodes, network._n_nodes + 1
        capacities = network._capacities - network._lower
        capacities[network._group_arcs] = 0
        capacities[network._bypass] = 0
        self.solver = max_flow.SimpleMaxFlow()
        self.solver.add_arcs_with_capacity(
            network._solver_arcs(network._tails),
            network._solver_arcs(network._heads),
            network._solver_arcs(capacities),
        )
        del capacities
        n_arcs = self.solver.num_arcs()
        self.n_network_arcs = n_arcs
        self.nodes, self.source, self.sink = nodes, source, sink
        self.feeding = np.arange(n_arcs, n_arcs + len(nodes), dtype=np.int32)
        self.draining = self.feeding + len(nodes)
        zero = np.zeros(len(nodes), dtype=np.int64)
        self.solver.add_arcs_with_capacity(np.full(len(nodes), source, dtype=np.int32), nodes, zero)
        self.solver.add_arcs_with_capacity(nodes, np.full(len(nodes), sink, dtype=np.int32), zero)

    def all_through(self, network: SchoolNetwork, arcs: _RateArcs) -> bool:
        """Whether every supply the rate's bounds leave gets through."""
        solver = self.solver
        solver.set_arcs_capacity(network._group_arcs, network.free_by_school - arcs.school_lower)
        solver.set_arc_capacity(network._solver_bypass, arcs.bypass)
        supplies = arcs.supplies[self.nodes]
        solver.set_arcs_capacity(self.feeding, np.maximum(supplies, 0))
        solver.set_arcs_capacity(self.draining, np.maximum(-supplies, 0))
        if solver.solve(self.source, self.sink) != solver.OPTIMAL:
            raise RuntimeError("max-flow failed")
        return int(solver.optimal_flow()) == int(np.maximum(arcs.supplies, 0).sum())

    def shortfall(self, rate: Fraction, arcs: _RateArcs) -> Shortfall:
        """The cut of the last max-flow, which fell short: the nodes the super source still
        reaches. Its deficit is what did not get through."""
        inside = np.zeros(self.sink + 1, dtype=bool)
        inside[self.solver.get_source_side_min_cut()] = True
        schools = inside[FIRST_GROUP : FIRST_GROUP + len(arcs.school_lower)].copy()
        if inside[SOURCE]:  # the cut crosses no school's floor: no rate is within reach
            schools[:] = False
        deficit = int(np.maximum(arcs.supplies, 0).sum()) - int(self.solver.optimal_flow())
        return Shortfall(rate, deficit, schools)

    def school_flows(self, network: SchoolNetwork) -> IntArray:
        """Per school, what the last flow sent through its arc (beyond its lower bound)."""
        flows: IntArray = np.asarray(self.solver.flows(network._group_arcs), dtype=np.int64)
        return flows

    def flows(self, network: SchoolNetwork, arcs: _RateArcs) -> npt.NDArray[np.int32] | None:
        """A flow of the network within the rate's bounds (every arc's flow), if one exists."""
        if not self.all_through(network, arcs):
            return None
        return self.solved_flows(network, arcs)

    def solved_flows(self, network: SchoolNetwork, arcs: _RateArcs) -> npt.NDArray[np.int32]:
        """Every arc's flow, from the last flow solved (which got all through)."""
        solved = self.solver.flows(np.arange(self.n_network_arcs, dtype=np.int32))
        return network._with_bounds(network._from_solver(solved), arcs)


def _residual_potentials(
    tails: npt.NDArray[Any],
    heads: npt.NDArray[Any],
    forward: npt.NDArray[np.bool_],
    backward: npt.NDArray[np.bool_],
    costs: npt.NDArray[np.signedinteger[Any]],
    n_nodes: int,
    passes: int = PRICE_PASSES,
) -> npt.NDArray[np.signedinteger[Any]] | None:
    """Node potentials of a least-cost flow: shortest distances in its residual network
    (arc k forward where `forward[k]`, backward where `backward[k]`, at cost ±costs[k])
    from a root joined to every node at no cost, by Bellman-Ford passes in numpy (a few
    dozen at 10,000 students), in the costs' integer type. Under them no residual arc
    costs less than 0. None when the passes do not settle within `passes`: the flow
    is not least-cost."""
    into = np.concatenate([heads[forward], tails[backward]]).astype(np.int32)
    order = np.argsort(into, kind="stable")
    into = into[order]
    out_of = np.concatenate([tails[forward], heads[backward]]).astype(np.int32)[order]
    weights = np.concatenate([costs[forward], -costs[backward]])[order]
    del order
    starts = np.flatnonzero(np.r_[True, into[1:] != into[:-1]])
    ends = into[starts]
    del into
    distance: npt.NDArray[np.signedinteger[Any]] = np.zeros(n_nodes, dtype=costs.dtype)
    for _ in range(passes):
        nearer = np.minimum.reduceat(distance[out_of] + weights, starts)
        better = nearer < distance[ends]
        if not better.any():
            return distance
        distance[ends[better]] = nearer[better]
    return None


def _min_cost_flows(
    network: list[npt.NDArray[Any]], supplies: npt.NDArray[Any]
) -> npt.NDArray[np.int64] | None:
    """Each arc's flow in a least-cost flow meeting the node `supplies` (node k: index k
    of supplies); None when no flow meets them. `network`: the arcs' tails, heads,
    capacities and unit costs, emptied once the solver holds them (a caller keeping no
    other reference frees them for the solve: 0.5 GB at 20 million pairs)."""
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(*network)
    network.clear()
    solver.set_nodes_supplies(np.arange(len(supplies), dtype=np.int32), supplies)
    status = solver.solve()
    if status == solver.INFEASIBLE:
        return None
    if status != solver.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    return np.asarray(solver.flows(np.arange(solver.num_arcs(), dtype=np.int32)), dtype=np.int64)


def _steer_toward(delta: IntArray) -> tuple[int, int, int]:
    """A walk's steer toward the gender counts from a flow `delta` away from them: a cost of
    -1 per student of a gender to add, 1 per student of one to take, for every gender off
    its count. (Leaving out those nearly there was tried and taken back: two genders on
    the same side of their counts, left out in turn, had a walk swing between two steers
    that never land; tests/test_fairness_walk_end.py keeps that round.)"""
    signs = [int(-np.sign(d)) for d in delta.tolist()]
    return (signs[0], signs[1], signs[2])


def gender_swaps(delta: IntArray) -> list[IntArray]:
    """`delta` (placed per gender to add, summing to 0) as swaps of one gender for another:
    each a vector with one count to add and the same to take from another gender."""
    left = delta.astype(np.int64)
    swaps = []
    for taker in range(3):
        for giver in range(3):
            amount = min(int(left[taker]), int(-left[giver]))
            if amount > 0:
                swap = np.zeros(3, dtype=np.int64)
                swap[taker], swap[giver] = amount, -amount
                swaps.append(swap)
                left -= swap
    return swaps


def choose_cycles(
    wanted: tuple[int, int], changes: list[tuple[int, int]], budget: int = 100_000
) -> list[int] | None:
    """Pick cycles whose (F, M) changes add up to `wanted` exactly; None if none found.

    Cycles are grouped by their change; how many of each group to take is
    searched depth-first, most numerous groups first, pruned by the box the
    remaining groups can still reach, within a budget of steps.
    """
    groups: dict[tuple[int, int], list[int]] = {}
    for k, change in enumerate(changes):
        if change != (0, 0):
            groups.setdefault(change, []).append(k)
    kinds = sorted(groups, key=lambda c: (-len(groups[c]), c))
    # reach[i] = (min F, max F, min M, max M) the groups from i on can add.
    reach = [(0, 0, 0, 0)] * (len(kinds) + 1)
    for i in range(len(kinds) - 1, -1, -1):
        (df, dm), n = kinds[i], len(groups[kinds[i]])
        lo_f, hi_f, lo_m, hi_m = reach[i + 1]
        reach[i] = (
            lo_f + min(0, df * n),
            hi_f + max(0, df * n),
            lo_m + min(0, dm * n),
            hi_m + max(0, dm * n),
        )
    steps = 0

    def search(i: int, need_f: int, need_m: int) -> list[int] | None:
        nonlocal steps
        if need_f == 0 and need_m == 0:
            return []
        lo_f, hi_f, lo_m, hi_m = reach[i]
        if i == len(kinds) or not (lo_f <= need_f <= hi_f and lo_m <= need_m <= hi_m):
            return None
        (df, dm), members = kinds[i], groups[kinds[i]]
        # Only the counts of this kind that leave the need where the next kinds reach.
        first_f, last_f = _counts_within(need_f, df, reach[i + 1][0], reach[i + 1][1])
        first_m, last_m = _counts_within(need_m, dm, reach[i + 1][2], reach[i + 1][3])
        for n in range(max(0, first_f, first_m), min(len(members), last_f, last_m) + 1):
            steps += 1
            if steps > budget:
                return None
            rest = search(i + 1, need_f - n * df, need_m - n * dm)
            if rest is not None:
                return members[:n] + rest
        return None

    return search(0, *wanted)


def _counts_within(need: int, change: int, lowest: int, highest: int) -> tuple[int, int]:
    """The n (perhaps none: first > last) with lowest ≤ need − n·change ≤ highest."""
    if change == 0:
        return (0, 1 << 62) if lowest <= need <= highest else (1, 0)
    if change > 0:
        return -(-(need - highest) // change), (need - lowest) // change
    return -(-(lowest - need) // -change), (highest - need) // -change


def _distance(need_f: int, need_m: int, fixed_total: bool) -> int:
    """How far the gender counts are from the wanted ones (with a fixed total, X makes up)."""
    return abs(need_f) + abs(need_m) + (abs(need_f + need_m) if fixed_total else 0)


def closer_cycles(
    wanted: tuple[int, int], changes: list[tuple[int, int]], fixed_total: bool
) -> list[int]:
    """Greedily pick cycles that each bring the (F, M) counts nearer to `wanted`."""
    need_f, need_m = wanted
    chosen: list[int] = []
    improved = True
    while improved:
        improved = False
        for k, (df, dm) in enumerate(changes):
            if k in chosen or (df, dm) == (0, 0):
                continue
            before = _distance(need_f, need_m, fixed_total)
            if _distance(need_f - df, need_m - dm, fixed_total) < before:
                need_f, need_m = need_f - df, need_m - dm
                chosen.append(k)
                improved = True
    return chosen


def school_floors(rate: Fraction, eligible: IntArray) -> IntArray:
    """⌈rate · eligible⌉ per school: how many students each must place to reach `rate`,
    exactly, in integers."""
    floors: IntArray = -((-rate.numerator * eligible.astype(np.int64)) // rate.denominator)
    return floors


def candidate_rates(eligible_by_school: IntArray) -> list[Fraction]:
    """Every value the lowest school rate can take, in increasing order."""
    sizes = np.unique(eligible_by_school[eligible_by_school > 0]).astype(np.int64)
    if not len(sizes):
        return [Fraction(1)]
    # p/e for every size e and 0 ≤ p ≤ e, in lowest terms, each once.
    denominators = np.repeat(sizes, sizes + 1)
    starts = np.cumsum(sizes + 1) - (sizes + 1)
    numerators = np.arange(len(denominators)) - np.repeat(starts, sizes + 1)
    common = np.gcd(numerators, denominators)
    numerators, denominators = numerators // common, denominators // common
    keys = np.unique(numerators * (int(sizes[-1]) + 1) + denominators)
    numerators, denominators = keys // (int(sizes[-1]) + 1), keys % (int(sizes[-1]) + 1)
    # Two distinct rates p/e differ by at least 1/(e·e'), far more than a float's error:
    # sorting by float is exact.
    order = np.argsort(numerators / denominators, kind="stable")
    return [
        Fraction(int(p), int(e))
        for p, e in zip(numerators[order].tolist(), denominators[order].tolist(), strict=True)
    ]

"""A round turned into numbers: acceptable pairs, capacities, groups, locks.

The solver stages (flows and CP-SAT) work on a `Problem`; results are arrays
giving each student's offer index (-1: unplaced). This module also measures a
full assignment on every objective, exactly, with integers and fractions, so
that the engine, the report and the tests agree on what a value means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

import numpy as np
import numpy.typing as npt

from mobility_match.documents.checklists import Checklists
from mobility_match.domain import Gender, RoundInput, Vocabulary
from mobility_match.matching.pairs import IntArray, PairArray, Pairs, RuleTable
from mobility_match.matching.rules import why_not
from mobility_match.matching.stages import Stage

GENDERS: tuple[Gender, ...] = (Gender.F, Gender.M, Gender.X)
F, M, X = 0, 1, 2
UNPLACED = -1
STAY_UNPLACED = -2
"""In `Problem.locked`: the coordinator locked the student out of every offer."""

Assignment = npt.NDArray[np.int64]
"""One entry per student: the index of the offer, or UNPLACED."""


class LockError(ValueError):
    """Locks that cannot all hold; the importer reports these to the user first."""


@dataclass(frozen=True)
class Problem:
    """Everything the solver stages need, as arrays indexed by student and offer."""

    round_input: RoundInput
    table: RuleTable
    pairs: Pairs
    """Acceptable pairs of every student (locks not applied), sorted by student."""
    pair_start: IntArray
    """Pairs of student i are pairs[pair_start[i]:pair_start[i + 1]]."""
    gender: IntArray
    school: IntArray
    school_ids: tuple[str, ...]
    capacity: IntArray
    locked: IntArray
    """Per student: the offer index it is locked on, STAY_UNPLACED, or UNPLACED (no lock)."""

    @property
    def n_students(self) -> int:
        return len(self.gender)

    @property
    def n_offers(self) -> int:
        return len(self.capacity)

    def offers_of(self, i: int) -> PairArray:
        """Return the offers acceptable to student i."""
        return self.pairs.offer[self.pair_start[i] : self.pair_start[i + 1]]

    def costs_of(self, i: int) -> PairArray:
        """Return the preference costs of student i's acceptable offers, aligned with offers_of."""
        return self.pairs.cost[self.pair_start[i] : self.pair_start[i + 1]]

    @cached_property
    def eligible(self) -> npt.NDArray[np.bool_]:
        """Students with at least one acceptable offer."""
        return np.diff(self.pair_start) > 0

    def eligible_by_gender(self) -> tuple[int, int, int]:
        counts = np.bincount(self.gender[self.eligible], minlength=3)
        return int(counts[F]), int(counts[M]), int(counts[X])

    def eligible_by_school(self) -> IntArray:
        return np.bincount(self.school[self.eligible], minlength=len(self.school_ids))

    def free_pair_mask(self) -> npt.NDArray[np.bool_]:
        """Pairs of students without a lock: the only ones the solver decides."""
        mask: npt.NDArray[np.bool_] = self.locked[self.pairs.student] == UNPLACED
        return mask

    def locked_assignment(self) -> Assignment:
        """The assignment that only the locks make: locked students placed, others not."""
        return np.where(self.locked >= 0, self.locked, UNPLACED)

    def residual_capacity(self) -> IntArray:
        """Places left on each offer once locked students are on it."""
        taken = np.bincount(self.locked[self.locked >= 0], minlength=self.n_offers)
        return self.capacity - taken

    def pair_index(self, i: int, j: int) -> int:
        """Return the index of pair (i, j) in `pairs`; raise KeyError if it is not acceptable."""
        return int(self.pair_indices(np.array([i]), np.array([j]))[0])

    @cached_property
    def _pair_keys(self) -> IntArray:
        """student · n_offers + offer per pair: increasing, as pairs are sorted so."""
        keys: IntArray = self.pairs.student.astype(np.int64) * max(1, self.n_offers)
        keys += self.pairs.offer
        return keys

    def pair_indices(self, students: IntArray, offers: IntArray) -> IntArray:
        """Return the indexes in `pairs` of the pairs (students[k], offers[k]), all at once;
        raise KeyError naming the first that is not acceptable."""
        wanted = students.astype(np.int64) * max(1, self.n_offers) + offers
        keys = self._pair_keys
        found: IntArray = np.searchsorted(keys, wanted)
        missing = (offers < 0) | (offers >= self.n_offers) | (found >= len(keys))
        if len(keys):
            missing |= keys[np.minimum(found, len(keys) - 1)] != wanted
        if missing.any():
            k = int(np.argmax(missing))
            raise KeyError((int(students[k]), int(offers[k])))
        return found

    def preference_cost(self, assignment: Assignment) -> int:
        """The preference cost of an assignment: the sum of its pairs' costs."""
        placed = np.flatnonzero(assignment >= 0)
        return int(self.pairs.cost[self.pair_indices(placed, assignment[placed])].sum())


def prepare(
    round_input: RoundInput, vocabulary: Vocabulary, checklists: Checklists | None = None
) -> Problem:
    """Compute the acceptable pairs of a round and check that its locks can hold.

    `checklists` date the visa deadlines the age rule reads (None: the packaged ones).
    """
    students, offers = round_input.students, round_input.offers
    table = RuleTable(students, offers, vocabulary, checklists)
    pairs = table.acceptable_pairs()
    pair_start = np.searchsorted(pairs.student, np.arange(len(students) + 1)).astype(np.int64)
    school_ids = tuple(sorted({s.school_id for s in students}))
    school_index = {school: k for k, school in enumerate(school_ids)}
    problem = Problem(
        round_input=round_input,
        table=table,
        pairs=pairs,
        pair_start=pair_start,
        gender=np.array([GENDERS.index(s.gender) for s in students], dtype=np.int64),
        school=np.array([school_index[s.school_id] for s in students], dtype=np.int64),
        school_ids=school_ids,
        capacity=np.array([o.places for o in offers], dtype=np.int64),
        locked=_lock_array(round_input),
    )
    _check_locks(problem, vocabulary)
    return problem


def _lock_array(round_input: RoundInput) -> IntArray:
    student_index = {s.student_id: i for i, s in enumerate(round_input.students)}
    offer_index = {o.offer_id: j for j, o in enumerate(round_input.offers)}
    locked = np.full(len(round_input.students), UNPLACED, dtype=np.int64)
    for lock in round_input.locks:
        if lock.student_id not in student_index:
            raise LockError(f"lock names unknown student {lock.student_id!r}")
        if lock.offer_id is not None and lock.offer_id not in offer_index:
            raise LockError(f"lock names unknown offer {lock.offer_id!r}")
        i = student_index[lock.student_id]
        if locked[i] != UNPLACED:
            raise LockError(f"student {lock.student_id!r} is locked twice")
        locked[i] = STAY_UNPLACED if lock.offer_id is None else offer_index[lock.offer_id]
    return locked


def _check_locks(problem: Problem, vocabulary: Vocabulary) -> None:
    students, offers = problem.round_input.students, problem.round_input.offers
    problems: list[str] = []
    for i in np.flatnonzero(problem.locked >= 0):
        j = int(problem.locked[i])
        reason = why_not(students[i], offers[j], vocabulary, problem.table.context.checklists)
        if reason is not None:
            problems.append(f"lock of {students[i].student_id} on {offers[j].offer_id}: {reason}")
    for full in np.flatnonzero(problem.residual_capacity() < 0):
        offer = offers[full]
        problems.append(f"offer {offer.offer_id} has more locks than its {offer.places} places")
    if problems:
        raise LockError("; ".join(problems))


# ---- measuring an assignment ----------------------------------------------------------


@dataclass(frozen=True)
class Measures:
    """The objective values of one assignment, exact."""

    placed: int
    placed_by_gender: tuple[int, int, int]
    gap_numerator: int
    """|placed_F · eligible_M − placed_M · eligible_F|; 0 when a group has no eligible student."""
    gap_denominator: int
    preference_cost: int
    school_placed: IntArray
    school_eligible: IntArray

    @property
    def gender_gap(self) -> Fraction:
        return Fraction(self.gap_numerator, self.gap_denominator)

    @property
    def min_school_rate(self) -> Fraction:
        """The lowest placement rate among schools with eligible students (1 when none has)."""
        rates = [
            Fraction(int(p), int(e))
            for p, e in zip(self.school_placed, self.school_eligible, strict=True)
            if e > 0
        ]
        return min(rates, default=Fraction(1))

    def stage_value(self, stage: Stage) -> Fraction:
        """Return the value of an objective stage (all but `changes`, which needs the
        previous assignment: changes.count_changes)."""
        values: Mapping[Stage, Fraction] = {
            Stage.PLACEMENTS: Fraction(self.placed),
            Stage.GENDER_GAP: self.gender_gap,
            Stage.PREFERENCES: Fraction(self.preference_cost),
            Stage.SCHOOL_FAIRNESS: self.min_school_rate,
        }
        return values[stage]


def gap_numerator(placed_f: int, placed_m: int, eligible_f: int, eligible_m: int) -> int:
    """Return the integer numerator of the gender gap (0 when a group has no eligible student)."""
    if eligible_f == 0 or eligible_m == 0:
        return 0
    return abs(placed_f * eligible_m - placed_m * eligible_f)


def measure(problem: Problem, assignment: Assignment) -> Measures:
    """Measure an assignment on every objective of the policy."""
    placed_mask = assignment >= 0
    by_gender = np.bincount(problem.gender[placed_mask], minlength=3)
    e_f, e_m, _ = problem.eligible_by_gender()
    cost = problem.preference_cost(assignment)
    return Measures(
        placed=int(placed_mask.sum()),
        placed_by_gender=(int(by_gender[F]), int(by_gender[M]), int(by_gender[X])),
        gap_numerator=gap_numerator(int(by_gender[F]), int(by_gender[M]), e_f, e_m),
        gap_denominator=max(1, e_f * e_m),
        preference_cost=cost,
        school_placed=np.bincount(problem.school[placed_mask], minlength=len(problem.school_ids)),
        school_eligible=problem.eligible_by_school(),
    )

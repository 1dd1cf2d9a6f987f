"""Why a student is not on an offer: the facts of the answer, typed, for one student.

For a student and an offer: every hard rule the pair breaks. If it breaks none:
who holds the offer's places (and at which rank each listed it), and what giving
the student that offer would cost the policy. For a free place, the student is
added there and nobody else moves; for a full offer, the round is solved again
with the student locked on the offer. Either way the stages are compared, in
policy order, with the assignment as it stands: the first stage whose value gets
worse is the one responsible, with its value before and after.

For a whole student: every acceptable offer of an unplaced student, and the
choices a placed student ranked higher than the offer he or she got.

Solving again is the one costly part. A caller may hand SolvedRound a `resolver`
that decides whether and how to solve (services/why_not.py: coordinators only,
once per round and version): when it declines, a full offer's answer stops at who
holds its places (Verdict.TAKEN).

Pure engine side: plain objects in, plain objects out, no files, no database, no
words (wording/why.py says these facts in French or English).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from fractions import Fraction

import numpy as np

from mobility_match.domain import (
    Country,
    Lock,
    Offer,
    ReasonCode,
    RoundInput,
    StageStatus,
    Student,
    Vocabulary,
    cefr_name,
)
from mobility_match.matching.changes import count_changes, previous_offers, with_changes_stage
from mobility_match.matching.pairs import IntArray
from mobility_match.matching.policy import DEFAULT_POLICY, Policy
from mobility_match.matching.problem import (
    STAY_UNPLACED,
    UNPLACED,
    Assignment,
    Problem,
    measure,
    prepare,
)
from mobility_match.matching.rules import HARD_RULES, age_limit, broken_rules, preference_rank
from mobility_match.matching.stages import Stage

DEFAULT_LIMIT = 5
"""How many offers a student's explanation examines at most (each may need a solve)."""


class Verdict(StrEnum):
    """What keeps a student off an offer."""

    RULES = "rules"
    """The pair breaks hard rules (`broken` lists every one)."""
    PLACED_HERE = "placed_here"
    """The student is on this offer."""
    LOCKED = "locked"
    """The student's own lock decides (a coordinator's, or a decline carried by a re-run)."""
    HELD_BY_LOCKS = "held_by_locks"
    """Every place of the offer is held by a student a coordinator locked there."""
    STAGE = "stage"
    """A stage of the policy would get worse (`stage`, its values in `values`)."""
    TIE = "tie"
    """An assignment as good on every stage puts the student there: a choice among equals."""
    POSSIBLE = "possible"
    """Nothing would get worse and a stage would improve: the assignment as it stands is
    not the best the policy allows (moves by hand, or a search cut short)."""
    TAKEN = "taken"
    """Every place is taken by others (`holders`); which stage moving the student would
    worsen takes solving the round again, which was not done for this reader."""


class Move(StrEnum):
    """How the cost of giving the student the offer was measured."""

    ADDED = "added"
    """A free place: the student put there, everybody else where they are."""
    SOLVED = "solved"
    """A full offer: the round solved again with the student locked on the offer."""


@dataclass(frozen=True)
class RuleBreak:
    """One hard rule a pair breaks; `variant` and `facts` are what the words need."""

    rule: str
    variant: str
    """The rule's name, or a variant of it: trade_sector (an offer for every trade of its
    sector), age_visa (an offer needing a visa only adults may apply for, by `day`),
    age_uk (an offer in the United Kingdom)."""
    facts: Mapping[str, str]


@dataclass(frozen=True)
class Holder:
    """A student on one of the offer's places."""

    student_id: str
    """Empty when the reader may not know who (services/why_not.py hides it)."""
    rank: int | None
    """The rank of the offer in the holder's preferences (None: none listed)."""
    locked: bool


@dataclass(frozen=True)
class StageChange:
    """A stage's value with the assignment as it stands and with the student moved."""

    stage: Stage
    before: Fraction
    after: Fraction

    @property
    def worse(self) -> bool:
        return Stage(self.stage).spec.worse(self.after, than=self.before)

    @property
    def better(self) -> bool:
        return self.after != self.before and not self.worse


@dataclass(frozen=True)
class Moved:
    """Another student whose offer changes when the student is moved (None: unplaced)."""

    student_id: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class StudentLock:
    """A lock on the student: on an offer, out of the round, or a decline a re-run carries."""

    offer_id: str | None
    declined_in: int | None = None


@dataclass(frozen=True)
class OfferWhy:
    """Why the student is not on one offer (or, PLACED_HERE, is)."""

    offer_id: str
    rank: int | None
    """The rank of the offer in the student's preferences (None: none listed or not met)."""
    verdict: Verdict
    broken: tuple[RuleBreak, ...] = ()
    places: int = 0
    holders: tuple[Holder, ...] = ()
    move: Move | None = None
    stage: Stage | None = None
    """The stage responsible (STAGE), or the first that improves (POSSIBLE)."""
    values: tuple[StageChange, ...] = ()
    """Every stage of the policy, in order, before and after the move."""
    proven: bool = True
    """False when a solve behind `values` stopped before proving a stage up to `stage`."""
    moved: tuple[Moved, ...] = ()
    lock: StudentLock | None = None

    @property
    def change(self) -> StageChange | None:
        """The responsible (or improving) stage's values."""
        return next((v for v in self.values if v.stage == self.stage), None)

    @property
    def free(self) -> int:
        return self.places - len(self.holders)


@dataclass(frozen=True)
class ChoiceWhy:
    """A country the student listed among his or her preferences, as the rules see it."""

    entry: str
    rank: int
    offers: int
    """Offers of the round that meet this preference first (at this rank)."""
    acceptable: int
    rule_counts: Mapping[str, int]
    """Per rule, those of the offers it excludes (an offer breaking several counts under each)."""


@dataclass(frozen=True)
class StudentWhy:
    """Where a student is and why not elsewhere."""

    student_id: str
    offer_id: str | None
    rank: int | None
    situation: str
    """`placed`, or the reason code of an unplaced student (ReasonCode's values)."""
    lock: StudentLock | None
    offers: tuple[OfferWhy, ...]
    """Examined: earlier choices of a placed student (those breaking rules too, when the
    student named them), every acceptable offer of an unplaced one; best ranked first."""
    more: tuple[str, ...] = ()
    """Offers that would have been examined past the limit."""
    rule_counts: Mapping[str, int] = field(default_factory=dict)
    """For a student without any acceptable offer: per rule, the offers it excludes (an
    offer breaking several rules counts under each)."""
    listed_preferences: bool = False
    choices: tuple[ChoiceWhy, ...] = ()
    """The countries among the preferences considered (ranked before the offer a placed
    student got; all for an unplaced one)."""
    tradeoff: tuple[str, StageChange] | None = None
    """For a policy_tradeoff: the free offer (best ranked first) and the stage that adding
    the student there would worsen (tradeoff_stage)."""


@dataclass(frozen=True)
class Resolved:
    """The round solved again with one student locked on one offer."""

    assignment: Assignment
    """Offer index per student (problem.UNPLACED: none); never changed once made."""
    unproven: tuple[Stage, ...]
    """The stages that search did not prove optimal."""

    @property
    def proven(self) -> bool:
        return not self.unproven


Resolver = Callable[["SolvedRound", int, int], Resolved | None]
"""Given a round and a student i and offer j: the round solved again with i locked on j
(SolvedRound.solve_with_lock, or a copy kept from before), or None to leave it unsolved."""


def never_solve(solved: SolvedRound, i: int, j: int) -> None:
    """A resolver that never solves: full offers are explained by who holds them."""
    return None


class AssignmentError(ValueError):
    """An assignment that is not one of the round: each problem names its student."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


class SolvedRound:
    """A round, its assignment as it stands, and how to solve it again with one more lock."""

    def __init__(
        self,
        round_input: RoundInput,
        vocabulary: Vocabulary,
        assignment: Mapping[str, str | None],
        policy: Policy = DEFAULT_POLICY,
        *,
        previous: Mapping[str, str | None] | None = None,
        time_limit: float = 60.0,
        seed: int = 0,
        resolver: Resolver | None = None,
    ) -> None:
        """`assignment`: student id → offer id (None: unplaced), for every student.

        `resolver` decides whether a full offer's question is solved again (default: it
        is, once per pair, within `time_limit`).

        Raise AssignmentError when it is not an assignment of the round (an unknown
        student or offer, a student missing, an offer over its places, a pair breaking
        a hard rule, a lock not kept); LockError when the round's locks cannot hold.
        """
        self.problem = prepare(round_input, vocabulary)
        self.vocabulary = vocabulary
        self.base_policy = policy
        self.policy = with_changes_stage(policy) if previous is not None else policy
        self.previous = previous
        self.time_limit = time_limit
        self.seed = seed
        self.student_index = {s.student_id: i for i, s in enumerate(round_input.students)}
        self.offer_index = {o.offer_id: j for j, o in enumerate(round_input.offers)}
        self.assignment = self._assignment_of(assignment)
        self.before_offers: IntArray | None = (
            None if previous is None else previous_offers(self.problem, previous)
        )
        self.values = self.stage_values(self.assignment)
        self.resolver = resolver
        self._solved: dict[tuple[int, int], Resolved] = {}

    @property
    def students(self) -> tuple[Student, ...]:
        return self.problem.round_input.students

    @property
    def offers(self) -> tuple[Offer, ...]:
        return self.problem.round_input.offers

    def _assignment_of(self, given: Mapping[str, str | None]) -> Assignment:
        problems: list[str] = []
        assignment = np.full(self.problem.n_students, UNPLACED, dtype=np.int64)
        for student_id, offer_id in given.items():
            i = self.student_index.get(student_id)
            if i is None:
                problems.append(f"student {student_id} is not a student of the round")
                continue
            if offer_id is None:
                continue
            j = self.offer_index.get(offer_id)
            if j is None:
                problems.append(f"student {student_id}: offer {offer_id} is not in the round")
                continue
            broken = broken_rules(self.students[i], self.offers[j], self.vocabulary)
            if broken:
                names = ", ".join(rule.name for rule in broken)
                problems.append(f"student {student_id} on {offer_id} breaks the rules: {names}")
                continue
            assignment[i] = j
        missing = [s.student_id for s in self.students if s.student_id not in given]
        if missing:
            shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
            problems.append(f"{len(missing)} students of the round have no row: {shown}")
        load = np.bincount(assignment[assignment >= 0], minlength=self.problem.n_offers)
        for full in np.flatnonzero(load > self.problem.capacity):
            offer = self.offers[full]
            problems.append(
                f"offer {offer.offer_id} has {load[full]} students on its {offer.places} places"
            )
        locked = self.problem.locked
        for k in np.flatnonzero(locked != UNPLACED):
            wanted = UNPLACED if locked[k] == STAY_UNPLACED else int(locked[k])
            if assignment[k] != wanted:
                where = "unplaced" if wanted == UNPLACED else f"on {self.offers[wanted].offer_id}"
                problems.append(
                    f"student {self.students[k].student_id} is locked {where}, "
                    "which the assignment does not keep"
                )
        if problems:
            raise AssignmentError(problems)
        return assignment

    def stage_values(self, assignment: Assignment) -> dict[Stage, Fraction]:
        """Every stage of the policy measured on an assignment (`changes` on a re-run)."""
        return _values(self.problem, assignment, self.policy, self.before_offers)

    def solved_with(self, i: int, j: int) -> Resolved | None:
        """The round solved again with student i locked on offer j, as the resolver gives
        it (None: not solved); without a resolver, solved once per pair."""
        if self.resolver is not None:
            return self.resolver(self, i, j)
        if (i, j) not in self._solved:
            self._solved[(i, j)] = self.solve_with_lock(i, j)
        return self._solved[(i, j)]

    def solve_with_lock(self, i: int, j: int) -> Resolved:
        """Solve the round again, now, with student i locked on offer j (up to the time
        limit; the one costly step of an explanation)."""
        # Imported here: the engine may name a policy_tradeoff's stage with tradeoff_stage.
        from mobility_match.matching.engine import solve_round  # noqa: PLC0415

        round_input = self.problem.round_input
        lock = Lock(self.students[i].student_id, self.offers[j].offer_id)
        result = solve_round(
            RoundInput(round_input.students, round_input.offers, (*round_input.locks, lock)),
            self.vocabulary,
            self.base_policy,
            time_limit=self.time_limit,
            seed=self.seed,
            previous=self.previous,
        )
        assignment = np.array(
            [
                UNPLACED if p.offer_id is None else self.offer_index[p.offer_id]
                for p in result.placements
            ],
            dtype=np.int64,
        )
        assignment.flags.writeable = False
        unproven = tuple(
            Stage(s.name) for s in result.stages if s.status is not StageStatus.OPTIMAL
        )
        return Resolved(assignment, unproven)


# ---- one offer --------------------------------------------------------------------------


def rule_breaks(student: Student, offer: Offer, vocabulary: Vocabulary) -> tuple[RuleBreak, ...]:
    """Every hard rule the pair breaks, with the facts that show it."""
    return tuple(
        _rule_break(rule.name, student, offer) for rule in broken_rules(student, offer, vocabulary)
    )


def _rule_break(name: str, student: Student, offer: Offer) -> RuleBreak:
    if name == "trade":
        if offer.takes_every_trade:
            return RuleBreak(
                name, "trade_sector", {"sector": offer.sector.value, "trade": student.trade}
            )
        return RuleBreak(
            name, name, {"listed": ", ".join(sorted(offer.trades)), "trade": student.trade}
        )
    if name == "language":
        has = ", ".join(
            f"{lang} {cefr_name(level)}"
            for lang, level in sorted(student.languages.items())
            if level
        )
        needs = [f"{need.lang} {cefr_name(need.level)}" for need in offer.language_requirement]
        return RuleBreak(name, name, {"needs": "|".join(needs), "has": has})
    if name == "dates":
        return RuleBreak(
            name,
            name,
            {
                "start": offer.start_date.isoformat(),
                "end": offer.end_date.isoformat(),
                "available_from": student.available_from.isoformat(),
                "available_to": student.available_to.isoformat(),
            },
        )
    if name == "age":
        limit = age_limit(offer)
        start = offer.start_date.isoformat()
        if limit.visa:
            return RuleBreak(name, "age_visa", {"day": limit.day.isoformat(), "start": start})
        variant = "age_uk" if offer.country is Country.UK else name
        return RuleBreak(name, variant, {"start": start})
    if name == "preferences":
        return RuleBreak(name, name, {"preferences": "; ".join(student.preferences)})
    return RuleBreak(name, name, {})  # a rule added later: its name says it


def _lock_of(solved: SolvedRound, i: int) -> StudentLock | None:
    locked = int(solved.problem.locked[i])
    if locked == UNPLACED:
        return None
    if locked == STAY_UNPLACED:
        student_id = solved.students[i].student_id
        declined_in = next(
            (
                lock.declined_in
                for lock in solved.problem.round_input.locks
                if lock.student_id == student_id
            ),
            None,
        )
        return StudentLock(None, declined_in)
    return StudentLock(solved.offers[locked].offer_id)


def why_not_offer(solved: SolvedRound, student_id: str, offer_id: str) -> OfferWhy:
    """Why the student is not on the offer; raise KeyError for an unknown id."""
    i, j = solved.student_index[student_id], solved.offer_index[offer_id]
    return _why_not(solved, i, j)


def _why_not(solved: SolvedRound, i: int, j: int) -> OfferWhy:
    student, offer = solved.students[i], solved.offers[j]
    rank = preference_rank(student, offer)
    broken = rule_breaks(student, offer, solved.vocabulary)
    if broken:
        return OfferWhy(offer.offer_id, rank, Verdict.RULES, broken=broken, places=offer.places)
    assignment = solved.assignment
    holders = tuple(
        Holder(
            solved.students[k].student_id,
            preference_rank(solved.students[k], offer),
            bool(solved.problem.locked[k] == j),
        )
        for k in np.flatnonzero(assignment == j)
        if k != i
    )
    plain = OfferWhy(
        offer.offer_id, rank, Verdict.PLACED_HERE, places=offer.places, holders=holders
    )
    if assignment[i] == j:
        return plain
    lock = _lock_of(solved, i)
    if lock is not None:
        return replace(plain, verdict=Verdict.LOCKED, lock=lock)
    if sum(h.locked for h in holders) >= offer.places:
        return replace(plain, verdict=Verdict.HELD_BY_LOCKS)
    if len(holders) < offer.places:
        after = assignment.copy()
        after[i] = j
        return _compared(solved, plain, i, after, Move.ADDED, True)
    resolved = solved.solved_with(i, j)
    if resolved is None:
        return replace(plain, verdict=Verdict.TAKEN)
    outcome = _compared(solved, plain, i, resolved.assignment, Move.SOLVED, resolved.proven)
    if not resolved.proven and outcome.stage is not None:
        earlier = solved.policy.stages[: solved.policy.stages.index(outcome.stage) + 1]
        outcome = replace(outcome, proven=not set(resolved.unproven) & set(earlier))
    return outcome


def _compared(
    solved: SolvedRound, plain: OfferWhy, i: int, after: Assignment, move: Move, proven: bool
) -> OfferWhy:
    values_after = solved.stage_values(after)
    values = tuple(
        StageChange(stage, solved.values[stage], values_after[stage])
        for stage in solved.policy.stages
    )
    first = deciding(values, solved.policy)
    verdict = Verdict.TIE if first is None else Verdict.STAGE if first.worse else Verdict.POSSIBLE
    changed = np.flatnonzero(after != solved.assignment)
    moved = tuple(
        Moved(
            solved.students[k].student_id,
            _offer_id(solved, int(solved.assignment[k])),
            _offer_id(solved, int(after[k])),
        )
        for k in changed
        if k != i
    )
    return replace(
        plain,
        verdict=verdict,
        move=move,
        stage=None if first is None else first.stage,
        values=values,
        proven=proven,
        moved=moved,
    )


def _offer_id(solved: SolvedRound, j: int) -> str | None:
    return None if j < 0 else solved.offers[j].offer_id


# ---- one student -------------------------------------------------------------------------


def why_student(solved: SolvedRound, student_id: str, *, limit: int = DEFAULT_LIMIT) -> StudentWhy:
    """Where the student is and why not on the offers he or she would rather have.

    A placed student: the offers of preferences ranked before the one he or she got,
    acceptable or not (offers named by id), best first. An unplaced one: every
    acceptable offer, best ranked first; without any, every rule's count of offers.
    At most `limit` offers are examined; the others are listed in `more`.
    """
    i = solved.student_index[student_id]
    student = solved.students[i]
    j = int(solved.assignment[i])
    lock = _lock_of(solved, i)
    listed = bool(student.preferences)
    problem = solved.problem
    acceptable = [int(k) for k in problem.offers_of(i)]
    costs = [int(c) for c in problem.costs_of(i)]
    ranked = sorted(zip(acceptable, costs, strict=True), key=_by_cost)
    if j >= 0:
        rank = preference_rank(student, solved.offers[j])
        current = costs[acceptable.index(j)]
        candidates = _with_named(solved, student, [k for k, c in ranked if c < current], current)
        situation = "placed"
    else:
        rank = None
        candidates = _with_named(solved, student, [k for k, _ in ranked], len(student.preferences))
        situation = _unplaced_situation(solved, i, lock)
    examined = tuple(_why_not(solved, i, k) for k in candidates[:limit])
    more = tuple(solved.offers[k].offer_id for k in candidates[limit:])
    counts: dict[str, int] = {}
    if j < 0 and not acceptable:
        counts = _rule_counts(solved, student, solved.offers)
    considered = len(student.preferences) if j < 0 else (rank or 1) - 1
    choices = tuple(
        _choice(solved, student, entry, r)
        for r, entry in enumerate(student.preferences[:considered], start=1)
        if entry in {c.value for c in Country}
    )
    tradeoff = None
    if situation == ReasonCode.POLICY_TRADEOFF.value:
        found = tradeoff_stage(problem, solved.assignment, solved.policy, i, solved.before_offers)
        if found is not None:
            tradeoff = (solved.offers[found[0]].offer_id, found[1])
    return StudentWhy(
        student_id,
        None if j < 0 else solved.offers[j].offer_id,
        rank,
        situation,
        lock,
        examined,
        more,
        counts,
        listed,
        choices,
        tradeoff,
    )


def _rule_counts(solved: SolvedRound, student: Student, offers: Sequence[Offer]) -> dict[str, int]:
    counts = {rule.name: 0 for rule in HARD_RULES}
    for offer in offers:
        for rule in broken_rules(student, offer, solved.vocabulary):
            counts[rule.name] = counts.get(rule.name, 0) + 1
    return counts


def _choice(solved: SolvedRound, student: Student, entry: str, rank: int) -> ChoiceWhy:
    met = [o for o in solved.offers if preference_rank(student, o) == rank]
    refused = [o for o in met if broken_rules(student, o, solved.vocabulary)]
    return ChoiceWhy(
        entry, rank, len(met), len(met) - len(refused), _rule_counts(solved, student, refused)
    )


def _by_cost(pair: tuple[int, int]) -> tuple[int, int]:
    return pair[1], pair[0]


def _with_named(
    solved: SolvedRound, student: Student, candidates: list[int], current: int
) -> list[int]:
    """The candidates, with the offers the student named by id among his or her first
    `current` preferences that are not acceptable (they break hard rules), by rank.

    Students without preferences keep their candidates' order (every rank is 0)."""
    ranked = [(preference_rank(student, solved.offers[k]) or 0, k) for k in candidates]
    seen = set(candidates)
    for rank, entry in enumerate(student.preferences[:current], start=1):
        k = solved.offer_index.get(entry)
        if k is not None and k not in seen:
            seen.add(k)
            ranked.append((rank, k))
    return [k for _, k in sorted(ranked)]


def _unplaced_situation(solved: SolvedRound, i: int, lock: StudentLock | None) -> str:
    if lock is not None and lock.offer_id is None:
        code = ReasonCode.DECLINED if lock.declined_in is not None else ReasonCode.LOCKED_UNPLACED
        return code.value
    if not solved.problem.eligible[i]:
        return ReasonCode.NO_ACCEPTABLE_OFFER.value
    load = np.bincount(solved.assignment[solved.assignment >= 0], minlength=solved.problem.n_offers)
    free = [k for k in solved.problem.offers_of(i) if load[k] < solved.problem.capacity[k]]
    return (ReasonCode.POLICY_TRADEOFF if free else ReasonCode.PLACES_TAKEN).value


def tradeoff_stage(
    problem: Problem,
    assignment: Assignment,
    policy: Policy,
    i: int,
    before_offers: IntArray | None = None,
) -> tuple[int, StageChange] | None:
    """For an unplaced student i with an acceptable offer that has a free place: the first
    stage, in policy order, that putting the student on such a place (best ranked first,
    nobody else moving) makes worse, with that offer's index — what a policy_tradeoff
    reason names (wording.why.tradeoff_sentence). None when no such offer exists or no
    stage gets worse.

    `before_offers` (changes.previous_offers) on a re-run, whose policy has `changes`.
    """
    load = np.bincount(assignment[assignment >= 0], minlength=problem.n_offers)
    order = np.lexsort((problem.offers_of(i), problem.costs_of(i)))
    before = _values(problem, assignment, policy, before_offers)
    for k in order:
        j = int(problem.offers_of(i)[k])
        if load[j] >= problem.capacity[j]:
            continue
        after = assignment.copy()
        after[i] = j
        values = _values(problem, after, policy, before_offers)
        change = deciding(
            [StageChange(stage, before[stage], values[stage]) for stage in before], policy
        )
        if change is not None and change.worse:
            return j, change
    return None


def deciding(values: Sequence[StageChange], policy: Policy) -> StageChange | None:
    """The stage that decides between two assignments, in policy order: the first that
    gets worse, or the first that gets better — but a stage the policy gives a tolerance
    to does not decide by getting better, since it was given up for the stages after it.
    None: nothing decides (as good on every stage that counts)."""
    for change in values:
        if change.worse or (change.better and policy.tolerance_of(change.stage) == 0):
            return change
    return None


def _values(
    problem: Problem, assignment: Assignment, policy: Policy, before_offers: IntArray | None
) -> dict[Stage, Fraction]:
    measures = measure(problem, assignment)
    return {
        stage: Fraction(count_changes(before_offers, assignment))
        if stage == Stage.CHANGES and before_offers is not None
        else measures.stage_value(stage)
        for stage in policy.stages
        if stage != Stage.CHANGES or before_offers is not None
    }


# ---- as data -----------------------------------------------------------------------------


def _exact(value: Fraction) -> str:
    return str(value)


def stage_data(change: StageChange) -> dict[str, object]:
    return {
        "stage": change.stage,
        "before": _exact(change.before),
        "after": _exact(change.after),
        "worse": change.worse,
    }


def offer_data(why: OfferWhy) -> dict[str, object]:
    """One offer's explanation as JSON values; stage values exact, as "p/q" or integers."""
    lock = why.lock
    return {
        "offer_id": why.offer_id,
        "rank": why.rank,
        "verdict": why.verdict.value,
        "broken": [
            {"rule": b.rule, "variant": b.variant, "facts": dict(b.facts)} for b in why.broken
        ],
        "places": why.places,
        "holders": [
            {"student_id": h.student_id, "rank": h.rank, "locked": h.locked} for h in why.holders
        ],
        "move": None if why.move is None else why.move.value,
        "stage": why.stage,
        "values": [stage_data(v) for v in why.values],
        "proven": why.proven,
        "moved": [
            {"student_id": m.student_id, "before": m.before, "after": m.after} for m in why.moved
        ],
        "lock": None
        if lock is None
        else {"offer_id": lock.offer_id, "declined_in": lock.declined_in},
    }


def student_data(why: StudentWhy) -> dict[str, object]:
    """A student's explanation as JSON values."""
    lock = why.lock
    return {
        "student_id": why.student_id,
        "offer_id": why.offer_id,
        "rank": why.rank,
        "situation": why.situation,
        "listed_preferences": why.listed_preferences,
        "lock": None
        if lock is None
        else {"offer_id": lock.offer_id, "declined_in": lock.declined_in},
        "offers": [offer_data(o) for o in why.offers],
        "more": list(why.more),
        "rule_counts": dict(why.rule_counts),
        "choices": [
            {
                "entry": c.entry,
                "rank": c.rank,
                "offers": c.offers,
                "acceptable": c.acceptable,
                "rule_counts": dict(c.rule_counts),
            }
            for c in why.choices
        ],
        "tradeoff": None
        if why.tradeoff is None
        else {"offer_id": why.tradeoff[0], **stage_data(why.tradeoff[1])},
    }

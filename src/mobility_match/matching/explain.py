"""Why a student is where the round put them, in one sentence a coordinator understands.

A placed student gets the rank of the preference the offer met; an unplaced one
gets a reason code (CONTRACT.md) and a sentence: which hard rules excluded how
many offers, which acceptable offers were filled by others, or who decided that
the student stays unplaced (a coordinator, or the student by declining). The
sentence never repeats the code: `Reason.__str__` joins them where a file wants both.
"""

from __future__ import annotations

import numpy as np

from mobility_match.domain import Placement, Reason, ReasonCode, Vocabulary
from mobility_match.matching.problem import STAY_UNPLACED, Assignment, Problem
from mobility_match.matching.rules import HARD_RULES, preference_rank

NAMED_OFFERS = 3
"""How many filled offers a places_taken sentence names."""


def locked_out() -> Reason:
    """A coordinator's lock keeps the student out of the round."""
    return Reason(ReasonCode.LOCKED_UNPLACED, "A coordinator locked this student out of the round.")


def unplaced_by_hand() -> Reason:
    """A coordinator's move took the student out of his or her placement."""
    return Reason(ReasonCode.LOCKED_UNPLACED, "A coordinator unplaced this student by hand.")


def declined(round_id: int) -> Reason:
    """The student declined the placement of the published round a re-run replaces."""
    return Reason(
        ReasonCode.DECLINED,
        f"The student declined the placement in round {round_id}, so the re-run keeps "
        "him or her unplaced.",
    )


def explain(problem: Problem, assignment: Assignment, vocabulary: Vocabulary) -> list[Placement]:
    """Return one Placement per student, in input order, with a reason for each unplaced one."""
    students, offers = problem.round_input.students, problem.round_input.offers
    load = np.bincount(assignment[assignment >= 0], minlength=problem.n_offers)
    declines = {
        lock.student_id: lock.declined_in
        for lock in problem.round_input.locks
        if lock.offer_id is None and lock.declined_in is not None
    }
    # Why nobody-acceptable students are so: every rule judged for all of them at once.
    excluded = np.flatnonzero(
        (assignment < 0) & ~problem.eligible & (problem.locked != STAY_UNPLACED)
    )
    exclusions = problem.table.exclusions(excluded)
    row_of = {int(i): k for k, i in enumerate(excluded)}
    placements: list[Placement] = []
    for i, student in enumerate(students):
        j = int(assignment[i])
        if j >= 0:
            placements.append(
                Placement(
                    student.student_id,
                    offers[j].offer_id,
                    preference_rank(student, offers[j]),
                    locked=bool(problem.locked[i] >= 0),
                )
            )
            continue
        if problem.locked[i] == STAY_UNPLACED:
            round_id = declines.get(student.student_id)
            reason = locked_out() if round_id is None else declined(round_id)
        elif not problem.eligible[i]:
            k = row_of[i]
            reason = _no_acceptable_offer(
                problem.n_offers, {name: int(counts[k]) for name, counts in exclusions.items()}
            )
        else:
            reason = _filled(problem, i, load)
        placements.append(
            Placement(
                student.student_id,
                None,
                locked=bool(problem.locked[i] == STAY_UNPLACED),
                reason=reason,
            )
        )
    return placements


def _no_acceptable_offer(total: int, counts: dict[str, int]) -> Reason:
    """`counts`: per hard rule, the offers whose first broken rule it is."""
    parts = ", ".join(f"{rule.name} {counts[rule.name]}" for rule in HARD_RULES)
    noun = "offer" if total == 1 else "offers"
    sentence = (
        f"None of the {total} {noun} passes the hard rules "
        f"(offers excluded, each by the first rule it breaks: {parts})."
    )
    return Reason(ReasonCode.NO_ACCEPTABLE_OFFER, sentence)


def _filled(problem: Problem, i: int, load: np.ndarray) -> Reason:
    offers = problem.round_input.offers
    acceptable = problem.offers_of(i)
    # The student's best-ranked offers first, then in input order.
    order = np.lexsort((acceptable, problem.costs_of(i)))
    ranked = [int(acceptable[k]) for k in order]
    free = [j for j in ranked if load[j] < problem.capacity[j]]
    if free:
        named = ", ".join(offers[j].label() for j in free[:NAMED_OFFERS])
        sentence = (
            f"{len(free)} acceptable offer(s) still have a place ({named}), but the policy's "
            "stages and tolerances traded this placement for another of its objectives."
        )
        return Reason(ReasonCode.POLICY_TRADEOFF, sentence)
    named = ", ".join(offers[j].label() for j in ranked[:NAMED_OFFERS])
    more = len(ranked) - NAMED_OFFERS
    tail = f" and {more} more" if more > 0 else ""
    noun = "offer is" if len(ranked) == 1 else f"{len(ranked)} acceptable offers are"
    lead = "The only acceptable" if len(ranked) == 1 else "All"
    sentence = f"{lead} {noun} full, taken by other students: {named}{tail}."
    return Reason(ReasonCode.PLACES_TAKEN, sentence)

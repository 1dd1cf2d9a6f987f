"""Why a student of a round is not on an offer, or not on an earlier choice, as stored.

The round's snapshot, its locks and its assignments as they stand (after any moves)
are handed to matching/why.py, with the round's policy, seed and, for a re-run, the
published assignment it re-runs; the answer is read in French or English
(wording/why.py). Scoped like the assignment it explains: someone else's student is
NotFound. Students the reader may not see (another school's, for a teacher; anyone
else, for a student) are named "another student". It changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlmodel import Session

from mobility_match import domain
from mobility_match.access import Viewer
from mobility_match.matching.problem import LockError
from mobility_match.matching.why import (
    DEFAULT_LIMIT,
    AssignmentError,
    Holder,
    Moved,
    OfferWhy,
    SolvedRound,
    StudentWhy,
    offer_data,
    student_data,
    why_not_offer,
    why_student,
)
from mobility_match.models import Role, RoundStatus
from mobility_match.services.answers import get_assignment
from mobility_match.services.errors import Conflict, NotFound
from mobility_match.services.review import current_result
from mobility_match.services.rounds import get_round, round_policy
from mobility_match.services.snapshots import previous_assignment, round_input
from mobility_match.wording.why import (
    LANGUAGES,
    Words,
    offer_heading,
    offer_lines,
    student_summary,
)

TIME_LIMIT = 10.0
"""Seconds at most of each solve an explanation makes (the round's own limit if lower):
an answer to a person waiting, not a new solve of the round."""


@dataclass(frozen=True)
class OfferSentences:
    """One offer's explanation with its words."""

    why: OfferWhy
    heading: str
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class Explanation:
    """The answer: the facts, and the words in `language`."""

    round_id: int
    language: str
    student: StudentWhy
    """Where the student is; its offers are those examined (none when one was asked)."""
    summary: tuple[str, ...]
    offers: tuple[OfferSentences, ...]
    asked: OfferSentences | None
    """The offer asked about, if any."""

    def as_data(self) -> dict[str, object]:
        """As JSON values (api/rounds.py's WhyNotPublic); ids of hidden students are null."""
        data = student_data(self.student)
        data["offers"] = [_offer_data(o) for o in self.offers]
        return {
            **data,
            "round_id": self.round_id,
            "language": self.language,
            "summary": list(self.summary),
            "asked": None if self.asked is None else _offer_data(self.asked),
        }


def _offer_data(offer: OfferSentences) -> dict[str, object]:
    why = offer.why
    return {
        **offer_data(why),
        "holders": [
            {"student_id": h.student_id or None, "rank": h.rank, "locked": h.locked}
            for h in why.holders
        ],
        "moved": [
            {"student_id": m.student_id or None, "before": m.before, "after": m.after}
            for m in why.moved
        ],
        "heading": offer.heading,
        "sentences": list(offer.sentences),
    }


def _language(viewer: Viewer, wanted: str | None) -> str:
    for language in (wanted, viewer.language):
        if language in LANGUAGES:
            return language
    return LANGUAGES[0]


def explain(
    session: Session,
    viewer: Viewer,
    round_id: int,
    student_id: str,
    offer_id: str | None = None,
    *,
    language: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Explanation:
    """Why the student is not on `offer_id` (None: on the choices he or she ranked higher,
    or any acceptable offer when unplaced), for a viewer who may see the student's
    assignment (else NotFound); Conflict while the round has no result."""
    round_ = get_round(session, viewer, round_id)
    if round_.status not in (RoundStatus.SOLVED, RoundStatus.PUBLISHED):
        raise Conflict(f"The round is {round_.status}: it has no result to explain yet.")
    get_assignment(session, viewer, round_id, student_id)
    data = round_input(session, round_, declines=True)
    data, result = current_result(session, round_, data)
    students = {s.student_id: s for s in data.students}
    offers = {o.offer_id: o for o in data.offers}
    if student_id not in students:
        raise NotFound(f"Round {round_id} has no student {student_id}.")
    if offer_id is not None and offer_id not in offers:
        raise NotFound(f"Round {round_id} has no offer {offer_id}.")
    try:
        solved = SolvedRound(
            data,
            domain.load_vocabulary(),
            {p.student_id: p.offer_id for p in result.placements},
            round_policy(round_),
            previous=previous_assignment(session, round_),
            time_limit=min(round_.time_limit, TIME_LIMIT),
            seed=round_.seed,
        )
    except (AssignmentError, LockError) as error:
        problems = error.problems if isinstance(error, AssignmentError) else (str(error),)
        raise Conflict(
            "The round's assignments no longer agree with its snapshot and locks.",
            problems=problems,
        ) from None
    visible = _visible(viewer, students)
    words = Words(_language(viewer, language))
    listed = bool(students[student_id].preferences)

    def offer_label(some_offer: str) -> str:
        return offers[some_offer].label()

    def student_label(some_student: str) -> str:
        person = students[some_student]
        return f"{person.first_name} {person.last_name} ({some_student})"

    def worded(why: OfferWhy) -> OfferSentences:
        why = _hidden(why, visible)
        return OfferSentences(
            why,
            offer_heading(why, words, listed, offer_label),
            tuple(offer_lines(why, words, offer_label, student_label)),
        )

    whole = why_student(solved, student_id, limit=0 if offer_id else limit)
    explained = tuple(worded(o) for o in whole.offers)
    whole = replace(
        whole, offers=tuple(o.why for o in explained), more=() if offer_id else whole.more
    )
    summary = tuple(student_summary(whole, words, offer_label, student_label))
    asked = None if offer_id is None else worded(why_not_offer(solved, student_id, offer_id))
    return Explanation(round_id, words.language, whole, summary, explained, asked)


def _visible(viewer: Viewer, students: dict[str, domain.Student]) -> set[str]:
    """The students whose ids and names the viewer may read in an explanation."""
    if viewer.is_coordinator:
        return set(students)
    if viewer.role is Role.TEACHER:
        return {i for i, s in students.items() if s.school_id == viewer.school_id}
    return {viewer.student_id} if viewer.student_id else set()


def _hidden(why: OfferWhy, visible: set[str]) -> OfferWhy:
    """The explanation with the students the viewer may not see made anonymous."""
    return replace(
        why,
        holders=tuple(
            h if h.student_id in visible else Holder("", h.rank, h.locked) for h in why.holders
        ),
        moved=tuple(
            m if m.student_id in visible else Moved("", m.before, m.after) for m in why.moved
        ),
    )

"""Why a student of a round is not on an offer, or not on an earlier choice, as stored.

The round's snapshot, its locks and its assignments as they stand (after any moves)
are handed to matching/why.py, with the round's policy, seed and, for a re-run, the
published assignment it re-runs; the answer is read in French or English
(wording/why.py). Scoped like the assignment it explains: someone else's student is
NotFound. Students the reader may not see (another school's, for a teacher; anyone
else, for a student) are named "another student". It changes nothing.

Saying which stage a full offer would cost takes solving the round again: only a
coordinator's question does that, within RESOLVE_TIME_LIMIT seconds, one solve at a time
in the process, and each solve is kept (RESOLVED) for the round as it stands, so that
asking again, or another coordinator asking, costs nothing. Teachers and students get
everything else (hard rules, who holds the places, the cost of a free place) and
never start a solve.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
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
    Resolved,
    Resolver,
    SolvedRound,
    StudentWhy,
    never_solve,
    offer_data,
    student_data,
    why_not_offer,
    why_student,
)
from mobility_match.models import Role, Round, RoundStatus
from mobility_match.services.answers import get_assignment
from mobility_match.services.errors import Conflict, NotFound
from mobility_match.services.review import current_result, result_version
from mobility_match.services.rounds import get_round, round_policy
from mobility_match.services.snapshots import previous_assignment, round_input
from mobility_match.wording.why import (
    LANGUAGES,
    Words,
    offer_heading,
    offer_lines,
    student_summary,
)

RESOLVE_TIME_LIMIT = 5.0
"""Seconds at most of each solve an explanation makes (the round's own limit if lower):
an answer to a coordinator waiting, not a new solve of the round."""
KEPT_SOLVES = 256
"""How many solves (round as it stands, student, offer) are kept at most."""
KEPT_CELLS = 2_000_000
"""How many students' offers all kept solves hold at most (8 bytes each)."""

SolveKey = tuple[object, ...]


class Resolutions:
    """The solves explanations made, kept per round as it stands, student and offer, the
    least recently used dropped first; one solve at a time in the process."""

    def __init__(self, kept: int = KEPT_SOLVES, cells: int = KEPT_CELLS) -> None:
        self._kept, self._cells = kept, cells
        self._entries: OrderedDict[SolveKey, Resolved] = OrderedDict()
        self._entries_lock = threading.Lock()
        self._solving = threading.Lock()
        self.solves = 0
        """Solves made, not served from memory (what the tests count)."""

    def resolver(self, round_version: SolveKey) -> Resolver:
        """The resolver of explanations of the round as it stands (`round_version`)."""

        def resolve(solved: SolvedRound, i: int, j: int) -> Resolved:
            key = (*round_version, solved.students[i].student_id, solved.offers[j].offer_id)
            found = self._get(key)
            if found is not None:
                return found
            with self._solving:
                found = self._get(key)  # solved while this request waited its turn
                if found is None:
                    found = solved.solve_with_lock(i, j)
                    self.solves += 1
                    self._put(key, found)
            return found

        return resolve

    def _get(self, key: SolveKey) -> Resolved | None:
        with self._entries_lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def _put(self, key: SolveKey, resolved: Resolved) -> None:
        with self._entries_lock:
            self._entries[key] = resolved
            while len(self._entries) > 1 and (
                len(self._entries) > self._kept
                or sum(r.assignment.size for r in self._entries.values()) > self._cells
            ):
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._entries_lock:
            self._entries.clear()


RESOLVED = Resolutions()
"""The process's kept solves of explanations."""


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
            time_limit=min(round_.time_limit, RESOLVE_TIME_LIMIT),
            seed=round_.seed,
            resolver=_resolver(session, viewer, round_),
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


def _resolver(session: Session, viewer: Viewer, round_: Round) -> Resolver:
    """Coordinators' questions solve again, once per round as it stands; others' never."""
    if not viewer.is_coordinator:
        return never_solve
    # The round's creation and inputs tell it from a round of another database that
    # reused its id (a test's, a development reset); the result version, its changes.
    identity = (round_.id, round_.created_at, round_.inputs_sha256)
    return RESOLVED.resolver((*identity, *result_version(session, round_)))


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

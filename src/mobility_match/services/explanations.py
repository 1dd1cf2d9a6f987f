"""Why a student is placed where he or she is: every offer of the round, judged by the rules.

The coordinator's page of one student and the student's own "why this placement"
page both read this: for each offer of the round's snapshot, every hard rule
the pair breaks (not only the first, as the unplaced reasons count them) and
the rank of the student's preference it meets. Scoped like the assignment it
explains: someone else's student is NotFound.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from mobility_match import domain
from mobility_match.access import Viewer
from mobility_match.documents.checklists import Checklists
from mobility_match.matching.rules import HardRule, broken_rules, preference_rank
from mobility_match.models import Assignment, Round
from mobility_match.services.answers import get_assignment
from mobility_match.services.errors import NotFound
from mobility_match.services.rounds import get_round
from mobility_match.services.snapshots import snapshot_objects


@dataclass(frozen=True)
class OfferVerdict:
    """One offer of the round as the rules see it for one student."""

    offer: domain.Offer
    broken: tuple[HardRule, ...]
    """Every hard rule the pair breaks, in the rules' order; empty: acceptable."""
    preference_rank: int | None
    """The rank of the first preference the offer meets (None: none, or none listed)."""

    @property
    def acceptable(self) -> bool:
        return not self.broken


@dataclass(frozen=True)
class StudentVerdicts:
    """A student's assignment in a round, with every offer of the round judged."""

    round: Round
    assignment: Assignment
    student: domain.Student
    verdicts: tuple[OfferVerdict, ...]
    """Every offer of the snapshot, acceptable ones first, then by offer id."""

    @property
    def placed_offer(self) -> domain.Offer | None:
        offer_id = self.assignment.offer_id
        return next((v.offer for v in self.verdicts if v.offer.offer_id == offer_id), None)

    def verdict(self, offer_id: str) -> OfferVerdict | None:
        return next((v for v in self.verdicts if v.offer.offer_id == offer_id), None)


def student_verdicts(
    session: Session,
    viewer: Viewer,
    round_id: int,
    student_id: str,
    checklists: Checklists | None = None,
) -> StudentVerdicts:
    """Judge every offer of the round for one student in the viewer's scope (else 404).

    `checklists` date the visa deadlines of the age rule (None: the packaged ones, as
    the round's solve reads them).
    """
    assignment = get_assignment(session, viewer, round_id, student_id)
    round_ = get_round(session, viewer, round_id)
    students, offers = snapshot_objects(session, round_)
    student = next((s for s in students if s.student_id == student_id), None)
    if student is None:
        raise NotFound(f"Round {round_id} has no student {student_id}.")
    vocabulary = domain.load_vocabulary()
    verdicts = [
        OfferVerdict(
            offer,
            broken_rules(student, offer, vocabulary, checklists),
            preference_rank(student, offer),
        )
        for offer in offers
    ]
    verdicts.sort(key=lambda v: (not v.acceptable, v.offer.offer_id))
    return StudentVerdicts(round_, assignment, student, tuple(verdicts))

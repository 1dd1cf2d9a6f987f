"""One definition per hard rule: a rule added to HARD_RULES is enforced at once by the
acceptable pairs (hence the solver), the move check of a solved round, and every
explanation (the refusal's sentence, the verdicts of a student's page, the counts of
an unplaced student's reason)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from mobility_match import records
from mobility_match.access import Viewer
from mobility_match.config import Settings
from mobility_match.domain import Country, Offer, ReasonCode, RoundInput, Student, load_vocabulary
from mobility_match.matching.explain import explain
from mobility_match.matching.pairs import BoolArray, IntArray, RuleTable
from mobility_match.matching.problem import UNPLACED, prepare
from mobility_match.matching.rules import (
    HARD_RULES,
    Rule,
    RuleContext,
    broken_rules,
    why_not,
)
from mobility_match.models import Account, Assignment, Role, School, SchoolKind
from mobility_match.services import explanations, review, rounds
from mobility_match.services.errors import Refused
from mobility_match.services.solving import Solver
from mobility_match.web.i18n import translations
from mobility_match.web.pages.results import Phrasing
from mobility_match.web.pages.student import _Words
from tests.accounts import add_account
from tests.factories import make_offer, make_student

VOCABULARY = load_vocabulary()
BARRED_CITY = "Kraków"


@dataclass(frozen=True)
class BarredColumns:
    barred: BoolArray
    """Per offer: it is in the barred city."""


class BarredCityRule(Rule[BarredColumns]):
    """Hard rule: no student goes to an offer in the barred city (a throw-away rule)."""

    name = "barred_city"
    excluded_phrase = "are in a barred city"

    def holds(self, student: Student, offer: Offer, context: RuleContext) -> bool:
        return offer.city != BARRED_CITY

    def columns(
        self, students: Sequence[Student], offers: Sequence[Offer], context: RuleContext
    ) -> BarredColumns:
        return BarredColumns(np.array([o.city == BARRED_CITY for o in offers], dtype=bool))

    def mask(self, columns: BarredColumns, rows: IntArray, cols: IntArray) -> BoolArray:
        # Reads the offer only: the table broadcasts it over the students.
        ok: BoolArray = ~columns.barred[cols]
        return ok

    def refusal(self, student: Student, offer: Offer, context: RuleContext) -> str:
        return f"barred_city rule: the offer is in {offer.city}"


STUDENTS = (
    make_student("S1", preferences=("PL", "DE")),
    make_student("S2", preferences=("PL",)),
)
"""S1 prefers Kraków to Leipzig; S2 only wants Poland."""
OFFERS = (
    make_offer("DE-001"),
    make_offer("PL-001", country=Country.PL, city=BARRED_CITY),
)


def _pairs(students: Sequence[Student], offers: Sequence[Offer]) -> set[tuple[str, str]]:
    pairs = RuleTable(students, offers, VOCABULARY).acceptable_pairs()
    return {
        (students[i].student_id, offers[j].offer_id)
        for i, j in zip(pairs.student.tolist(), pairs.offer.tolist(), strict=True)
    }


def solved_round(
    engine: Engine, settings: Settings, students: Sequence[Student], offers: Sequence[Offer]
) -> tuple[Viewer, int]:
    """Store the students and offers, then create and solve a round of them."""
    with Session(engine) as session:
        for school_id in sorted({s.school_id for s in students}):
            session.add(School(school_id=school_id, name=school_id, kind=SchoolKind.PILOT))
        for offer in offers:
            row, company = records.offer_rows(offer)
            session.add(company)
            session.flush()
            session.add(row)
        for student in students:
            session.add(records.student_row(student))
        session.commit()
    account_id = add_account(engine, "coordinator@example.org", Role.COORDINATOR)
    with Session(engine) as session:
        viewer = Viewer.of(session.get_one(Account, account_id))
        round_id = rounds.create_round(session, viewer, name="Printemps 2027").id or 0
        solver = Solver(engine, settings, workers=1)
        try:
            attempt = rounds.request_solve(session, viewer, round_id, solver.lease)
            solver.start(round_id, attempt).result()
        finally:
            solver.shutdown()
    return viewer, round_id


def placed_on(engine: Engine, round_id: int) -> dict[str, str | None]:
    with Session(engine) as session:
        rows = session.exec(select(Assignment).where(Assignment.round_id == round_id))
        return {row.student_id: row.offer_id for row in rows}


def test_a_rule_in_force_changes_the_pairs_and_every_sentence_that_explains_them() -> None:
    """Without the rule both students may go to Kraków; with it, no pair reaches Kraków,
    the refusal names the rule, and S2 (who only wants Poland) is counted as excluded by it."""
    assert ("S1", "PL-001") in _pairs(STUDENTS, OFFERS)
    rule = BarredCityRule()
    with HARD_RULES.added(rule):
        assert [r.name for r in HARD_RULES][-1] == "barred_city"
        assert _pairs(STUDENTS, OFFERS) == {("S1", "DE-001")}
        assert why_not(STUDENTS[0], OFFERS[1], VOCABULARY) == (
            "barred_city rule: the offer is in Kraków"
        )
        assert broken_rules(STUDENTS[0], OFFERS[1], VOCABULARY) == (rule,)
        problem = prepare(RoundInput(STUDENTS, OFFERS), VOCABULARY)
        nobody = np.full(problem.n_students, UNPLACED, dtype=np.int64)
        s2 = explain(problem, nobody, VOCABULARY)[1]
        assert s2.reason is not None
        assert s2.reason.code is ReasonCode.NO_ACCEPTABLE_OFFER
        assert "barred_city 1" in s2.reason.sentence
        assert problem.table.exclusions(np.array([1]))["barred_city"].tolist() == [1]
        # Pages without words for the rule yet say its own sentence, not another rule's.
        french = translations("fr").gettext
        assert Phrasing(french, "fr").rule(rule, STUDENTS[0], OFFERS[1]) == (
            "barred_city rule: the offer is in Kraków"
        )
        assert _Words(french).rule(rule) == ("barred_city", rule.summary)
        assert rule.summary.startswith("No student goes to an offer in the barred city")
        with pytest.raises(ValueError, match="already in force"), HARD_RULES.added(rule):
            pass
    assert "barred_city" not in [r.name for r in HARD_RULES]
    assert ("S1", "PL-001") in _pairs(STUDENTS, OFFERS)


def test_a_rule_in_force_binds_the_solver_and_the_move_check(
    engine: Engine, settings: Settings
) -> None:
    """With the rule, the solver places S1 in Leipzig, not his first choice Kraków; moving
    him there is refused with the rule's sentence; the student's page lists the rule."""
    with HARD_RULES.added(BarredCityRule()) as rule:
        viewer, round_id = solved_round(engine, settings, STUDENTS, OFFERS)
        assert placed_on(engine, round_id) == {"S1": "DE-001", "S2": None}
        with Session(engine) as session:
            with pytest.raises(Refused) as refused:
                review.move(session, viewer, round_id, "S1", "PL-001")
            assert list(refused.value.problems) == ["barred_city rule: the offer is in Kraków"]
            session.rollback()
            judged = explanations.student_verdicts(session, viewer, round_id, "S1")
            verdict = judged.verdict("PL-001")
            assert verdict is not None
            assert verdict.broken == (rule,)

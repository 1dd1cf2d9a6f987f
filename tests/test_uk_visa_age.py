"""The UK visa age: a student goes to the United Kingdom only if 18 on the deadline of the
checklist's visa application step, since only an adult may apply for that visa. The rule,
the checklist's deadline, the refusal's sentences and the move check read one date."""

from __future__ import annotations

import datetime as dt
import re
from importlib import resources
from pathlib import Path

import pytest
from babel.dates import format_date
from sqlalchemy import Engine
from sqlmodel import Session

from mobility_match.api.app import create_app
from mobility_match.config import Settings
from mobility_match.documents.checklists import VISA_STEP, load_checklists
from mobility_match.domain import Country, Student, load_vocabulary
from mobility_match.matching.pairs import RuleTable
from mobility_match.matching.rules import AGE, age_limit, age_rule, why_not
from mobility_match.services import review
from mobility_match.services.errors import Refused
from mobility_match.web.i18n import translations
from mobility_match.web.pages.results import Phrasing
from mobility_match.web.pages.student import _Words
from tests.factories import make_offer, make_student
from tests.test_rule_registry import placed_on, solved_round

VOCABULARY = load_vocabulary()
START, END = dt.date(2027, 5, 10), dt.date(2027, 6, 11)
UK_OFFER = make_offer(
    "UK-001", country=Country.UK, city="Leeds", start_date=START, end_date=END, places=2
)


def visa_deadline() -> dt.date:
    """The deadline of the visa step on the student's own checklist for this placement."""
    steps = load_checklists().steps_for(Country.UK, start_date=START, end_date=END, minor=False)
    return next(step.due_on for step in steps if step.key == VISA_STEP)


def born(years_before: dt.date, *, days: int = 0) -> Student:
    """A student who turns 18 `days` days after the given day."""
    eighteenth = years_before.replace(year=years_before.year - 18) + dt.timedelta(days=days)
    return make_student(f"S{days + 10}", birth_date=eighteenth)


def test_the_rule_reads_the_deadline_the_students_checklist_shows() -> None:
    """The day by which a student must be 18 is the visa step's deadline, weeks before the
    start; a German offer still counts on its start date."""
    limit = age_limit(UK_OFFER)
    assert limit.visa
    assert limit.day == visa_deadline()
    assert limit.day <= START - dt.timedelta(weeks=3)
    german = age_limit(make_offer(start_date=START, end_date=END))
    assert (german.day, german.visa) == (START, False)


@pytest.mark.parametrize(
    ("days", "accepted"),
    [(1, False), (0, True), (-1, True)],
    ids=["17 on the deadline, 18 the day after", "18 on the deadline", "18 the day before"],
)
def test_a_uk_offer_takes_a_student_only_if_18_on_the_visa_deadline(
    days: int, accepted: bool
) -> None:
    """The one-pair check, the pairs of the round and the refusal agree at the boundary."""
    deadline = visa_deadline()
    student = born(deadline, days=days)
    assert age_rule(student, UK_OFFER, VOCABULARY) is accepted
    pairs = RuleTable([student], [UK_OFFER], VOCABULARY).acceptable_pairs()
    assert len(pairs) == (1 if accepted else 0)
    reason = why_not(student, UK_OFFER, VOCABULARY)
    if accepted:
        assert reason is None
    else:
        assert reason is not None
        assert f"under 18 on {deadline}" in reason
        assert "visa application" in reason
        assert str(START) in reason


def test_a_student_of_age_on_the_start_date_but_not_on_the_visa_deadline_is_refused() -> None:
    """Born 20 April 2009, starting 10 May 2027: 18 on the start date, but he could only
    apply from 20 April, after the deadline; the pages say so with the deadline's date."""
    student = make_student(birth_date=dt.date(2009, 4, 20))
    assert not student.is_minor_on(START)
    assert not age_rule(student, UK_OFFER, VOCABULARY)
    deadline = visa_deadline()
    french = translations("fr").gettext
    coordinator = Phrasing(french, "fr").rule(AGE, student, UK_OFFER)
    assert (
        f"l'élève n'aura pas 18 ans le {format_date(deadline, 'long', locale='fr')}" in coordinator
    )
    assert "dernier jour pour demander le visa" in coordinator
    own = _Words(french).broken(AGE, student, UK_OFFER)
    assert f"vous aurez 17 ans le {deadline:%d/%m/%Y}" in own


def test_an_override_of_the_visa_step_moves_the_age_limit_with_it(tmp_path: Path) -> None:
    """A coordinator's checklist asking for the visa 60 days ahead refuses a student who is
    18 on the packaged deadline but 17 sixty days before the start."""
    packaged = (resources.files("mobility_match") / "checklists" / "UK.toml").read_text("utf-8")
    visa_step = re.compile(r'(key = "visa_application".*?days_before = )\d+', re.S)
    assert visa_step.search(packaged)
    (tmp_path / "UK.toml").write_text(visa_step.sub(r"\g<1>60", packaged, count=1), "utf-8")
    checklists = load_checklists(tmp_path)
    early = START - dt.timedelta(days=60)
    assert age_limit(UK_OFFER, checklists).day == early
    student = born(visa_deadline())
    assert age_rule(student, UK_OFFER, VOCABULARY)
    assert not AGE.check(student, UK_OFFER, VOCABULARY, checklists)
    table = RuleTable([student], [UK_OFFER], VOCABULARY, checklists)
    assert len(table.acceptable_pairs()) == 0
    assert f"under 18 on {early}" in (why_not(student, UK_OFFER, VOCABULARY, checklists) or "")


def test_the_service_s_checklists_folder_is_what_every_rule_reads(
    tmp_path: Path, settings: Settings
) -> None:
    """A service whose settings name a checklists folder makes its visa deadline the
    default of the rules (solver, move check, explanations, pages); another without one
    brings the packaged deadline back."""
    packaged = (resources.files("mobility_match") / "checklists" / "UK.toml").read_text("utf-8")
    visa_step = re.compile(r'(key = "visa_application".*?days_before = )\d+', re.S)
    (tmp_path / "UK.toml").write_text(visa_step.sub(r"\g<1>60", packaged, count=1), "utf-8")
    try:
        create_app(settings.model_copy(update={"checklists_dir": tmp_path}))
        assert age_limit(UK_OFFER).day == START - dt.timedelta(days=60)
        assert why_not(born(visa_deadline()), UK_OFFER, VOCABULARY) is not None
    finally:
        create_app(settings)
    assert age_limit(UK_OFFER).day == visa_deadline()


def test_the_solver_and_the_move_check_keep_the_student_out_of_the_uk(
    engine: Engine, settings: Settings
) -> None:
    """Both students want the UK first: the one of age on the visa deadline goes, the other
    goes to Germany, and moving him to the UK is refused with the deadline."""
    deadline = visa_deadline()
    late = make_student("S1", birth_date=dt.date(2009, 4, 20), preferences=("UK", "DE"))
    on_time = make_student("S2", birth_date=born(deadline).birth_date, preferences=("UK", "DE"))
    german = make_offer("DE-001", start_date=START, end_date=END, places=2)
    viewer, round_id = solved_round(engine, settings, [late, on_time], [UK_OFFER, german])
    assert placed_on(engine, round_id) == {"S1": "DE-001", "S2": "UK-001"}
    with Session(engine) as session, pytest.raises(Refused) as refused:
        review.move(session, viewer, round_id, "S1", "UK-001")
    assert any(f"under 18 on {deadline}" in problem for problem in refused.value.problems)

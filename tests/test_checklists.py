"""The preparation checklists: the packaged data dated for one student, and the checking
of a coordinator's override files (every problem reported at once)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mobility_match.documents.checklists import (
    Applies,
    ChecklistDataError,
    load_checklists,
)
from mobility_match.documents.facts import Actor, DueStep
from mobility_match.domain import Country

DEPARTURE = dt.date(2027, 5, 3)
LAST_DAY = dt.date(2027, 6, 11)
MINOR_STEPS = {"exit_authorisation", "parental_consent"}
VISA_STEPS = {"certificate_of_sponsorship", "visa_application"}


def steps(country: Country, *, minor: bool, folder: Path | None = None) -> dict[str, DueStep]:
    """The packaged (or overridden) steps of one placement from DEPARTURE to LAST_DAY, by key."""
    checklist = load_checklists(folder).steps_for(
        country, start_date=DEPARTURE, end_date=LAST_DAY, minor=minor
    )
    return {step.key: step for step in checklist}


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


# ---- who gets which step -------------------------------------------------------------


def test_a_minor_going_to_germany_gets_the_minor_steps() -> None:
    """It gives a minor the exit authorisation (Cerfa 15646), parental consent and the
    youth-work-protection step agreed by the teacher."""
    german = steps(Country.DE, minor=True)
    assert "15646" in german["exit_authorisation"].explanation
    assert "AST" in german["exit_authorisation"].title
    assert "parental_consent" in german
    protection = german["youth_work_protection"]
    assert protection.who is Actor.TEACHER
    assert protection.check_legal
    assert "Jugendarbeitsschutzgesetz" in protection.title


def test_an_adult_going_to_germany_gets_none_of_the_minor_steps() -> None:
    """It gives an adult neither the exit authorisation, nor consent, nor youth protection."""
    german = steps(Country.DE, minor=False)
    assert not (MINOR_STEPS | {"youth_work_protection"}) & german.keys()


def test_a_minor_going_to_poland_gets_the_young_worker_rules() -> None:
    """It asks the teacher to check the Polish rules for young workers with ABC Wiedzy."""
    rules = steps(Country.PL, minor=True)["young_worker_rules"]
    assert rules.check_legal
    assert "ABC Wiedzy" in rules.title
    assert "young_worker_rules" not in steps(Country.PL, minor=False)


def test_a_uk_placement_gets_the_visa_and_passport_steps() -> None:
    """It gives an adult going to the UK the sponsor scheme's conditions, sponsorship and visa
    steps, all to be checked by the coordinator, and a passport-only identity step (the ETA,
    which the visa replaces, is tested in test_checklist_rules.py)."""
    british = steps(Country.UK, minor=False)
    assert VISA_STEPS | {"sponsor_scheme_conditions"} <= british.keys()
    assert all(british[key].check_legal for key in VISA_STEPS | {"sponsor_scheme_conditions"})
    assert "trois mois" in british["visa_application"].explanation
    identity = british["identity_document"]
    assert "passeport" in identity.title
    assert "ne suffit pas" in identity.title


def test_the_visa_route_is_for_adults_only() -> None:
    """It keeps the work-placement visa steps to students of 18 and over, in the data itself."""
    templates = {step.key: step for step in load_checklists().templates_for(Country.UK)}
    assert all(templates[key].applies is Applies.ADULT for key in VISA_STEPS)
    assert templates["eta"].applies is Applies.ALL
    assert templates["eta"].replaced_by == "visa_application"


@pytest.mark.parametrize("country", [Country.DE, Country.PL])
def test_germany_and_poland_need_no_visa_and_accept_an_identity_card(country: Country) -> None:
    """It gives no visa or ETA step for Germany or Poland, where an identity card is enough."""
    listed = steps(country, minor=False)
    assert not (VISA_STEPS | {"eta"}) & listed.keys()
    assert "carte d'identité ou son passeport" in listed["identity_document"].title


# ---- dates ---------------------------------------------------------------------------


def test_the_ceam_is_asked_for_four_weeks_before_departure() -> None:
    """It dates the CEAM request 28 days before departure, more than the 14 days it needs."""
    for country in Country:
        ceam = steps(country, minor=False)["ceam"]
        assert ceam.due_on == dt.date(2027, 4, 5)
        assert (DEPARTURE - ceam.due_on).days >= 14


def test_the_visa_is_applied_for_six_weeks_before_departure() -> None:
    """It dates the visa application 42 days before departure, within the three-month window."""
    visa = steps(Country.UK, minor=False)["visa_application"].due_on
    assert visa == dt.date(2027, 3, 22)
    assert (DEPARTURE - visa).days <= 90


def test_the_attendance_certificate_falls_on_the_last_day() -> None:
    """It dates an end-anchored step from the placement's last day, not from the departure."""
    for country in Country:
        assert steps(country, minor=False)["attendance_certificate"].due_on == LAST_DAY


def test_a_negative_days_before_falls_after_arrival() -> None:
    """It dates the arrival message the day after arrival."""
    assert steps(Country.DE, minor=False)["arrival_confirmed"].due_on == dt.date(2027, 5, 4)


@pytest.mark.parametrize("country", list(Country))
@pytest.mark.parametrize("minor", [True, False])
def test_steps_are_sorted_by_date_then_key(country: Country, minor: bool) -> None:
    """It lists the steps earliest first, steps of one day by key."""
    checklist = load_checklists().steps_for(
        country, start_date=DEPARTURE, end_date=LAST_DAY, minor=minor
    )
    order = [(step.due_on, step.key) for step in checklist]
    assert order == sorted(order)


def test_a_placement_ending_before_it_starts_is_refused() -> None:
    """It refuses to date a checklist for a placement whose end precedes its start."""
    with pytest.raises(ValueError, match="ends"):
        load_checklists().steps_for(
            Country.DE, start_date=LAST_DAY, end_date=DEPARTURE, minor=False
        )


# ---- the packaged data ---------------------------------------------------------------


@pytest.mark.parametrize("country", list(Country))
def test_every_legal_check_says_what_to_check(country: Country) -> None:
    """It gives every step marked check_legal a note saying what to verify."""
    for template in load_checklists().templates_for(country):
        assert not template.check_legal or template.legal_note.strip(), template.key


@pytest.mark.parametrize("country", list(Country))
def test_keys_are_unique_and_lists_stay_readable(country: Country) -> None:
    """It keeps every key unique within a country's list, and 12 to 18 steps per student."""
    templates = load_checklists().templates_for(country)
    keys = [template.key for template in templates]
    assert len(keys) == len(set(keys))
    for minor in (True, False):
        assert 12 <= len(steps(country, minor=minor)) <= 18


def test_a_country_step_replaces_the_common_step_of_its_key() -> None:
    """It takes the UK's own identity and CEAM steps instead of the common ones."""
    templates = {step.key: step for step in load_checklists().templates_for(Country.UK)}
    assert templates["identity_document"].country is Country.UK
    assert templates["ceam"].country is Country.UK
    assert templates["ceam"].check_legal
    assert "Immigration Health Surcharge" in templates["ceam"].legal_note
    assert templates["insurance"].country is None


def test_the_packaged_checklists_are_read_once() -> None:
    """It reads the packaged files once per process, since every publish asks for them."""
    assert load_checklists() is load_checklists()


# ---- override folders ----------------------------------------------------------------

BROKEN_UK = """\
[[step]]
key = "visa_application"
title = "Déposer la demande de visa"
explanation = "Sur gov.uk."
who = "parent"
days_before = "six semaines"
applies = "adults"
check_legal = true

[[step]]
key = "visa_application"
title = "Encore"
explanation = "Doublon."
who = "student"
days_before = 40
aplies = "adult"

[[step]]
key = "Visa Check"
explanation = "Sans titre."
who = "student"
days_before = 10
anchor = "arrival"
"""


def test_a_broken_override_file_reports_every_problem_at_once(tmp_path: Path) -> None:
    """It raises one ChecklistDataError naming the file, step and field of every problem,
    and what would be valid."""
    write(tmp_path, "UK.toml", BROKEN_UK)
    with pytest.raises(ChecklistDataError) as raised:
        load_checklists(tmp_path)
    where = f"{tmp_path / 'UK.toml'}: step"
    expected = [
        f"{where} 1 (visa_application): who: 'parent' is not one of student, teacher, coordinator",
        f"{where} 1 (visa_application): days_before: 'six semaines' is not a whole number",
        f"{where} 1 (visa_application): applies: 'adults' is not one of all, minor, adult",
        f"{where} 1 (visa_application): legal_note: missing",
        f"{where} 2 (visa_application): aplies: unknown field",
        f"{where} 2 (visa_application): key: already used by step 1",
        f"{where} 3 (Visa Check): key: 'Visa Check' is not a lowercase snake_case name",
        f"{where} 3 (Visa Check): title: missing",
        f"{where} 3 (Visa Check): anchor: 'arrival' is not one of departure, end",
    ]
    problems = raised.value.problems
    for sentence in expected:
        assert any(problem.startswith(sentence) for problem in problems), sentence
    assert len(problems) == len(expected)
    assert str(len(expected)) in str(raised.value)


def test_an_override_that_is_not_toml_or_not_a_checklist_file_is_reported(
    tmp_path: Path,
) -> None:
    """It reports invalid TOML and a misnamed file together, rather than ignoring either."""
    write(tmp_path, "PL.toml", "[[step]\nkey = 'x'\n")
    write(tmp_path, "GB.toml", "")
    with pytest.raises(ChecklistDataError) as raised:
        load_checklists(tmp_path)
    problems = raised.value.problems
    assert len(problems) == 2
    assert any("PL.toml: not valid TOML" in problem for problem in problems)
    assert any("GB.toml: not a checklist file" in problem for problem in problems)


def test_a_missing_override_folder_is_reported(tmp_path: Path) -> None:
    """It refuses a folder that does not exist rather than silently using the packaged data."""
    with pytest.raises(ChecklistDataError, match="does not exist"):
        load_checklists(tmp_path / "nowhere")


def test_an_override_folder_with_only_germany_keeps_the_rest(tmp_path: Path) -> None:
    """It takes DE.toml from the folder and the packaged common, PL and UK files."""
    write(
        tmp_path,
        "DE.toml",
        """\
[[step]]
key = "ceam"
title = "Demander la CEAM tôt"
explanation = "Sur ameli.fr."
who = "student"
days_before = 35

[[step]]
key = "city_visit"
title = "Visiter la ville avec le tuteur"
explanation = "Le premier samedi."
who = "student"
days_before = -5
anchor = "departure"
""",
    )
    overridden = load_checklists(tmp_path)
    german = steps(Country.DE, minor=True, folder=tmp_path)
    assert german["ceam"].due_on == dt.date(2027, 3, 29)
    assert german["city_visit"].due_on == dt.date(2027, 5, 8)
    assert "youth_work_protection" not in german  # the folder's DE.toml replaces the packaged one
    assert "exit_authorisation" in german  # common.toml still comes from the package
    packaged = load_checklists()
    for country in (Country.PL, Country.UK):
        assert overridden.templates_for(country) == packaged.templates_for(country)

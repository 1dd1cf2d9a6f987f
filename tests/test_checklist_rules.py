"""Checklist rules that depend on the placement: the German Anmeldung by length of stay, the
UK ETA replaced by a visa, deadlines of teachers and coordinators moved out of weekends,
public holidays and the school holidays of the school's zone, and partner names taken from
the partner data."""

from __future__ import annotations

import datetime as dt
import tomllib
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from mobility_match.documents.checklists import (
    CHECKLIST_FILES,
    PARTNER,
    ChecklistDataError,
    load_checklists,
)
from mobility_match.documents.facts import Actor, DueStep
from mobility_match.documents.school_calendar import (
    HOLIDAYS_FILE,
    Zone,
    months_later_eve,
    public_holidays,
    school_zone,
)
from mobility_match.domain import Country, load_vocabulary
from mobility_match.models import Partner
from tests.published import publish_small_round


def steps(
    country: Country,
    start: dt.date,
    end: dt.date,
    *,
    minor: bool = False,
    zone: Zone | None = None,
    partner_name: str | None = None,
    folder: Path | None = None,
) -> dict[str, DueStep]:
    """One placement's dated steps, by key."""
    checklist = load_checklists(folder).steps_for(
        country,
        start_date=start,
        end_date=end,
        minor=minor,
        zone=zone,
        partner_name=partner_name,
    )
    return {step.key: step for step in checklist}


# ---- Germany: the Anmeldung only for a stay of more than three months -------------------

START = dt.date(2027, 5, 3)
THREE_MONTHS_LAST_DAY = dt.date(2027, 8, 2)
"""The last day of a stay of exactly three months from START (BGB §§ 187(2), 188(2))."""


@pytest.mark.parametrize(
    ("end", "registered"),
    [
        (THREE_MONTHS_LAST_DAY - dt.timedelta(days=1), False),  # just under three months
        (THREE_MONTHS_LAST_DAY, False),  # exactly three months: still exempt (BMG § 27(2))
        (THREE_MONTHS_LAST_DAY + dt.timedelta(days=1), True),  # over three months
    ],
)
def test_the_anmeldung_is_only_for_stays_over_three_months(end: dt.date, registered: bool) -> None:
    """It asks a student going to Germany to register the address only when the placement
    lasts more than three months; a stay of three months or less needs no Anmeldung."""
    german = steps(Country.DE, START, end)
    assert ("address_registration" in german) is registered
    if registered:
        assert german["address_registration"].due_on == START + dt.timedelta(days=14)


def test_three_months_from_the_end_of_a_month_end_with_the_shorter_month() -> None:
    """It ends three months from 30 November on the last day of February."""
    assert months_later_eve(dt.date(2026, 11, 30), 3) == dt.date(2027, 2, 28)
    assert months_later_eve(dt.date(2027, 11, 30), 3) == dt.date(2028, 2, 29)
    assert months_later_eve(START, 3) == THREE_MONTHS_LAST_DAY


# ---- the UK: no ETA with a visa ----------------------------------------------------------


def test_a_student_who_applies_for_a_visa_gets_no_eta_step() -> None:
    """It leaves the ETA out for an adult going to the UK, who applies for the visa, and
    notes the sponsor scheme's conditions (pay, level) as a legal check."""
    british = steps(Country.UK, START, dt.date(2027, 6, 11))
    assert "visa_application" in british
    assert "eta" not in british
    conditions = british["sponsor_scheme_conditions"]
    assert conditions.check_legal
    assert conditions.who is Actor.COORDINATOR
    assert "National Minimum Wage" in conditions.legal_note
    assert "RQF" in conditions.legal_note
    assert conditions.due_on < british["certificate_of_sponsorship"].due_on


def test_the_eta_stays_for_a_student_without_a_visa_step(tmp_path: Path) -> None:
    """It keeps the ETA for a student the visa step does not apply to (here: a visa step
    overridden to be for minors only)."""
    packaged = (resources.files("mobility_match") / "checklists" / "UK.toml").read_text("utf-8")
    visa_for_minors = packaged.replace(
        'days_before = 42\napplies = "adult"', 'days_before = 42\napplies = "minor"'
    )
    assert visa_for_minors != packaged
    (tmp_path / "UK.toml").write_text(visa_for_minors, encoding="utf-8")
    british = steps(Country.UK, START, dt.date(2027, 6, 11), folder=tmp_path)
    assert "visa_application" not in british
    assert "eta" in british


def test_a_step_replaced_by_an_unknown_key_is_reported(tmp_path: Path) -> None:
    """It refuses a `replaced_by` naming no step of the country, since a misspelt key would
    keep the step for everyone."""
    packaged = (resources.files("mobility_match") / "checklists" / "UK.toml").read_text("utf-8")
    (tmp_path / "UK.toml").write_text(
        packaged.replace('replaced_by = "visa_application"', 'replaced_by = "visa"'),
        encoding="utf-8",
    )
    with pytest.raises(ChecklistDataError) as raised:
        load_checklists(tmp_path)
    assert raised.value.problems == (
        f"{tmp_path / 'UK.toml'}: step eta: replaced_by: 'visa' is not the key of a step of "
        "this country (common steps included)",
    )


# ---- deadlines of teachers and coordinators: working days of the school ---------------

LEARNING_AGREEMENT_DAYS = 30
"""The teacher's `learning_agreement` step is due 30 days before departure."""


def teacher_deadline(due: dt.date, zone: Zone | None = Zone.A) -> dt.date:
    """The learning agreement's deadline for a placement whose count-back falls on `due`."""
    start = due + dt.timedelta(days=LEARNING_AGREEMENT_DAYS)
    return steps(Country.PL, start, start + dt.timedelta(days=40), zone=zone)[
        "learning_agreement"
    ].due_on


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        (dt.date(2027, 3, 17), dt.date(2027, 3, 17)),  # a Wednesday of classes: kept
        (dt.date(2027, 3, 20), dt.date(2027, 3, 19)),  # Saturday -> Friday
        (dt.date(2027, 3, 21), dt.date(2027, 3, 19)),  # Sunday -> Friday
        (dt.date(2027, 7, 20), dt.date(2027, 7, 2)),  # summer holidays -> their eve, a Friday
        (dt.date(2027, 8, 31), dt.date(2027, 7, 2)),  # the last days of summer too
        (dt.date(2027, 5, 6), dt.date(2027, 5, 5)),  # Ascension Day, then its bridge
        (dt.date(2027, 3, 29), dt.date(2027, 3, 26)),  # Easter Monday, after a weekend
    ],
)
def test_a_teacher_deadline_moves_to_the_last_working_day_before(
    due: dt.date, expected: dt.date
) -> None:
    """It moves a teacher's deadline off weekends, public holidays and the summer holidays
    to the last working day before."""
    assert teacher_deadline(due) == expected


def test_the_holidays_are_those_of_the_school_zone() -> None:
    """It moves a deadline of 14 April 2027 out of the spring holidays of zone A (10-25 April)
    and C (3-18 April), keeps it in zone B (17 April-2 May), and for a school of unknown
    zone avoids every zone's holidays."""
    due = dt.date(2027, 4, 14)
    assert teacher_deadline(due, Zone.A) == dt.date(2027, 4, 9)
    assert teacher_deadline(due, Zone.C) == dt.date(2027, 4, 2)
    assert teacher_deadline(due, Zone.B) == due
    assert teacher_deadline(due, None) == dt.date(2027, 4, 2)


def test_coordinator_steps_move_and_student_steps_do_not() -> None:
    """It moves a coordinator's step out of the summer holidays, but leaves a student's steps
    on their dates, in the holidays too."""
    start = dt.date(2027, 8, 30)  # travel_booked (coordinator) 42 days before: 19 July
    polish = steps(Country.PL, start, start + dt.timedelta(days=40), zone=Zone.A)
    assert polish["travel_booked"].who is Actor.COORDINATOR
    assert polish["travel_booked"].due_on == dt.date(2027, 7, 2)
    assert polish["ceam"].who is Actor.STUDENT
    assert polish["ceam"].due_on == dt.date(2027, 8, 2)  # 28 days before, a Monday of summer
    assert polish["emergency_contacts"].due_on == dt.date(2027, 8, 16)  # 14 days before


def test_a_step_due_after_the_return_moves_after_the_holidays_not_before_the_return() -> None:
    """It moves the Europass Mobility (the teacher's, 30 days after the last day) to the
    first working day after the summer holidays, never before the placement ends."""
    end = dt.date(2027, 7, 23)
    europass = steps(Country.DE, dt.date(2027, 6, 1), end, zone=Zone.A)["europass_mobility"]
    assert europass.who is Actor.TEACHER
    assert europass.due_on == dt.date(2027, 9, 2)  # the rentrée after 22 August


def test_a_deadline_outside_the_known_school_years_avoids_weekends_and_public_holidays(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Beyond the school years of the calendar data, a teacher's step still avoids weekends
    and public holidays (Easter Monday 2029 here), nothing is refused, and a warning names
    the file and the year to add."""
    start = dt.date(2029, 4, 30)
    dated = steps(Country.DE, start, dt.date(2029, 5, 30))
    for step in dated.values():
        if step.who is not Actor.STUDENT:
            assert step.due_on.weekday() < 5, step
            assert step.due_on != dt.date(2029, 4, 2), step
    assert any(HOLIDAYS_FILE in record.getMessage() for record in caplog.records)


def test_the_school_zone_comes_from_the_uai_code() -> None:
    """It finds the zone from the académie of the department in the school's UAI code, and
    none for an id without one or for Corsica."""
    assert school_zone("LP-0691234X") is Zone.A  # Rhône, académie de Lyon
    assert school_zone("CFA-0381234Y") is Zone.A  # Isère, académie de Grenoble
    assert school_zone("0591234k") is Zone.B  # Nord, académie de Lille
    assert school_zone("LP-0931234Z") is Zone.C  # Seine-Saint-Denis, académie de Créteil
    assert school_zone("6201234A") is None  # Corse-du-Sud: a calendar of its own
    assert school_zone("SCH-A") is None
    assert school_zone("LP-06912345X") is None  # not a UAI code


def test_public_holidays_follow_easter() -> None:
    """It computes the movable public holidays from Easter (28 March 2027, 16 April 2028)."""
    assert {dt.date(2027, 3, 29), dt.date(2027, 5, 6), dt.date(2027, 5, 17)} <= public_holidays(
        2027
    )
    assert {dt.date(2028, 4, 17), dt.date(2028, 5, 25), dt.date(2028, 6, 5)} <= public_holidays(
        2028
    )
    assert len(public_holidays(2027)) == 11


def test_the_packaged_holidays_cover_summer_of_every_zone_and_year() -> None:
    """It holds the summer holidays of every school year from 2025-2026 to 2027-2028, for
    every zone, and the winter and spring holidays of each zone."""
    calendar = load_checklists().calendar
    for summer_day in (dt.date(2026, 7, 15), dt.date(2027, 7, 15), dt.date(2028, 7, 15)):
        assert not any(calendar.is_working_day(summer_day, zone) for zone in Zone)
    for zone in Zone:
        names = [h.name for h in calendar.holidays if zone in h.zones]
        assert names.count("Vacances d'hiver") == 3
        assert names.count("Vacances de printemps") == 3


def test_a_broken_holidays_file_reports_every_problem(tmp_path: Path) -> None:
    """It reports a reversed holiday, an unknown zone, a gap between school years and a
    misspelt field, each with the file, the year and the holiday."""
    (tmp_path / HOLIDAYS_FILE).write_text(
        """\
[[school_year]]
name = "2025-2026"
first_day = 2025-09-01
last_day = 2026-08-31
source = "test"

[[school_year.holiday]]
name = "Toussaint"
first_day = 2025-11-02
last_day = 2025-10-18

[[school_year.holiday]]
name = "Hiver"
zones = ["D"]
first_day = 2026-02-07
last_day = 2026-02-22

[[school_year]]
name = "2026-2027"
first_day = 2026-09-02
last_day = 2027-08-31
sourse = "typo"
""",
        encoding="utf-8",
    )
    with pytest.raises(ChecklistDataError) as raised:
        load_checklists(tmp_path)
    where = f"{tmp_path / HOLIDAYS_FILE}: school_year"
    assert raised.value.problems == (
        f"{where} 1 (2025-2026): holiday 1 (Toussaint): last_day (2025-10-18) is before "
        "first_day (2025-11-02)",
        f"{where} 1 (2025-2026): holiday 2 (Hiver): zones: ['D'] is not a non-empty list of "
        "A, B, C",
        f"{where} 2 (2026-2027): sourse: unknown field (valid fields: name, first_day, "
        "last_day, source, holiday)",
        f"{where} 2026-2027: first_day must be the day after the last_day of 2025-2026 "
        "(2026-09-01), so that no day is left without a calendar",
    )


# ---- partner names come from the partner data -------------------------------------------


def test_no_checklist_file_names_a_partner() -> None:
    """It keeps every partner's code and name out of the packaged checklist files: steps
    name the partner through the placeholder only."""
    folder = resources.files("mobility_match") / "checklists"
    partners = load_vocabulary().partners.values()
    names = {word for p in partners for word in (p.code, p.name)} | {"ABC Wiedzy", "OFAJ"}
    for name in CHECKLIST_FILES:
        text = (folder / name).read_text("utf-8")
        tomllib.loads(text)
        assert not [word for word in names if word.lower() in text.lower()], name
    assert PARTNER in (folder / "DE.toml").read_text("utf-8")


def test_the_partner_name_given_is_the_one_printed() -> None:
    """It writes the partner's name given with the placement into the steps that name it."""
    polish = steps(Country.PL, START, dt.date(2027, 6, 11), minor=True, partner_name="Fundacja X")
    assert "avec le partenaire Fundacja X les règles" in polish["young_worker_rules"].title
    german = steps(Country.DE, START, dt.date(2027, 8, 31), minor=True, partner_name="Stiftung Y")
    assert "Stiftung Y" in german["youth_work_protection"].legal_note
    assert "Stiftung Y" in german["address_registration"].legal_note
    for step in (*polish.values(), *german.values()):
        assert "{" not in step.title + step.explanation + step.legal_note, step.key


def test_an_unknown_placeholder_is_reported(tmp_path: Path) -> None:
    """It refuses a placeholder other than {partner}, which would be printed as is."""
    (tmp_path / "PL.toml").write_text(
        """\
[[step]]
key = "contact_partner"
title = "Écrire à {partenaire}"
explanation = "Avant le départ."
who = "teacher"
days_before = 30
""",
        encoding="utf-8",
    )
    with pytest.raises(ChecklistDataError) as raised:
        load_checklists(tmp_path)
    assert raised.value.problems == (
        f"{tmp_path / 'PL.toml'}: step 1 (contact_partner): title: unknown placeholder "
        "{partenaire} (only {partner} is replaced, by the name of the placement's partner "
        "organisation)",
    )


def test_publication_names_the_partner_as_the_partner_table_does(
    engine: Engine, client: TestClient
) -> None:
    """It takes the partner's name from the partner table when writing the checklists of a
    round being published, so a renamed partner is named anew."""
    with Session(engine) as session:
        ofaj = session.get_one(Partner, "OFAJ")
        ofaj.name = "Office franco-allemand pour la Jeunesse (Paris)"
        session.add(ofaj)
        session.commit()
    world = publish_small_round(engine, client)
    body = client.get(
        f"/api/rounds/{world.round_id}/placements/S-MINOR/checklist", headers=world.coordinator
    ).json()
    protection = next(s for s in body["steps"] if s["key"] == "youth_work_protection")
    assert (
        "le partenaire Office franco-allemand pour la Jeunesse (Paris)"
        in (protection["legal_note"])
    )
    assert not any("{" in s["title"] + s["explanation"] + s["legal_note"] for s in body["steps"])

"""Tests of the fictitious data: the shipped sample offers and the demo generators."""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from mobility_match import demo
from mobility_match.domain import (
    Country,
    Diploma,
    Gender,
    Offer,
    RoundInput,
    Sector,
    Student,
    load_vocabulary,
)
from mobility_match.importing import (
    OFFER_COLUMNS,
    OFFER_OPTIONAL_COLUMNS,
    STUDENT_COLUMNS,
    STUDENT_OPTIONAL_COLUMNS,
    ImportFailed,
    load_round,
)
from mobility_match.matching.rules import is_acceptable, trade_rule

COMPANIES_DIR = Path(__file__).resolve().parent.parent / "data" / "companies"
SAMPLE_FILES = {
    Country.DE: COMPANIES_DIR / "de.csv",
    Country.PL: COMPANIES_DIR / "pl.csv",
    Country.UK: COMPANIES_DIR / "uk.csv",
}
PARTNER_OF = {Country.DE: "OFAJ", Country.PL: "ABC_WIEDZY", Country.UK: "BRITISH_COUNCIL"}
PRODUCTION_TRADES = load_vocabulary().trades_of(Sector.PRODUCTION)


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False, encoding="utf-8")
    return path


def _load(students: list[Student], offers_paths: list[Path], tmp_path: Path) -> RoundInput:
    """Load a round through importing, failing the test with every problem listed."""
    students_path = _write_csv(demo.students_frame(students), tmp_path / "students.csv")
    try:
        return load_round(students_path, offers_paths)
    except ImportFailed as failure:
        pytest.fail("\n".join(str(problem) for problem in failure.problems))


@pytest.fixture(scope="module")
def sample_rows() -> dict[Country, list[dict[str, str]]]:
    """The raw rows of the three sample offers files, by the country the file is for."""
    rows: dict[Country, list[dict[str, str]]] = {}
    for country, path in SAMPLE_FILES.items():
        with path.open(encoding="utf-8", newline="") as file:
            rows[country] = list(csv.DictReader(file))
    return rows


@pytest.fixture(scope="module")
def sample_offers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Offer, ...]:
    """The sample offers as importing reads them (with a small cohort alongside)."""
    tmp_path = tmp_path_factory.mktemp("sample")
    return _load(demo.generate_students(50, 1), list(SAMPLE_FILES.values()), tmp_path).offers


# ---- determinism ----------------------------------------------------------------------


def test_same_seed_gives_same_students_and_frames() -> None:
    """It generates the same cohort, and the same students.csv rows, for the same seed."""
    first = demo.generate_students(300, 42)
    second = demo.generate_students(300, 42)
    assert first == second
    pd.testing.assert_frame_equal(demo.students_frame(first), demo.students_frame(second))


def test_same_seed_gives_same_students_against_offers(sample_offers: tuple[Offer, ...]) -> None:
    """It names the same offers in preferences for the same seed and offers."""
    first = demo.generate_students(300, 7, sample_offers)
    assert first == demo.generate_students(300, 7, sample_offers)


def test_different_seeds_give_different_students() -> None:
    """It generates another cohort for another seed."""
    assert demo.generate_students(100, 1) != demo.generate_students(100, 2)


def test_same_seed_gives_same_offers_and_frames() -> None:
    """It generates the same offers, and the same offers file rows, for the same seed."""
    first = demo.generate_offers(200, 42)
    assert first == demo.generate_offers(200, 42)
    pd.testing.assert_frame_equal(
        demo.offers_frame(first), demo.offers_frame(demo.generate_offers(200, 42))
    )
    assert first != demo.generate_offers(200, 43)


def test_generation_leaves_global_random_state_alone() -> None:
    """It draws from its own generator, so the global random state is untouched."""
    random.seed(5)
    expected = random.random()
    random.seed(5)
    demo.generate_students(50, 1)
    demo.generate_offers(20, 1)
    assert random.random() == expected


# ---- the shipped sample offers --------------------------------------------------------


def test_sample_offers_import_cleanly(sample_offers: tuple[Offer, ...]) -> None:
    """The three sample files load under the contract, without a single problem."""
    assert len(sample_offers) >= 120


def test_sample_files_have_the_contract_columns_in_order() -> None:
    """Each sample file has exactly the offers columns of CONTRACT.md, in that order, then
    the optional `working_hours` of docs/contract.md (issue 10) that partners give."""
    for path in SAMPLE_FILES.values():
        with path.open(encoding="utf-8", newline="") as file:
            header = tuple(next(csv.reader(file)))
            assert header == (*demo.OFFER_COLUMNS, "working_hours"), path.name


def test_sample_has_enough_companies_and_offers(
    sample_rows: dict[Country, list[dict[str, str]]],
) -> None:
    """The sample holds at least 40 companies and 120 offers, each offer id unique."""
    rows = [row for country_rows in sample_rows.values() for row in country_rows]
    assert len({row["company_id"] for row in rows}) >= 40
    assert len(rows) >= 120
    assert len({row["offer_id"] for row in rows}) == len(rows)


def test_sample_files_hold_only_their_country_and_partner(
    sample_rows: dict[Country, list[dict[str, str]]],
) -> None:
    """de.csv holds OFAJ offers in DE, pl.csv ABC_WIEDZY in PL, uk.csv BRITISH_COUNCIL in UK."""
    for country, rows in sample_rows.items():
        assert {row["country"] for row in rows} == {country.value}
        assert {row["partner"] for row in rows} == {PARTNER_OF[country]}
        assert all(row["offer_id"].startswith(f"{country.value}-") for row in rows)


def test_sample_has_both_sectors_in_every_country(sample_offers: tuple[Offer, ...]) -> None:
    """Every country offers places in services and in production."""
    for country in Country:
        assert {o.sector for o in sample_offers if o.country is country} == set(Sector)


def test_sample_uk_offers_never_accept_minors(
    sample_rows: dict[Country, list[dict[str, str]]],
) -> None:
    """No UK offer says it takes minors; a good part of German and Polish offers do."""
    assert all(row["accepts_minors"] != "true" for row in sample_rows[Country.UK])
    for country in (Country.DE, Country.PL):
        taking = [row for row in sample_rows[country] if row["accepts_minors"] == "true"]
        assert len(taking) >= len(sample_rows[country]) / 2


def test_sample_contacts_are_on_reserved_domains(sample_offers: tuple[Offer, ...]) -> None:
    """Every tutor's e-mail is on a `.example` domain, so nothing real is ever mailed."""
    assert all(offer.contact_email.endswith(".example") for offer in sample_offers)


def test_every_trade_of_a_student_is_offered_in_the_sample(
    sample_offers: tuple[Offer, ...],
) -> None:
    """Each trade a generated student can have is named by at least one sample offer."""
    vocabulary = load_vocabulary()
    for trade in demo.TRADE_PROFILES:
        student = replace(demo.generate_students(1, 0)[0], trade=trade)
        assert any(trade_rule(student, offer, vocabulary) for offer in sample_offers), trade


def test_most_students_have_an_acceptable_sample_offer(sample_offers: tuple[Offer, ...]) -> None:
    """Every generated student has an offer of its trade, and ~90 % an acceptable one."""
    vocabulary = load_vocabulary()
    students = demo.generate_students(1000, 11, sample_offers)
    for student in students:
        assert any(trade_rule(student, offer, vocabulary) for offer in sample_offers)
    eligible = [s for s in students if any(is_acceptable(s, o, vocabulary) for o in sample_offers)]
    assert len(eligible) / len(students) > 0.8  # measured: 0.90


# ---- generated students ---------------------------------------------------------------


def test_students_import_back_unchanged(sample_offers: tuple[Offer, ...], tmp_path: Path) -> None:
    """A generated cohort written with students_frame reads back as the same students."""
    students = demo.generate_students(400, 3, sample_offers)
    loaded = _load(students, list(SAMPLE_FILES.values()), tmp_path)
    assert list(loaded.students) == students


def test_students_frame_has_the_contract_columns() -> None:
    """students_frame has the students.csv columns in CONTRACT.md order, one row per student."""
    frame = demo.students_frame(demo.generate_students(20, 1))
    assert tuple(frame.columns) == demo.STUDENT_COLUMNS
    assert len(frame) == 20
    assert frame.loc[0, "student_id"] == "S00001"


@pytest.mark.parametrize(
    ("written", "required", "optional"),
    [
        (demo.STUDENT_COLUMNS, STUDENT_COLUMNS, STUDENT_OPTIONAL_COLUMNS),
        (demo.OFFER_COLUMNS, OFFER_COLUMNS, OFFER_OPTIONAL_COLUMNS),
    ],
)
def test_demo_columns_are_the_columns_importing_knows(
    written: tuple[str, ...], required: tuple[str, ...], optional: tuple[str, ...]
) -> None:
    """The demo writes each column importing reads, required or optional, once and no other."""
    assert len(written) == len(set(written))
    assert set(written) == {*required, *optional}


def test_gender_skew_follows_the_trades() -> None:
    """Girls are most of assp/coiffure/esthetique and few in production trades; ~2 % are X."""
    students = demo.generate_students(2000, 5)

    def share_f(trades: set[str] | frozenset[str]) -> float:
        cohort = [s for s in students if s.trade in trades]
        return sum(s.gender is Gender.F for s in cohort) / len(cohort)

    assert share_f({"assp", "coiffure", "esthetique"}) > 0.8
    assert share_f(PRODUCTION_TRADES) < 0.3
    assert 0.005 < sum(s.gender is Gender.X for s in students) / len(students) < 0.04


def test_cohort_mix_is_realistic() -> None:
    """Services are about 55 %, CAP about a third, minors about a quarter on 1 May 2027."""
    students = demo.generate_students(3000, 9)
    n = len(students)
    services = sum(s.trade not in PRODUCTION_TRADES for s in students) / n
    cap = sum(s.diploma is Diploma.CAP for s in students) / n
    minors = sum(s.is_minor_on(demo.REFERENCE_DAY) for s in students) / n
    assert 0.5 < services < 0.6
    assert 0.25 < cap < 0.45
    assert 0.2 < minors < 0.35
    day = demo.REFERENCE_DAY
    ages = {
        day.year
        - s.birth_date.year
        - ((day.month, day.day) < (s.birth_date.month, s.birth_date.day))
        for s in students
    }
    assert ages == set(range(16, 22))
    assert 0.4 < sum(not s.preferences for s in students) / n < 0.6


def test_students_have_unique_ids_and_emails_and_school_codes() -> None:
    """Ids run S00001…, e-mails are unique on example.org, schools have UAI-like codes."""
    students = demo.generate_students(2000, 4)
    assert [s.student_id for s in students[:3]] == ["S00001", "S00002", "S00003"]
    emails = [s.email for s in students]
    assert len(set(emails)) == len(emails)
    assert all(email.endswith("@example.org") for email in emails)
    assert all(re.fullmatch(r"(LP|CFA)-\d{7}[A-Z]", s.school_id) for s in students)
    assert 20 <= len({s.school_id for s in students}) <= 40  # max(10, n // 60) schools


def test_schools_teach_a_handful_of_trades() -> None:
    """A school teaches a few trades, not all of them; n_schools sets how many schools."""
    students = demo.generate_students(3000, 8, n_schools=12)
    trades_by_school: dict[str, set[str]] = {}
    for student in students:
        trades_by_school.setdefault(student.school_id, set()).add(student.trade)
    assert len(trades_by_school) == 12
    assert max(len(trades) for trades in trades_by_school.values()) <= 8


def test_preferences_name_existing_offers_of_the_trade(sample_offers: tuple[Offer, ...]) -> None:
    """Offer ids in preferences exist among the offers given and fit the student's trade."""
    vocabulary = load_vocabulary()
    by_id = {offer.offer_id: offer for offer in sample_offers}
    students = demo.generate_students(1000, 6, sample_offers)
    named = 0
    for student in students:
        for entry in student.preferences:
            if entry in ("*", *Country):
                continue
            named += 1
            assert trade_rule(student, by_id[entry], vocabulary), (student.student_id, entry)
    assert named > 50


def test_preferences_without_offers_name_countries_only() -> None:
    """Without offers, preferences list country codes and `*` only."""
    for student in demo.generate_students(500, 6):
        assert set(student.preferences) <= {"*", "DE", "PL", "UK"}


def test_availability_windows_lie_in_2027() -> None:
    """Every window starts before it ends, within 2027."""
    for student in demo.generate_students(500, 2):
        assert dt.date(2027, 1, 1) <= student.available_from < student.available_to
        assert student.available_to <= dt.date(2027, 12, 31)


# ---- generated offers -----------------------------------------------------------------


def test_offers_import_back_unchanged(tmp_path: Path) -> None:
    """Generated offers written with offers_frame read back as the same offers."""
    offers = demo.generate_offers(300, 5)
    offers_path = _write_csv(demo.offers_frame(offers), tmp_path / "offers.csv")
    loaded = _load(demo.generate_students(200, 5, offers), [offers_path], tmp_path)
    assert list(loaded.offers) == offers


def test_generated_offers_follow_the_country_rules() -> None:
    """Offers have their country's partner, 1-4 places, a period, and no minors in the UK."""
    offers = demo.generate_offers(2000, 3)
    assert len(offers) == 2000
    assert len({offer.offer_id for offer in offers}) == 2000
    for offer in offers:
        assert offer.partner == PARTNER_OF[offer.country]
        assert 1 <= offer.places <= 4
        assert offer.start_date <= offer.end_date
        assert offer.contact_email.endswith(".example")
    assert not any(o.accepts_minors for o in offers if o.country is Country.UK)
    assert {o.country for o in offers} == set(Country)


def _services_share(offers: list[Offer]) -> float:
    places = sum(offer.places for offer in offers)
    return sum(o.places for o in offers if o.sector is Sector.SERVICES) / places


def test_scarce_services_cuts_services_places() -> None:
    """Normally ~55 % of places are in services; with scarce_services about 30 %."""
    assert 0.48 < _services_share(demo.generate_offers(3000, 1)) < 0.62
    assert 0.24 < _services_share(demo.generate_offers(3000, 1, scarce_services=True)) < 0.36


def test_students_have_a_few_dozen_acceptable_generated_offers() -> None:
    """Among 1,000 generated offers, a typical student finds about 25 acceptable ones."""
    vocabulary = load_vocabulary()
    offers = demo.generate_offers(1000, 7)
    students = demo.generate_students(600, 7)
    counts = sorted(sum(is_acceptable(s, o, vocabulary) for o in offers) for s in students)
    median = counts[len(counts) // 2]
    assert 15 <= median <= 40  # measured: 25 for 5,000 students and 1,000 offers
    assert sum(count > 0 for count in counts) / len(counts) > 0.9

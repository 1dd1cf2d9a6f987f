"""The evaluation's indicators against a small cohort counted by hand.

The intervals are checked against the published tables of Newcombe (1998): Wilson's
score interval for one proportion ("Two-sided confidence intervals for the single
proportion", method 3) and the hybrid score interval for a difference ("Interval
estimation for the difference between independent proportions", method 10). The
cohort below (two pilot schools, a control school, rounds published, replaced and
draft, outcomes and answers) is small enough that every figure is counted in the
docstrings and comments.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from mobility_match.access import Viewer
from mobility_match.models import (
    AnswerSource,
    Assignment,
    FollowUpAnswer,
    InterruptionReason,
    PlacementOutcome,
    PlacementOutcomeKind,
    Response,
    Role,
    Round,
    RoundStatus,
    School,
    SchoolKind,
    Situation,
    Student,
)
from mobility_match.services import indicators
from mobility_match.services.errors import Forbidden
from mobility_match.services.indicators import (
    Indicators,
    difference_of_gaps,
    newcombe,
    square_and_add,
    wilson,
)

S = Situation


def _close(found: tuple[float, float] | None, low: float, high: float) -> bool:
    assert found is not None
    return abs(found[0] - low) < 5e-5 and abs(found[1] - high) < 5e-5


@pytest.mark.parametrize(
    ("count", "total", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (29, 29, 0.8830, 1.0),
        (0, 10, 0.0, 0.2775),
    ],
)
def test_wilson_interval_matches_newcombe_table(
    count: int, total: int, low: float, high: float
) -> None:
    """Wilson's interval gives Newcombe's published limits, exactly 0 and 1 at the ends."""
    assert _close(wilson(count, total), low, high)


@pytest.mark.parametrize(
    ("counts", "low", "high"),
    [
        ((56, 70, 48, 80), 0.0524, 0.3339),
        ((9, 10, 3, 10), 0.1705, 0.8090),
        ((6, 7, 2, 7), 0.0582, 0.8062),
        ((5, 56, 0, 29), -0.0381, 0.1926),
        ((0, 10, 0, 20), -0.1611, 0.2775),
        ((10, 10, 0, 20), 0.6791, 1.0),
    ],
)
def test_newcombe_interval_matches_published_table(
    counts: tuple[int, int, int, int], low: float, high: float
) -> None:
    """The hybrid score interval of p1 − p2 gives Newcombe's published method 10 limits."""
    assert _close(newcombe(*counts), low, high)


def test_difference_of_gaps_adds_the_two_intervals_in_quadrature() -> None:
    """pilot gap − control gap; each side of its interval is the square root of the sum of
    the squared distances of the gaps to their own interval's ends."""
    pilot = (0.25, (0.05, 0.40))
    control = (-0.10, (-0.30, 0.20))
    value, (low, high) = difference_of_gaps(pilot, control)
    assert value == pytest.approx(0.35)
    assert low == pytest.approx(0.35 - (0.20**2 + 0.30**2) ** 0.5)  # pilot's low, control's high
    assert high == pytest.approx(0.35 + (0.15**2 + 0.20**2) ** 0.5)
    assert square_and_add(0.25, (0.05, 0.40), -0.10, (-0.30, 0.20)) == (low, high)


def test_wilson_refuses_an_empty_denominator() -> None:
    """A rate over nobody has no interval: the caller says `empty` instead."""
    with pytest.raises(ValueError, match="total >= 1"):
        wilson(0, 0)


# ---- a small cohort counted by hand -------------------------------------------------------

COHORT = 2025
PILOT_1, PILOT_2, CONTROL = "LP-PILOTE-1", "LP-PILOTE-2", "LP-TEMOIN-1"

# id: (school, gender, diploma, trade)
GRADUATES = {
    # Pilot girls: four in commerce (services, bac pro), one in mv (production, CAP) at
    # pilot school 1, one in cuisine (services, CAP) at pilot school 2.
    "G1": (PILOT_1, "F", "BAC_PRO", "commerce"),
    "G2": (PILOT_1, "F", "BAC_PRO", "commerce"),
    "G3": (PILOT_1, "F", "BAC_PRO", "commerce"),
    "G4": (PILOT_1, "F", "BAC_PRO", "commerce"),
    "G5": (PILOT_1, "F", "CAP", "mv"),
    "G6": (PILOT_2, "F", "CAP", "cuisine"),
    # Pilot boys: four in melec (production, bac pro).
    "B1": (PILOT_1, "M", "BAC_PRO", "melec"),
    "B2": (PILOT_1, "M", "BAC_PRO", "melec"),
    "B3": (PILOT_1, "M", "BAC_PRO", "melec"),
    "B4": (PILOT_1, "M", "BAC_PRO", "melec"),
    # Control: four girls in commerce, four boys in melec, one X in commerce CAP.
    "CG1": (CONTROL, "F", "BAC_PRO", "commerce"),
    "CG2": (CONTROL, "F", "BAC_PRO", "commerce"),
    "CG3": (CONTROL, "F", "BAC_PRO", "commerce"),
    "CG4": (CONTROL, "F", "BAC_PRO", "commerce"),
    "CB1": (CONTROL, "M", "BAC_PRO", "melec"),
    "CB2": (CONTROL, "M", "BAC_PRO", "melec"),
    "CB3": (CONTROL, "M", "BAC_PRO", "melec"),
    "CB4": (CONTROL, "M", "BAC_PRO", "melec"),
    "CX1": (CONTROL, "X", "CAP", "commerce"),
}

# In the current published round: id: (eligible, offer, response)
CURRENT = {
    "G1": (True, "DE-1", Response.CONFIRMED),
    "G2": (True, "DE-1", Response.CONFIRMED),
    "G3": (True, "PL-1", Response.PENDING),
    "G4": (True, "UK-1", Response.CONFIRMED),
    "G5": (True, "DE-2", Response.DECLINED),  # declined: not placed
    "B1": (True, "DE-2", Response.CONFIRMED),
    "B2": (True, "PL-1", Response.CONFIRMED),
    "B3": (True, None, None),  # eligible, unplaced
    "B4": (True, "PL-2", Response.WITHDRAWN),  # the host withdrew: not placed
}

OUTCOMES = {
    "G1": PlacementOutcomeKind.COMPLETED,
    "G2": PlacementOutcomeKind.COMPLETED,
    "G3": PlacementOutcomeKind.INTERRUPTED,
    "B1": PlacementOutcomeKind.COMPLETED,
    "B2": PlacementOutcomeKind.NOT_STARTED,
}

ANSWERS = {
    6: {
        "G1": S.PERMANENT_CONTRACT,
        "G2": S.EDUCATION,
        "G3": S.JOB_SEEKING,
        "G4": S.UNKNOWN,  # not an answer
        "G5": S.FIXED_TERM_CONTRACT,
        "B1": S.TEMPORARY_AGENCY,
        "B2": S.SELF_EMPLOYED,
        "B3": S.JOB_SEEKING,
        "B4": S.INACTIVE,
        "CG1": S.PERMANENT_CONTRACT,
        "CG2": S.JOB_SEEKING,
        "CG3": S.EDUCATION,
        "CB1": S.FIXED_TERM_CONTRACT,
        "CB2": S.FIXED_TERM_CONTRACT,
        "CB3": S.JOB_SEEKING,
        "CB4": S.UNKNOWN,
        "CX1": S.PERMANENT_CONTRACT,
    },
    12: {
        "G1": S.PERMANENT_CONTRACT,
        "G2": S.WORK_STUDY,
        "G3": S.INACTIVE,
        "B1": S.PERMANENT_CONTRACT,
    },
}

MIN_COUNT = 3


def build_cohort(engine: Engine) -> None:
    """The cohort above, a replaced round that placed G6 and a draft that placed B3 (both
    ignored), and one graduate of another cohort (G0, placed)."""
    with Session(engine) as session:
        for school_id, kind in (
            (PILOT_1, SchoolKind.PILOT),
            (PILOT_2, SchoolKind.PILOT),
            (CONTROL, SchoolKind.CONTROL),
        ):
            session.add(School(school_id=school_id, name=f"Lycée {school_id}", kind=kind))
        session.flush()
        everyone = {**GRADUATES, "G0": (PILOT_1, "F", "BAC_PRO", "commerce")}
        for n, (student_id, (school_id, gender, diploma, trade)) in enumerate(everyone.items()):
            session.add(
                Student(
                    student_id=student_id,
                    first_name=f"Prénom{student_id}",
                    last_name=f"Nom{student_id}",
                    email=f"{student_id.lower()}@eleves.example",
                    gender=gender,
                    birth_date=dt.date(2006, 1 + n % 12, 1 + n),
                    school_id=school_id,
                    diploma=diploma,
                    trade=trade,
                    available_from=dt.date(2026, 4, 1),
                    available_to=dt.date(2026, 7, 31),
                    cohort=COHORT - 1 if student_id == "G0" else COHORT,
                    extra={"phone": f"06 12 34 56 {n:02d}", "address": f"{n} rue des Lilas"},
                )
            )
        replaced = Round(name="first", status=RoundStatus.PUBLISHED)
        current = Round(name="re-run", status=RoundStatus.PUBLISHED)
        draft = Round(name="draft", status=RoundStatus.DRAFT)
        session.add_all([replaced, current, draft])
        session.flush()
        assert replaced.id is not None
        assert current.id is not None
        assert draft.id is not None
        replaced.superseded_by = current.id
        placements = {**CURRENT, "G0": (True, "DE-1", Response.CONFIRMED)}
        for student_id, (eligible, offer, response) in placements.items():
            session.add(_assignment(current.id, student_id, eligible, offer, response))
        session.add(_assignment(replaced.id, "G6", True, "DE-9", Response.CONFIRMED))
        session.add(_assignment(draft.id, "B3", True, "DE-9", Response.CONFIRMED))
        for student_id, outcome in OUTCOMES.items():
            session.add(
                PlacementOutcome(
                    round_id=current.id,
                    student_id=student_id,
                    offer_id=placements[student_id][1] or "",
                    outcome=outcome,
                    reason=InterruptionReason.HEALTH
                    if outcome is PlacementOutcomeKind.INTERRUPTED
                    else None,
                )
            )
        for wave, answers in ANSWERS.items():
            for student_id, situation in answers.items():
                session.add(
                    FollowUpAnswer(
                        student_id=student_id,
                        wave=wave,
                        situation=situation,
                        in_trade=situation is S.PERMANENT_CONTRACT or None,
                        country="FR",
                        as_of=dt.date(COHORT, 7, 5) + dt.timedelta(days=30 * wave),
                        source=AnswerSource.LINK,
                    )
                )
        session.commit()


def _assignment(
    round_id: int, student_id: str, eligible: bool, offer: str | None, response: Response | None
) -> Assignment:
    school_id, gender, _diploma, trade = GRADUATES.get(
        student_id, (PILOT_1, "F", "BAC_PRO", "commerce")
    )
    return Assignment(
        round_id=round_id,
        student_id=student_id,
        first_name=f"Prénom{student_id}",
        last_name=f"Nom{student_id}",
        school_id=school_id,
        gender=gender,
        trade=trade,
        eligible=eligible,
        offer_id=offer,
        country=offer[:2] if offer else "",
        response=response,
    )


COORDINATOR = Viewer(1, "coordinator@example.org", Role.COORDINATOR)


def _rate(found: Indicators, key: tuple[str, str, str, str], rate: str) -> tuple[object, ...]:
    group = found.group(*key)
    assert group is not None, key
    r = group.rates[rate]
    return (r.count, r.total, r.status)


@pytest.fixture
def found(engine: Engine) -> Indicators:
    build_cohort(engine)
    with Session(engine) as session:
        return indicators.indicators(session, COORDINATOR, cohort=COHORT, min_count=MIN_COUNT)


def test_indicators_of_a_cohort_counted_by_hand(found: Indicators) -> None:
    """Sizes, rates, counts, intervals and the threshold, overview and breakdowns."""
    pilot, control = ("all", "all", "pilot"), ("all", "all", "control")
    assert found.group(*pilot, "all").graduates == 10  # type: ignore[union-attr]
    assert found.group(*pilot, "F").graduates == 6  # type: ignore[union-attr]
    assert found.group(*control, "all").graduates == 9  # type: ignore[union-attr]
    expected = {
        # placed / eligible: girls G1–G4 of G1–G5 (G5 declined, G6 only in the replaced
        # round); boys B1, B2 of B1–B4 (B3 unplaced, B4 withdrawn, the draft ignored).
        (*pilot, "all", "placed"): (6, 9, "ok"),
        (*pilot, "F", "placed"): (4, 5, "ok"),
        (*pilot, "M", "placed"): (2, 4, "ok"),
        # completed / placed: G1, G2 of G1–G4; B1 of B1, B2 (2 < 3: too few).
        (*pilot, "all", "completed"): (3, 6, "ok"),
        (*pilot, "F", "completed"): (2, 4, "ok"),
        (*pilot, "M", "completed"): (None, 2, "too_few"),
        # 6 months: G4's unknown is no answer; G2 in education counts in training only.
        (*pilot, "F", "employed_6m"): (2, 4, "ok"),
        (*pilot, "F", "employed_or_training_6m"): (3, 4, "ok"),
        (*pilot, "M", "employed_6m"): (2, 4, "ok"),
        (*pilot, "M", "employed_or_training_6m"): (2, 4, "ok"),
        (*pilot, "all", "employed_6m"): (4, 8, "ok"),
        # 12 months: G2's work-study contract is a job; one boy answered.
        (*pilot, "F", "employed_12m"): (2, 3, "ok"),
        (*pilot, "M", "employed_12m"): (None, 1, "too_few"),
        (*pilot, "all", "employed_or_training_12m"): (3, 4, "ok"),
        # Control schools: nobody is eligible (never in a round); CX1 counts in "all".
        (*control, "all", "placed"): (None, 0, "empty"),
        (*control, "F", "employed_6m"): (1, 3, "ok"),
        (*control, "F", "employed_or_training_6m"): (2, 3, "ok"),
        (*control, "M", "employed_6m"): (2, 3, "ok"),
        (*control, "all", "employed_6m"): (4, 7, "ok"),
        (*control, "all", "employed_or_training_6m"): (5, 7, "ok"),
        (*control, "all", "employed_12m"): (None, 0, "empty"),
        # Breakdowns: an empty group (no pilot boy in services), a group below the
        # threshold (G5, the one pilot girl in production), a school of one graduate.
        ("sector", "services", "pilot", "M", "placed"): (None, 0, "empty"),
        ("sector", "production", "pilot", "F", "placed"): (None, 1, "too_few"),
        ("sector", "production", "pilot", "M", "placed"): (2, 4, "ok"),
        ("diploma", "CAP", "control", "all", "employed_6m"): (None, 1, "too_few"),
        ("school", PILOT_2, "pilot", "all", "placed"): (None, 0, "empty"),
        ("school", CONTROL, "control", "M", "employed_6m"): (2, 3, "ok"),
    }
    for (*key, rate), figures in expected.items():
        assert _rate(found, (key[0], key[1], key[2], key[3]), rate) == figures, (key, rate)
    assert found.group("sector", "services", "pilot", "M").graduates == 0  # type: ignore[union-attr]
    assert found.group("school", PILOT_2, "pilot", "all").graduates == 1  # type: ignore[union-attr]
    # A school is of one type only: no control row for a pilot school.
    assert found.group("school", PILOT_1, "control", "all") is None
    placed = found.group(*pilot, "F").rates["placed"]  # type: ignore[union-attr]
    assert placed.value == pytest.approx(0.8)
    assert (placed.low, placed.high) == pytest.approx((0.3755, 0.9638), abs=5e-5)
    assert (placed.low, placed.high) == wilson(4, 5)


def _gap(found: Indicators, dimension: str, category: str, school_type: str, rate: str):  # type: ignore[no-untyped-def]
    return next(
        d
        for d in found.gaps + found.gap_differences
        if (d.dimension, d.category, d.school_type, d.rate)
        == (dimension, category, school_type, rate)
    )


def test_gaps_and_difference_of_gaps_counted_by_hand(found: Indicators) -> None:
    """Girls − boys within each school type with Newcombe's interval; pilot − control of
    those gaps by square-and-add; nothing where a rate is not given."""
    placed = _gap(found, "all", "all", "pilot", "placed")
    assert placed.value == pytest.approx(4 / 5 - 2 / 4)  # 0.3
    assert (placed.low, placed.high) == pytest.approx(newcombe(4, 5, 2, 4))
    assert (placed.first, placed.second) == pytest.approx((0.8, 0.5))
    # The boys' completion is below the threshold: no gap; the control schools place nobody.
    assert _gap(found, "all", "all", "pilot", "completed").value is None
    assert _gap(found, "all", "all", "control", "placed").value is None
    pilot = _gap(found, "all", "all", "pilot", "employed_6m")
    control = _gap(found, "all", "all", "control", "employed_6m")
    assert pilot.value == pytest.approx(2 / 4 - 2 / 4)  # 0
    assert control.value == pytest.approx(1 / 3 - 2 / 3)  # −1/3
    # Wilson 1/3: [0.0615, 0.7923], 2/3: [0.2077, 0.9385]; −1/3 − √(0.2718² + 0.2718²),
    # −1/3 + √(0.4590² + 0.4590²).
    assert (control.low, control.high) == pytest.approx((-0.7178, 0.3158), abs=5e-5)
    difference = _gap(found, "all", "all", "pilot-control", "employed_6m")
    assert difference.value == pytest.approx(1 / 3)  # 0 − (−1/3)
    expected = square_and_add(0.0, (pilot.low, pilot.high), -1 / 3, (control.low, control.high))
    assert (difference.low, difference.high) == pytest.approx(expected)
    assert (difference.first, difference.second) == pytest.approx((0.0, -1 / 3))
    training = _gap(found, "all", "all", "pilot-control", "employed_or_training_6m")
    assert training.value == pytest.approx((3 / 4 - 2 / 4) - (2 / 3 - 2 / 3))  # 0.25
    assert _gap(found, "all", "all", "pilot-control", "placed").value is None
    # By school there is no pilot − control difference: a school is one or the other.
    assert not [d for d in found.gap_differences if d.dimension == "school"]


def test_the_cohort_filter_and_who_may_read(engine: Engine) -> None:
    """Another cohort's graduate counts only in his or her cohort (and with no filter);
    a teacher may not read the indicators."""
    build_cohort(engine)
    with Session(engine) as session:
        other = indicators.indicators(session, COORDINATOR, cohort=COHORT - 1, min_count=1)
        every = indicators.indicators(session, COORDINATOR, min_count=1)
        assert indicators.cohorts(session, COORDINATOR) == [COHORT, COHORT - 1]
        teacher = Viewer(2, "teacher@example.org", Role.TEACHER, school_id=PILOT_1)
        with pytest.raises(Forbidden):
            indicators.indicators(session, teacher)
    assert other.group("all", "all", "pilot", "all").graduates == 1  # type: ignore[union-attr]
    assert _rate(other, ("all", "all", "pilot", "F"), "placed") == (1, 1, "ok")
    assert other.group("all", "all", "control", "all").graduates == 0  # type: ignore[union-attr]
    assert every.group("all", "all", "pilot", "all").graduates == 11  # type: ignore[union-attr]

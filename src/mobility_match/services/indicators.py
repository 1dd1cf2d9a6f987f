"""The evaluation's indicators: pilot and control schools side by side, by gender, sector,
diploma and school, every rate with its count and a 95 % confidence interval.

Three layers, each usable alone:

- the intervals (`wilson`, `newcombe`, `difference_of_gaps`): pure arithmetic;
- `compute`: plain `Graduate` records in, `Indicators` out (no database);
- `graduates`: the one query layer, one plain record per graduate read from the
  database (also what the pseudonymised export writes, services/pseudonymised.py).

The rates:

- `placed`: placed over eligible, in the current published round of each graduate
  (the latest published round he or she is in that no re-run replaced); placed means
  holding a placement neither declined nor withdrawn;
- `completed`: completed over placed (placement_outcome);
- `employed_<w>m`: in employment (the five employed situations) over those who
  answered at wave w (an UNKNOWN situation is no answer);
- `employed_or_training_<w>m`: in employment or in education/training, over the same.

A rate whose denominator is below `min_count` is not given ("not enough answers"):
its numerator and interval neither. The girls–boys gap of a rate (F − M) has
Newcombe's hybrid score interval (method 10 of Newcombe 1998); the difference of
that gap between pilot and control schools (pilot gap − control gap) has an interval
made the same way, by square-and-add of the two gaps' intervals (the MOVER method of
Zou and Donner 2008, which is what Newcombe's method 10 is for one difference).

Nothing here names a person: a record holds the graduate's id (for the pseudonym)
and coded facts only; nothing here changes the database.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import String, extract, type_coerce
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from mobility_match.access import Viewer
from mobility_match.collector import collector_paused
from mobility_match.domain import load_vocabulary
from mobility_match.models import (
    EMPLOYED_SITUATIONS,
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
from mobility_match.services.rows import require

Z_95 = 1.959963984540054
"""The standard normal quantile of a two-sided 95 % interval."""

WAVES: tuple[int, ...] = (6, 12)
"""Months after the diploma at which the follow-up asks each graduate."""

EMPLOYED = EMPLOYED_SITUATIONS
EMPLOYED_OR_TRAINING = EMPLOYED | {Situation.EDUCATION}

SCHOOL_TYPES = ("pilot", "control")
GENDERS = ("all", "F", "M")
"""The gender groups of each figure: everybody (X included), girls, boys."""
DIMENSIONS = ("all", "sector", "diploma", "school")

Interval = tuple[float, float]


# ---- intervals ------------------------------------------------------------------------------


def wilson(count: int, total: int, z: float = Z_95) -> Interval:
    """Wilson's score interval of the proportion count/total (total ≥ 1)."""
    if total <= 0 or not 0 <= count <= total:
        raise ValueError(f"a proportion needs 0 <= count <= total and total >= 1: {count}/{total}")
    p = count / total
    z2 = z * z
    denominator = 1 + z2 / total
    centre = (p + z2 / (2 * total)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    # Exact at the ends (0/n starts at 0, n/n ends at 1), not 1e-17 away.
    low = 0.0 if count == 0 else max(0.0, centre - half)
    high = 1.0 if count == total else min(1.0, centre + half)
    return low, high


def square_and_add(
    first: float, first_interval: Interval, second: float, second_interval: Interval
) -> Interval:
    """The interval of first − second from the intervals of two independent estimates
    (Newcombe's hybrid method, MOVER): each side adds the distances in quadrature."""
    difference = first - second
    low = difference - math.hypot(first - first_interval[0], second_interval[1] - second)
    high = difference + math.hypot(first_interval[1] - first, second - second_interval[0])
    return low, high


def newcombe(count_1: int, total_1: int, count_2: int, total_2: int) -> Interval:
    """Newcombe's hybrid score interval (method 10) of p1 − p2, two independent proportions."""
    p1, p2 = count_1 / total_1, count_2 / total_2
    return square_and_add(p1, wilson(count_1, total_1), p2, wilson(count_2, total_2))


# ---- what the indicators are computed from ---------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """A graduate's situation at one wave of the follow-up."""

    situation: Situation
    in_trade: bool | None = None
    country: str = ""
    source: str = ""


@dataclass(frozen=True)
class Graduate:
    """One graduate as the evaluation sees him or her: coded facts, no name."""

    student_id: str
    school_id: str
    school_type: str
    gender: str
    diploma: str
    trade: str
    sector: str
    cohort: int | None = None
    birth_year: int | None = None
    eligible: bool | None = None
    """Whether he or she had an acceptable offer in the current published round (None:
    in no published round, as every graduate of a control school)."""
    placed: bool = False
    placement_country: str = ""
    outcome: str = ""
    """completed, interrupted, not_started; empty: not recorded (or not placed)."""
    interruption_reason: str = ""
    answers: dict[int, Answer] = field(default_factory=dict)
    """By wave (months after the diploma)."""


def rate_keys(waves: Sequence[int] = WAVES) -> tuple[str, ...]:
    """The rates, in the order they are shown."""
    keys = ["placed", "completed"]
    for wave in waves:
        keys += [f"employed_{wave}m", f"employed_or_training_{wave}m"]
    return tuple(keys)


def _flags(graduate: Graduate, waves: Sequence[int]) -> tuple[int, ...]:
    """(numerator, denominator) of each rate for one graduate, as 0/1, flattened."""
    eligible = bool(graduate.eligible)
    placed = eligible and graduate.placed
    flags = [int(placed), int(eligible)]
    flags += [int(placed and graduate.outcome == PlacementOutcomeKind.COMPLETED), int(placed)]
    for wave in waves:
        answer = graduate.answers.get(wave)
        answered = answer is not None and answer.situation is not Situation.UNKNOWN
        situation = answer.situation if answer is not None else None
        flags += [int(answered and situation in EMPLOYED), int(answered)]
        flags += [int(answered and situation in EMPLOYED_OR_TRAINING), int(answered)]
    return tuple(flags)


# ---- the indicators ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """count / total with its interval; count, value and interval are None when total is
    below the threshold (status `too_few`, or `empty` when nobody is in the denominator)."""

    total: int
    count: int | None
    value: float | None
    low: float | None
    high: float | None
    status: str
    """ok, too_few or empty."""

    @property
    def shown(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class Group:
    """One cell of the tables: a category of a dimension, a school type, a gender."""

    dimension: str
    category: str
    school_type: str
    gender: str
    graduates: int
    rates: dict[str, Rate]


@dataclass(frozen=True)
class Difference:
    """A girls − boys gap (within a school type), or a pilot − control difference of gaps
    (school_type `pilot-control`): None where a rate it needs is not shown."""

    dimension: str
    category: str
    school_type: str
    rate: str
    value: float | None
    low: float | None
    high: float | None
    first: float | None
    """The girls' rate (a gap), the pilot schools' gap (a difference of gaps)."""
    second: float | None
    """The boys' rate, the control schools' gap."""


@dataclass(frozen=True)
class Indicators:
    """Every figure of the evaluation, for the chosen cohort (None: all)."""

    cohort: int | None
    min_count: int
    waves: tuple[int, ...]
    rates: tuple[str, ...]
    groups: list[Group]
    gaps: list[Difference]
    gap_differences: list[Difference]

    def group(self, dimension: str, category: str, school_type: str, gender: str) -> Group | None:
        for group in self.groups:
            if (group.dimension, group.category, group.school_type, group.gender) == (
                dimension,
                category,
                school_type,
                gender,
            ):
                return group
        return None


def make_rate(count: int, total: int, min_count: int) -> Rate:
    """The rate count/total, or why it is not given."""
    if total == 0:
        return Rate(0, None, None, None, None, "empty")
    if total < min_count:
        return Rate(total, None, None, None, None, "too_few")
    low, high = wilson(count, total)
    return Rate(total, count, count / total, low, high, "ok")


def _gap(girls: Rate, boys: Rate) -> tuple[float, Interval] | None:
    if not (girls.shown and boys.shown):
        return None
    assert girls.count is not None
    assert boys.count is not None
    return (
        girls.count / girls.total - boys.count / boys.total,
        newcombe(girls.count, girls.total, boys.count, boys.total),
    )


def difference_of_gaps(
    pilot: tuple[float, Interval], control: tuple[float, Interval]
) -> tuple[float, Interval]:
    """pilot gap − control gap, its interval by square-and-add of the gaps' Newcombe
    intervals (the schools' groups are independent samples)."""
    return pilot[0] - control[0], square_and_add(pilot[0], pilot[1], control[0], control[1])


def compute(
    graduates: Iterable[Graduate],
    *,
    min_count: int = 10,
    waves: Sequence[int] = WAVES,
    cohort: int | None = None,
) -> Indicators:
    """Every group's figures, gaps and differences of gaps, from plain records."""
    keys = rate_keys(waves)
    # Graduates with the same coded facts count together: a few hundred cells, not 20,000.
    cells: Counter[tuple[str, str, str, str, str, tuple[int, ...]]] = Counter(
        (g.school_type, g.gender, g.sector, g.diploma, g.school_id, _flags(g, waves))
        for g in graduates
    )
    sums: dict[tuple[str, str, str, str], list[int]] = {}
    sizes: Counter[tuple[str, str, str, str]] = Counter()
    categories: dict[str, set[str]] = {dimension: set() for dimension in DIMENSIONS}
    school_types: dict[str, str] = {}
    for (school_type, gender, sector, diploma, school_id, flags), n in cells.items():
        school_types[school_id] = school_type
        for dimension, category in (
            ("all", "all"),
            ("sector", sector),
            ("diploma", diploma),
            ("school", school_id),
        ):
            categories[dimension].add(category)
            for who in ("all", gender) if gender in ("F", "M") else ("all",):
                key = (dimension, category, school_type, who)
                sizes[key] += n
                totals = sums.setdefault(key, [0] * len(flags))
                for index, flag in enumerate(flags):
                    if flag:
                        totals[index] += n
    empty = [0] * (2 * len(keys))
    groups: list[Group] = []
    for dimension in DIMENSIONS:
        for category in sorted(categories[dimension] or ({"all"} if dimension == "all" else ())):
            types = (school_types[category],) if dimension == "school" else SCHOOL_TYPES
            for school_type in types:
                for gender in GENDERS:
                    key = (dimension, category, school_type, gender)
                    totals = sums.get(key, empty)
                    rates = {
                        name: make_rate(totals[2 * i], totals[2 * i + 1], min_count)
                        for i, name in enumerate(keys)
                    }
                    groups.append(
                        Group(dimension, category, school_type, gender, sizes[key], rates)
                    )
    gaps, differences = _differences(groups, keys)
    return Indicators(cohort, min_count, tuple(waves), keys, groups, gaps, differences)


def _differences(
    groups: Sequence[Group], keys: Sequence[str]
) -> tuple[list[Difference], list[Difference]]:
    by_key = {(g.dimension, g.category, g.school_type, g.gender): g for g in groups}
    cells = sorted(
        {(g.dimension, g.category) for g in groups},
        key=lambda cell: (DIMENSIONS.index(cell[0]), cell[1]),
    )
    gaps: list[Difference] = []
    differences: list[Difference] = []
    for dimension, category in cells:
        for rate in keys:
            found: dict[str, tuple[float, Interval] | None] = {}
            for school_type in SCHOOL_TYPES:
                girls = by_key.get((dimension, category, school_type, "F"))
                boys = by_key.get((dimension, category, school_type, "M"))
                if girls is None or boys is None:
                    continue
                gap = _gap(girls.rates[rate], boys.rates[rate])
                found[school_type] = gap
                gaps.append(
                    Difference(
                        dimension,
                        category,
                        school_type,
                        rate,
                        *_values(gap),
                        girls.rates[rate].value,
                        boys.rates[rate].value,
                    )
                )
            if len(found) < len(SCHOOL_TYPES):
                continue  # a school is of one type: no difference between types
            pilot, control = found["pilot"], found["control"]
            both = difference_of_gaps(pilot, control) if pilot and control else None
            differences.append(
                Difference(
                    dimension,
                    category,
                    "pilot-control",
                    rate,
                    *_values(both),
                    pilot[0] if pilot else None,
                    control[0] if control else None,
                )
            )
    return gaps, differences


def _values(
    estimate: tuple[float, Interval] | None,
) -> tuple[float | None, float | None, float | None]:
    if estimate is None:
        return None, None, None
    value, (low, high) = estimate
    return value, low, high


# ---- the query layer ---------------------------------------------------------------------------


def cohorts(session: Session, viewer: Viewer) -> list[int]:
    """The cohorts (diploma years) of the graduates, latest first."""
    require(viewer, Role.COORDINATOR, Role.EVALUATOR)
    found = session.exec(
        select(Student.cohort).where(col(Student.cohort).is_not(None)).distinct()
    ).all()
    return sorted((c for c in found if c is not None), reverse=True)


def _text(column: Any) -> Any:
    """A column of an enumeration, read as the plain text it holds (the member's name):
    SQLAlchemy's conversion of every value to its enum took most of the time of these scans,
    a dictionary lookup takes none."""
    return type_coerce(col(column), String)


def _enum_values(*enums: type[StrEnum]) -> dict[str | None, str]:
    """Member name → value of the enumerations, and None → ""."""
    found: dict[str | None, str] = {None: ""}
    for enum in enums:
        found.update({member.name: member.value for member in enum})
    return found


_VALUE = _enum_values(SchoolKind, PlacementOutcomeKind, InterruptionReason, AnswerSource)
_SITUATION = {member.name: member for member in Situation}
_NOT_HELD = {Response.DECLINED.name, Response.WITHDRAWN.name}


def graduates(
    session: Session, viewer: Viewer, *, cohort: int | None = None, waves: Sequence[int] = WAVES
) -> list[Graduate]:
    """Every graduate of every school (of `cohort`, if given) with the current published
    placement, its outcome and the follow-up answers: four queries, no name read."""
    require(viewer, Role.COORDINATOR, Role.EVALUATOR)
    with collector_paused():
        return _graduates(session, cohort, waves)


def _graduates(session: Session, cohort: int | None, waves: Sequence[int]) -> list[Graduate]:
    of_cohort = select(Student.student_id).where(Student.cohort == cohort)
    students = (
        sql_select(
            col(Student.student_id),
            col(Student.school_id),
            _text(School.kind),
            col(Student.gender),
            col(Student.diploma),
            col(Student.trade),
            col(Student.cohort),
            extract("year", col(Student.birth_date)),
        )
        .join(School, col(School.school_id) == Student.school_id)
        .order_by(col(Student.student_id))
    )
    current = (
        sql_select(
            col(Assignment.student_id),
            col(Assignment.round_id),
            col(Assignment.eligible),
            col(Assignment.offer_id),
            _text(Assignment.response),
            col(Assignment.country),
        )
        .join(Round, col(Round.id) == Assignment.round_id)
        .where(col(Round.status) == RoundStatus.PUBLISHED, col(Round.superseded_by).is_(None))
        .order_by(col(Assignment.round_id))
    )
    outcomes = sql_select(
        col(PlacementOutcome.round_id),
        col(PlacementOutcome.student_id),
        _text(PlacementOutcome.outcome),
        _text(PlacementOutcome.reason),
    )
    answers = sql_select(
        col(FollowUpAnswer.student_id),
        col(FollowUpAnswer.wave),
        _text(FollowUpAnswer.situation),
        col(FollowUpAnswer.in_trade),
        col(FollowUpAnswer.country),
        _text(FollowUpAnswer.source),
    ).where(col(FollowUpAnswer.wave).in_(list(waves)))
    if cohort is not None:
        students = students.where(col(Student.cohort) == cohort)
        current = current.where(col(Assignment.student_id).in_(of_cohort))
        outcomes = outcomes.where(col(PlacementOutcome.student_id).in_(of_cohort))
        answers = answers.where(col(FollowUpAnswer.student_id).in_(of_cohort))
        # Core rows (no ORM loading): four scans of about 20,000 rows each must stay fast.
    connection = session.connection()
    placements: dict[str, tuple[Any, ...]] = {
        row[0]: tuple(row) for row in connection.execute(current).all()
    }
    ended: dict[tuple[int, str], tuple[str | None, str | None]] = {
        (row[0], row[1]): (row[2], row[3]) for row in connection.execute(outcomes).all()
    }
    said: dict[str, dict[int, Answer]] = {}
    for student_id, wave, situation, in_trade, country, source in connection.execute(answers).all():
        said.setdefault(student_id, {})[wave] = Answer(
            _SITUATION[situation], in_trade, country or "", _VALUE[source]
        )
    sectors = {code: trade.sector.value for code, trade in load_vocabulary().trades.items()}
    found: list[Graduate] = []
    for student_id, school_id, kind, gender, diploma, trade, year, born in connection.execute(
        students
    ).all():
        eligible: bool | None = None
        placed = False
        country = outcome = reason = ""
        placement = placements.get(student_id)
        if placement is not None:
            round_id, eligible, offer_id, response = placement[1:5]
            placed = offer_id is not None and response not in _NOT_HELD
            if placed:
                country = placement[5] or ""
                ended_as, why = ended.get((round_id, student_id), (None, None))
                outcome, reason = _VALUE[ended_as], _VALUE[why]
        found.append(
            Graduate(
                student_id=student_id,
                school_id=school_id,
                school_type=_VALUE[kind],
                gender=gender,
                diploma=diploma,
                trade=trade,
                sector=sectors.get(trade, "unknown"),
                cohort=year,
                birth_year=int(born) if born is not None else None,
                eligible=eligible,
                placed=placed,
                placement_country=country,
                outcome=outcome,
                interruption_reason=reason,
                answers=said.get(student_id, {}),
            )
        )
    return found


def indicators(
    session: Session,
    viewer: Viewer,
    *,
    cohort: int | None = None,
    min_count: int = 10,
    waves: Sequence[int] = WAVES,
) -> Indicators:
    """The indicators of `cohort` (None: every graduate), read from the database."""
    found = graduates(session, viewer, cohort=cohort, waves=waves)
    return compute(found, min_count=min_count, waves=waves, cohort=cohort)

"""Fictitious follow-up answers of a past cohort, for the demo's indicators.

Each graduate answers a wave with a probability, and his or her situation is drawn
from shares that depend on the school's kind and the gender: a little more employment
in pilot schools, and a girls–boys gap that is narrower there, so that the demo's
indicators and their gaps have something to show. Plain values in and out: nothing here
knows the database or the settings. The same arguments always give the same answers.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mobility_match.domain import Gender, Student

ANSWERING = {6: 0.78, 12: 0.66}
"""Share of graduates who answer each wave (other waves: the last one's)."""

EMPLOYED = ("permanent_contract", "fixed_term_contract", "temporary_agency", "work_study")


@dataclass(frozen=True)
class DemoAnswer:
    student_id: str
    wave: int
    situation: str
    in_trade: bool | None
    country: str
    as_of: dt.date


def _shares(pilot: bool, gender: Gender, wave: int) -> dict[str, float]:
    employed = 0.42 + (0.08 if pilot else 0.0) + (0.06 if wave >= 12 else 0.0)
    if gender is Gender.F:
        employed -= 0.04 if pilot else 0.10
    education = 0.22
    seeking = max(0.05, 1.0 - employed - education - 0.06)
    return {
        "permanent_contract": employed * 0.25,
        "fixed_term_contract": employed * 0.35,
        "temporary_agency": employed * 0.15,
        "work_study": employed * 0.2,
        "self_employed": employed * 0.05,
        "education": education,
        "job_seeking": seeking,
        "inactive": 0.06,
    }


def generate_answers(
    students: Sequence[Student],
    pilot_schools: frozenset[str],
    wave_dates: Mapping[int, dt.date],
    today: dt.date,
    seed: int,
) -> list[DemoAnswer]:
    """The answers of `students` at each wave of `wave_dates` whose date is past."""
    rng = random.Random(seed)
    answers: list[DemoAnswer] = []
    last_share = ANSWERING[max(ANSWERING)]
    for student in students:
        pilot = student.school_id in pilot_schools
        for wave, day in sorted(wave_dates.items()):
            if day > today or rng.random() >= ANSWERING.get(wave, last_share):
                continue
            shares = _shares(pilot, student.gender, wave)
            situation = rng.choices(list(shares), weights=list(shares.values()))[0]
            working = situation in EMPLOYED or situation == "self_employed"
            located = working or situation == "education"
            abroad = rng.random() < (0.08 if pilot else 0.02)
            answers.append(
                DemoAnswer(
                    student.student_id,
                    wave,
                    situation,
                    (rng.random() < 0.62) if working else None,
                    (rng.choice(("DE", "PL", "UK")) if abroad else "FR") if located else "",
                    min(today, day + dt.timedelta(days=rng.randrange(0, 21))),
                )
            )
    return answers

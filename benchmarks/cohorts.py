"""Benchmark rounds: fictitious cohorts with offers in proportion, at any size.

The demo generators give each student a share of all offers (about 3 %), so a
larger round would give each student hundreds of acceptable offers. To keep
about TARGET_ACCEPTABLE per student at every size, as real rounds have, the
cohort is split into yearly intakes: intake k has its dates (and its students'
birth dates) moved k years later, and only meets the offers of its own year.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np

from mobility_match.demo import generate_offers, generate_students
from mobility_match.domain import Offer, RoundInput, Student, load_vocabulary
from mobility_match.matching.pairs import RuleTable

TARGET_ACCEPTABLE = 25
OFFERS_PER_STUDENT = 0.75
"""With about 1.8 places an offer, places roughly match students."""
YEAR = dt.timedelta(weeks=52)
DENSE_SHARE = 0.01
"""In a dense round each student accepts about this share of all offers: 70–90 acceptable
offers at 10,000 students, about 400 at 50,000 (some 19–21 million pairs), the dense
rounds issue 14 measured, where cohorts share long availability windows."""


def _shift_offer(offer: Offer, years: int) -> Offer:
    return replace(
        offer, start_date=offer.start_date + years * YEAR, end_date=offer.end_date + years * YEAR
    )


def _shift_student(student: Student, years: int) -> Student:
    return replace(
        student,
        birth_date=student.birth_date + years * YEAR,
        available_from=student.available_from + years * YEAR,
        available_to=student.available_to + years * YEAR,
    )


def mean_acceptable(students: list[Student], offers: list[Offer], sample: int = 300) -> float:
    """Estimate the mean number of acceptable offers per student on a sample of students."""
    rng = np.random.default_rng(0)
    picked = [students[i] for i in rng.choice(len(students), min(sample, len(students)), False)]
    pairs = RuleTable(picked, offers, load_vocabulary()).acceptable_pairs()
    return len(pairs) / len(picked)


def benchmark_round(
    n: int, seed: int, *, scarce_services: bool = False, dense: bool = False
) -> RoundInput:
    """Return a round of n students with about TARGET_ACCEPTABLE acceptable offers each.

    `dense`: fewer intakes, as when cohorts share long availability windows, so that
    each student accepts about DENSE_SHARE of all offers (hundreds at 50,000 students).
    """
    offers = generate_offers(
        max(1, round(n * OFFERS_PER_STUDENT)), seed, scarce_services=scarce_services
    )
    students = generate_students(n, seed, offers)
    per_student = DENSE_SHARE * len(offers) if dense else TARGET_ACCEPTABLE
    intakes = max(1, round(mean_acceptable(students, offers) / per_student))
    offers = [_shift_offer(o, j % intakes) for j, o in enumerate(offers)]
    students = [_shift_student(s, i % intakes) for i, s in enumerate(students)]
    return RoundInput(tuple(students), tuple(offers))

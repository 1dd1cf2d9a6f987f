"""Fictitious students and host offers, for demonstrations, tests and benchmarks.

The data flows sources (the `demo_*.csv` word lists, shared draws) → students and
offers (seeded generators, each with its own knobs) → frames (rows in the
CONTRACT.md columns). The same arguments always give the same data. Nothing here
writes a file or knows the database or the solver; this module only re-exports
the public API.
"""

from mobility_match.demo.frames import OFFER_COLUMNS, STUDENT_COLUMNS, offers_frame, students_frame
from mobility_match.demo.offers import generate_offers
from mobility_match.demo.students import REFERENCE_DAY, TRADE_PROFILES, generate_students

__all__ = [
    "OFFER_COLUMNS",
    "REFERENCE_DAY",
    "STUDENT_COLUMNS",
    "TRADE_PROFILES",
    "generate_offers",
    "generate_students",
    "offers_frame",
    "students_frame",
]

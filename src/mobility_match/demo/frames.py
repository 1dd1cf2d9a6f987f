"""Generated students and offers as the rows of the files a coordinator would import.

`students_frame` and `offers_frame` turn domain objects into text cells in the
CONTRACT.md column order, so a demo round goes through the same import as a real
one. This module generates nothing and writes no file: the caller saves the frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from mobility_match import importing
from mobility_match.domain import ANY_OTHER, Offer, Student, cefr_name, load_vocabulary

STUDENT_COLUMNS: tuple[str, ...] = (
    "student_id", "first_name", "last_name", "email", "gender", "birth_date", "school_id",
    "diploma", "trade", "lang_en", "lang_de", "lang_pl", "available_from", "available_to",
    "preferences",
)  # fmt: skip
"""The columns of students.csv, in CONTRACT.md order.

Kept here because the order interleaves importing's optional columns (email, lang_*)
with its required ones; tests/test_demo.py checks both name the same columns."""

OFFER_COLUMNS: tuple[str, ...] = importing.OFFER_COLUMNS + importing.OFFER_OPTIONAL_COLUMNS
"""The columns of an offers file, in CONTRACT.md order: required, then optional ones."""


def students_frame(students: Sequence[Student]) -> pd.DataFrame:
    """Return the students as students.csv rows: CONTRACT.md columns, text as written."""
    rows = [
        [
            student.student_id,
            student.first_name,
            student.last_name,
            student.email,
            student.gender.value,
            student.birth_date.isoformat(),
            student.school_id,
            student.diploma.value,
            student.trade,
            *(_level(student.languages.get(lang)) for lang in ("en", "de", "pl")),
            student.available_from.isoformat(),
            student.available_to.isoformat(),
            ";".join(student.preferences),
        ]
        for student in students
    ]
    return pd.DataFrame(rows, columns=list(STUDENT_COLUMNS), dtype=str)


def offers_frame(offers: Sequence[Offer]) -> pd.DataFrame:
    """Return the offers as rows of an offers file: CONTRACT.md columns, text as written."""
    trade_order = {code: position for position, code in enumerate(load_vocabulary().trades)}
    rows = [
        [
            offer.offer_id,
            offer.partner,
            offer.company_id,
            offer.company_name,
            offer.country.value,
            offer.city,
            offer.address,
            offer.contact_name,
            offer.contact_email,
            offer.sector.value,
            ";".join(sorted(offer.trades, key=lambda code: trade_order.get(code, len(trade_order))))
            or ANY_OTHER,
            str(offer.places),
            offer.start_date.isoformat(),
            offer.end_date.isoformat(),
            "|".join(str(need) for need in offer.language_requirement),
            "true" if offer.accepts_minors else "false",
        ]
        for offer in offers
    ]
    return pd.DataFrame(rows, columns=list(OFFER_COLUMNS), dtype=str)


def _level(rank: int | None) -> str:
    return cefr_name(rank) if rank else ""

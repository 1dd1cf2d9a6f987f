"""The Erasmus+ identifiers the programme's documents and reports carry, and their checks.

A project number (the grant agreement's, e.g. `2026-1-FR01-KA121-VET-000123456`) is an
optional field of a round; an organisation ID (OID: `E` and 8 digits) is an optional field
of a school, a partner and a host company; a mobility identifier names one placement.
Each check returns the value trimmed (upper-cased where the format is) or raises
ValueError with a sentence saying what would be valid; callers add the field's name.
Nothing here reads the database.
"""

from __future__ import annotations

import re

import phonenumbers

PROJECT_NUMBER = re.compile(r"\d{4}-\d-[A-Z]{2}\d{2}-KA\d{3}-[A-Z]{3}-\d{6,9}")
"""An Erasmus+ project (grant agreement) number, checked loosely: call year, round, national
agency, key action, field, serial number."""
PROJECT_NUMBER_EXAMPLE = "2026-1-FR01-KA121-VET-000123456"

OID = re.compile(r"E\d{8}")
"""An Erasmus+ organisation ID."""
OID_EXAMPLE = "E10123456"

MAX_WORKING_HOURS = 120
"""The longest working hours text (the offers' optional `working_hours` column)."""


def project_number(value: str) -> str:
    """A project number, trimmed and upper-cased; empty stays empty."""
    number = value.strip().upper()
    if number and not PROJECT_NUMBER.fullmatch(number):
        raise ValueError(
            f"{value.strip()!r} is not an Erasmus+ project number; expected the grant "
            f"agreement's number, e.g. {PROJECT_NUMBER_EXAMPLE}, or nothing"
        )
    return number


def oid(value: str) -> str:
    """An organisation ID, trimmed and upper-cased; empty stays empty."""
    found = value.strip().upper()
    if found and not OID.fullmatch(found):
        raise ValueError(
            f"{value.strip()!r} is not an Erasmus+ organisation ID (OID); expected E and "
            f"8 digits, e.g. {OID_EXAMPLE}, or nothing"
        )
    return found


def phone_number(value: str) -> str:
    """A phone number as given, trimmed, once it reads as one (a French number without its
    country code, or any number with `+` and its country code); empty stays empty."""
    number = value.strip()
    if not number:
        return number
    try:
        possible = phonenumbers.is_possible_number(phonenumbers.parse(number, "FR"))
    except phonenumbers.NumberParseException:
        possible = False
    if not possible:
        raise ValueError(
            f"{number!r} is not a phone number; expected a French number such as "
            "06 12 34 56 78, or an international one such as +49 30 1234567"
        )
    return number


def working_hours(value: str) -> str:
    """Working hours as free text (e.g. `35 h/semaine, 8 h–16 h, lun.–ven.`), trimmed."""
    text = value.strip()
    if len(text) > MAX_WORKING_HOURS:
        raise ValueError(
            f"the working hours are {len(text)} characters; at most {MAX_WORKING_HOURS}, "
            "e.g. 35 h/semaine, 8 h–16 h, lun.–ven."
        )
    return text


def mobility_id(student_id: str, offer_id: str) -> str:
    """A placement's mobility identifier: the student's id and the offer's, as the
    Beneficiary Module export's `Mobility activity ID` gives it. It stays the same when a
    re-run keeps the placement under a new round number."""
    return f"{student_id}-{offer_id}"

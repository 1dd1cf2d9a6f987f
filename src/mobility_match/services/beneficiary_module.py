"""The funder's report: a published round's mobilities as a Beneficiary Module import file.

The Erasmus+ Beneficiary Module (the European Commission's reporting tool for
KA121-VET and KA122-VET projects) imports a project's mobility activities from
a CSV or XLSX file whose first row names the fields. BM_COLUMNS follows the
fields of its mobility activity import in their documented order; the file is
meant to be checked against the template exported from the project itself,
which changes with call years and releases (README: the Funder's report).

One row per mobility that took place or is going to: a placement of the round
confirmed by its student, unless its outcome says it did not start; an
interrupted placement ends on the day it was interrupted. Columns our data
cannot fill (nationality, fewer opportunities, travel; an organisation ID not
given) stay empty for the coordinator to complete. Interruption reasons are never written:
the module warns that health and similar reasons are special-category data.
No HTTP here; the rows are returned as a table (exports.py turns it into bytes).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlmodel import Session, col, select

from mobility_match import identifiers
from mobility_match.access import Viewer
from mobility_match.domain import Gender, Offer, optional_columns
from mobility_match.models import (
    Assignment,
    PlacementOutcome,
    PlacementOutcomeKind,
    Response,
    Role,
    RoundStatus,
    School,
)
from mobility_match.services.errors import Conflict, Refused
from mobility_match.services.rounds import get_round
from mobility_match.services.rows import require
from mobility_match.services.snapshots import placed_students

BM_COLUMNS: tuple[str, ...] = (
    "Data type",
    "Grant Agreement No.",
    "Mobility activity ID",
    "Activity type",
    "Long-term activity",
    "Participant ID",
    "Participant first name",
    "Participant last name",
    "Participant email",
    "Participant date of birth",
    "Participant gender",
    "Participant nationality",
    "Participant with fewer opportunities",
    "Accompanying person",
    "Sending organisation OID",
    "Sending country",
    "Sending city",
    "Receiving organisation OID",
    "Receiving organisation name",
    "Receiving country",
    "Receiving city",
    "Start date",
    "End date",
    "Duration (days)",
    "Travel days",
    "Green travel",
    "Force majeure",
    "Other used languages",
)

NOT_IN_OUR_DATA: tuple[str, ...] = (
    "Data type",
    "Participant nationality",
    "Participant with fewer opportunities",
    "Travel days",
    "Green travel",
    "Force majeure",
    "Other used languages",
)
"""Columns left empty: our data does not hold them (README lists why). The organisation
OIDs are filled when the school's and the host company's are known (else empty too)."""

LONG_TERM_DAYS = 90
"""ErasmusPro: a VET learner's mobility of 90 days or more is long-term."""

ACTIVITY_TYPES = {
    False: "Short-term learning mobility of VET learners",
    True: "Long-term learning mobility of VET learners (ErasmusPro)",
}

GENDERS = {Gender.F: "Female", Gender.M: "Male", Gender.X: "Undefined"}

DATE_FORMAT = "%d-%m-%Y"
"""The import's date format (DD-MM-YYYY)."""


def check_grant_agreement(number: str) -> str:
    """The grant agreement number, trimmed; Refused naming the field when it is malformed."""
    try:
        return identifiers.project_number(number)
    except ValueError as invalid:
        raise Refused(
            "The grant agreement number is not valid.", problems=[f"grant_agreement: {invalid}"]
        ) from None


def mobility_rows(
    session: Session, viewer: Viewer, round_id: int, grant_agreement: str = ""
) -> pd.DataFrame:
    """The mobilities of a published round, one row each (BM_COLUMNS), by student id.

    `grant_agreement` overrides the round's project number when given."""
    require(viewer, Role.COORDINATOR)
    grant_agreement = check_grant_agreement(grant_agreement)
    round_ = get_round(session, viewer, round_id)
    grant_agreement = grant_agreement or round_.project_number
    if round_.status is not RoundStatus.PUBLISHED:
        raise Conflict(
            f"Round {round_id} is not published: only the placements of a published round, "
            "confirmed by their students, are mobilities to report."
        )
    confirmed = set(
        session.exec(
            select(Assignment.student_id).where(
                Assignment.round_id == round_id,
                col(Assignment.offer_id).is_not(None),
                Assignment.response == Response.CONFIRMED,
            )
        )
    )
    if round_.superseded_by is not None:
        raise Conflict(
            f"Round {round_id} was replaced by round {round_.superseded_by}, which holds the "
            f"placements as they stand: export round {round_.superseded_by}."
        )
    # By student and offer, whatever round recorded it: a re-run keeps a placement under a
    # new round number. The last recorded wins.
    outcomes = {
        (outcome.student_id, outcome.offer_id): outcome
        for outcome in session.exec(
            select(PlacementOutcome).order_by(
                col(PlacementOutcome.recorded_at), col(PlacementOutcome.id)
            )
        )
    }
    schools = {
        school_id: (city, oid)
        for school_id, city, oid in session.exec(select(School.school_id, School.city, School.oid))
    }
    rows = []
    for student_id, (student, offer) in sorted(placed_students(session, round_).items()):
        outcome = outcomes.get((student_id, offer.offer_id))
        if student_id not in confirmed or (
            outcome is not None and outcome.outcome is PlacementOutcomeKind.NOT_STARTED
        ):
            continue
        end = offer.end_date
        if outcome is not None and outcome.interrupted_on is not None:
            end = min(end, outcome.interrupted_on)
        days = (end - offer.start_date).days + 1
        cells = {
            "Grant Agreement No.": grant_agreement,
            "Mobility activity ID": identifiers.mobility_id(student_id, offer.offer_id),
            "Activity type": ACTIVITY_TYPES[_long_term(offer.start_date, offer.end_date)],
            "Long-term activity": "Yes" if _long_term(offer.start_date, offer.end_date) else "No",
            "Participant ID": student_id,
            "Participant first name": student.first_name,
            "Participant last name": student.last_name,
            "Participant email": student.email,
            "Participant date of birth": student.birth_date.strftime(DATE_FORMAT),
            "Participant gender": GENDERS[student.gender],
            "Accompanying person": "No",
            "Sending country": "FR",
            "Sending organisation OID": schools.get(student.school_id, ("", ""))[1],
            "Sending city": schools.get(student.school_id, ("", ""))[0],
            "Receiving organisation OID": _company_oid(offer),
            "Receiving organisation name": offer.company_name,
            "Receiving country": offer.country.value,
            "Receiving city": offer.city,
            "Start date": offer.start_date.strftime(DATE_FORMAT),
            "End date": end.strftime(DATE_FORMAT),
            "Duration (days)": str(days),
        }
        rows.append([cells.get(column, "") for column in BM_COLUMNS])
    return pd.DataFrame(rows, columns=list(BM_COLUMNS), dtype="str")


def _company_oid(offer: Offer) -> str:
    """The host company's OID (the offers' optional `company_oid` column), when given."""
    extra = optional_columns(offer.extra)
    return extra.get("company_oid", "").upper()


def _long_term(start: dt.date, end: dt.date) -> bool:
    """Whether the planned placement lasts LONG_TERM_DAYS or more (ErasmusPro)."""
    return (end - start).days + 1 >= LONG_TERM_DAYS

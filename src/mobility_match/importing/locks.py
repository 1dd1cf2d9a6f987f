"""Reading a round's locks file into `Lock`s checked against students and offers.

A lock pins a student to an offer (or to no offer); each is checked against the
students and offers of the round, the hard rules of matching and the places of
the offer. It must not read the students or offers files itself: load_round or
the caller hands over what they gave.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path

from mobility_match.domain import Lock, Offer, Student, Vocabulary
from mobility_match.importing import cells
from mobility_match.importing.sheet import open_sheet, present, sorted_problems
from mobility_match.importing.table import Problem
from mobility_match.matching.rules import why_not

LOCK_COLUMNS = ("student_id", "offer_id")


def read_locks(
    path: Path, students: Sequence[Student], offers: Sequence[Offer], vocabulary: Vocabulary
) -> tuple[list[Lock], list[Problem]]:
    """Read locks.csv and check each lock against the students, offers and hard rules."""
    locks, problems, columns = read_locks_file(
        path,
        {student.student_id: student for student in students},
        {offer.offer_id: offer for offer in offers},
        vocabulary,
        student_ids={student.student_id for student in students},
        offer_ids={offer.offer_id for offer in offers},
    )
    return locks, sorted_problems(problems, {str(path): columns})


def read_locks_file(
    path: Path,
    students: Mapping[str, Student],
    offers: Mapping[str, Offer],
    vocabulary: Vocabulary,
    *,
    student_ids: AbstractSet[str] | None,
    offer_ids: AbstractSet[str] | None,
) -> tuple[list[Lock], list[Problem], list[str]]:
    """Check locks; an id in student_ids or offer_ids but not in students or offers is on a
    row that already has a problem, and None means the ids could not all be read."""
    sheet = open_sheet(path, "a locks file", LOCK_COLUMNS)
    locks: list[Lock] = []
    first_lock: dict[str, int] = {}
    taken: dict[str, list[int]] = {}
    for row in sheet.rows():
        student_id = row.value("student_id", cells.required("student id", "lock"))
        offer_id = row.value("offer_id", str)
        if student_id is not None and student_id in first_lock:
            row.report(
                "student_id",
                f"student {student_id} already has a lock on row {first_lock[student_id]}; "
                "keep one lock per student",
            )
        elif student_id is not None:
            first_lock[student_id] = row.number
        if student_id and student_ids is not None and student_id not in student_ids:
            row.report(
                "student_id",
                f"student {student_id} is not in the students file; "
                "a lock must name a student of the round",
            )
        if offer_id and offer_ids is not None and offer_id not in offer_ids:
            row.report(
                "offer_id",
                f"offer {offer_id} is not among the offers of the round; check the id, or "
                "leave offer_id empty to keep the student unplaced",
            )
        student = students.get(student_id or "")
        offer = offers.get(offer_id or "")
        if row.valid and student is not None and offer is not None:
            broken = why_not(student, offer, vocabulary)
            rows = taken.setdefault(offer.offer_id, [])
            if broken is not None:
                row.report("offer_id", f"lock of {student_id} on {offer_id} breaks the {broken}")
            elif len(rows) >= offer.places:
                row.report(
                    "offer_id",
                    f"offer {offer_id} has {_count(offer.places, 'place')}, already taken by "
                    f"the locks on rows {', '.join(map(str, rows))}; remove a lock or add places",
                )
            else:
                rows.append(row.number)
        if row.valid and sheet.complete:
            locks.append(Lock(present(student_id), offer_id or None))
    return locks, sheet.problems, sheet.columns


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"

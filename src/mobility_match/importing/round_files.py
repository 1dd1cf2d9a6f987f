"""Reading every file of a round and checking them against each other.

It runs the readers of students, offers and locks, adds the checks that need
several files (preferences naming offers of the round, locks naming its students
and offers), and raises `ImportFailed` with every problem, sorted. It must not
check single cells or rows itself: the readers do that.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path

from mobility_match.domain import ANY_OTHER, Country, Lock, RoundInput, Vocabulary, load_vocabulary
from mobility_match.importing.locks import read_locks_file
from mobility_match.importing.offers import read_offers_files
from mobility_match.importing.sheet import sorted_problems
from mobility_match.importing.students import StudentsFile, read_students_file
from mobility_match.importing.table import Problem


class ImportFailed(Exception):
    """Raised by load_round when the input has problems; it carries all of them, sorted."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def load_round(
    students_path: Path,
    offers_paths: Sequence[Path],
    locks_path: Path | None = None,
    vocabulary: Vocabulary | None = None,
) -> RoundInput:
    """Read and cross-check every file of a round; raise ImportFailed with all problems."""
    if vocabulary is None:
        vocabulary = load_vocabulary()
    students = read_students_file(students_path, vocabulary)
    offers = read_offers_files(offers_paths, vocabulary)
    problems = [*students.problems, *offers.problems]
    columns = {str(students_path): students.columns, **offers.columns}
    if offers.ids_complete:
        problems.extend(_unknown_preferences(str(students_path), students, offers.ids))
    locks: list[Lock] = []
    if locks_path is not None:
        locks, lock_problems, columns[str(locks_path)] = read_locks_file(
            locks_path,
            {student.student_id: student for student in students.students},
            {offer.offer_id: offer for offer in offers.offers},
            vocabulary,
            student_ids=students.ids if students.ids_complete else None,
            offer_ids=offers.ids if offers.ids_complete else None,
        )
        problems.extend(lock_problems)
    if problems:
        raise ImportFailed(sorted_problems(problems, columns))
    return RoundInput(tuple(students.students), tuple(offers.offers), tuple(locks))


def _unknown_preferences(
    file: str, students: StudentsFile, offer_ids: AbstractSet[str]
) -> list[Problem]:
    """Report, once per cell, the preference entries that name no offer of the round."""
    problems: list[Problem] = []
    countries = {country.value for country in Country}
    for number, preferences in students.preferences.items():
        unknown = [
            entry
            for entry in preferences
            if entry != ANY_OTHER and entry not in countries and entry not in offer_ids
        ]
        if not unknown:
            continue
        faults = []
        for entry in unknown:
            close = difflib.get_close_matches(entry, sorted(offer_ids), n=3, cutoff=0.6)
            hint = f" (closest: {', '.join(close)})" if close else ""
            faults.append(f"'{entry}'{hint}")
        problems.append(
            Problem(
                file,
                number,
                "preferences",
                f"{', '.join(faults)} {'is' if len(unknown) == 1 else 'are'} neither an offer of "
                "the round nor a country (DE, PL, UK); check the offer ids",
            )
        )
    return problems

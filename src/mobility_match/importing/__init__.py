"""Reading a round's input files (students, host offers, locks) into the types of domain.py.

It reads the CSV and .xlsx files described in CONTRACT.md, checks every cell and
every rule between rows and files, and reports each problem with its file,
spreadsheet row and column, all at once, so a coordinator can fix a file in one
go. It never solves a round, never writes a file, and never lets a traceback out
for bad input: whatever is wrong becomes a `Problem`.

The data flows table (file → frame) → sheet (rows with problem recording) → cells
(one value each) → students, offers, locks (domain objects) → round (cross-file
checks). This module only re-exports the public API.
"""

from mobility_match.importing.locks import LOCK_COLUMNS, read_locks
from mobility_match.importing.offers import (
    OFFER_COLUMNS,
    OFFER_OPTIONAL_COLUMNS,
    offer_from_row,
    read_offers,
)
from mobility_match.importing.round_files import ImportFailed, load_round
from mobility_match.importing.students import (
    STUDENT_COLUMNS,
    STUDENT_OPTIONAL_COLUMNS,
    read_students,
)
from mobility_match.importing.table import Problem, read_table

__all__ = [
    "LOCK_COLUMNS",
    "OFFER_COLUMNS",
    "OFFER_OPTIONAL_COLUMNS",
    "STUDENT_COLUMNS",
    "STUDENT_OPTIONAL_COLUMNS",
    "ImportFailed",
    "Problem",
    "load_round",
    "offer_from_row",
    "read_locks",
    "read_offers",
    "read_students",
    "read_table",
]

"""What a solved round produces for people and tools: assignments.csv, report.json, a summary.

File layouts follow CONTRACT.md. Files are written whole or not at all (a
temporary file renamed into place), so a failed run never leaves half a file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from mobility_match.domain import RoundInput, RoundResult
from mobility_match.matching.policy import Policy
from mobility_match.matching.stages import Measure, spec_of
from mobility_match.report_model import round_report
from mobility_match.statistics import RoundStatistics

ASSIGNMENT_COLUMNS = (
    "student_id",
    "offer_id",
    "company_name",
    "country",
    "city",
    "start_date",
    "end_date",
    "preference_rank",
    "locked",
    "reason",
)


AssignmentCell = str | int | None
"""A cell of an assignments row: text, the preference rank, or None for an empty rank."""


def assignment_rows(round_input: RoundInput, result: RoundResult) -> list[list[AssignmentCell]]:
    """Return the rows of assignments.csv (ASSIGNMENT_COLUMNS), one per student, in input order.

    The one place that turns placements into rows, shared by assignments.csv and
    the exports; preference_rank is an int, or None where the file shows nothing.
    """
    offers = {o.offer_id: o for o in round_input.offers}
    rows: list[list[AssignmentCell]] = []
    for placement in result.placements:
        offer = offers.get(placement.offer_id) if placement.offer_id else None
        rows.append(
            [
                placement.student_id,
                placement.offer_id or "",
                offer.company_name if offer else "",
                offer.country.value if offer else "",
                offer.city if offer else "",
                offer.start_date.isoformat() if offer else "",
                offer.end_date.isoformat() if offer else "",
                placement.preference_rank or None,
                "true" if placement.locked else "false",
                # "code: sentence" (CONTRACT.md), joined in one place: domain.reason_line.
                str(placement.reason) if placement.reason else "",
            ]
        )
    return rows


def assignments_csv(round_input: RoundInput, result: RoundResult) -> str:
    """Return assignments.csv: one row per student of the input, in input order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ASSIGNMENT_COLUMNS)
    # The csv module writes None as an empty cell, as the contract wants an empty rank.
    writer.writerows(assignment_rows(round_input, result))
    return buffer.getvalue()


def report_data(
    result: RoundResult, statistics: RoundStatistics, policy: Policy, seed: int
) -> dict[str, Any]:
    """Return the JSON report of CONTRACT.md, with extra detail after the contract's keys
    (the typed model report_model.RoundReport, as JSON data)."""
    return round_report(result, statistics, policy, seed).data()


def write_atomically(path: Path, text: str) -> None:
    """Write a whole file or nothing: a temporary file in the same folder, renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def report_json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _percent(value: Fraction | float | None) -> str:
    return "–" if value is None else f"{float(value) * 100:.1f} %"


def print_summary(console: Console, statistics: RoundStatistics, result: RoundResult) -> None:
    """Print the summary tables a coordinator reads after a round."""
    share = Fraction(statistics.placed, statistics.students) if statistics.students else Fraction(0)
    console.print(
        f"[bold]Placed {statistics.placed} / {statistics.students}[/bold] students "
        f"({_percent(share)}) on {statistics.places} places in {statistics.offers} offers · "
        f"gender gap {statistics.gender_gap * 100:.2f} points · "
        f"preference cost {statistics.preference_cost} · "
        f"lowest school rate {_percent(statistics.min_school_rate)}"
    )
    for title, groups in (("gender", statistics.by_gender), ("sector", statistics.by_sector)):
        table = Table(title=f"By {title}", title_justify="left")
        for column in (title, "students", "eligible", "placed", "placed / eligible"):
            table.add_column(column, justify="left" if column == title else "right")
        for key, figures in groups.items():
            table.add_row(
                key,
                str(figures.students),
                str(figures.eligible),
                str(figures.placed),
                _percent(figures.rate),
            )
        console.print(table)
    countries = Table(title="By host country", title_justify="left")
    for column in ("country", "offers", "places", "placed", "filled"):
        countries.add_column(column, justify="left" if column == "country" else "right")
    for country, host in statistics.by_country.items():
        countries.add_row(
            country, str(host.offers), str(host.places), str(host.placed), _percent(host.filled)
        )
    console.print(countries)
    stages = Table(title="Objective stages", title_justify="left")
    for column in ("stage", "value", "bound", "status", "seconds", "method"):
        stages.add_column(column, justify="left" if column in ("stage", "status") else "right")
    for stage in result.stages:
        stages.add_row(
            stage.name,
            _format_value(stage.name, stage.value),
            _format_value(stage.name, stage.bound),
            stage.status.value,
            f"{stage.seconds:.2f}",
            stage.method,
        )
    console.print(stages)
    if not result.reproducible:
        console.print(
            "Not reproducible: the round's deadline (the time limit, in wall seconds) stopped "
            "or skipped a search before CP-SAT's deterministic time did; the same seed may "
            "give another result on a less loaded machine."
        )
    if statistics.unplaced_by_reason:
        reasons = ", ".join(f"{code}: {n}" for code, n in statistics.unplaced_by_reason.items())
        console.print(f"Unplaced by reason: {reasons}")


def _format_value(stage: str, value: Fraction) -> str:
    if spec_of(stage).measure is Measure.RATE:
        return f"{float(value):.4f}"
    return str(value)

"""The evaluation's pseudonymised export: one row per graduate, for the scientific committee,
with its data dictionary; and the indicators as a table.

A graduate is named by a stable pseudonym, the HMAC-SHA-256 of his or her id under a
key that is a setting (`MOBILITY_MATCH_PSEUDONYM_KEY`) and is never written with the
data: the same key gives the same pseudonym in every export, so that exports of
successive waves can be joined, and without the key nobody can go back to the id.
No name, e-mail, phone, address or exact birth date is ever read for it (the birth
year only); schools are given by their code. Rows are sorted by pseudonym, so that
their order says nothing of the ids.

Files are built here as bytes (CSV, or XLSX with the dictionary on a second sheet);
nothing here writes to disk or changes the database.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from sqlmodel import Session

from mobility_match.access import Viewer
from mobility_match.exports import defuse
from mobility_match.services.indicators import (
    WAVES,
    Difference,
    Graduate,
    Indicators,
    Rate,
    graduates,
)

Cell = str | int | float | bool | None


def pseudonym(key: str, student_id: str) -> str:
    """The graduate's pseudonym: HMAC-SHA-256 of the id under `key`, in hexadecimal."""
    return hmac.new(key.encode(), student_id.encode(), hashlib.sha256).hexdigest()


_PSEUDONYM = re.compile(r"[0-9a-f]{64}")


def pseudonym_of(key: str, student_id: str) -> str:
    """The export's pseudonym of a graduate: an id the evaluation's retention already
    replaced by its pseudonym (services/evaluation_retention.py) is that pseudonym, so that
    a graduate keeps one pseudonym before and after the retention."""
    return student_id if _PSEUDONYM.fullmatch(student_id) else pseudonym(key, student_id)


@dataclass(frozen=True)
class Column:
    """A column of an exported table, as the data dictionary describes it."""

    name: str
    type: str
    values: str
    meaning_fr: str
    meaning_en: str


SITUATIONS = (
    "permanent_contract, fixed_term_contract, temporary_agency, work_study, self_employed, "
    "education, job_seeking, inactive, unknown"
)


def export_columns(waves: Sequence[int] = WAVES) -> list[Column]:
    """The columns of the pseudonymised export, in order."""
    columns = [
        Column(
            "pseudonym",
            "text (64 hex)",
            "",
            "Pseudonyme stable du diplômé (HMAC-SHA-256 de son identifiant, clé gardée à part)",
            "The graduate's stable pseudonym (HMAC-SHA-256 of his or her id, key kept apart)",
        ),
        Column("cohort", "integer", "year", "Année du diplôme", "Year of the diploma"),
        Column("school_code", "text", "", "Code de l'établissement", "Code of the school"),
        Column(
            "school_type",
            "text",
            "pilot, control",
            "Établissement pilote (mobilité proposée) ou témoin",
            "Pilot school (placements abroad offered) or control school",
        ),
        Column("gender", "text", "F, M, X", "Genre déclaré (X : autre ou non dit)", "Gender"),
        Column("birth_year", "integer", "year", "Année de naissance", "Year of birth"),
        Column("diploma", "text", "CAP, BAC_PRO", "Diplôme préparé", "Diploma"),
        Column("trade", "text", "trade code", "Spécialité (code)", "Vocational trade (code)"),
        Column(
            "sector",
            "text",
            "services, production",
            "Secteur de la spécialité",
            "Sector of the trade",
        ),
        Column(
            "eligible",
            "boolean",
            "true, false, empty",
            "Au moins une offre acceptable dans le tour publié en vigueur (vide : dans aucun "
            "tour publié)",
            "Had an acceptable offer in the current published round (empty: in no published round)",
        ),
        Column(
            "placed",
            "boolean",
            "true, false",
            "A un stage à l'étranger ni refusé ni retiré par l'hôte",
            "Holds a placement abroad neither declined nor withdrawn by the host",
        ),
        Column(
            "placement_country",
            "text",
            "DE, PL, UK, empty",
            "Pays du stage",
            "Country of the placement",
        ),
        Column(
            "placement_outcome",
            "text",
            "completed, interrupted, not_started, empty",
            "Issue du stage (vide : non renseignée ou pas de stage)",
            "How the placement ended (empty: not recorded, or no placement)",
        ),
        Column(
            "interruption_reason",
            "text",
            "health, family, host, adaptation, conduct, other, empty",
            "Motif d'une interruption",
            "Why the placement was interrupted",
        ),
    ]
    for wave in waves:
        columns += [
            Column(
                f"situation_{wave}m",
                "text",
                SITUATIONS + ", empty",
                f"Situation à {wave} mois (vide : pas de réponse)",
                f"Situation {wave} months after the diploma (empty: no answer)",
            ),
            Column(
                f"in_trade_{wave}m",
                "boolean",
                "true, false, empty",
                f"Emploi dans la spécialité à {wave} mois",
                f"Job in the graduate's trade at {wave} months",
            ),
            Column(
                f"country_{wave}m",
                "text",
                "ISO code (FR…), empty",
                f"Pays de l'emploi ou de la formation à {wave} mois",
                f"Country of the job or training at {wave} months",
            ),
            Column(
                f"source_{wave}m",
                "text",
                "link, teacher, import, empty",
                f"Origine de la réponse à {wave} mois",
                f"Where the answer at {wave} months came from",
            ),
        ]
    return columns


def export_rows(
    graduates: Iterable[Graduate], key: str, waves: Sequence[int] = WAVES
) -> list[list[Cell]]:
    """One row per graduate, in export_columns' order, sorted by pseudonym."""
    rows: list[list[Cell]] = []
    for g in graduates:
        row: list[Cell] = [
            pseudonym_of(key, g.student_id),
            g.cohort,
            g.school_id,
            g.school_type,
            g.gender,
            g.birth_year,
            g.diploma,
            g.trade,
            g.sector,
            g.eligible,
            g.placed,
            g.placement_country or None,
            g.outcome or None,
            g.interruption_reason or None,
        ]
        for wave in waves:
            answer = g.answers.get(wave)
            if answer is None:
                row += [None, None, None, None]
            else:
                row += [
                    answer.situation.value,
                    answer.in_trade,
                    answer.country or None,
                    answer.source or None,
                ]
        rows.append(row)
    rows.sort(key=lambda row: str(row[0]))
    return rows


DICTIONARY_HEADER = ("column", "type", "values", "signification", "meaning")


def dictionary_rows(columns: Sequence[Column]) -> list[list[Cell]]:
    return [[c.name, c.type, c.values, c.meaning_fr, c.meaning_en] for c in columns]


# ---- the indicators as a table ---------------------------------------------------------------

INDICATOR_HEADER = (
    "measure",
    "dimension",
    "category",
    "school_type",
    "gender",
    "indicator",
    "graduates",
    "count",
    "total",
    "value",
    "ci_low",
    "ci_high",
    "status",
)
"""One row per rate (measure `rate`), girls − boys gap (`gap`, gender `F-M`) and pilot −
control difference of gaps (`gap_difference`, school_type `pilot-control`)."""


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _rate_row(group_key: Sequence[str], graduates: int, name: str, rate: Rate) -> list[Cell]:
    return [
        "rate",
        *group_key,
        name,
        graduates,
        rate.count,
        rate.total,
        _round(rate.value),
        _round(rate.low),
        _round(rate.high),
        rate.status,
    ]


def _difference_row(measure: str, difference: Difference) -> list[Cell]:
    status = "ok" if difference.value is not None else "too_few"
    return [
        measure,
        difference.dimension,
        difference.category,
        difference.school_type,
        "F-M",
        difference.rate,
        None,
        None,
        None,
        _round(difference.value),
        _round(difference.low),
        _round(difference.high),
        status,
    ]


def indicator_rows(found: Indicators) -> list[list[Cell]]:
    """Every figure of `found` as rows of INDICATOR_HEADER."""
    rows: list[list[Cell]] = []
    for group in found.groups:
        key = (group.dimension, group.category, group.school_type, group.gender)
        size: list[Cell] = ["size", *key, "graduates", group.graduates]
        rows.append([*size, None, None, None, None, None, "ok"])
        rows += [_rate_row(key, group.graduates, name, r) for name, r in group.rates.items()]
    rows += [_difference_row("gap", gap) for gap in found.gaps]
    rows += [_difference_row("gap_difference", d) for d in found.gap_differences]
    return rows


# ---- files --------------------------------------------------------------------------------------


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(defuse(value))


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """UTF-8 CSV with a BOM (Excel shows accents), text that a spreadsheet would run as a
    formula defused (exports.defuse), booleans as true/false, nothing as an empty cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_text(value) for value in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
"""Characters a workbook cannot hold (XML 1.0 refuses them)."""


def _column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _xlsx_cell(reference: str, value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        value = "true" if value else "false"
    if isinstance(value, int | float):
        return f'<c r="{reference}"><v>{value}</v></c>'
    text = escape(_UNSTORABLE.sub("\ufffd", str(defuse(value))))
    return f'<c r="{reference}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _sheet_xml(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    letters: list[str] = []
    parts = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{_MAIN}"><sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        "</sheetView></sheetViews><sheetData>"
    ]
    for number, row in enumerate([list(header), *rows], start=1):
        while len(letters) < len(row):
            letters.append(_column_letters(len(letters)))
        cells = "".join(_xlsx_cell(f"{letters[i]}{number}", value) for i, value in enumerate(row))
        parts.append(f'<row r="{number}">{cells}</row>')
    parts.append("</sheetData></worksheet>")
    return "".join(parts)


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"


def xlsx_bytes(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Cell]]]]) -> bytes:
    """A workbook of one sheet per (name, header, rows): text as inline strings (defused, as
    in CSV; never a formula), numbers as numbers, the header row frozen.

    Written directly as SpreadsheetML: the export of 20,000 graduates must take seconds,
    and a general-purpose writer spends most of them on features not needed here.
    """
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for n in range(1, len(sheets) + 1)
    )
    content_types = (
        f"{head}<Types "
        'xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        f"{overrides}</Types>"
    )
    package_rels = (
        f'{head}<Relationships xmlns="{_PACKAGE}"><Relationship Id="rId1" '
        f'Type="{_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    names = "".join(
        f'<sheet name="{escape(name)}" sheetId="{n}" r:id="rId{n}"/>'
        for n, (name, _header, _rows) in enumerate(sheets, start=1)
    )
    workbook = (
        f'{head}<workbook xmlns="{_MAIN}" xmlns:r="{_RELS}"><sheets>{names}</sheets></workbook>'
    )
    workbook_rels = (
        f'{head}<Relationships xmlns="{_PACKAGE}">'
        + "".join(
            f'<Relationship Id="rId{n}" Type="{_RELS}/worksheet" Target="worksheets/sheet{n}.xml"/>'
            for n in range(1, len(sheets) + 1)
        )
        + "</Relationships>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("_rels/.rels", package_rels)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        for n, (_name, header, rows) in enumerate(sheets, start=1):
            archive.writestr(f"xl/worksheets/sheet{n}.xml", _sheet_xml(header, rows))
    return buffer.getvalue()


# ---- from the database --------------------------------------------------------------------------


def export(
    session: Session,
    viewer: Viewer,
    *,
    key: str,
    cohort: int | None = None,
    waves: Sequence[int] = WAVES,
) -> tuple[list[str], list[list[Cell]]]:
    """The pseudonymised export of `cohort` (None: every graduate): header and rows."""
    found = graduates(session, viewer, cohort=cohort, waves=waves)
    return [c.name for c in export_columns(waves)], export_rows(found, key, waves)

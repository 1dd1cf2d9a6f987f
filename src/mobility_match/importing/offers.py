"""Reading a round's offers files into `Offer`s.

It checks each row's cells and the rules between rows of every offers file (an
offer id used once, one company id keeping one name and country, the country of
the partner). It must not look at students or locks, and never decides whether a
student fits an offer: that is matching's job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mobility_match import identifiers
from mobility_match.domain import Country, Offer, Vocabulary
from mobility_match.importing import cells
from mobility_match.importing.sheet import Row, open_sheet, present, sorted_problems
from mobility_match.importing.table import Problem

# fmt: off
OFFER_COLUMNS = (
    "offer_id", "partner", "company_id", "company_name", "country", "city", "address",
    "contact_name", "contact_email", "sector", "trades", "places", "start_date", "end_date",
)
# fmt: on
OFFER_OPTIONAL_COLUMNS = ("language_requirement", "accepts_minors")
OFFER_DETAIL_COLUMNS = ("company_oid", "working_hours")
"""Optional columns kept in the offer's `extra` (as a partner's own columns are) but checked:
the host company's Erasmus+ organisation ID (`E` and 8 digits) and its working hours (free
text, at most 120 characters), both printed on the learning agreement."""


@dataclass
class OffersFiles:
    """What reading the offers files gave: their offers, their problems and their ids."""

    offers: list[Offer] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    columns: dict[str, list[str]] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)
    """Every offer id met, also on rows with problems."""
    ids_complete: bool = True


_Company = tuple[str, Country | None, str, int]
"""A company's name and country as first met, with the file and row where."""


def read_offers(paths: Sequence[Path], vocabulary: Vocabulary) -> tuple[list[Offer], list[Problem]]:
    """Read a round's offers files; return the offers of rows without problems, and all problems."""
    read = read_offers_files(paths, vocabulary)
    return read.offers, sorted_problems(read.problems, read.columns)


def read_offers_files(paths: Sequence[Path], vocabulary: Vocabulary) -> OffersFiles:
    """Read the offers files, keeping what load_round needs to check other files against them."""
    read = OffersFiles()
    if not paths:
        read.problems.append(
            Problem("offers", 1, "", "no offers file was given; name at least one")
        )
        read.ids_complete = False
    first_row: dict[str, tuple[str, int]] = {}
    companies: dict[str, _Company] = {}
    offer_rows = 0
    all_read = True
    for path in paths:
        if str(path) in read.columns:
            read.problems.append(Problem(str(path), 1, "", "this offers file is given twice"))
            continue
        sheet = open_sheet(path, "an offers file", OFFER_COLUMNS)
        read.columns[sheet.file] = sheet.columns
        if sheet.frame is None:
            all_read = False
        else:
            offer_rows += len(sheet.frame)
        if sheet.frame is None or "offer_id" not in sheet.frame.columns:
            read.ids_complete = False
        extra = [c for c in sheet.columns if c not in {*OFFER_COLUMNS, *OFFER_OPTIONAL_COLUMNS}]
        for row in sheet.rows():
            offer_id = row.value("offer_id", cells.required("offer id", "offer"))
            if offer_id is not None:
                read.ids.add(offer_id)
                if offer_id in first_row:
                    where = _where(*first_row[offer_id], row.file)
                    row.report(
                        "offer_id",
                        f"offer id {offer_id} is already used on {where}; "
                        "each offer needs an id of its own",
                    )
                else:
                    first_row[offer_id] = (row.file, row.number)
            offer = offer_from_row(row, offer_id, vocabulary, extra, sheet.complete)
            _check_company(row, companies)
            if offer is not None and row.valid and sheet.complete:
                read.offers.append(offer)
        read.problems.extend(sheet.problems)
    if paths and all_read and offer_rows == 0:
        where = "the file" if len(paths) == 1 else "any of the offers files"
        read.problems.append(
            Problem(str(paths[0]), 1, "", f"no offers in {where}; add one row per offer")
        )
    return read


def _check_company(row: Row, companies: dict[str, _Company]) -> None:
    """Report a company id met before with another name or in another country."""
    company_id = row.cells.get("company_id", "")
    name = row.cells.get("company_name", "")
    country = cells.country_code(row.cells.get("country", ""))
    if not (company_id and name):
        return
    if company_id not in companies:
        companies[company_id] = (name, country, row.file, row.number)
        return
    first_name, first_country, file, number = companies[company_id]
    where = _where(file, number, row.file)
    if name.casefold() != first_name.casefold():
        row.report(
            "company_name",
            f"company {company_id} is named '{first_name}' on {where}; "
            "one company id must keep one name",
        )
    if country and first_country and country is not first_country and not row.reported("country"):
        row.report(
            "country",
            f"company {company_id} is in {first_country} on {where}; "
            "one company id must keep one country",
        )


def _where(file: str, number: int, current_file: str) -> str:
    """Name a row, with its file when it is not the file being read."""
    return f"row {number}" if file == current_file else f"row {number} of {file}"


def offer_from_row(
    row: Row,
    offer_id: str | None,
    vocabulary: Vocabulary,
    extra: Sequence[str] = (),
    complete: bool = True,
) -> Offer | None:
    """Check the cells of one offer row; return the offer, or None when a cell is wrong.

    `offer_id` is the row's id as already checked (None when it is wrong); `extra`
    names the row's columns of the partner's own, kept with the offer. An offer
    of an incomplete sheet (`complete` false: a column is missing) is never
    returned, but its cells are still checked. A form's offer is checked here too.
    """
    partner = row.value("partner", cells.partner(vocabulary))
    company_id = row.value("company_id", cells.required("company id", "offer"))
    company_name = row.value("company_name", cells.required("company name", "offer"))
    country = row.value("country", cells.country)
    if partner is not None and country is not None:
        partner_country = vocabulary.partners[partner].country
        if country is not partner_country:
            row.report(
                "country",
                f"country {country} does not match partner {partner}, which works in "
                f"{partner_country}; use {partner_country} or the partner of {country}",
            )
    city = row.value("city", cells.required("city", "offer"))
    address = row.value("address", cells.required("address", "offer"))
    contact_name = row.value("contact_name", cells.required("contact name", "offer"))
    contact_email = row.value("contact_email", cells.email(required=True))
    sector = row.value("sector", cells.sector)
    trades = row.value("trades", cells.trades(vocabulary, sector))
    places = row.value("places", cells.places)
    start_date = row.value("start_date", cells.date)
    end_date = row.value("end_date", cells.date)
    if start_date is not None and end_date is not None and end_date < start_date:
        row.report(
            "end_date",
            f"end_date {end_date} is before start_date {start_date}; "
            "the placement must end on or after its start",
        )
    language_requirement = row.value("language_requirement", cells.language_requirement) or ()
    accepts_minors = row.value("accepts_minors", cells.accepts_minors) or False
    row.value("company_oid", cells.checked_by(identifiers.oid))
    row.value("working_hours", cells.checked_by(identifiers.working_hours))
    if not row.valid or not complete:
        return None
    return Offer(
        offer_id=present(offer_id),
        partner=present(partner),
        company_id=present(company_id),
        company_name=present(company_name),
        country=present(country),
        city=present(city),
        address=present(address),
        contact_name=present(contact_name),
        contact_email=present(contact_email),
        sector=present(sector),
        trades=present(trades),
        places=present(places),
        start_date=present(start_date),
        end_date=present(end_date),
        language_requirement=language_requirement,
        accepts_minors=accepts_minors,
        extra=tuple(
            (c, row.cells[c].upper() if c == "company_oid" else row.cells[c]) for c in extra
        ),
    )

"""Between the database rows and the matching engine's plain types, both ways.

A round's snapshot stores the same rows as JSON (`*_snapshot`), and is turned
back into domain objects by the same functions, so a round solved again from
its snapshot sees exactly what it first saw. No queries here: rows in, rows or
domain objects out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mobility_match import domain, models
from mobility_match.importing.cells import language_requirement
from mobility_match.importing.students import COHORT_COLUMN

GUARDIAN_COLUMNS = ("guardian_name", "guardian_email", "guardian_phone")
"""Optional students.csv columns: a parent or guardian to contact (for a minor), kept in
the student's `extra`."""


def default_cohort(student: domain.Student) -> int:
    """The cohort of a student whose file gives none: the year the availability starts."""
    return student.available_from.year


def student_row(student: domain.Student) -> models.Student:
    """The table row of an imported student (its `cohort` column taken out of `extra`)."""
    extra = dict(student.extra)
    cohort = extra.pop(COHORT_COLUMN, "").strip()
    return models.Student(
        student_id=student.student_id,
        first_name=student.first_name,
        last_name=student.last_name,
        email=student.email,
        gender=student.gender.value,
        birth_date=student.birth_date,
        school_id=student.school_id,
        diploma=student.diploma.value,
        trade=student.trade,
        languages=dict(student.languages),
        available_from=student.available_from,
        available_to=student.available_to,
        preferences=list(student.preferences),
        extra=extra,
        cohort=int(cohort) if cohort else default_cohort(student),
    )


def student_domain(row: models.Student) -> domain.Student:
    """The matching engine's view of a stored student."""
    return domain.Student(
        student_id=row.student_id,
        first_name=row.first_name,
        last_name=row.last_name,
        gender=domain.Gender(row.gender),
        birth_date=row.birth_date,
        school_id=row.school_id,
        diploma=domain.Diploma(row.diploma),
        trade=row.trade,
        available_from=row.available_from,
        available_to=row.available_to,
        languages=dict(row.languages),
        preferences=tuple(row.preferences),
        email=row.email,
        extra=tuple(sorted(row.extra.items())),
    )


def offer_rows(offer: domain.Offer) -> tuple[models.Offer, models.Company]:
    """The table rows of an imported offer: the offer and its company."""
    company = models.Company(
        company_id=offer.company_id,
        partner=offer.partner,
        company_name=offer.company_name,
        country=offer.country.value,
        city=offer.city,
        address=offer.address,
    )
    row = models.Offer(
        offer_id=offer.offer_id,
        partner=offer.partner,
        company_id=offer.company_id,
        contact_name=offer.contact_name,
        contact_email=offer.contact_email,
        sector=offer.sector.value,
        trades=sorted(offer.trades),
        places=offer.places,
        start_date=offer.start_date,
        end_date=offer.end_date,
        language_requirement="|".join(str(need) for need in offer.language_requirement),
        accepts_minors=offer.accepts_minors,
        extra=dict(offer.extra),
    )
    return row, company


def offer_domain(row: models.Offer, company: models.Company) -> domain.Offer:
    """The matching engine's view of a stored offer and its company."""
    return domain.Offer(
        offer_id=row.offer_id,
        partner=row.partner,
        company_id=row.company_id,
        company_name=company.company_name,
        country=domain.Country(company.country),
        city=company.city,
        address=company.address,
        contact_name=row.contact_name,
        contact_email=row.contact_email,
        sector=domain.Sector(row.sector),
        trades=frozenset(row.trades),
        places=row.places,
        start_date=row.start_date,
        end_date=row.end_date,
        language_requirement=language_requirement(row.language_requirement),
        accepts_minors=row.accepts_minors,
        extra=tuple(sorted(row.extra.items())),
    )


_OFFER_FIELDS = frozenset(models.Offer.model_fields) - {"status", "version", "updated_at"}
_COMPANY_FIELDS = frozenset(models.Company.model_fields) - {"partner"}


def student_snapshot(row: models.Student) -> dict[str, Any]:
    """A stored student as a JSON object of the round's snapshot."""
    return row.model_dump(mode="json", exclude={"version", "updated_at"})


def offer_snapshot(row: models.Offer, company: models.Company) -> dict[str, Any]:
    """A stored offer, with its company, as a JSON object of the round's snapshot."""
    return {
        **row.model_dump(mode="json", include=set(_OFFER_FIELDS)),
        **company.model_dump(mode="json", include=set(_COMPANY_FIELDS)),
    }


def snapshot_students(items: Iterable[Mapping[str, Any]]) -> tuple[domain.Student, ...]:
    """The students of a snapshot, in its order."""
    return tuple(student_domain(models.Student.model_validate(item)) for item in items)


def snapshot_offers(items: Iterable[Mapping[str, Any]]) -> tuple[domain.Offer, ...]:
    """The offers of a snapshot, in its order."""
    offers = []
    for item in items:
        row = models.Offer.model_validate({k: v for k, v in item.items() if k in _OFFER_FIELDS})
        company = models.Company.model_validate(
            {**{k: v for k, v in item.items() if k in _COMPANY_FIELDS}, "partner": row.partner}
        )
        offers.append(offer_domain(row, company))
    return tuple(offers)
